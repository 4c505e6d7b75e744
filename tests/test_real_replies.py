"""Replies real servers send (met with a small local model): empty replies, messages a chat template
cannot render, a route-mode leader that answers itself, empty member answers, answers cut at
max_tokens, usage the stream did not carry, summaries that keep failing. Through the real litellm
path against the loopback fake server, which sends each of these shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fake_openai import FakeOpenAI

from agno_yaml.cli import cli
from agno_yaml.config import load_team
from agno_yaml.messages import Message, RunRecord
from agno_yaml.runtime.compile import compile_team
from agno_yaml.runtime.history import history_messages
from agno_yaml.runtime.team import Team
from agno_yaml.store.tinydb import TinyDBStore


def team_file(tmp_path: Path, fake: FakeOpenAI, body: str = "", model: str = "") -> Path:
    path = tmp_path / "team.yaml"
    options = (
        f"id: openai/fake-model, api_base: '{fake.base_url}', api_key: not-a-key, num_retries: 1, timeout: 5"
    )
    path.write_text(
        f"model: {{{options}{model}}}\ndb: {{path: '{tmp_path / 'db'}'}}\n{body}", encoding="utf-8"
    )
    return path


def make(tmp_path: Path, fake: FakeOpenAI, body: str = "", model: str = "") -> Team:
    return compile_team(load_team(team_file(tmp_path, fake, body, model)))


def agno(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("stream", [True, False])
def test_an_empty_reply_is_asked_again_once(tmp_path: Path, fake_openai: FakeOpenAI, stream: bool) -> None:
    team = make(tmp_path, fake_openai)
    fake_openai.add_empty()
    fake_openai.add_text("here it is")
    out = team.run("hi", user_id="u", session_id="s", stream=stream)
    assert out.ok and out.content == "here it is"
    assert (
        fake_openai.hits == 2 and fake_openai.requests[0]["messages"] == fake_openai.requests[1]["messages"]
    )
    assert "stream" not in fake_openai.requests[1]  # asked again without streaming


def test_an_empty_stream_is_asked_again_unstreamed_and_the_answer_still_printed(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    """llama-cpp-python cannot stream a reply that may call a tool: it fails with HTTP 200 and no data."""
    path = team_file(tmp_path, fake_openai, MEMBERS)
    fake_openai.add_empty()
    fake_openai.add_text("the answer")
    result = agno(str(path), "hi", "-s", "s", "--stream")
    assert result.exit_code == 0 and result.stdout == "the answer\n"
    assert [r.get("stream", False) for r in fake_openai.requests] == [True, False]


@pytest.mark.parametrize("shape", ["empty", "no text"])
def test_two_empty_replies_fail_the_run_with_a_clear_line(
    tmp_path: Path, fake_openai: FakeOpenAI, shape: str
) -> None:
    path = team_file(tmp_path, fake_openai)
    for _ in range(2):
        fake_openai.add_empty() if shape == "empty" else fake_openai.add_text("")
    result = agno(str(path), "hi", "-s", "s", "--stream")
    assert result.exit_code == 1
    assert "the model returned an empty reply (no text and no tool call), twice" in result.stderr
    (run,) = TinyDBStore(tmp_path / "db").runs("s", "default")
    assert run.status == "error" and run.input == "hi" and "empty reply" in (run.error or "")


def test_an_empty_reply_cut_at_max_tokens_says_so(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    team = make(tmp_path, fake_openai, model=", max_tokens: 5")
    fake_openai.add_text("", finish_reason="length")
    out = team.run("hi", user_id="u", session_id="s")
    assert out.status == "error" and fake_openai.hits == 1  # asking again would be cut the same way
    assert "the reply was cut at max_tokens=5 before any text; raise max_tokens" in (out.run.error or "")


def _stored_bad_run(store: TinyDBStore, session: str) -> None:
    """A completed run with an empty answer, as versions before this fix stored an empty stream."""
    bad = RunRecord("bad0" * 8, session, "u", "first question", messages=[
        Message("system", "sys"), Message("user", "first question"), Message("assistant", None),
    ], content=None)  # fmt: skip
    store.append_runs(session, "u", "team", [bad])


def test_a_stored_empty_run_never_poisons_the_session(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    team = make(tmp_path, fake_openai, "add_history_to_context: true\n")
    assert team.store is not None
    _stored_bad_run(team.store, "s")  # type: ignore[arg-type]
    fake_openai.strict = True  # a template error (HTTP 500) for any message it cannot render
    fake_openai.add_text("fine")
    out = team.run("second question", user_id="u", session_id="s")
    assert out.ok and out.content == "fine", out.run.error
    sent = fake_openai.requests[0]["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [
        ("user", "second question")
    ]  # the bad run is left out
    fake_openai.add_text("still fine")
    out = team.run("third", user_id="u", session_id="s")
    assert out.ok and [m["content"] for m in fake_openai.requests[1]["messages"]] == [
        "second question", "fine", "third",
    ]  # fmt: skip


def test_history_replays_only_well_formed_messages() -> None:
    from agno_yaml.messages import ToolCall

    run = RunRecord("r1", "s", "u", "q", messages=[
        Message("user", "q"),
        Message("assistant", None, [ToolCall("c1", "lookup", "{}"), ToolCall("c2", "lookup", "{}")]),
        Message("tool", "result 1", tool_call_id="c1", name="lookup"),  # c2's result was never stored
        Message("tool", "stray", tool_call_id="zz", name="lookup"),
        Message("assistant", "   "),
        Message("assistant", "the answer"),
    ], content="the answer")  # fmt: skip
    replayed = history_messages([run], num_runs=3)
    assert [(m.role, m.content, [c.id for c in m.tool_calls]) for m in replayed] == [
        ("user", "q", []), ("assistant", None, ["c1"]), ("tool", "result 1", []), ("assistant", "the answer", []),
    ]  # fmt: skip
    # A run without an answer takes no place in the window: the three before it are still replayed.
    older = [
        RunRecord(
            f"o{i}", "s", "u", f"q{i}", messages=[Message("user", f"q{i}"), Message("assistant", f"a{i}")]
        )
        for i in range(3)
    ]
    empty = RunRecord("e", "s", "u", "q", messages=[Message("user", "q"), Message("assistant", "")])
    window = history_messages([empty, *reversed(older)], num_runs=3)
    assert [m.content for m in window if m.role == "user"] == ["q0", "q1", "q2"]


ROUTE = """\
respond_directly: true
members:
  - {name: Writer, role: Writes}
  - {name: Checker, role: Checks}
"""


def test_route_mode_leader_answering_itself_is_flagged(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    path = team_file(tmp_path, fake_openai, ROUTE)
    fake_openai.add_text("I will just answer myself.")
    result = agno(str(path), "hi", "-s", "s", "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["route"] == "leader" and data["member"] is None
    assert any(
        "the leader answered itself instead of handing the question to a member" in w
        for w in data["warnings"]
    )
    fake_openai.add_text("Again myself.")
    result = agno(str(path), "hi", "-s", "s")
    assert "warning: route mode: the leader answered itself" in result.stderr
    assert "answered by the leader" in result.stderr


def test_an_empty_member_answer_goes_back_to_the_leader_as_an_error(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    team = make(tmp_path, fake_openai, ROUTE)
    fake_openai.add_tool_call("delegate_task_to_member", {"member_id": "writer", "task": "write"})
    fake_openai.add_text("", times=2)  # the writer says nothing, twice
    fake_openai.add_tool_call("delegate_task_to_member", {"member_id": "checker", "task": "write"})
    fake_openai.add_text("the checker wrote it")
    out = team.run("hi", user_id="u", session_id="s")
    assert out.ok and out.content == "the checker wrote it" and out.run.answered_by == "checker"
    tool_results = [m["content"] for m in fake_openai.requests[3]["messages"] if m["role"] == "tool"]
    assert tool_results[0].startswith(
        "Error: member writer failed: model openai/fake-model: the model returned an empty reply"
    )
    writer = next(r for r in out.member_runs if r.member == "writer")
    assert writer.status == "error"


def test_a_truncated_answer_is_flagged_and_recorded(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    path = team_file(tmp_path, fake_openai, model=", max_tokens: 25")
    fake_openai.add_text("The answer is cut", finish_reason="length")
    result = agno(str(path), "hi", "-s", "s", "--json")
    data = json.loads(result.stdout)
    assert data["truncated"] is True and data["answer"] == "The answer is cut"
    assert "the answer was cut at max_tokens=25; raise max_tokens" in " ".join(data["warnings"])
    fake_openai.add_text("The answer is cut", finish_reason="length")
    result = agno(str(path), "hi", "-s", "s")
    assert "warning: the answer was cut at max_tokens=25" in result.stderr
    runs = TinyDBStore(tmp_path / "db").runs("s", "default")
    assert [r.truncated for r in runs] == [True, True]


# -- tool_choice --------------------------------------------------------------------------------------
MEMBERS = "members:\n  - {name: Writer, role: Writes}\n"


def test_tool_choice_auto_is_sent_whenever_tools_are_offered(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    team = make(tmp_path, fake_openai, MEMBERS)
    fake_openai.add_text("done")
    assert team.run("hi", user_id="u", session_id="s").ok
    assert fake_openai.requests[0]["tool_choice"] == "auto" and fake_openai.requests[0]["tools"]
    (tmp_path / "bare").mkdir()
    bare = make(tmp_path / "bare", fake_openai)  # no members, no tools: no tool_choice either
    fake_openai.add_text("done")
    assert bare.run("hi", user_id="u", session_id="s").ok
    assert "tool_choice" not in fake_openai.requests[1] and "tools" not in fake_openai.requests[1]


@pytest.mark.parametrize(
    ("choice", "first"),
    [
        ("required", "required"),
        ("delegate_task_to_member", {"type": "function", "function": {"name": "delegate_task_to_member"}}),
    ],
)
def test_a_forced_tool_choice_holds_until_a_tool_has_answered(
    tmp_path: Path, fake_openai: FakeOpenAI, choice: str, first: object
) -> None:
    """Forcing a call every round would never let the leader answer."""
    team = make(tmp_path, fake_openai, MEMBERS, model=f", tool_choice: {choice}")
    fake_openai.add_tool_call("delegate_task_to_member", {"member_id": "writer", "task": "write"})
    fake_openai.add_text("written")  # the writer (a member sends its own model's tool_choice, no tools)
    fake_openai.add_text("here it is")
    out = team.run("hi", user_id="u", session_id="s")
    assert out.ok and out.content == "here it is"
    leader = [r for r in fake_openai.requests if r.get("tools")]
    assert [r["tool_choice"] for r in leader] == [first, "auto"]


def test_tool_choice_none_is_sent_as_is(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    team = make(tmp_path, fake_openai, MEMBERS, model=", tool_choice: none")
    fake_openai.add_text("myself")
    assert team.run("hi", user_id="u", session_id="s").ok
    assert fake_openai.requests[0]["tool_choice"] == "none"


# -- usage the server did not send ------------------------------------------------------------------------
@pytest.mark.parametrize("stream", [True, False])
def test_usage_the_server_did_not_send_is_marked_estimated(
    tmp_path: Path, fake_openai: FakeOpenAI, stream: bool
) -> None:
    path = team_file(tmp_path, fake_openai)
    fake_openai.add_text("an answer of some words", usage=False)
    flags = ["--stream"] if stream else ["--no-stream"]
    data = json.loads(agno(str(path), "hi", "-s", "s", "--json", *flags).stdout)
    usage = data["usage"]
    assert usage["estimated"] is True and usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    fake_openai.add_text("an answer of some words")  # with usage: the server's numbers, as they are
    data = json.loads(agno(str(path), "hi", "-s", "s", "--json", *flags).stdout)
    assert data["usage"]["estimated"] is False and data["usage"]["input_tokens"] == 11
    fake_openai.add_text("an answer of some words", usage=False)
    result = agno(str(path), "hi", "-s", "s", *flags)
    assert result.exit_code == 0 and "estimated)" in result.stderr
    runs = TinyDBStore(tmp_path / "db").runs("s", "default")
    assert [r.usage.estimated for r in runs] == [True, False, True]


# -- context overflow ------------------------------------------------------------------------------------
def test_a_context_overflow_names_the_history_window(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    path = team_file(tmp_path, fake_openai, "add_history_to_context: true\nnum_history_runs: 3\n")
    for n in range(3):
        fake_openai.add_text(f"answer {n} " + "word " * 50)
        assert agno(str(path), f"question {n}", "-s", "s").exit_code == 0
    fake_openai.add_error(400, "This model's maximum context length is 2048 tokens.", times=3)
    result = agno(str(path), "one more", "-s", "s")
    assert result.exit_code == 1 and fake_openai.hits == 4  # not retried
    line = result.stderr
    assert "longer than the model's context" in line
    assert "the history window added 3 earlier runs (about" in line
    assert "lower num_history_runs (now 3), or start a new session" in line
    assert "retry later" not in line
    (last,) = TinyDBStore(tmp_path / "db").runs("s", "default")[-1:]
    assert last.status == "error" and last.input == "one more"  # the message is kept


def test_an_empty_plain_body_is_an_empty_reply_not_a_server_error(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    path = team_file(tmp_path, fake_openai)
    fake_openai.add_empty(times=2)
    result = agno(str(path), "hi", "-s", "s", "--no-stream")
    assert result.exit_code == 1 and fake_openai.hits == 2
    assert "the model returned an empty reply" in result.stderr and "retry later" not in result.stderr


def test_a_tool_choice_naming_a_tool_the_agent_lacks_is_refused_with_its_place(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    path = team_file(tmp_path, fake_openai, MEMBERS, model=", tool_choice: web_search")
    result = agno("inspect", str(path))
    assert result.exit_code == 2
    assert (
        "$.model.tool_choice: the leader is offered no tool named 'web_search' (its tools: delegate_task_to_member)"
        in result.stderr
    )
    assert "use auto, required, none or one of its tools" in result.stderr
    own = "members:\n  - {name: Writer, role: Writes, model: {id: echo, tool_choice: delegate_task_to_member}}\n"
    path = team_file(tmp_path, fake_openai, own)
    result = agno("inspect", str(path))
    assert (
        result.exit_code == 2
        and "$.members[0].model.tool_choice: member Writer is offered no tool" in result.stderr
    )
    # The team's mapping names the leader's tool; members inherit the mapping and are not blamed.
    path = team_file(tmp_path, fake_openai, MEMBERS, model=", tool_choice: delegate_task_to_member")
    assert agno("inspect", str(path)).exit_code == 0


def test_a_context_overflow_from_a_long_message_says_to_shorten_it(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    path = team_file(tmp_path, fake_openai, "add_history_to_context: true\n")
    fake_openai.add_text("short answer")
    assert agno(str(path), "short question", "-s", "s").exit_code == 0
    fake_openai.add_error(400, "This model's maximum context length is 2048 tokens.")
    result = agno(str(path), "word " * 3000, "-s", "s")
    assert result.exit_code == 1
    assert "the history window added 1 earlier run (about 6 tokens of about" in result.stderr
    assert "the rest is the message and the instructions, shorten the message" in result.stderr
