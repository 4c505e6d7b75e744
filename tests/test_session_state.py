"""Session state, the dry run of a turn's context, the chat loop, and per-member model overrides."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from teamkit import make_team, scripted

from agno_yaml.cli import cli
from agno_yaml.config import load_team
from agno_yaml.runtime.compile import compile_team
from agno_yaml.store.tinydb import TinyDBStore

SCRIPT = str(Path(sys.executable).with_name("agno-run"))

CART_TOOL = '''\
def add_to_cart(item: str, session_state: dict) -> str:
    """Put an item in the shopping cart.

    Args:
        item: What to add.
    """
    session_state.setdefault("cart", []).append(item)
    return f"cart: {', '.join(session_state['cart'])}"
'''

CART_TEAM = """\
name: Shop
instructions: "You serve {customer}. Be brief."
resolve_in_context: true
add_session_state_to_context: true
session_state: {customer: a guest, cart: []}
tools: ["cart_tool:add_to_cart"]
db: {path: store}
model:
  id: scripted
  replies:
    - {tool_calls: [{name: add_to_cart, arguments: {item: apples}}]}
    - "added"
    - {tool_calls: [{name: add_to_cart, arguments: {item: pears}}]}
    - "added"
"""


def agno(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, prog_name="agno-run")


def shop(tmp_path: Path, replies_from: int = 0) -> Path:
    (tmp_path / "cart_tool.py").write_text(CART_TOOL)
    team = tmp_path / "shop.yaml"
    team.write_text(CART_TEAM)
    return team


def test_state_carries_across_runs_and_processes_and_tools_change_it(tmp_path: Path) -> None:
    team = shop(tmp_path)
    first = subprocess.run(
        [SCRIPT, str(team), "add apples", "-s", "s", "--json"], capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["session_state"] == {"customer": "a guest", "cart": ["apples"]}
    # A new process, a new compile: the scripted replies start again, the state does not.
    loaded = load_team(team)
    second = compile_team(loaded).run(
        "who am I?", user_id="default", session_id="s", state={"customer": "Ada"}
    )
    stored = TinyDBStore(tmp_path / "store").get_session("s", "default")
    assert stored is not None and stored.session_state == {"customer": "Ada", "cart": ["apples", "apples"]}
    assert second.state == stored.session_state
    third = subprocess.run(
        [SCRIPT, str(team), "and pears", "-s", "s", "--state", "vip=true", "--json"],
        capture_output=True,
        text=True,
    )
    assert json.loads(third.stdout)["session_state"] == {
        "customer": "Ada",
        "cart": ["apples", "apples", "apples"],
        "vip": True,
    }


def test_state_is_in_the_system_message_and_fills_placeholders(tmp_path: Path) -> None:
    team = compile_team(load_team(shop(tmp_path)), db=tmp_path / "store")
    team.run("add apples", user_id="u", session_id="s", state={"customer": "Ada"})
    system = scripted(team).requests[0]["messages"][0]["content"]
    assert system.startswith("You serve Ada. Be brief.")  # {customer} filled from the state
    assert '<session_state>\n{\n "customer": "Ada",\n "cart": []\n}\n</session_state>' in system
    schema = scripted(team).requests[0]["tools"][0]["function"]["parameters"]
    assert list(schema["properties"]) == ["item"]  # session_state is never offered to the model


def test_the_dry_run_shows_exactly_what_the_model_then_receives(tmp_path: Path) -> None:
    team_file = tmp_path / "team.yaml"
    team_file.write_text(
        textwrap.dedent(
            """\
            name: Dry
            add_history_to_context: true
            enable_session_summaries: true
            session_state: {topic: cats}
            add_session_state_to_context: true
            db: {path: store}
            model: {id: scripted, replies: ["one", '{"summary": "Talked about cats.", "topics": []}', "two", "x"]}
            members:
              - {name: Helper, role: helps, model: {id: scripted, replies: []}}
            """
        )
    )
    compile_team(load_team(team_file)).run("first message", user_id="u", session_id="s")
    shown = agno(str(team_file), "second message", "-s", "s", "-u", "u", "--show-context", "--json")
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)
    team = compile_team(load_team(team_file))
    team.run("second message", user_id="u", session_id="s")
    received = scripted(team).requests[0]
    assert document["messages"] == received["messages"] and document["tools"] == received["tools"]
    assert "Talked about cats." in document["messages"][0]["content"]  # the summary, and ...
    assert [m["role"] for m in document["messages"][1:]] == ["user", "assistant", "user"]  # ... the history
    assert len(TinyDBStore(tmp_path / "store").runs("s", "u")) == 2  # the dry run wrote nothing
    text = agno(str(team_file), "third", "-s", "s", "-u", "u", "--show-context").stdout
    assert text.startswith("--- system\n") and "--- user (from history)\nfirst message" in text
    assert "--- tools offered (1)\ndelegate_task_to_member(member_id, task)" in text
    member = json.loads(
        agno(
            str(team_file), "a task", "-s", "s", "-u", "u", "--show-context", "--member", "helper", "--json"
        ).stdout
    )
    assert member["messages"][-1] == {"role": "user", "content": "a task"} and member["tools"] == []


def test_the_chat_loop_is_a_session_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agno_yaml.cli.chat import chat
    from agno_yaml.cli.turns import RunRequest, SessionChoice

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    team = make_team(tmp_path, "model: echo\n")
    lines = iter(
        ["/help", "/history", "hello there", "/history", "/frobnicate", "/sessions", "/new", "again", "/exit"]
    )
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    ok = chat(team, RunRequest(team_file="team.yaml"), "u", SessionChoice("first", True))
    out, err = capsys.readouterr()
    assert ok and out == "hello there\nagain\n"
    assert "/history   the conversation so far" in err
    assert "session first has no turns yet" in err and "user: hello there\nassistant: hello there" in err
    assert "unknown command /frobnicate: it was not sent to the model" in err
    new = re.search(r"^new session (\S+)$", err, re.M)
    assert new is not None and err.count("continue with:") == 1  # once, on leaving, for the last session
    assert err.rstrip().endswith(f"--user u --session {new.group(1)}")
    assert [r.input for r in team.store.runs("first", "u")] == ["hello there"]  # type: ignore[union-attr]


def test_a_member_model_can_be_replaced_alone(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(
        "model: {id: openai/gpt-5-mini, api_key: '${NEEDED_KEY_FOR_LEADER}'}\n"
        "members:\n  - {name: A, model: {id: openai/gpt-5-mini, api_key: '${ONLY_FOR_A}'}}\n  - {name: B}\n"
    )
    refused = agno("inspect", str(team), "--model", "a=echo", "--json")
    assert refused.exit_code == 2, refused.output  # the leader's (and B's) key is still needed; A's is not
    assert "NEEDED_KEY_FOR_LEADER is not set" in refused.stderr and "ONLY_FOR_A" not in refused.stderr
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEEDED_KEY_FOR_LEADER", "k")
        view = json.loads(agno("inspect", str(team), "--model", "a=echo", "--json").stdout)
    assert [m["model"] for m in view["members"]] == ["echo", "openai/gpt-5-mini"] and view["leader"][
        "model"
    ] == "openai/gpt-5-mini"
    unknown = agno("inspect", str(team), "--model", "zed=echo", "--model", "echo")
    assert (
        unknown.exit_code == 2
        and "the team has no member 'zed'; targets are a, b, leader or summary" in unknown.stderr
    )
    everything = json.loads(
        agno("inspect", str(team), "--model", "echo", "--model", "b=scripted", "--json").stdout
    )
    assert [m["model"] for m in everything["members"]] == ["echo", "scripted"]


def test_ctrl_c_in_the_chat_cancels_only_the_turn_and_at_the_prompt_leaves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agno_yaml.cli.chat import chat
    from agno_yaml.cli.turns import RunRequest, SessionChoice
    from agno_yaml.models import register_model
    from agno_yaml.models.offline import FunctionModel

    def model(messages: list, tools: list) -> str:
        if messages[-1].content == "stop this one":
            raise KeyboardInterrupt  # as Ctrl-C lands while the model answers
        return "fine"

    register_model("ctrl-c-test", lambda spec: FunctionModel(model, name="ctrl-c-test"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    team = make_team(tmp_path, "model: ctrl-c-test\n")

    def prompts():  # type: ignore[no-untyped-def]
        yield "stop this one"
        yield "then this"
        raise KeyboardInterrupt  # Ctrl-C at the prompt

    lines = prompts()
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    assert chat(team, RunRequest(team_file="team.yaml"), "u", SessionChoice("c", True)) is True
    out, err = capsys.readouterr()
    assert out == "fine\n" and "cancelled: stopped by Ctrl-C" in err
    runs = team.store.runs("c", "u")  # type: ignore[union-attr]
    assert [(r.input, r.status) for r in runs] == [("stop this one", "cancelled"), ("then this", "completed")]


def test_a_summary_can_be_computed_again_from_every_run(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text("model: echo\nenable_session_summaries: true\ndb: {path: store}\n")
    for message in ("about cats", "about dogs"):
        assert agno(str(team), message, "-s", "s").exit_code == 0
    store = TinyDBStore(tmp_path / "store")
    store.update_session("s", "default", summary=None)  # lost, say
    assert agno("sessions", "summary", "s", "--team", str(team)).stderr.startswith(
        "session 's' has no summary yet"
    )
    refreshed = json.loads(
        agno("sessions", "summary", "s", "--team", str(team), "--refresh", "--json").stdout
    )
    assert (
        refreshed["run_count"] == 2
        and '"about cats"' in refreshed["summary"]
        and '"about dogs"' in refreshed["summary"]
    )
    assert store.get_session("s", "default").summary == refreshed  # type: ignore[union-attr]
