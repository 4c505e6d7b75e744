"""Session tools: exactly which tools each model is offered, and what it gets back after a few turns."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from teamkit import make_team, scripted

from agno_yaml.errors import ConfigError
from agno_yaml.store import tinydb as tinydb_backend
from agno_yaml.store.tinydb import TinyDBStore as SessionStore


def tool_names(request: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in request["tools"]]


def tool_result(request: dict[str, Any]) -> Any:
    last = request["messages"][-1]
    assert last["role"] == "tool"
    return json.loads(last["content"])


CHAT_SCHEMA = {
    "type": "function",
    "function": {
        "name": "get_chat_history",
        "description": "Read the earlier messages of this conversation: what the user wrote and the answers "
        'given, oldest first, as a JSON list of {"role", "content"}. Use it when the user refers to '
        "something said earlier that you cannot see. Leave num_chats out to get the whole conversation.",
        "parameters": {
            "type": "object",
            "properties": {
                "num_chats": {
                    "type": "integer",
                    "description": "How many of the most recent messages to return. A question and its "
                    "answer are two messages, so 4 returns the last two exchanges.",
                }
            },
            "required": [],
            "additionalProperties": False,
        },
    },
}
TOOL_CALL_SCHEMA = {
    "type": "function",
    "function": {
        "name": "get_tool_call_history",
        "description": "List the tools you called earlier in this conversation, most recent first, as a JSON "
        'list of {"name", "arguments", "result" or "error", "run_id"}. Use it to reuse an earlier result '
        "instead of calling a tool again.",
        "parameters": {
            "type": "object",
            "properties": {
                "num_calls": {
                    "type": "integer",
                    "description": "How many of the most recent tool calls to return.",
                    "default": 3,
                }
            },
            "required": [],
            "additionalProperties": False,
        },
    },
}
SESSIONS_SCHEMA = {
    "type": "function",
    "function": {
        "name": "get_previous_session_messages",
        "description": "Read this user's previous conversations with this team (not the current one), most "
        "recently active first: for each, its session id, dates and recent exchanges as user message and "
        "answer. Use it only when the user asks about earlier conversations, e.g. 'what did we talk about "
        "last time?'.",
        "parameters": {"type": "object", "properties": {}, "required": [], "additionalProperties": False},
    },
}


def test_each_flag_offers_exactly_its_tool_to_exactly_its_agent(tmp_path: Path) -> None:
    team = make_team(
        tmp_path,
        """\
        read_chat_history: true
        read_tool_call_history: true
        search_session_history: true
        model: {id: scripted, replies: ["hi"]}
        members:
          - {name: Agent 1, read_tool_call_history: true}
          - {name: Agent 2}
        """,
    )
    team.run("hello", user_id="u", session_id="s")
    (request,) = scripted(team).requests
    assert tool_names(request) == [
        "delegate_task_to_member",
        "get_chat_history",
        "get_tool_call_history",
        "get_previous_session_messages",
    ]
    assert request["tools"][1:] == [CHAT_SCHEMA, TOOL_CALL_SCHEMA, SESSIONS_SCHEMA]
    assert team.members["agent-1"].tool_schemas() == [TOOL_CALL_SCHEMA]
    assert team.members["agent-2"].tool_schemas() == []


def test_flags_off_offer_no_session_tool(tmp_path: Path) -> None:
    team = make_team(tmp_path, "num_history_sessions: 2\nmodel: {id: scripted, replies: [hi]}\n")
    team.run("hello", user_id="u", session_id="s")
    assert scripted(team).requests[0]["tools"] == []


def test_a_python_tool_may_not_take_a_session_tool_name(tmp_path: Path) -> None:
    (tmp_path / "clash.py").write_text('def get_chat_history() -> str:\n    """Mine."""\n    return ""\n')
    with pytest.raises(ConfigError, match="name of a built-in session tool") as info:
        make_team(tmp_path, 'model: {id: scripted, replies: []}\ntools: ["clash:get_chat_history"]\n')
    (problem,) = info.value.problems
    assert (problem.line, problem.col, problem.path) == (2, 9, "$.tools[0]")


COORDINATE_CHAT = """\
    read_chat_history: true
    model:
      id: scripted
      replies:
        - tool_calls: [{name: delegate_task_to_member, arguments: {member_id: agent-1, task: "look up A"}}]
        - "Final one"
        - tool_calls: [{name: get_chat_history, arguments: {}}]
        - "Final two"
        - tool_calls: [{name: get_chat_history, arguments: {num_chats: 3}}]
        - "Final three"
    members:
      - {name: Agent 1, model: {id: scripted, replies: ["member internal answer"]}}
"""


def test_chat_history_returns_user_and_answer_messages_oldest_first(tmp_path: Path) -> None:
    team = make_team(tmp_path, COORDINATE_CHAT)
    team.run("first question", user_id="u", session_id="s")
    team.run("what did I ask?", user_id="u", session_id="s")
    team.run("and then?", user_id="u", session_id="s")
    requests = scripted(team).requests
    # Tool-call-only assistant messages, tool results, system prompts and member messages are left out.
    assert tool_result(requests[3]) == [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "Final one"},
    ]
    # num_chats counts messages: the last 3 of the two stored runs. The current turn is not stored yet.
    assert tool_result(requests[5]) == [
        {"role": "assistant", "content": "Final one"},
        {"role": "user", "content": "what did I ask?"},
        {"role": "assistant", "content": "Final two"},
    ]


def test_chat_history_includes_route_answers_and_skips_failed_runs(tmp_path: Path) -> None:
    team = make_team(
        tmp_path,
        """\
        respond_directly: true
        read_chat_history: true
        model:
          id: scripted
          replies:
            - tool_calls: [{name: delegate_task_to_member, arguments: {member_id: agent-1, task: "hola"}}]
            - tool_calls: [{name: delegate_task_to_member, arguments: {member_id: agent-9, task: "x"}}]
        members:
          - name: Agent 1
            read_chat_history: true
            model:
              id: scripted
              replies: ["¡Hola!", {tool_calls: [{name: get_chat_history, arguments: {num_chats: null}}]}, "ok"]
        """,
        max_rounds=1,
    )
    assert team.run("hola", user_id="u", session_id="s").ok
    assert not team.run("this run fails", user_id="u", session_id="s").ok  # round limit
    scripted(team).replies.append(
        {
            "tool_calls": [
                {"name": "delegate_task_to_member", "arguments": {"member_id": "agent-1", "task": "t"}}
            ]
        }
    )
    team.max_rounds = 3
    assert team.run("what did we say?", user_id="u", session_id="s").content == "ok"
    # The member reads the conversation with the user: the route answer is in it, the failed run is not.
    assert tool_result(scripted(team, "agent-1").requests[-1]) == [
        {"role": "user", "content": "hola"},
        {"role": "assistant", "content": "¡Hola!"},
    ]


def test_tool_call_history_newest_first_for_the_leader_and_for_a_member(tmp_path: Path) -> None:
    (tmp_path / "sessiontools_demo.py").write_text(
        textwrap.dedent(
            '''\
            def add(a: int, b: int) -> int:
                """Add two numbers."""
                return a + b
            '''
        )
    )
    team = make_team(
        tmp_path,
        """\
        read_tool_call_history: true
        tools: ["sessiontools_demo:add"]
        model:
          id: scripted
          replies:
            - tool_calls: [{name: add, arguments: {a: 1, b: 2}}, {name: add, arguments: {a: 3}}]
            - "3"
            - tool_calls: [{name: delegate_task_to_member, arguments: {member_id: agent-1, task: "history"}}]
            - "done"
            - tool_calls: [{name: get_tool_call_history, arguments: {num_calls: 2}}]
            - "bye"
        members:
          - name: Agent 1
            read_tool_call_history: true
            model:
              id: scripted
              replies: [{tool_calls: [{name: get_tool_call_history, arguments: {}}]}, "nothing yet"]
        """,
    )
    team.run("1+2?", user_id="u", session_id="s")
    team.run("ask the member", user_id="u", session_id="s")
    team.run("what did you call?", user_id="u", session_id="s")
    # The member has no tool calls of its own before this: the leader's are not its history.
    assert tool_result(scripted(team, "agent-1").requests[-1]) == []
    runs = [r for r in SessionStore(tmp_path / "db").runs("s", "u") if r.is_top_level]
    delegation_result = runs[1].tool_calls[0].result
    assert tool_result(scripted(team).requests[-1]) == [
        {
            "name": "delegate_task_to_member",
            "arguments": {"member_id": "agent-1", "task": "history"},
            "result": delegation_result,
            "run_id": runs[1].run_id,
        },
        {
            "name": "add",
            "arguments": {"a": 3},
            "error": runs[0].tool_calls[1].error,
            "run_id": runs[0].run_id,
        },
    ]
    assert "missing required argument 'b'" in (runs[0].tool_calls[1].error or "")


SEARCH = """\
    search_session_history: true
    num_history_sessions: 2
    model: {id: scripted, replies: ["Pretoria", "Beijing", "Paris", "Tokyo", "bob's secret answer", "again",
      {tool_calls: [{name: get_previous_session_messages, arguments: {}}]}, "summary"]}
"""


def test_previous_sessions_are_the_same_users_most_recent_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = make_team(tmp_path, SEARCH)
    for session_id, question in [("s1", "capital of South Africa?"), ("s2", "capital of China?")]:
        team.run(question, user_id="alice", session_id=session_id)
    team.run("capital of France?", user_id="alice", session_id="s3")
    team.run("capital of Japan?", user_id="alice", session_id="s1")  # s1 is now the most recently active
    team.run("my secret", user_id="bob", session_id="b1")
    team.run("hello again", user_id="alice", session_id="s4")

    read: list[str] = []
    original = tinydb_backend.read_doc

    def spy(sdir: str, session_id: str) -> dict[str, Any] | None:
        read.append(sdir)
        return original(sdir, session_id)

    monkeypatch.setattr(tinydb_backend, "read_doc", spy)
    team.run("what did we discuss before?", user_id="alice", session_id="s4")

    result = tool_result(scripted(team).requests[-1])
    # The current session s4 is left out before the limit of 2 is applied; bob's session never appears.
    assert [s["session_id"] for s in result] == ["s1", "s3"]
    assert result[0]["runs"] == [
        {"user": "capital of South Africa?", "assistant": "Pretoria"},
        {"user": "capital of Japan?", "assistant": "Tokyo"},
    ]
    assert result[1]["runs"] == [{"user": "capital of France?", "assistant": "Paris"}]
    assert set(result[0]) == {"session_id", "created_at", "updated_at", "runs"}
    assert "secret" not in json.dumps(result)
    store = SessionStore(tmp_path / "db")
    assert store.session_dir("b1") not in read  # bob's files are never opened for alice


def test_previous_sessions_cut_long_texts(tmp_path: Path) -> None:
    long_answer = "x" * 700
    team = make_team(
        tmp_path,
        f"""\
        search_session_history: true
        model: {{id: scripted, replies: ["{long_answer}",
          {{tool_calls: [{{name: get_previous_session_messages, arguments: {{}}}}]}}, "ok"]}}
        """,
    )
    team.run("long", user_id="u", session_id="a")
    team.run("recall", user_id="u", session_id="b")
    (session,) = tool_result(scripted(team).requests[-1])
    assert session["runs"][0]["assistant"] == "x" * 500 + "…"


def test_previous_sessions_are_only_those_with_this_team(tmp_path: Path) -> None:
    """Like --continue: another team's sessions of the same user, in the same store, are not offered."""
    other = make_team(
        tmp_path / "other",
        """\
        name: Other Team
        model: {id: scripted, replies: ["the other team's answer"]}
        """,
    )
    db = tmp_path / "db"
    other.store = SessionStore(db)  # the same store as the team below: one .agno/ for several teams
    other.run("a question for the other team", user_id="alice", session_id="other-1")
    team = make_team(
        tmp_path,
        """\
        name: Search Team
        search_session_history: true
        model: {id: scripted, replies: ["Pretoria",
          {tool_calls: [{name: get_previous_session_messages, arguments: {}}]}, "summary"]}
        """,
    )
    team.run("capital of South Africa?", user_id="alice", session_id="mine-1")
    team.run("what did we discuss before?", user_id="alice", session_id="mine-2")
    result = tool_result(scripted(team).requests[-1])
    assert [s["session_id"] for s in result] == ["mine-1"]
    assert "other team" not in json.dumps(result)
    # Both sessions are this user's, so only the team tells them apart.
    assert {s.session_id for s in SessionStore(db).list_sessions(user_id="alice")} == {
        "other-1",
        "mine-1",
        "mine-2",
    }


def test_the_team_of_previous_sessions_is_not_a_model_argument(tmp_path: Path) -> None:
    team = make_team(
        tmp_path,
        """\
        search_session_history: true
        model: {id: scripted, replies: ["hi",
          {tool_calls: [{name: get_previous_session_messages, arguments: {team_id: other}}]}, "ok"]}
        """,
    )
    team.run("hello", user_id="u", session_id="a")
    team.run("recall", user_id="u", session_id="b")
    assert "unknown argument 'team_id'" in scripted(team).requests[-1]["messages"][-1]["content"]
