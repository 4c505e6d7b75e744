"""What the CLI and the worker say to each other over the Unix socket.

Every message is a frame: four bytes of length (big-endian) and that many bytes of JSON. The
client's first frame carries its standard streams as file descriptors (``SCM_RIGHTS``). The worker
answers ``{"pid": N}`` once the child that runs the command exists (the client forwards Ctrl-C,
SIGTERM and SIGHUP to it), and ``{"exit": CODE}`` when the command is done.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
from pathlib import Path
from typing import Any

__all__ = ["SERVER_ENV", "identity", "read_frame", "send_frame", "socket_path"]

SERVER_ENV = "AGNO_RUN_SERVER"  # the worker's socket path, instead of the default
NO_WORKER_ENV = "AGNO_RUN_NO_WORKER"
_HEADER = struct.Struct(">I")
MAX_FRAME = 16 * 1024 * 1024  # an environment and a command line fit many times over


def socket_path() -> str:
    """``AGNO_RUN_SERVER``, else ``worker.sock`` in the per-user data directory (the default store's)."""
    given = os.environ.get(SERVER_ENV, "").strip()
    if given:
        return given
    from ..store.location import default_store_path

    return str(Path(default_store_path()) / "worker.sock")


def identity() -> dict[str, str]:
    """What must match between a client and a worker for the worker to run the client's command:
    the same package, from the same place, in the same interpreter."""
    from .. import __version__

    return {
        "version": __version__,
        "package": str(Path(__file__).resolve().parent.parent),
        "python": f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}",
        "executable": os.path.realpath(sys.executable),
    }


def send_frame(sock: socket.socket, data: dict[str, Any], fds: list[int] | None = None) -> None:
    body = json.dumps(data, ensure_ascii=False).encode()
    frame = _HEADER.pack(len(body)) + body
    if fds:
        sent = socket.send_fds(sock, [frame], fds)
        frame = frame[sent:]
    if frame:
        sock.sendall(frame)


def _exactly(sock: socket.socket, size: int, first: bytes = b"") -> bytes:
    data = bytearray(first)
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the other side closed the connection mid-message")
        data += chunk
    return bytes(data)


def read_frame(sock: socket.socket, *, with_fds: bool = False) -> tuple[dict[str, Any] | None, list[int]]:
    """The next frame (None at a clean end of the connection), and the descriptors that came with it."""
    fds: list[int] = []
    if with_fds:
        head, fds, _flags, _addr = socket.recv_fds(sock, _HEADER.size, 8)
    else:
        head = sock.recv(_HEADER.size)
    if not head:
        return None, fds
    (size,) = _HEADER.unpack(_exactly(sock, _HEADER.size, head))
    if size > MAX_FRAME:
        raise ConnectionError(f"a frame of {size} bytes is too long")
    data = json.loads(_exactly(sock, size))
    if not isinstance(data, dict):
        raise ConnectionError("a frame is not a JSON object")
    return data, fds
