"""``agno-run``: a thin click shell over the library.

``agno-run TEAM.yaml "MESSAGE"`` runs a turn (the hidden default command ``run``, in ``run`` and
``turns``); ``validate``, ``schema`` and ``inspect`` (``files``) look at files without running a
model; ``sessions`` looks after stored sessions. ``app`` holds the group and the one place errors become lines. Library code is imported
inside commands, so ``--help`` and ``validate`` stay fast and never load litellm.
"""

from __future__ import annotations

import contextlib
import os
import sys

from . import files, run, serve, sessions, test, worker  # noqa: F401 - registers the commands on the group
from .app import cli


def main() -> None:
    """Run ``agno-run`` here, with ``sys.argv`` (the console script is ``launch.main``, which first
    offers the command to a warm worker)."""
    leave(run_cli(sys.argv[1:]))


def run_cli(argv: list[str]) -> int:
    """Run ``agno-run ARGV`` here and return its exit status, the output flushed."""
    try:
        cli.main(args=argv, prog_name="agno-run")
        status = 0
    except SystemExit as stop:
        code = stop.code
        if isinstance(code, str):  # sys.exit("message"): printed, exit status 1
            with contextlib.suppress(Exception):
                sys.stderr.write(code + "\n")
            code = 1
        status = code if isinstance(code, int) else 0 if code is None else 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed pipe: what could be written was
            status = status or 1
    return status


def leave(status: int) -> None:
    """Exit with ``status``; at once when litellm is loaded: tearing its modules down at interpreter
    exit costs about a second after the answer was already shown and stored. Everything of ours is
    written by then; the atexit handlers (the chat's input history, litellm's own) still run.
    Without litellm (validate, sessions, offline runs) the normal exit is just as fast."""
    if "litellm" in sys.modules:
        import atexit

        with contextlib.suppress(Exception):
            atexit._run_exitfuncs()
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


__all__ = ["cli", "leave", "main", "run_cli"]
