"""The PostgreSQL backend on a real server (tests/pgkit.py starts one from Debian's binaries): many
processes writing one session or many keep every run in one order; schema creation races; a lost
server is one line; the password never shows. The protocol's contract is test_store_contract.py."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from click.testing import CliRunner
from pgkit import pg_server, postgres_url  # noqa: F401 - fixtures
from storekit import ALICE, make_run

from agno_yaml.cli import cli
from agno_yaml.errors import StoreError
from agno_yaml.store import open_store
from agno_yaml.store.postgres import PostgresStore, safe_location

WRITERS = 8
TURNS = 25


def _writer(url: str, writer: int, same_session: bool, turns: int) -> None:
    """One process: a team (offline model) running ``turns`` turns, into one shared session or its own."""
    from agno_yaml.config import load_team_text
    from agno_yaml.runtime.compile import compile_team

    team = compile_team(
        load_team_text("name: T\nmodel: echo\nadd_history_to_context: true\n", "t.yaml"), db=url
    )
    for turn in range(turns):
        session = "shared" if same_session else f"own-{writer}"
        out = team.run(f"w{writer} t{turn}", user_id="u", session_id=session)
        assert out.ok and out.save_error is None, (out.run.error, out.save_error)


def _run_writers(url: str, same_session: bool) -> None:
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_writer, args=(url, w, same_session, TURNS)) for w in range(WRITERS)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * WRITERS


@pytest.mark.slow
def test_processes_writing_one_session_keep_every_run_in_one_order(postgres_url: str) -> None:  # noqa: F811
    _run_writers(postgres_url, same_session=True)
    store = PostgresStore(postgres_url)
    runs = store.runs("shared", "u")
    assert len(runs) == WRITERS * TURNS and len({r.run_id for r in runs}) == WRITERS * TURNS
    for writer in range(WRITERS):  # each writer's turns in the order it wrote them
        mine = [r.input for r in runs if r.input.startswith(f"w{writer} ")]
        assert mine == [f"w{writer} t{t}" for t in range(TURNS)]
    info = store.get_session("shared", "u")
    assert info is not None and info.run_count == info.turn_count == WRITERS * TURNS
    assert [r.run_id for r in store.iter_runs_newest_first("shared", "u")] == [
        r.run_id for r in reversed(runs)
    ]


@pytest.mark.slow
def test_processes_writing_their_own_sessions_lose_nothing(postgres_url: str) -> None:  # noqa: F811
    _run_writers(postgres_url, same_session=False)
    store = PostgresStore(postgres_url)
    sessions = store.list_sessions("u")
    assert sorted(s.session_id for s in sessions) == sorted(f"own-{w}" for w in range(WRITERS))
    for writer in range(WRITERS):
        assert [r.input for r in store.runs(f"own-{writer}", "u")] == [
            f"w{writer} t{t}" for t in range(TURNS)
        ]


def _open(url: str) -> None:
    PostgresStore(url).check_writable()


@pytest.mark.slow
def test_processes_creating_the_schema_at_once_do_not_race(postgres_url: str) -> None:  # noqa: F811
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_open, args=(postgres_url,)) for _ in range(6)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * 6


def test_an_unreachable_server_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = "postgresql://app:hunter2secret@127.0.0.1:1/agno"
    with pytest.raises(StoreError) as info:
        PostgresStore(url).check_writable()
    line = str(info.value)
    assert "\n" not in line and "hunter2secret" not in line
    assert line.startswith("cannot reach the session store postgresql://app:***@127.0.0.1:1/agno:")
    team = tmp_path / "t.yaml"
    team.write_text(f"name: T\nmodel: echo\ndb: {{url: '{url}'}}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, [str(team), "hi"])
    assert result.exit_code == 1 and "hunter2secret" not in result.output + result.stderr
    assert "cannot reach the session store" in result.stderr


def test_a_postgres_url_opens_the_postgres_store_and_hides_its_password() -> None:
    store = open_store(None, "postgresql://app:pw@db.example/agno")
    assert isinstance(store, PostgresStore) and store.location == "postgresql://app:***@db.example/agno"
    assert safe_location("postgresql://app@db/agno") == "postgresql://app@db/agno"


def test_a_team_file_with_a_database_url_runs_and_continues(postgres_url: str, tmp_path: Path) -> None:  # noqa: F811
    team = tmp_path / "t.yaml"
    team.write_text(f"name: T\nmodel: echo\nadd_history_to_context: true\ndb: {{url: '{postgres_url}'}}\n")
    first = CliRunner().invoke(cli, [str(team), "bonjour", "-s", "s1", "-u", "ann"])
    second = CliRunner().invoke(cli, [str(team), "encore", "-s", "s1", "-u", "ann"])
    assert first.exit_code == second.exit_code == 0
    assert second.stdout == "encore [1 earlier turn in context]\n"
    other = CliRunner().invoke(cli, [str(team), "let me in", "-s", "s1", "-u", "bob"])
    assert other.exit_code == 2 and "belongs to another user" in other.stderr
    listed = CliRunner().invoke(cli, ["sessions", "list", "--db", postgres_url, "-u", "ann", "--json"])
    assert [s["session_id"] for s in json.loads(listed.stdout)] == ["s1"]


def test_appending_never_rewrites_earlier_runs(postgres_url: str) -> None:  # noqa: F811
    import psycopg

    store = PostgresStore(postgres_url)
    store.append_runs("s1", ALICE, "t", [make_run(1)])
    with psycopg.connect(postgres_url) as conn:
        before = conn.execute("SELECT xmin::text FROM agno_runs WHERE session_id = 's1' AND n = 1").fetchone()
    for i in range(2, 6):
        store.append_runs("s1", ALICE, "t", [make_run(i)])
    with psycopg.connect(postgres_url) as conn:
        after = conn.execute("SELECT xmin::text FROM agno_runs WHERE session_id = 's1' AND n = 1").fetchone()
        numbers = [r[0] for r in conn.execute("SELECT n FROM agno_runs WHERE session_id = 's1' ORDER BY n")]
    assert before == after  # the first run's row was never written again
    assert numbers == [1, 2, 3, 4, 5]


def test_a_schema_newer_than_this_program_is_refused_not_touched(postgres_url: str) -> None:  # noqa: F811
    import psycopg

    PostgresStore(postgres_url).check_writable()  # creates the schema, version recorded
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT value FROM agno_meta WHERE key = 'schema_version'").fetchone() == ("1",)
        conn.execute("UPDATE agno_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 99, newer than this agno-yaml knows"):
        PostgresStore(postgres_url).check_writable()
