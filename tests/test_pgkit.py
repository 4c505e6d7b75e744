"""The throwaway PostgreSQL server (tests/pgkit.py): it answers, each test gets its own empty
database (dropped after), it listens on 127.0.0.1 only, and a missing PostgreSQL skips, or fails
under CI_REQUIRE_POSTGRES=1."""

from __future__ import annotations

import os
import pwd

import pgkit
import pytest
from pgkit import PgServer

# The fixtures, by name: assigned, as an import would be reported as redefined by each test's argument.
pg_server = pgkit.pg_server
postgres_url = pgkit.postgres_url


def test_the_server_answers(postgres_url: str, pg_server: PgServer) -> None:
    import psycopg

    with psycopg.connect(postgres_url, connect_timeout=5) as conn:
        version = conn.execute("SELECT version()").fetchone()
        assert version is not None and version[0].startswith("PostgreSQL ")
        user, db = conn.execute("SELECT current_user, current_database()").fetchone() or ("", "")
    assert postgres_url == f"postgresql://{user}@127.0.0.1:{pg_server.port}/{db}" and db.startswith("t_")
    assert user == ("postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name)
    with open(f"/proc/{pg_server.process.pid}/status") as f:  # initdb and postgres refuse root
        uid = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
    assert uid == (pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid())


_seen: list[str] = []


@pytest.mark.parametrize("turn", ["one test", "another test"])
def test_each_test_gets_a_fresh_empty_database(
    turn: str,
    postgres_url: str,
    pg_server: PgServer,
) -> None:
    name = postgres_url.rsplit("/", 1)[1]
    assert name not in _seen
    with pg_server.connect(name) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
        assert tables == []  # the other test left a table in its own database
        conn.execute("CREATE TABLE left_behind (n int)")
    with pg_server.connect() as conn:
        databases = {row[0] for row in conn.execute("SELECT datname FROM pg_database").fetchall()}
    assert name in databases and not databases & set(_seen)  # the earlier one was dropped
    _seen.append(name)


def _listeners(port: int) -> list[tuple[str, str]]:
    """(file, local address) of every TCP socket listening on ``port``, from /proc/net."""
    found = []
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/net/{table}") as f:
                rows = [line.split() for line in f.readlines()[1:]]
        except FileNotFoundError:
            continue
        for row in rows:
            address, hex_port = row[1].rsplit(":", 1)
            if int(hex_port, 16) == port and row[3] == "0A":  # 0A: LISTEN
                found.append((table, address))
    return found


def test_the_cluster_listens_on_127_0_0_1_only(pg_server: PgServer) -> None:
    with pg_server.connect() as conn:
        settings = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('listen_addresses', 'unix_socket_directories', 'fsync', 'port')"
            ).fetchall()
        )
    assert settings == {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": pg_server.directory,
        "fsync": "off",
        "port": str(pg_server.port),
    }
    if not os.path.exists("/proc/net/tcp"):
        pytest.skip("no /proc/net/tcp to read the listening sockets from")
    assert _listeners(pg_server.port) == [("tcp", "0100007F")]  # 127.0.0.1, and no IPv6 socket


def test_no_postgresql_skips_but_fails_when_ci_requires_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgkit, "find_bindir", lambda: None)
    monkeypatch.delenv(pgkit.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no PostgreSQL binaries found"):
        pgkit.start_server()
    monkeypatch.setenv(pgkit.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="install Debian's postgresql package"):
        pgkit.start_server()
