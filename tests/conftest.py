"""Test-wide guards: no test can reach a real model provider.

Two locks, either enough on its own: every socket connection to a non-loopback address raises,
and ``AGNO_YAML_ONLY_LOCAL_MODELS=1`` (inherited by subprocesses) makes the litellm model refuse
any endpoint that is not on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest

pytest_plugins = ["fake_openai"]

os.environ["AGNO_YAML_ONLY_LOCAL_MODELS"] = "1"
# Keys a developer may have exported must not leak into tests.
for _var in list(os.environ):
    if _var.endswith("_API_KEY") or _var.endswith("_API_BASE"):
        del os.environ[_var]

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
