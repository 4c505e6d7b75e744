"""The warm path: a local worker process that has imported everything once (litellm's ~3 s among it)
and runs each CLI turn in a fork of itself, with the caller's own terminal, environment and
directory.

``agno-run worker start`` starts it on a Unix socket in the user's data directory (or the path in
``AGNO_RUN_SERVER``); ``agno-run TEAM.yaml "MSG"`` then sends its arguments, its environment, its
working directory and its standard streams (file descriptors, passed over the socket) to the
worker, which forks a child that runs the very same command: same output, same exit code, same
stored documents, and the team file read afresh every turn. With no worker running, or with
``--no-worker`` / ``AGNO_RUN_NO_WORKER=1``, the turn runs in the calling process as always.

This package is the client side and the wire protocol, cheap to import: ``client.py`` is what every
``agno-run`` imports first. The worker process itself is a shell over the CLI: ``cli/daemon.py``.
"""

from __future__ import annotations

from .protocol import SERVER_ENV, socket_path

__all__ = ["SERVER_ENV", "socket_path"]
