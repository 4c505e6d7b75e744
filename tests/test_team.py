"""The run loop, mode by mode: the exact messages and tools each model received, and what was stored."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from teamkit import make_team, scripted

from agno_yaml.errors import SessionError
from agno_yaml.store.tinydb import TinyDBStore as SessionStore


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


def roles(request: dict[str, Any]) -> list[str]:
    return [m["role"] for m in request["messages"]]


TWO_MEMBERS = """\
    name: Research Team
    model:
      id: scripted
      replies:
        - tool_calls:
            - {name: delegate_task_to_member, arguments: {member_id: agent-1, task: "find facts"}}
            - {name: delegate_task_to_member, arguments: {member_id: agent-2, task: "check facts"}}
        - "Final: facts found and checked."
    members:
      - name: Agent 1
        role: Finds facts
        model: {id: scripted, replies: ["fact A"]}
      - name: Agent 2
        role: Checks facts
        model: {id: scripted, replies: ["checked A"]}
"""


def test_coordinate_delegates_and_writes_the_final_answer(tmp_path: Path) -> None:
    team = make_team(tmp_path, TWO_MEMBERS)
    out = team.run("Research A", user_id="u1", session_id="s1")

    assert out.ok and out.content == "Final: facts found and checked."
    leader = scripted(team)
    first, second = leader.requests
    assert roles(first) == ["system", "user"]
    assert first["messages"][1] == {"role": "user", "content": "Research A"}
    assert '<member id="agent-1" name="Agent 1">' in first["messages"][0]["content"]
    (tool,) = first["tools"]
    assert tool["function"]["name"] == "delegate_task_to_member"
    assert tool["function"]["parameters"]["properties"]["member_id"]["enum"] == ["agent-1", "agent-2"]
    assert roles(second) == ["system", "user", "assistant", "tool", "tool"]
    assert [m["content"] for m in second["messages"][3:]] == ["fact A", "checked A"]
    assert second["messages"][3]["tool_call_id"] == second["messages"][2]["tool_calls"][0]["id"]

    member = scripted(team, "agent-1").requests[0]
    assert member["messages"][0] == {"role": "system", "content": "<your_role>\nFinds facts\n</your_role>"}
    assert member["messages"][1] == {"role": "user", "content": "find facts"}
    assert member["tools"] == []

    runs = SessionStore(tmp_path / "db").runs("s1", "u1")
    leader_runs = [r for r in runs if r.parent_run_id is None]
    member_runs = [r for r in runs if r.parent_run_id is not None]
    assert [r.content for r in leader_runs] == ["Final: facts found and checked."]
    assert {r.member: r.content for r in member_runs} == {"agent-1": "fact A", "agent-2": "checked A"}
    assert all(r.parent_run_id == leader_runs[0].run_id for r in member_runs)
    assert [len(t.child_run_ids) for t in leader_runs[0].tool_calls] == [1, 1]


ROUTE = """\
    name: Multilingual Team
    respond_directly: true
    add_history_to_context: true
    model:
      id: scripted
      replies:
        - tool_calls: [{name: delegate_task_to_member, arguments: {member_id: agent-3, task: "comment ça va?"}}]
        - tool_calls: [{name: delegate_task_to_member, arguments: {member_id: agent-3, task: "une blague"}}]
    members:
      - {name: Agent 1, role: You answer questions in English}
      - name: Agent 3
        role: You answer questions in French
        model: {id: scripted, replies: ["Ça va bien, merci !", "Pourquoi les plongeurs..."]}
"""


def test_route_returns_the_member_answer_as_written_with_one_leader_call(tmp_path: Path) -> None:
    team = make_team(tmp_path, ROUTE)
    out = team.run("comment ça va?", user_id="user_101", session_id="session_101")

    assert out.content == "Ça va bien, merci !"
    assert out.run.answered_by == "agent-3"
    assert len(scripted(team).requests) == 1  # no second leader call
    # Unlike Agno, the answer is the leader run's final assistant message, so history sees it.
    assert out.run.messages[-1].role == "assistant" and out.run.messages[-1].content == "Ça va bien, merci !"

    team.run("Raconte-moi une blague.", user_id="user_101", session_id="session_101")
    second = scripted(team).requests[1]["messages"]
    assert [(m["role"], m["content"]) for m in second[1:]] == [
        ("user", "comment ça va?"),
        ("assistant", "Ça va bien, merci !"),
        ("user", "Raconte-moi une blague."),
    ]


def test_route_streams_the_member_answer(tmp_path: Path) -> None:
    team = make_team(tmp_path, ROUTE)
    chunks: list[str] = []
    out = team.run("comment ça va?", user_id="u", session_id="s", stream=True, on_text=chunks.append)
    assert "".join(chunks) == out.content


BROADCAST = """\
    name: Panel
    delegate_task_to_all_members: true
    model:
      id: scripted
      replies:
        - tool_calls: [{name: delegate_task_to_members, arguments: {task: "Name a colour"}}]
        - "Colours: red and blue."
    members:
      - {name: Agent 1, model: {id: scripted, replies: ["red"]}}
      - {name: Agent 2, model: {id: scripted, replies: ["blue"]}}
"""


def test_broadcast_sends_one_task_to_every_member(tmp_path: Path) -> None:
    team = make_team(tmp_path, BROADCAST)
    out = team.run("colours?", user_id="u", session_id="s")
    assert out.content == "Colours: red and blue."
    first, second = scripted(team).requests
    assert [t["function"]["name"] for t in first["tools"]] == ["delegate_task_to_members"]
    assert second["messages"][-1]["content"] == "Agent 1: red\n\nAgent 2: blue"
    for member_id in ("agent-1", "agent-2"):
        assert scripted(team, member_id).requests[0]["messages"][-1]["content"] == "Name a colour"


def test_members_get_the_users_own_message_when_input_is_not_determined(tmp_path: Path) -> None:
    team = make_team(
        tmp_path, ROUTE.replace("add_history_to_context: true", "determine_input_for_members: false")
    )
    team.run("COMMENT ÇA VA", user_id="u", session_id="s")
    assert scripted(team, "agent-3").requests[0]["messages"][-1]["content"] == "COMMENT ÇA VA"


def test_a_wrong_member_id_and_bad_arguments_go_back_to_the_model(tmp_path: Path) -> None:
    team = make_team(
        tmp_path,
        """\
        model:
          id: scripted
          replies:
            - tool_calls: [{name: delegate_task_to_member, arguments: {member_id: agent-9, task: "x"}}]
            - tool_calls: [{name: delegate_task_to_member, arguments: "{not json"}]
            - tool_calls: [{name: no_such_tool, arguments: {}}]
            - tool_calls: [{name: delegate_task_to_member, arguments: {member_id: agent-1, task: "x"}}]
            - "done"
        members:
          - {name: Agent 1, model: {id: scripted, replies: ["ok"]}}
        """,
    )
    out = team.run("go", user_id="u", session_id="s")
    assert out.ok and out.content == "done"
    results = [r["messages"][-1]["content"] for r in scripted(team).requests[1:]]
    assert results[0].startswith(
        "Error: Invalid arguments for tool 'delegate_task_to_member': "
        'argument \'member_id\' must be one of "agent-1", got a string "agent-9". Expected a JSON object with: '
        'member_id (one of "agent-1", required)'
    )
    assert results[1].startswith(
        "Error: Invalid arguments for tool 'delegate_task_to_member': the arguments are not valid JSON"
    )
    assert results[2] == "Error: there is no tool named 'no_such_tool'; call one of: delegate_task_to_member"
    assert results[3] == "ok"


def test_a_run_that_loops_fails_is_stored_and_the_next_turn_works(tmp_path: Path) -> None:
    loop = [{"tool_calls": [call("delegate_task_to_member", member_id="agent-1", task="again")]}] * 3
    body = f"""\
        add_history_to_context: true
        model: {{id: scripted, replies: {json.dumps([*loop, "recovered"])}}}
        members:
          - {{name: Agent 1, model: {{id: scripted, replies: ["a", "b", "c"]}}}}
        """
    team = make_team(tmp_path, body, max_rounds=3)
    failed = team.run("first", user_id="u", session_id="s")
    assert failed.status == "error" and failed.content is None
    assert "stopped after 3 model rounds" in (failed.run.error or "")

    ok = team.run("second", user_id="u", session_id="s")
    assert ok.content == "recovered"
    # The failed run is stored with the user's message, and never replayed as history.
    stored = [r for r in SessionStore(tmp_path / "db").runs("s", "u") if r.parent_run_id is None]
    assert [(r.input, r.status) for r in stored] == [("first", "error"), ("second", "completed")]
    assert roles(scripted(team).requests[-1]) == ["system", "user"]


def test_a_model_error_is_stored_as_a_failed_run(tmp_path: Path) -> None:
    team = make_team(tmp_path, "model: {id: scripted, replies: []}\n")
    out = team.run("hello?", user_id="u", session_id="s")
    assert out.status == "error"
    assert "no reply left" in (out.run.error or "")
    (stored,) = SessionStore(tmp_path / "db").runs("s", "u")
    assert (stored.input, stored.status, stored.error) == ("hello?", "error", out.run.error)


def test_single_agent_history_keeps_the_last_three_completed_runs(tmp_path: Path) -> None:
    team = make_team(
        tmp_path,
        """\
        description: You are polite.
        add_history_to_context: true
        num_history_runs: 3
        model: {id: scripted, replies: ["a1", "a2", "a3", "a4", "a5"]}
        """,
    )
    for i in range(1, 6):
        team.run(f"q{i}", user_id="u", session_id="s")
    last = scripted(team).requests[-1]["messages"]
    assert last[0] == {"role": "system", "content": "<description>\nYou are polite.\n</description>"}
    assert [m["content"] for m in last[1:]] == ["q2", "a2", "q3", "a3", "q4", "a4", "q5"]


@pytest.mark.parametrize(
    ("window", "expected"), [(3, ["assistant", "tool", "assistant"]), (2, ["assistant"])]
)
def test_message_window_never_starts_with_an_orphan_tool_result(
    tmp_path: Path, window: int, expected: list[str]
) -> None:
    team = make_team(
        tmp_path,
        f"""\
        add_history_to_context: true
        num_history_messages: {window}
        model:
          id: scripted
          replies:
            - tool_calls: [{{name: delegate_task_to_member, arguments: {{member_id: agent-1, task: "t"}}}}]
            - "answer one"
            - "answer two"
        members:
          - {{name: Agent 1, model: {{id: scripted, replies: ["member says"]}}}}
        """,
    )
    team.run("one", user_id="u", session_id="s")
    team.run("two", user_id="u", session_id="s")
    history = scripted(team).requests[-1]["messages"][1:-1]
    # Run one ends [assistant(tool_calls), tool, assistant]: a window of 2 would begin with the tool
    # result, so it is dropped; member-internal messages never appear.
    assert [m["role"] for m in history] == expected
    assert history[-1]["content"] == "answer one"
    if len(history) == 3:
        assert history[0]["tool_calls"][0]["id"] == history[1]["tool_call_id"]


def test_store_flags_scrub_the_stored_copy_only(tmp_path: Path) -> None:
    team = make_team(tmp_path, TWO_MEMBERS + "    store_tool_results: false\n")
    out = team.run("Research A", user_id="u", session_id="s")
    assert any(m.role == "tool" for m in out.run.messages)  # live output keeps everything
    stored = next(r for r in SessionStore(tmp_path / "db").runs("s", "u") if r.parent_run_id is None)
    assert [m.role for m in stored.messages] == ["system", "user", "assistant"]
    assert stored.content == "Final: facts found and checked."


def test_another_user_cannot_read_or_write_a_session(tmp_path: Path) -> None:
    team = make_team(
        tmp_path, "add_history_to_context: true\nmodel: {id: scripted, replies: [secret answer, x]}\n"
    )
    team.run("my secret", user_id="alice", session_id="shared")
    session_dir_before = sorted(p.read_bytes() for p in (tmp_path / "db").rglob("*.json"))
    with pytest.raises(SessionError) as info:
        team.run("show me", user_id="bob", session_id="shared")
    assert "alice" not in str(info.value) and "secret" not in str(info.value)
    assert sorted(p.read_bytes() for p in (tmp_path / "db").rglob("*.json")) == session_dir_before
    assert len(scripted(team).requests) == 1  # bob's turn never reached a model


def test_python_tools_are_offered_and_called(tmp_path: Path) -> None:
    (tmp_path / "mytools.py").write_text(
        textwrap.dedent(
            '''\
            def add(a: int, b: int) -> int:
                """Add two numbers.

                Args:
                    a: first
                    b: second
                """
                return a + b


            def boom() -> str:
                """Always fails."""
                raise RuntimeError("kaput")
            '''
        )
    )
    team = make_team(
        tmp_path,
        """\
        tools: ["mytools:add", "mytools:boom"]
        model:
          id: scripted
          replies:
            - tool_calls: [{name: add, arguments: {a: 2, b: 3}}, {name: boom, arguments: {}}]
            - "5"
        """,
    )
    out = team.run("2+3?", user_id="u", session_id="s")
    assert out.content == "5"
    first, second = scripted(team).requests
    assert [t["function"]["name"] for t in first["tools"]] == ["add", "boom"]
    assert [m["content"] for m in second["messages"][-2:]] == [
        "5",
        "Error: the tool boom raised RuntimeError: kaput",
    ]
    assert [t.error for t in out.run.tool_calls] == [None, "RuntimeError: kaput"]


@pytest.mark.parametrize("mode", ["", "respond_directly: true"])
def test_streamed_text_is_exactly_the_final_answer(tmp_path: Path, mode: str) -> None:
    body = f"""\
        {mode}
        model:
          id: scripted
          replies:
            - content: "Let me ask them."
              tool_calls:
                - {{name: delegate_task_to_member, arguments: {{member_id: agent-1, task: "a"}}}}
                - {{name: delegate_task_to_member, arguments: {{member_id: agent-2, task: "b"}}}}
            - "Both answered."
        members:
          - {{name: Agent 1, model: {{id: scripted, replies: ["one"]}}}}
          - {{name: Agent 2, model: {{id: scripted, replies: ["two"]}}}}
        """
    shown: list[str] = []
    out = make_team(tmp_path / "a", body).run(
        "go", user_id="u", session_id="s", stream=True, on_text=shown.append
    )
    assert "".join(shown) == out.content
    expected = "Let me ask them.\n\none\n\ntwo" if mode else "Let me ask them.\n\nBoth answered."
    assert out.content == expected
    assert make_team(tmp_path / "b", body).run("go", user_id="u", session_id="s").content == expected


def test_the_library_never_redirects_the_process_streams(tmp_path: Path) -> None:
    """Two turns in two threads (or a server) must not swap sys.stdout under each other: keeping
    stdout for the answer is the CLI's job (tests/test_cli.py), not the run loop's."""
    (tmp_path / "stream_probe.py").write_text(
        "import sys\nSEEN = []\n"
        'def probe() -> str:\n    """Report the streams."""\n'
        "    SEEN.append((sys.stdout, sys.stderr))\n    return 'ok'\n"
    )
    team = make_team(
        tmp_path,
        """\
        tools: ["stream_probe:probe"]
        model: {id: scripted, replies: [{tool_calls: [{name: probe, arguments: {}}]}, "done"]}
        """,
    )
    before = (sys.stdout, sys.stderr)
    assert team.run("x", user_id="u", session_id="s").content == "done"
    import stream_probe  # the team file's directory was searched for it; it stays imported

    assert [before] == stream_probe.SEEN


def test_a_session_belongs_to_its_team(tmp_path: Path) -> None:
    first = make_team(tmp_path, "name: Alpha\nmodel: {id: scripted, replies: [a]}\n")
    first.run("hello", user_id="u", session_id="s")
    second = make_team(tmp_path, "name: Beta\nmodel: {id: scripted, replies: [b]}\n")
    with pytest.raises(SessionError) as info:
        second.run("hello", user_id="u", session_id="s")
    assert str(info.value) == (
        "session 's' belongs to another team ('alpha'); continue it with that team's file, choose another "
        "--session id, or, if this is the same team renamed, add 'id: alpha' to this file"
    )
    assert not scripted(second).requests
