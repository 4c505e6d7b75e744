"""The worker: a process that imports everything a turn needs once, then forks a child per command.

    python -m agno_yaml.cli.daemon --socket PATH --idle 900     (what ``agno-run worker start`` runs)

The parent only accepts connections on a Unix socket (mode 0600, in a directory only its user can
enter, and every peer's uid checked), and forks. The child takes the caller's standard streams (file
descriptors sent over the socket), environment and working directory, resets the signal handlers,
and runs the command through the same click entry point as ``agno-run`` itself: what the user sees,
the exit code and what is stored are the in-process path's. Because each child reads the team file
and imports the team's tools afresh, a changed file is never served stale; what the parent keeps
warm is only library code (agno-yaml, click, litellm, the openai SDK).

After ``idle`` seconds without a command (and no child running) the worker exits and removes its
socket.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import os
import signal
import socket
import stat
import struct
import sys
import time
from pathlib import Path
from typing import Any

from ..worker.protocol import identity, read_frame, send_frame

__all__ = ["DEFAULT_IDLE_S", "serve"]

DEFAULT_IDLE_S = 15 * 60
_TICK = 0.5  # how often the parent reaps children and looks at its idle time


WARM_TEAM = """\
name: Warm-up
model: echo
add_history_to_context: true
members:
  - {name: Helper, role: Helps, read_chat_history: true}
"""


def _warm() -> None:
    """Import what every turn needs, once: the CLI, the run loop, litellm (and its first-call
    imports); then run one offline turn of a throw-away team, which builds what the first turn of a
    process builds (the schema validator, the store's modules): a child starts where it ends."""
    import tempfile

    from ..models.providers import load_litellm
    from . import run_cli

    load_litellm()
    import agno_yaml.models.litellm  # noqa: F401

    with tempfile.TemporaryDirectory(prefix="agno-run-warm-") as folder:
        team = Path(folder) / "team.yaml"
        team.write_text(WARM_TEAM, encoding="utf-8")
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = io.StringIO()  # the worker's own start-up: nobody reads it
        try:
            run_cli(
                [str(team), "warm up", "--db", str(Path(folder) / "db"), "-s", "warm", "-q", "--no-worker"]
            )
        finally:
            sys.stdout, sys.stderr = saved
    gc.collect()
    gc.freeze()  # children share these pages instead of touching them on their first collection


def _own_directory(path: Path) -> None:
    """The socket's directory exists, belongs to this user and only this user can enter it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = path.stat()
    if info.st_uid != os.getuid():
        raise SystemExit(f"error: {path} belongs to another user; point {('AGNO_RUN_SERVER')} elsewhere")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, 0o700)


def _peer_uid(conn: socket.socket) -> int | None:
    if not hasattr(socket, "SO_PEERCRED"):
        return None
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


class Worker:
    def __init__(self, path: str, idle: float) -> None:
        self.path = path
        self.idle = idle
        self.started_at = time.time()
        self.last_used = time.monotonic()
        self.turns = 0
        self.children: set[int] = set()
        self.me = identity()
        self.stopping = False
        self.listener: socket.socket | None = None

    def serve(self) -> None:
        _own_directory(Path(self.path).parent)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # a socket left by a worker that is gone (start checked none answers)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            listener.bind(self.path)  # created 0600: only this user may connect
        finally:
            os.umask(old)
        listener.listen(64)
        listener.settimeout(_TICK)
        self.listener = listener
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the terminal that started it may close
        try:
            while not self.stopping:
                self._reap()
                if not self.children and time.monotonic() - self.last_used > self.idle:
                    break
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                except InterruptedError:
                    continue
                with conn:
                    self._handle(conn)
        finally:
            listener.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)

    def _reap(self) -> None:
        for pid in list(self.children):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self.children.discard(pid)
                self.last_used = time.monotonic()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        uid = _peer_uid(conn)
        if uid is not None and uid != os.getuid():
            return  # another user: not a word
        try:
            request, fds = read_frame(conn, with_fds=True)
        except (OSError, ValueError, ConnectionError):
            return
        try:
            if request is None:
                return
            op = request.get("op")
            if op == "status":
                send_frame(conn, self.status())
            elif op == "stop":
                self.stopping = True
                send_frame(conn, {"stopping": True, "pid": os.getpid()})
            elif op == "run":
                self._run(conn, request, fds)
        finally:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(), "socket": self.path, "started_at": self.started_at, "turns": self.turns,
            "running": len(self.children), "idle_s": round(time.monotonic() - self.last_used, 1),
            "idle_limit_s": self.idle, **self.me,
        }  # fmt: skip

    def _run(self, conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
        if request.get("identity") != self.me or len(fds) != 3:
            send_frame(conn, {"refused": "another agno-yaml or Python than this worker's", "worker": self.me})
            return
        self.last_used = time.monotonic()
        self.turns += 1
        pid = os.fork()
        if pid:
            self.children.add(pid)
            return
        code = 1
        try:  # the child: never returns into the parent's loop
            if self.listener is not None:
                self.listener.close()
            code = _child(conn, request, fds)
        except BaseException:  # noqa: BLE001 - whatever happens the caller must get an exit code
            code = 1
        finally:
            mcp = sys.modules.get("agno_yaml.tools.mcp_servers")  # os._exit runs no atexit handler
            if mcp is not None:
                with contextlib.suppress(Exception):
                    mcp.stop_all()
            with contextlib.suppress(Exception):
                send_frame(conn, {"exit": code})
            os._exit(code)


def _child(conn: socket.socket, request: dict[str, Any], fds: list[int]) -> int:
    """Become the caller's command: its streams, environment, directory; then run it."""
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.setpgid(0, 0)  # its own group: the worker's stop never reaches a running turn
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    streams = request.get("streams") or {}
    sys.stdin = _text(0, "r", streams.get("stdin"))
    sys.stdout = _text(1, "w", streams.get("stdout"))
    sys.stderr = _text(2, "w", streams.get("stderr"), line_buffering=True)
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in (request.get("env") or {}).items()})
    os.chdir(request["cwd"])
    sys.argv = ["agno-run", *request["argv"]]
    send_frame(conn, {"pid": os.getpid()})
    from . import run_cli

    return run_cli(list(request["argv"]))


def _text(
    fd: int, mode: str, spec: dict[str, Any] | None, *, line_buffering: bool = False
) -> io.TextIOWrapper:
    """A standard stream over ``fd``, set up as Python sets it up for a process started on it."""
    spec = spec or {}
    raw = open(fd, mode + "b", closefd=False)  # noqa: SIM115
    return io.TextIOWrapper(
        raw,
        encoding=spec.get("encoding") or "utf-8",
        errors=spec.get("errors") or "strict",
        line_buffering=line_buffering or (mode == "w" and os.isatty(fd)),
        write_through=mode == "w" and fd == 2,
    )


def serve(path: str, idle: float = DEFAULT_IDLE_S) -> None:
    _warm()
    Worker(path, idle).serve()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m agno_yaml.cli.daemon")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--idle", type=float, default=DEFAULT_IDLE_S)
    args = parser.parse_args(argv)
    serve(args.socket, args.idle)


if __name__ == "__main__":
    main()
