"""The CLI's side of the warm path: hand the command to a running worker, or say there is none.

Imported by every ``agno-run`` before anything heavy, so it imports only the standard library and
``protocol``. Any doubt (no socket, a stale one, another version of agno-yaml, a worker that
refuses) means ``None``: the command then runs in this process, as it always could.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from collections.abc import Sequence
from types import FrameType
from typing import Any

from .protocol import NO_WORKER_ENV, identity, read_frame, send_frame, socket_path

__all__ = ["SUBCOMMANDS", "run_in_worker", "wants_worker"]

# Commands that never go to the worker: they import no model, so the worker would only add a hop.
SUBCOMMANDS = frozenset(
    {"validate", "schema", "inspect", "sessions", "test", "serve", "worker", "init", "completion"}
)
_FORWARDED = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))
_CONNECT_TIMEOUT = 2.0


def wants_worker(argv: Sequence[str]) -> bool:
    """A turn (the default command) that may go to a worker: not a subcommand, not --help, not opted out."""
    if os.environ.get(NO_WORKER_ENV, "").strip() not in ("", "0") or "--no-worker" in argv:
        return False
    if not hasattr(socket, "AF_UNIX") or not hasattr(socket, "send_fds"):
        return False
    if any(a in ("--help", "-h", "--version") for a in argv):
        return False
    first = next((a for a in argv if not a.startswith("-") or a == "-"), None)
    return first is not None and first not in SUBCOMMANDS


def _connect(path: str) -> socket.socket | None:
    if not os.path.exists(path):
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(_CONNECT_TIMEOUT)
    try:
        sock.connect(path)
    except OSError:  # a socket left by a worker that is gone
        sock.close()
        return None
    return sock


def _streams() -> dict[str, Any]:
    """How this process's Python would have set up its standard streams, for the child to copy."""
    found: dict[str, Any] = {}
    for name in ("stdin", "stdout", "stderr"):
        stream = getattr(sys, name)
        found[name] = {
            "encoding": getattr(stream, "encoding", None) or "utf-8",
            "errors": getattr(stream, "errors", None) or "strict",
        }
    return found


def run_in_worker(argv: Sequence[str]) -> int | None:
    """Run ``agno-run ARGV`` in the worker and return its exit code; None when there is no worker
    that can run it (the caller then runs it itself)."""
    sock = _connect(socket_path())
    if sock is None:
        return None
    started = False
    try:
        request = {
            "op": "run",
            "argv": list(argv),
            "cwd": os.getcwd(),
            "env": dict(os.environ),
            "streams": _streams(),
            "identity": identity(),
        }
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        send_frame(sock, request, [0, 1, 2])
        sock.settimeout(None)
        answer, _ = read_frame(sock)
        if answer is None or "pid" not in answer:
            return None  # refused before anything ran (another version, ...): run here instead
        started = True
        return _wait(sock, int(answer["pid"]))
    except (OSError, ValueError, ConnectionError):
        if not started:
            return None
        sys.stderr.write("error: lost the connection to the worker; run again, or with --no-worker\n")
        return 1
    finally:
        sock.close()


def _wait(sock: socket.socket, pid: int) -> int:
    """Forward stop signals to the child until it reports its exit code."""

    def forward(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    previous = {s: signal.signal(s, forward) for s in _FORWARDED}
    try:
        while True:
            try:
                answer, _ = read_frame(sock)
            except InterruptedError:
                continue
            if answer is None:
                sys.stderr.write(
                    "error: the worker's process for this command ended without an exit status "
                    "(killed?); run again, or with --no-worker\n"
                )
                return 1
            if "exit" in answer:
                return int(answer["exit"])
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
