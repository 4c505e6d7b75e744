"""``agno-run worker start|stop|status``: the warm worker that spares each turn litellm's import."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from ..errors import EXIT_RUN_FAILED, StoreError
from .app import cli, err

WORKER_EPILOG = """\b
With a worker running, `agno-run TEAM.yaml "MSG"` is handed to it and skips the ~3 s import of
litellm: worth it for scripts and CI jobs that run many turns. Output, exit codes and stored
sessions are the same either way; each turn reads the team file afresh and runs with the caller's
environment and directory. --no-worker (or AGNO_RUN_NO_WORKER=1) runs a turn in-process anyway.
"""

_START_DEADLINE_S = 120.0  # importing litellm on a busy machine


def _ask(path: str, op: str) -> dict[str, Any] | None:
    """The worker's answer to ``op``, or None when no worker answers at ``path``."""
    from ..worker.protocol import read_frame, send_frame

    if not os.path.exists(path):
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    try:
        sock.connect(path)
        send_frame(sock, {"op": op})
        answer, _ = read_frame(sock)
        return answer
    except (OSError, ValueError, ConnectionError):
        return None
    finally:
        sock.close()


@cli.group(epilog=WORKER_EPILOG)
def worker() -> None:
    """A warm local worker for the CLI's turns (Unix socket in your data directory, or $AGNO_RUN_SERVER)."""


@worker.command()
@click.option(
    "--idle",
    default=15.0,
    show_default=True,
    type=click.FloatRange(0.05),
    help="Minutes idle before it stops.",
)
def start(idle: float) -> None:
    """Start the worker (nothing happens if one is running)."""
    from ..worker import socket_path

    path = socket_path()
    running = _ask(path, "status")
    if running is not None:
        err(f"a worker is already running (pid {running['pid']}, socket {path})")
        return
    folder = Path(path).parent
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        log = open(folder / "worker.log", "ab")  # noqa: SIM115 - handed to the child
    except OSError as exc:
        raise StoreError(f"cannot prepare {folder} for the worker: {exc.strerror or exc}") from None
    command = [sys.executable, "-m", "agno_yaml.cli.daemon", "--socket", path, "--idle", str(idle * 60)]
    with log:
        child = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, cwd="/"
        )
    deadline = time.monotonic() + _START_DEADLINE_S
    while (status := _ask(path, "status")) is None:
        if child.poll() is not None or time.monotonic() > deadline:
            if child.poll() is None:
                child.kill()
            err(f"error: the worker did not start; see {folder / 'worker.log'}")
            sys.exit(EXIT_RUN_FAILED)
        time.sleep(0.05)
    err(
        f"worker started: pid {status['pid']}, socket {path}; it stops after {idle:g} min idle (agno-run worker stop)"
    )


@worker.command()
def stop() -> None:
    """Stop the worker (a turn it is running finishes first)."""
    from ..worker import socket_path

    path = socket_path()
    answer = _ask(path, "stop")
    if answer is None:
        err(f"no worker running (socket {path})")
        return
    deadline = time.monotonic() + 30
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    err(f"worker stopped (pid {answer['pid']})")


@worker.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(as_json: bool) -> None:
    """Is a worker running? Exit 0 if so, 1 if not."""
    from ..worker import socket_path

    path = socket_path()
    found = _ask(path, "status")
    if as_json:
        click.echo(json.dumps(found or {"running": False, "socket": path}))
    elif found is None:
        err(f"no worker running (socket {path})")
    else:
        up = time.time() - float(found["started_at"])
        click.echo(
            f"worker pid {found['pid']} · socket {path} · up {up:.0f} s · {found['turns']} turns · "
            f"idle {found['idle_s']:.0f} s of {found['idle_limit_s'] / 60:g} min · agno-yaml {found['version']}"
        )
    if found is None:
        sys.exit(EXIT_RUN_FAILED)
