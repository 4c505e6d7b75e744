"""Session summaries: the exact requests the summary model gets, what is stored, and what a run sees."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from teamkit import make_team

from agno_yaml.cli import cli
from agno_yaml.config import load_team_text
from agno_yaml.models.offline import ScriptedModel
from agno_yaml.runtime.compile import compile_team
from agno_yaml.runtime.prompts import with_session_summary
from agno_yaml.runtime.summary import DEFAULT_INSTRUCTIONS, OUTPUT_FORMAT, REQUEST, parse_summary
from agno_yaml.runtime.team import Team
from agno_yaml.store.tinydb import TinyDBStore as SessionStore

ROOT = Path(__file__).resolve().parent.parent


def leader(team: Team) -> ScriptedModel:
    assert isinstance(team.leader.model, ScriptedModel)
    return team.leader.model


def summarizer(team: Team) -> ScriptedModel:
    assert team.summarizer is not None and isinstance(team.summarizer.model, ScriptedModel)
    return team.summarizer.model


def stored_summary(tmp_path: Path, session_id: str = "s", user_id: str = "u") -> dict[str, Any] | None:
    info = SessionStore(tmp_path / "db").get_session(session_id, user_id)
    assert info is not None
    return info.summary


def reply(summary: str, *topics: str) -> str:
    return json.dumps({"summary": summary, "topics": list(topics)})


def system_text(instructions: str, conversation: str, previous: str | None = None) -> str:
    parts = [instructions]
    if previous is not None:
        parts.append(
            "The summary so far, covering the earlier part of the conversation. Merge the new messages "
            "below into it and return one updated summary (and topics):\n"
            f"<previous_summary>\n{previous}\n</previous_summary>"
        )
    parts.append(f"<conversation>\n{conversation}\n</conversation>")
    parts.append(f"<summary_output_format>\n{OUTPUT_FORMAT}\n</summary_output_format>")
    return "\n\n".join(parts)


def single_agent(summary_replies: list[str], *, extra: str = "", leader_replies: str = "[a1, a2, a3]") -> str:
    return f"""\
        description: You are helpful.
        model: {{id: scripted, replies: {leader_replies}}}
        enable_session_summaries: true
        session_summary_manager:
          model: {{id: scripted, replies: {json.dumps(summary_replies)}}}
        {extra}
        """


def test_summary_is_stored_and_updated_incrementally(tmp_path: Path) -> None:
    team = make_team(
        tmp_path, single_agent([reply("Ana likes chess.", "chess"), reply("Ana likes chess and tea.")])
    )
    first = team.run("I am Ana, I like chess", user_id="u", session_id="s")
    stored = stored_summary(tmp_path)
    assert stored is not None
    assert {k: v for k, v in stored.items() if k != "updated_at"} == {
        "summary": "Ana likes chess.",
        "topics": ["chess"],
        "last_run_id": first.run.run_id,
        "run_count": 1,
    }
    assert stored["updated_at"].endswith("+00:00") and first.summary == stored

    second = team.run("I like tea too", user_id="u", session_id="s")
    one, two = summarizer(team).requests
    assert one == {
        "messages": [
            {
                "role": "system",
                "content": system_text(DEFAULT_INSTRUCTIONS, "User: I am Ana, I like chess\nAssistant: a1"),
            },
            {"role": "user", "content": REQUEST},
        ],
        "tools": [],
    }
    # The second request: the previous summary and only the new run, not the whole session again.
    assert two["messages"][0]["content"] == system_text(
        DEFAULT_INSTRUCTIONS,
        "User: I like tea too\nAssistant: a2",
        previous="Ana likes chess.\nTopics: chess",
    )
    stored = stored_summary(tmp_path)
    assert stored is not None and stored["summary"] == "Ana likes chess and tea."
    assert (stored["topics"], stored["last_run_id"], stored["run_count"]) == ([], second.run.run_id, 2)


def test_summary_renders_only_what_was_said_in_coordinate_and_route_runs(tmp_path: Path) -> None:
    team = make_team(
        tmp_path,
        """\
        model:
          id: scripted
          replies:
            - tool_calls: [{name: delegate_task_to_member, arguments: {member_id: agent-1, task: "t"}}]
            - "Final answer"
        members:
          - {name: Agent 1, model: {id: scripted, replies: ["member text"]}}
        session_summary_manager:
          model: {id: scripted, replies: ['{"summary": "s"}', '{"summary": "s2"}']}
        """,
    )
    team.run("question", user_id="u", session_id="s")
    content = summarizer(team).requests[0]["messages"][0]["content"]
    assert "<conversation>\nUser: question\nAssistant: Final answer\n</conversation>" in content
    assert "None" not in content and "member text" not in content

    route = make_team(
        tmp_path / "route",
        """\
        respond_directly: true
        model:
          id: scripted
          replies: [{tool_calls: [{name: delegate_task_to_member, arguments: {member_id: agent-1, task: "t"}}]}]
        members:
          - {name: Agent 1, model: {id: scripted, replies: ["Bonjour !"]}}
        session_summary_manager:
          model: {id: scripted, replies: ['{"summary": "s"}']}
        """,
    )
    route.run("salut", user_id="u", session_id="s")
    content = summarizer(route).requests[0]["messages"][0]["content"]
    assert "<conversation>\nUser: salut\nAssistant: Bonjour !\n</conversation>" in content


def test_a_custom_prompt_replaces_the_instructions(tmp_path: Path) -> None:
    prompt = "Create a very succinct summary of the following conversation:"
    team = make_team(
        tmp_path,
        single_agent([reply("short")], extra=f'  session_summary_prompt: "{prompt}"'),
    )
    team.run("hello", user_id="u", session_id="s")
    (request,) = summarizer(team).requests
    assert request["messages"][0]["content"] == system_text(prompt, "User: hello\nAssistant: a1")


def test_the_summary_goes_into_the_next_turns_system_message(tmp_path: Path) -> None:
    team = make_team(tmp_path, single_agent([reply("Ana likes chess."), reply("x")]))
    team.run("I like chess", user_id="u", session_id="s")
    team.run("what do I like?", user_id="u", session_id="s")
    first, second = leader(team).requests
    base = "<description>\nYou are helpful.\n</description>"
    assert first["messages"][0]["content"] == base
    assert second["messages"][0]["content"] == with_session_summary(base, "Ana likes chess.")
    assert second["messages"][0]["content"] == (
        base + "\n\nA short summary of your earlier interactions with the user in this session:\n"
        "<summary_of_previous_interactions>\nAna likes chess.\n</summary_of_previous_interactions>\n"
        "The summary may be incomplete or out of date: where it and the current conversation disagree, "
        "the current conversation takes precedence."
    )


def test_the_summary_stays_out_of_context_when_switched_off(tmp_path: Path) -> None:
    team = make_team(
        tmp_path,
        single_agent([reply("Ana likes chess."), reply("x")], extra="add_session_summary_to_context: false"),
    )
    team.run("I like chess", user_id="u", session_id="s")
    team.run("what do I like?", user_id="u", session_id="s")
    assert "summary" not in leader(team).requests[1]["messages"][0]["content"]
    assert len(summarizer(team).requests) == 2


def test_a_failing_or_garbled_summary_model_never_fails_the_run(tmp_path: Path) -> None:
    team = make_team(
        tmp_path,
        single_agent(
            ["I cannot do that.", 'Sure!\n```json\n{"summary": "Both turns.", "topics": "greeting"}\n```']
        ),
    )
    garbled = team.run("hi", user_id="u", session_id="s")
    assert garbled.ok and garbled.content == "a1" and garbled.summary is None
    assert garbled.run.summary_error == (
        'the summary model did not reply with {"summary": ..., "topics": [...]}; it said: \'I cannot do that.\''
    )
    assert stored_summary(tmp_path) is None

    fenced = team.run("hi again", user_id="u", session_id="s")
    assert fenced.run.summary_error is None
    # The run the failed attempt missed is summarised now: no run is skipped.
    assert (
        "<conversation>\nUser: hi\nAssistant: a1\nUser: hi again\nAssistant: a2\n</conversation>"
        in (summarizer(team).requests[1]["messages"][0]["content"])
    )
    stored = stored_summary(tmp_path)
    assert stored is not None and (stored["summary"], stored["topics"], stored["run_count"]) == (
        "Both turns.",
        ["greeting"],
        2,
    )

    failing = team.run("third", user_id="u", session_id="s")  # no scripted reply left: the model raises
    assert failing.ok and failing.content == "a3"
    assert (failing.run.summary_error or "").startswith("the summary model failed: ModelError:")
    assert failing.summary == stored and stored_summary(tmp_path) == stored  # the previous one is kept
    runs = SessionStore(tmp_path / "db").runs("s", "u")
    assert [(r.status, r.summary_error is not None) for r in runs] == [
        ("completed", True),
        ("completed", False),
        ("completed", True),
    ]


def test_failed_runs_do_not_trigger_a_summary(tmp_path: Path) -> None:
    team = make_team(tmp_path, single_agent([reply("x")], leader_replies="[]"))
    out = team.run("hi", user_id="u", session_id="s")
    assert out.status == "error"
    assert summarizer(team).requests == []
    assert stored_summary(tmp_path) is None


def test_summary_tokens_count_in_the_runs_usage(tmp_path: Path) -> None:
    with_summary = make_team(tmp_path / "a", single_agent([reply("Ana.")]))
    without = make_team(
        tmp_path / "b", "description: You are helpful.\nmodel: {id: scripted, replies: [a1]}\n"
    )
    a = with_summary.run("hello", user_id="u", session_id="s")
    b = without.run("hello", user_id="u", session_id="s")
    (request,) = summarizer(with_summary).requests
    prompt = sum(max(1, len(m["content"]) // 4) for m in request["messages"])
    answer = len(reply("Ana.")) // 4
    assert a.usage.input_tokens - b.usage.input_tokens == prompt
    assert a.usage.output_tokens - b.usage.output_tokens == answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"summary": "S", "topics": ["a", "b"]}', ("S", ["a", "b"])),
        ('```json\n{"summary": "S"}\n```', ("S", [])),
        ('Here you go: {"summary": " S ", "topics": ["x"]} Hope it helps.', ("S", ["x"])),
        ('{"summary": "", "topics": []}', None),
        ('["summary"]', None),
        ("no json at all", None),
        ("", None),
    ],
)
def test_summary_replies_are_parsed_tolerantly(text: str, expected: tuple[str, list[str]] | None) -> None:
    assert parse_summary(text) == expected


def test_the_echo_model_writes_an_extractive_summary(tmp_path: Path) -> None:
    team_file = str(ROOT / "teams" / "session-summary.yaml")
    db = str(tmp_path / "store")
    common = ["--user", "jon", "--session", "1001", "--model", "echo", "--db", db]
    for message in ("What can you tell me about quantum computing?", "I would also like to know about LLMs?"):
        result = CliRunner().invoke(cli, [team_file, message, *common], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    info = SessionStore(db).get_session("1001", "jon")
    assert info is not None and info.summary is not None
    assert info.summary["summary"] == (
        'The user said: "What can you tell me about quantum computing?". '
        'The user said: "I would also like to know about LLMs?".'
    )
    assert info.summary["topics"] == ["What can you tell", "I would also like"]
    assert info.summary["run_count"] == 2


def test_summaries_stay_whole_under_concurrent_turns(tmp_path: Path) -> None:
    """4 writers x 10 turns into one session, summaries on: the final summary covers all 40 runs.

    Each summary is written only if the stored one is still the one it was built on, and an update
    folds in every run the stored summary does not cover, so no turn's run is ever skipped.
    """
    body = "model: echo\nenable_session_summaries: true\n"

    def writer(w: int) -> None:
        # Each writer compiles its own team on the one store directory, as separate processes would.
        team = compile_team(load_team_text(body, "team.yaml"), db=tmp_path / "shared")
        for i in range(10):
            team.run(f"message {w}-{i}", user_id="u", session_id="s")

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store = SessionStore(tmp_path / "shared")
    assert len(store.runs("s", "u")) == 40
    summary = store.get_session("s", "u").summary  # type: ignore[union-attr]
    assert summary is not None and summary["run_count"] == 40
    for w in range(4):
        for i in range(10):
            assert f'"message {w}-{i}"' in summary["summary"]


def test_failing_summaries_stay_bounded_back_off_and_accept_plain_text(tmp_path: Path) -> None:
    """The tiny model never wrote JSON: every turn re-sent the whole session until the request overflowed."""
    team = make_team(
        tmp_path,
        f"""\
        model: {{id: scripted, replies: [a1, a2, a3, a4, a5]}}
        enable_session_summaries: true
        session_summary_manager:
          max_runs: 2
          model: {{id: scripted, replies: {json.dumps(["{oops", "{oops", "{oops", "Ana talked about chess."])}}}
        """,
    )
    outs = [team.run(f"q{i}", user_id="u", session_id="s") for i in range(1, 6)]
    assert [o.ok for o in outs] == [True] * 5  # a summary never fails a turn
    assert [o.run.summary_failures for o in outs] == [1, 2, 3, 4, 0]
    assert outs[3].run.summary_error is not None and outs[3].run.summary_error.startswith("not tried:")
    requests = summarizer(team).requests
    assert len(requests) == 4  # turn 4 paid for no doomed call
    last = requests[-1]["messages"][0]["content"]
    assert "<conversation>\nUser: q4\nAssistant: a4\nUser: q5\nAssistant: a5\n</conversation>" in last
    assert "3 earlier exchanges since the summary was last updated are not shown" in last
    assert all(len(r["messages"][0]["content"]) <= len(last) for r in requests)  # bounded, not growing
    stored = stored_summary(tmp_path)
    assert stored is not None and stored["summary"] == "Ana talked about chess." and stored["run_count"] == 5
    assert [r.summary_failures for r in SessionStore(tmp_path / "db").runs("s", "u")] == [1, 2, 3, 4, 0]


def test_backoff_schedule() -> None:
    from agno_yaml.runtime.summary import should_try

    assert [n for n in range(70) if should_try(n)] == [0, 1, 2, 4, 8, 16, 32, 64]
