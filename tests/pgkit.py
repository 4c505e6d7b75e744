"""A throwaway PostgreSQL server for the tests, from the installed PostgreSQL's own binaries.

    import pgkit

    postgres_url = pgkit.postgres_url  # the fixture, by name; `from pgkit import postgres_url` works
    # too, but ruff then reports each test's argument of that name as a redefinition (F811)

    def test_something(postgres_url: str) -> None:  # a fresh, empty database for this test
        store = open_store(None, postgres_url)

``pg_server`` (session scope) makes one cluster in a temporary directory under /tmp: trust
authentication, listening on 127.0.0.1 only on a free port, its unix socket in that directory,
fsync off. It runs as the ``postgres`` account when the tests run as root (initdb and postgres
refuse root), else as the current user, whose name is then the superuser's. It is stopped (fast
shutdown) and its directory removed at the end of the test session; if the test process is killed
instead, the server gets SIGQUIT from the kernel (parent-death signal) rather than lingering.

``postgres_url`` (function scope) creates a fresh database ``t_<random>`` for each test and yields
``postgresql://USER@127.0.0.1:PORT/t_xxx``; it is dropped (even with connections left open) after.

Without PostgreSQL binaries (Debian's ``postgresql`` package) or psycopg, both fixtures skip with
the reason; with ``CI_REQUIRE_POSTGRES=1`` they fail with it instead, so CI cannot go quietly green.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

import pytest

REQUIRE_ENV = "CI_REQUIRE_POSTGRES"
NO_BINARIES = "no PostgreSQL binaries found (install Debian's postgresql package)"
NO_PSYCOPG = "psycopg is not installed (pip install -e '.[dev]' installs it)"
RUN_AS_ROOT = "postgres"  # the account PostgreSQL runs as when the tests run as root
START_DEADLINE = 90.0  # seconds; initdb and a first start are slow on a busy 2-core machine
STOP_DEADLINE = 30.0


@dataclass(frozen=True)
class PgServer:
    """A running throwaway cluster."""

    bindir: str
    directory: str  # the temporary directory: data/, the unix socket, postgres.log
    host: str
    port: int
    user: str  # the superuser (trust authentication: no password)
    process: subprocess.Popen[bytes]

    @property
    def datadir(self) -> str:
        return os.path.join(self.directory, "data")

    @property
    def log_file(self) -> str:
        return os.path.join(self.directory, "postgres.log")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres", **kwargs: Any) -> Any:
        """A psycopg connection (autocommit) to ``dbname``."""
        import psycopg

        kwargs.setdefault("connect_timeout", 5)
        return psycopg.connect(self.url(dbname), autocommit=True, **kwargs)


# ---- skipping, or failing in CI ---------------------------------------------------------------


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``; fail with it when CI requires PostgreSQL."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(reason)


def find_bindir() -> str | None:
    """The directory of initdb/pg_ctl/postgres: the newest /usr/lib/postgresql/*/bin (Debian),
    else ``pg_config --bindir``, else wherever ``initdb`` is on PATH."""

    def version(path: str) -> tuple[int, ...]:
        found = re.search(r"postgresql/([\d.]+)/bin$", path)
        return tuple(int(p) for p in found.group(1).split(".") if p) if found else ()

    debian = [d for d in glob.glob("/usr/lib/postgresql/*/bin") if _has_binaries(d)]
    if debian:
        return max(debian, key=version)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=30)
            if out.returncode == 0 and _has_binaries(out.stdout.strip()):
                return out.stdout.strip()
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb and _has_binaries(os.path.dirname(initdb)) else None


def _has_binaries(bindir: str) -> bool:
    return all(os.access(os.path.join(bindir, name), os.X_OK) for name in ("initdb", "postgres"))


# ---- who runs it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Account:
    name: str
    uid: int | None  # None: run as ourselves
    gid: int | None

    def popen_args(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def _account() -> _Account:
    if os.geteuid() != 0:
        return _Account(pwd.getpwuid(os.geteuid()).pw_name, None, None)
    try:
        entry = pwd.getpwnam(RUN_AS_ROOT)
    except KeyError:
        unavailable(
            f"the tests run as root and there is no {RUN_AS_ROOT!r} account to run PostgreSQL as "
            "(initdb and postgres refuse root; Debian's postgresql package creates it)"
        )
    return _Account(RUN_AS_ROOT, entry.pw_uid, entry.pw_gid)


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to send the server SIGQUIT (immediate shutdown) when the test
    process dies without stopping it. It runs after the switch to the postgres account, which
    would otherwise clear the setting."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGQUIT, 0, 0, 0)

    return preexec


# ---- the cluster ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:]).strip()
    except OSError:
        return "(no log)"


def _initdb(bindir: str, directory: str, account: _Account) -> None:
    datadir = os.path.join(directory, "data")
    log = os.path.join(directory, "initdb.log")
    with open(log, "wb") as out:
        done = subprocess.run(
            [
                os.path.join(bindir, "initdb"),
                "-D",
                datadir,
                "-U",
                account.name,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],  # fmt: skip
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=directory,
            timeout=START_DEADLINE * 2,
            **account.popen_args(),
        )
    if done.returncode != 0:
        pytest.fail(f"initdb failed (exit {done.returncode}):\n{_tail(log)}", pytrace=False)


def _start(bindir: str, directory: str, account: _Account, port: int) -> subprocess.Popen[bytes]:
    settings = {
        "port": str(port),
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": directory,
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "100",
        "shared_buffers": "32MB",
        "logging_collector": "off",
    }
    args = [os.path.join(bindir, "postgres"), "-D", os.path.join(directory, "data")]
    for name, value in settings.items():
        args += ["-c", f"{name}={value}"]
    log = open(os.path.join(directory, "postgres.log"), "ab")  # noqa: SIM115 - the child keeps it
    try:
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=directory,
            start_new_session=True,  # a Ctrl-C in the terminal is for pytest; teardown stops it
            preexec_fn=_die_with_parent(),
            **account.popen_args(),
        )
    finally:
        log.close()


def _wait_ready(server: PgServer, deadline: float) -> str | None:
    """Poll until a connection succeeds (None) or the server exits or the deadline passes (why)."""
    import psycopg

    delay = 0.02
    last = ""
    while True:
        code = server.process.poll()
        if code is not None:
            return f"postgres exited with status {code}"
        try:
            with server.connect(connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return None
        except psycopg.OperationalError as e:
            last = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if time.monotonic() > deadline:
            return f"it did not accept connections within {START_DEADLINE:.0f}s ({last})"
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Fast shutdown (SIGINT), then SIGQUIT, then SIGKILL, each with a deadline."""
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL):
        if process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_DEADLINE)
            return


def start_server() -> PgServer:
    """A new cluster, running and accepting connections (skips or fails when it cannot be made)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable(NO_PSYCOPG)
    bindir = find_bindir()
    if bindir is None:
        unavailable(NO_BINARIES)
    account = _account()
    # Under /tmp (traversable by every account), not under a private $TMPDIR or the root's home.
    directory = tempfile.mkdtemp(prefix="agno-yaml-pg-", dir="/tmp")
    try:
        os.chmod(directory, 0o700)
        if account.uid is not None:
            os.chown(directory, account.uid, account.gid if account.gid is not None else -1)
        _initdb(bindir, directory, account)
        why = ""
        for _attempt in range(3):  # a free port can be taken by someone else before postgres binds it
            port = _free_port()
            process = _start(bindir, directory, account, port)
            server = PgServer(bindir, directory, "127.0.0.1", port, account.name, process)
            why = _wait_ready(server, time.monotonic() + START_DEADLINE) or ""
            if not why:
                return server
            _stop(process)
            if "already in use" not in _tail(server.log_file):
                break
        pytest.fail(
            f"the test PostgreSQL ({bindir}) did not start: {why}\n{_tail(os.path.join(directory, 'postgres.log'))}",
            pytrace=False,
        )
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def stop_server(server: PgServer) -> None:
    _stop(server.process)
    shutil.rmtree(server.directory, ignore_errors=True)


# ---- one server per test session, however the fixtures are brought in -------------------------

_lock = threading.Lock()
_shared: PgServer | None = None


def _session_server(request: pytest.FixtureRequest) -> PgServer:
    """The session's server: started on first use, stopped when the test session ends.

    Shared in this module rather than through pytest's fixture cache, so that every test module
    that imports the fixtures (each import is a fixture of its own to pytest) uses the one server,
    and so that ``postgres_url`` works imported alone."""
    global _shared
    with _lock:
        if _shared is None or _shared.process.poll() is not None:
            server = start_server()
            _shared = server

            def stop() -> None:
                global _shared
                with _lock:
                    if _shared is server:
                        _shared = None
                stop_server(server)

            request.session.addfinalizer(stop)
        return _shared


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> PgServer:
    """The test session's PostgreSQL server."""
    return _session_server(request)


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database for this test, as a URL; dropped afterwards."""
    from psycopg import sql

    server = _session_server(request)
    name = f"t_{secrets.token_hex(6)}"
    with server.connect() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.url(name)
    finally:
        with server.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
