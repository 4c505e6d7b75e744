"""Test-wide guards: no test can reach a real model provider or touch the developer's sessions.

Two locks against the network, either enough on its own: every socket connection to a non-loopback
address raises, and ``AGNO_YAML_ONLY_LOCAL_MODELS=1`` (inherited by subprocesses) makes the litellm
model refuse any endpoint that is not on 127.0.0.1. The per-user default store is pointed at a
throwaway directory (inherited by subprocesses too), so a test that names no store writes there.
"""

from __future__ import annotations

import atexit
import ipaddress
import os
import shutil
import socket
import tempfile

import pytest

pytest_plugins = ["fake_openai"]

os.environ["AGNO_YAML_ONLY_LOCAL_MODELS"] = "1"
# Keys a developer may have exported must not leak into tests.
for _var in list(os.environ):
    if _var.endswith("_API_KEY") or _var.endswith("_API_BASE"):
        del os.environ[_var]

DATA_HOME = tempfile.mkdtemp(prefix="agno-yaml-tests-")
atexit.register(shutil.rmtree, DATA_HOME, True)
os.environ["XDG_DATA_HOME"] = os.environ["LOCALAPPDATA"] = DATA_HOME
os.environ.pop("AGNO_RUN_DB", None)

_real_connect = socket.socket.connect


def _is_local(address: object) -> bool:
    if isinstance(address, str):  # a unix socket path
        return True
    host = address[0] if isinstance(address, tuple) else None
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback  # type: ignore[arg-type]
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_local(address):
        raise ConnectionRefusedError(f"tests may not reach the network (tried {address!r})")
    _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
