"""The ``agno-run`` console script: a turn goes to a warm worker when one is running (``worker``),
anything else runs here through the click CLI (``cli``).

Kept outside the ``cli`` package so the hand-over to a worker imports nothing but the standard
library and ``worker.client``: click and the commands are only imported when the command runs here.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    argv = sys.argv[1:]
    from .worker.client import run_in_worker, wants_worker

    if wants_worker(argv):
        code = run_in_worker(argv)
        if code is not None:
            sys.exit(code)
    from .cli import leave, run_cli

    leave(run_cli(argv))
