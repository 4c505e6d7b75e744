"""``agno-run``: a thin click shell over the library.

``agno-run TEAM.yaml "MESSAGE"`` runs a turn (the hidden default command ``run``, in ``run`` and
``turns``); ``validate``, ``schema`` and ``inspect`` (``files``) look at files without running a
model; ``sessions`` looks after stored sessions. ``app`` holds the group and the one place errors become lines. Library code is imported
inside commands, so ``--help`` and ``validate`` stay fast and never load litellm.
"""

from __future__ import annotations

from . import files, run, sessions, test  # noqa: F401 - registers the commands on the group
from .app import cli


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="agno-run")


__all__ = ["cli", "main"]
