"""Whole turns through the real litellm path, against the OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from fake_openai import FakeOpenAI

from agno_yaml.cli import cli
from agno_yaml.config import load_team
from agno_yaml.runtime.compile import compile_team
from agno_yaml.runtime.team import Team
from agno_yaml.store.tinydb import TinyDBStore as SessionStore


def team_file(tmp_path: Path, fake: FakeOpenAI, body: str) -> Path:
    path = tmp_path / "team.yaml"
    model = f'{{id: openai/fake-model, api_base: "{fake.base_url}", api_key: not-a-key, num_retries: 1, timeout: 2}}'
    path.write_text(f"model: {model}\ndb: {{path: '{tmp_path / 'db'}'}}\n{body}", encoding="utf-8")
    return path


def make(tmp_path: Path, fake: FakeOpenAI, body: str) -> Team:
    return compile_team(load_team(team_file(tmp_path, fake, body)))


MEMBERS = """\
members:
  - {name: Writer, role: Writes short answers}
  - {name: Checker, role: Checks answers}
"""


def test_coordinate_turn_over_http(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    team = make(tmp_path, fake_openai, MEMBERS)
    fake_openai.add_tool_call("delegate_task_to_member", {"member_id": "writer", "task": "Say hi"})
    fake_openai.add_text("hi!")
    fake_openai.add_text("The writer says hi!")

    out = team.run("greet me", user_id="u", session_id="s")

    assert out.ok and out.content == "The writer says hi!"
    leader_1, member, leader_2 = fake_openai.requests
    assert leader_1["model"] == "fake-model"
    assert [m["role"] for m in leader_1["messages"]] == ["system", "user"]
    assert [t["function"]["name"] for t in leader_1["tools"]] == ["delegate_task_to_member"]
    assert member["messages"] == [
        {"role": "system", "content": "<your_role>\nWrites short answers\n</your_role>"},
        {"role": "user", "content": "Say hi"},
    ]
    assert "tools" not in member
    call = leader_2["messages"][2]["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"member_id": "writer", "task": "Say hi"}
    assert leader_2["messages"][3] == {
        "role": "tool",
        "content": "hi!",
        "tool_call_id": call["id"],
        "name": "delegate_task_to_member",
    }
    assert out.usage.total_tokens > 0 and out.usage.input_tokens == 33  # 11 prompt tokens x 3 calls


def test_route_turn_streams_the_member_answer_over_http(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    team = make(tmp_path, fake_openai, "respond_directly: true\n" + MEMBERS)
    fake_openai.add_tool_call("delegate_task_to_member", {"member_id": "checker", "task": "check 2+2=4"})
    fake_openai.add_text("Correct: 2+2=4.", chunks=["Correct", ": 2+2", "=4."])
    chunks: list[str] = []

    out = team.run("is 2+2=4?", user_id="u", session_id="s", stream=True, on_text=chunks.append)

    assert chunks == ["Correct", ": 2+2", "=4."]
    assert out.content == "Correct: 2+2=4." and out.run.answered_by == "checker"
    assert fake_openai.hits == 2 and all(r["stream"] for r in fake_openai.requests)


def test_cli_turn_over_http_and_a_failed_turn_is_kept(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    path = str(team_file(tmp_path, fake_openai, "add_history_to_context: true\n"))
    fake_openai.add_text("first answer")
    ok = CliRunner().invoke(cli, [path, "first question", "-s", "s", "--json"], catch_exceptions=False)
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["answer"] == "first answer"

    fake_openai.add_error(500, "upstream exploded", times=2)  # the first try and the one retry
    failed = CliRunner().invoke(cli, [path, "second question", "-s", "s"], catch_exceptions=False)
    assert failed.exit_code == 1 and failed.stdout == ""
    assert failed.stderr.startswith("error: the run failed: ")

    fake_openai.add_text("third answer")
    again = CliRunner().invoke(cli, [path, "third question", "-s", "s"], catch_exceptions=False)
    assert again.exit_code == 0 and again.stdout == "third answer\n"
    # History skips the failed run; the store keeps all three with the user's messages.
    sent = [(m["role"], m["content"]) for m in fake_openai.requests[-1]["messages"]]
    assert sent == [("user", "first question"), ("assistant", "first answer"), ("user", "third question")]
    runs = SessionStore(tmp_path / "db").runs("s", "default")
    assert [(r.input, r.status) for r in runs] == [
        ("first question", "completed"),
        ("second question", "error"),
        ("third question", "completed"),
    ]
