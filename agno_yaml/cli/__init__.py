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

from . import files, run, sessions, test  # noqa: F401 - registers the commands on the group
from .app import cli


def main() -> None:
    """Console-script entry point."""
    try:
        cli(prog_name="agno-run")
    except SystemExit as stop:
        _leave(stop.code)
        raise


def _leave(code: object) -> None:
    """Exit at once once litellm is loaded: tearing its modules down at interpreter exit costs about a
    second after the answer was already shown and stored. Everything of ours is written by then; the
    atexit handlers (the chat's input history, litellm's own) still run and the output is flushed.
    Without litellm (validate, sessions, offline runs) the normal exit is just as fast."""
    if "litellm" not in sys.modules:
        return
    import atexit

    if isinstance(code, str):  # sys.exit("message"): printed, exit status 1
        with contextlib.suppress(Exception):
            sys.stderr.write(code + "\n")
        code = 1
    status = code if isinstance(code, int) else 0 if code is None else 1
    with contextlib.suppress(Exception):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed pipe: what could be written was
            status = status or 1
    os._exit(status)


__all__ = ["cli", "main"]
