"""Every way a turn is stopped or fed bad input keeps the user's message and says one clear line.

Each test names the guarantee it proves. Processes are real (the console script), signals are real,
and every wait is on a condition with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fake_openai import FakeOpenAI

from agno_yaml.cli import cli
from agno_yaml.store.tinydb import TinyDBStore

SCRIPT = str(Path(sys.executable).with_name("agno-run"))


def agno(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False, prog_name="agno-run")


def wait_for(condition: object, what: str, deadline: float = 60.0) -> None:
    end = time.monotonic() + deadline
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.01)


def remote_team(tmp_path: Path, base: str) -> Path:
    path = tmp_path / "team.yaml"
    path.write_text(
        f"model: {{id: openai/slow, api_base: '{base}', api_key: k, timeout: 60}}\ndb: {{path: store}}\n"
    )
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)]
)
def test_every_signal_stores_the_message_as_cancelled(tmp_path: Path, signum: int, code: int) -> None:
    with FakeOpenAI() as fake:
        fake.add_stall(120, text="one two three", after_chunks=2)  # streams "one", then hangs
        team = remote_team(tmp_path, fake.base_url)
        proc = subprocess.Popen(
            [SCRIPT, str(team), "please stop me", "-s", "s1", "--stream"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wait_for(lambda: fake.hits >= 1 or proc.poll() is not None, "the request")
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    (run,) = TinyDBStore(tmp_path / "store").runs("s1", "default")
    assert run.input == "please stop me" and run.status == "cancelled"
    name = {signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP", signal.SIGINT: "Ctrl-C"}[signum]
    assert run.error == f"stopped by {name}"
    assert f"cancelled: stopped by {name}; your message is saved as cancelled run {run.run_id}" in err
    assert "Traceback" not in err, err


@pytest.mark.slow
def test_a_stopped_turn_keeps_what_was_already_shown(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        fake.add_stall(120, text="partial words here", after_chunks=2)
        team = remote_team(tmp_path, fake.base_url)
        proc = subprocess.Popen(
            [SCRIPT, str(team), "go", "-s", "s1", "--stream"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert proc.stdout is not None
        first = proc.stdout.read(7)  # "partial" reached the terminal: now stop it
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert first == b"partial"
    (run,) = TinyDBStore(tmp_path / "store").runs("s1", "default")
    assert run.status == "cancelled" and run.content == "partial"


def test_random_bytes_on_stdin_are_a_usage_error(tmp_path: Path) -> None:
    out = subprocess.run(
        [SCRIPT, str(Path(__file__).parent.parent / "teams" / "multilingual.yaml"), "--model", "echo",
         "--db", str(tmp_path / "db")],
        input=bytes(range(128, 256)), capture_output=True,
    )  # fmt: skip
    assert out.returncode == 2 and out.stdout == b""
    assert out.stderr.decode().startswith("error: stdin is not UTF-8 text (invalid ")
    assert " at byte 0); pipe UTF-8 text in" in out.stderr.decode()
    assert not (tmp_path / "db").exists()


def test_a_message_that_is_not_utf8_is_refused_before_any_request(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        team = remote_team(tmp_path, fake.base_url)
        out = subprocess.run([SCRIPT.encode(), str(team).encode(), b"caf\xe9 au lait"], capture_output=True)
        assert fake.hits == 0  # never sent, never retried as a server error
    assert out.returncode == 2
    assert b"the message is not valid UTF-8 text" in out.stderr


@pytest.mark.parametrize("command", [["validate"], ["inspect"], []])
def test_a_fifo_is_refused_at_once_instead_of_waiting_forever(tmp_path: Path, command: list[str]) -> None:
    fifo = tmp_path / "team.yaml"
    os.mkfifo(fifo)
    result = agno(*command, str(fifo), *(["hi", "--model", "echo"] if not command else []))
    assert result.exit_code == 2
    assert f"{fifo}:1:1: $: this is a FIFO (named pipe), not a file; name a .yaml file" in result.stderr


def test_an_unwritable_store_is_refused_before_the_model_is_called(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        team = remote_team(tmp_path, fake.base_url)
        result = agno(str(team), "hi", "--db", "/proc/self/no-store-here", "--json")
        assert fake.hits == 0  # nothing paid for
    assert result.exit_code == 1
    assert json.loads(result.stdout)["exit_code"] == 1  # --json gets its document on exit-1 paths too
    assert "cannot be written" in result.stderr


def test_tool_calls_beyond_the_cap_are_answered_with_an_error(tmp_path: Path) -> None:
    (tmp_path / "counter_tool.py").write_text(
        'CALLS = []\n\ndef tick(n: int) -> str:\n    """Count.\n\n    Args:\n        n: Which.\n    """\n'
        "    CALLS.append(n)\n    return str(n)\n"
    )
    calls = [{"name": "tick", "arguments": {"n": i}} for i in range(5)]
    team = tmp_path / "team.yaml"
    team.write_text(
        "tools: [counter_tool:tick]\nmax_tool_calls_per_round: 3\ndb: {path: store}\n"
        f"model: {{id: scripted, replies: [{{tool_calls: {json.dumps(calls)}}}, done]}}\n"
    )
    assert agno(str(team), "go", "-s", "s").exit_code == 0
    (run,) = TinyDBStore(tmp_path / "store").runs("s", "default")
    assert [t.result for t in run.tool_calls] == ["0", "1", "2", None, None]
    assert all("at most 3 tool calls" in (t.error or "") for t in run.tool_calls[3:])
    assert [m.content for m in run.messages if m.role == "tool"][3].startswith("Error: not carried out")


@pytest.mark.parametrize("ref", ["os:system", "builtins:eval", "subprocess:run", "os.path:join"])
def test_validate_refuses_standard_library_tools_unless_allowed(tmp_path: Path, ref: str) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(f"model: echo\ntools: ['{ref}']\n")
    refused = agno("validate", str(team))
    assert refused.exit_code == 2
    assert f"{team}:2:9: $.tools[0]: tool '{ref}' is a " in refused.stderr
    assert "allow_unsafe_tools: true" in refused.stderr
    assert agno("validate", str(team), "--allow-unsafe-tools").exit_code == 0
    team.write_text(f"model: echo\nallow_unsafe_tools: true\ntools: ['{ref}']\n")
    assert agno("validate", str(team)).exit_code == 0


@pytest.mark.slow
def test_a_run_through_litellm_exits_with_its_status_and_all_its_output(tmp_path: Path) -> None:
    """Once litellm is loaded the process leaves without tearing its modules down (a second saved per
    run): the output must still be complete and flushed, and the exit status the run's."""
    with FakeOpenAI() as fake:
        team = remote_team(tmp_path, fake.base_url)
        long_answer = " ".join(f"word{i}" for i in range(5000))
        fake.add_text(long_answer)
        done = subprocess.run(
            [SCRIPT, str(team), "hi", "-s", "s1", "--no-stream"], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == long_answer + "\n" and "saved in" in done.stderr
        fake.add_error(401, "bad key")
        done = subprocess.run(
            [SCRIPT, str(team), "again", "-s", "s1", "--json"], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 1 and json.loads(done.stdout)["status"] == "error"
        assert "the API key was rejected" in done.stderr
