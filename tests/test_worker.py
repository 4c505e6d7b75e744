"""The warm path: ``agno-run worker start``, then turns handed to the worker give what the in-process
path gives (output, exit codes, stored documents), with the caller's environment, directory and
streams, and the team file read afresh. Real processes, a real Unix socket, real signals; every wait
is on a condition with a deadline."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI

from agno_yaml.store.tinydb import TinyDBStore
from agno_yaml.worker.protocol import identity, read_frame, send_frame

SCRIPT = str(Path(sys.executable).with_name("agno-run"))
ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="the worker needs Unix sockets")


def wait_for(condition: Any, what: str, deadline: float = 60.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    """An environment whose worker socket lives in a short private directory (AF_UNIX paths are short)."""
    folder = tempfile.mkdtemp(prefix="agw-")
    variables = dict(os.environ, AGNO_RUN_SERVER=os.path.join(folder, "run", "worker.sock"))
    variables.pop("AGNO_RUN_NO_WORKER", None)
    yield variables
    subprocess.run([SCRIPT, "worker", "stop"], env=variables, capture_output=True, timeout=60)
    shutil.rmtree(folder, ignore_errors=True)


def agno(
    env: dict[str, str], *args: str, cwd: Path | None = None, **extra: Any
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCRIPT, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, **extra
    )


def start(env: dict[str, str], idle: str = "5") -> None:
    started = agno(env, "worker", "start", "--idle", idle)
    assert started.returncode == 0 and "worker started" in started.stderr, started.stderr


def turns(env: dict[str, str]) -> int:
    return int(json.loads(agno(env, "worker", "status", "--json").stdout)["turns"])


def team_dir(base: Path, name: str, body: str) -> Path:
    folder = base / name
    folder.mkdir()
    (folder / "team.yaml").write_text(body, encoding="utf-8")
    return folder


def _masked(text: str, folder: Path) -> str:
    text = text.replace(str(folder), "DIR")
    return re.sub(r"(<1 ms|\d+(\.\d+)? (ms|s))\]", "TIME]", text)


def _stable(text: str) -> dict[str, Any]:
    """A --json envelope without what differs between two runs of the same turn."""
    return {k: v for k, v in json.loads(text).items() if k not in ("run_id", "duration_s")}


def _documents(folder: Path, session: str) -> list[dict[str, Any]]:
    """The stored runs, without what differs between two runs of the same turn (ids, times)."""
    runs = TinyDBStore(folder / "db").runs(session, "default")
    volatile = {"run_id", "parent_run_id", "child_run_ids", "created_at", "duration", "id"}

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in volatile}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return [clean(r.to_dict()) for r in runs]


@pytest.mark.slow
def test_the_warm_path_gives_the_in_process_output_codes_and_documents(
    tmp_path: Path, env: dict[str, str]
) -> None:
    body = (
        (ROOT / "teams" / "multilingual.yaml")
        .read_text(encoding="utf-8")
        .replace("db: {path: tmp/agno}", "db: {path: db}")
    )
    here, there = team_dir(tmp_path, "inproc", body), team_dir(tmp_path, "warm", body)
    commands = [
        ["team.yaml", "comment ça va?", "-s", "s1", "--model", "echo"],
        ["team.yaml", "Raconte-moi une blague.", "-s", "s1", "--model", "echo", "--stream"],
        ["team.yaml", "et alors?", "-s", "s1", "--model", "echo", "--json"],
        ["nope.yaml", "hi", "--model", "echo"],  # exit 2, one line
        ["team.yaml", "", "--model", "echo"],  # a usage error
    ]
    expected = [agno(env, *c, "--no-worker", cwd=here) for c in commands]
    start(env)
    got = [agno(env, *c, cwd=there) for c in commands]
    assert turns(env) == len(commands)  # every one went through the worker
    for want, have in zip(expected, got, strict=True):
        assert have.returncode == want.returncode
        if "--json" in have.args:
            assert _stable(have.stdout) == _stable(want.stdout)
        else:
            assert have.stdout == want.stdout  # byte for byte
        assert _masked(have.stderr, there) == _masked(want.stderr, here)
    assert _documents(there, "s1") == _documents(here, "s1")
    assert [r.returncode for r in got] == [0, 0, 0, 2, 2]


@pytest.mark.slow
def test_each_turn_has_the_callers_environment_and_the_file_as_it_is_now(
    tmp_path: Path, env: dict[str, str]
) -> None:
    folder = team_dir(
        tmp_path, "t", "name: Env\nmodel: echo\ninstructions: say ${GREETING}\ndb: {path: db}\n"
    )
    start(env)
    first = agno(env | {"GREETING": "bonjour"}, "team.yaml", "hi", "--show-context", cwd=folder)
    second = agno(env | {"GREETING": "hola"}, "team.yaml", "hi", "--show-context", cwd=folder)
    assert "say bonjour" in first.stdout and "say hola" in second.stdout
    unset = agno({k: v for k, v in env.items() if k != "GREETING"}, "team.yaml", "hi", cwd=folder)
    assert unset.returncode == 2 and "GREETING" in unset.stderr  # refused as in-process, naming the variable
    (folder / "team.yaml").write_text(
        "name: Env\nmodel: echo\ninstructions: changed on disk\n", encoding="utf-8"
    )
    third = agno(env, "team.yaml", "hi", "--show-context", cwd=folder)
    assert "changed on disk" in third.stdout
    assert turns(env) == 4


@pytest.mark.slow
def test_a_signal_to_the_caller_stops_the_turn_in_the_worker(tmp_path: Path, env: dict[str, str]) -> None:
    with FakeOpenAI() as fake:
        fake.add_stall(120, text="one two three", after_chunks=2)
        body = f"model: {{id: openai/slow, api_base: '{fake.base_url}', api_key: k, timeout: 60}}\ndb: {{path: db}}\n"
        folder = team_dir(tmp_path, "t", body)
        start(env)
        proc = subprocess.Popen(
            [SCRIPT, "team.yaml", "stop me", "-s", "s1", "--stream"], cwd=folder, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        assert proc.stdout.read(3) == "one"  # the child is streaming into our pipe
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    (run,) = TinyDBStore(folder / "db").runs("s1", "default")
    assert run.status == "cancelled" and run.input == "stop me" and run.content == "one"
    assert "cancelled: stopped by SIGTERM" in err


def test_the_socket_is_private_to_its_user(env: dict[str, str]) -> None:
    start(env)
    path = Path(env["AGNO_RUN_SERVER"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_client_of_another_agno_yaml_is_refused_and_runs_in_process(env: dict[str, str]) -> None:
    start(env)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(env["AGNO_RUN_SERVER"])
    request = {
        "op": "run",
        "argv": ["x"],
        "cwd": "/",
        "env": {},
        "identity": identity() | {"version": "0.0.0"},
    }
    send_frame(sock, request, [0, 1, 2])
    answer, _ = read_frame(sock)
    sock.close()
    assert answer is not None and "refused" in answer and turns(env) == 0


def test_without_a_worker_or_with_a_stale_socket_the_turn_runs_in_process(
    tmp_path: Path, env: dict[str, str]
) -> None:
    folder = team_dir(tmp_path, "t", "name: T\nmodel: echo\ndb: {path: db}\n")
    assert agno(env, "team.yaml", "hi", cwd=folder).stdout == "hi\n"  # no worker
    stale = Path(env["AGNO_RUN_SERVER"])
    stale.parent.mkdir(mode=0o700)
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(str(stale))  # bound, never listening: connect is refused
    leftover.close()
    assert agno(env, "team.yaml", "again", cwd=folder).stdout.startswith("again")
    status = agno(env, "worker", "status")
    assert status.returncode == 1 and "no worker running" in status.stderr


@pytest.mark.slow
def test_an_idle_worker_stops_and_removes_its_socket(env: dict[str, str]) -> None:
    start(env, idle="0.05")  # three seconds
    path = Path(env["AGNO_RUN_SERVER"])
    wait_for(lambda: not path.exists(), "the idle worker to stop", deadline=60)
    assert agno(env, "worker", "status").returncode == 1
