"""The store protocol's contract: every test here runs on every backend.

A new backend is one more entry in ``BACKENDS``: a way to open the store (again, on the same data),
and a snapshot of everything it holds (to prove a refused call changed nothing). TinyDB's own
habit: every test on memory and on JSON files.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pgkit import pg_server, postgres_url  # noqa: F401 - fixtures for the postgres backend
from storekit import ALICE, BOB, make_run, tool_run

from agno_yaml.errors import SessionError, UsageError
from agno_yaml.messages import Message, ToolExecution
from agno_yaml.store import SessionStore, StorePolicy, open_store
from agno_yaml.store.memory import MemoryStore
from agno_yaml.store.tinydb import TinyDBStore


@dataclass
class Backend:
    name: str
    open: Callable[[], SessionStore]  # a store on the same data each time (another process, for files)
    snapshot: Callable[[], Any]  # everything the backend holds, comparable

    @property
    def store(self) -> SessionStore:
        return self.open()


def _memory(tmp_path: Path) -> Backend:
    store = MemoryStore()
    return Backend("memory", lambda: store, lambda: copy.deepcopy((store._sessions, store._runs)))


def _tinydb(tmp_path: Path) -> Backend:
    root = tmp_path / "db"

    def snapshot() -> dict[str, bytes]:
        return {
            str(p.relative_to(tmp_path)): p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()
        }

    return Backend("tinydb", lambda: TinyDBStore(root), snapshot)


def _postgres(url: str, opened: list[Any]) -> Backend:
    import psycopg

    from agno_yaml.store.postgres import PostgresStore

    def open_again() -> SessionStore:
        store = PostgresStore(url, max_size=4)
        opened.append(store)
        return store

    def snapshot() -> Any:
        """Every row of the store's tables (tables without rows count as nothing: the schema is
        created when a store is first used, which stores nothing)."""
        with psycopg.connect(url) as conn:
            names = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
            found = {}
            for (table,) in names:
                if table != "agno_meta":
                    found[table] = conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            return {table: rows for table, rows in found.items() if rows}

    return Backend("postgres", open_again, snapshot)


BACKENDS: dict[str, Any] = {"memory": _memory, "tinydb": _tinydb, "postgres": _postgres}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param != "postgres":
        yield BACKENDS[request.param](tmp_path)
        return
    opened: list[Any] = []  # every store a test opened, closed after it (each holds a pool)
    yield _postgres(request.getfixturevalue("postgres_url"), opened)
    for store in opened:
        store.close()


@pytest.fixture
def store(backend: Backend) -> SessionStore:
    return backend.store


def test_every_backend_is_a_session_store(store: SessionStore) -> None:
    assert isinstance(store, SessionStore) and store.location


def test_open_store_picks_the_backend(tmp_path: Path) -> None:
    assert isinstance(open_store(None, "memory:"), MemoryStore)
    assert isinstance(open_store(None, tmp_path / "x"), TinyDBStore)


# ---- round trip -------------------------------------------------------------------------------


def test_round_trip_runs_and_session_fields(store: SessionStore) -> None:
    leader = make_run(
        1, tool_calls=[ToolExecution("c", "delegate_task_to_member", "{}", child_run_ids=["m1"])]
    )
    member = make_run("m1", parent_run_id="r1", member="agent-1")
    failed = make_run(2, status="error", error="model timed out", content=None)
    info = store.append_runs(
        "s1",
        ALICE,
        "team-a",
        [leader, member],
        summary={"summary": "hi", "topics": ["x"]},
        session_state={"n": 1},
        metadata={"k": "v"},
    )
    assert info.run_count == 2 and info.user_id == ALICE and info.team_id == "team-a"
    info2 = store.append_runs("s1", ALICE, "team-a", [failed])

    got = store.get_session("s1", ALICE)
    assert got is not None and got == info2
    assert got.run_count == 3 and got.schema_version == 1
    assert got.summary == {"summary": "hi", "topics": ["x"]}  # None on a later append leaves it alone
    assert got.session_state == {"n": 1} and got.metadata == {"k": "v"}
    assert got.created_at <= got.updated_at

    runs = store.runs("s1", ALICE)
    assert [r.to_dict() for r in runs] == [r.to_dict() for r in (leader, member, failed)]
    assert runs[2].status == "error" and runs[2].error == "model timed out" and runs[2].input == "question 2"
    assert [r.run_id for r in store.iter_runs_newest_first("s1", ALICE)] == ["r2", "rm1", "r1"]


def test_a_reopened_store_sees_the_same_sessions(backend: Backend) -> None:
    backend.store.append_runs("s1", ALICE, "t", [make_run(1)])
    again = backend.store
    assert [r.run_id for r in again.runs("s1", ALICE)] == ["r1"]
    assert again.latest_session(ALICE) == "s1"


def test_missing_session_reads_as_none_and_empty(backend: Backend) -> None:
    store = backend.store
    before = backend.snapshot()
    assert store.get_session("nope", ALICE) is None
    assert store.runs("nope", ALICE) == []
    assert list(store.iter_runs_newest_first("nope", ALICE)) == []
    assert store.latest_session(ALICE) is None
    assert store.list_sessions() == []
    with pytest.raises(SessionError, match="not found"):
        store.update_session("nope", ALICE, summary=None)
    with pytest.raises(SessionError, match="not found"):
        store.delete_session("nope", ALICE)
    assert backend.snapshot() == before  # reads create nothing


def test_stored_copy_names_the_session_and_owner(store: SessionStore) -> None:
    store.append_runs("s1", ALICE, "t", [make_run(1, session_id="", user_id="someone")])
    (run,) = store.runs("s1", ALICE)
    assert run.session_id == "s1" and run.user_id == ALICE


def test_caller_objects_are_not_shared_with_the_store(store: SessionStore) -> None:
    run = make_run(1)
    state = {"n": 1}
    store.append_runs("s1", ALICE, "t", [run], session_state=state)
    run.content = "changed after saving"
    state["n"] = 2
    (stored,) = store.runs("s1", ALICE)
    assert stored.content == "answer 1"
    info = store.get_session("s1", ALICE)
    assert info is not None and info.session_state == {"n": 1}
    info.session_state["n"] = 3
    assert store.get_session("s1", ALICE).session_state == {"n": 1}  # type: ignore[union-attr]


def test_update_session_fields(store: SessionStore) -> None:
    store.append_runs("s1", ALICE, "t", [make_run(1)], summary={"summary": "a"}, metadata={"m": 1})
    info = store.update_session("s1", ALICE, session_state={"x": 2})
    assert info.summary == {"summary": "a"} and info.session_state == {"x": 2} and info.metadata == {"m": 1}
    info = store.update_session("s1", ALICE, summary=None)
    assert info.summary is None and store.get_session("s1", ALICE) == info
    assert info.run_count == 1


def test_reading_newest_first_is_lazy_and_ordered(store: SessionStore) -> None:
    for i in range(40):
        store.append_runs("s1", ALICE, "t", [make_run(i)])
    it = store.iter_runs_newest_first("s1", ALICE)
    assert [next(it).run_id for _ in range(3)] == ["r39", "r38", "r37"]
    assert [r.run_id for r in store.runs("s1", ALICE)] == [f"r{i}" for i in range(40)]


# ---- ownership --------------------------------------------------------------------------------


def test_other_user_is_refused_everywhere_and_learns_nothing(backend: Backend) -> None:
    store = backend.store
    store.append_runs(
        "shared-id", ALICE, "t", [make_run(1, session_id="shared-id")], summary={"summary": "secret"}
    )
    before = backend.snapshot()
    calls = [
        lambda: store.get_session("shared-id", BOB),
        lambda: store.runs("shared-id", BOB),
        lambda: store.iter_runs_newest_first("shared-id", BOB),  # refused at call time, not on next()
        lambda: store.append_runs("shared-id", BOB, "t", [make_run(2, session_id="shared-id", user_id=BOB)]),
        lambda: store.update_session("shared-id", BOB, summary={"summary": "mine"}),
        lambda: store.delete_session("shared-id", BOB),
    ]
    for call in calls:
        with pytest.raises(SessionError) as e:
            call()
        msg = str(e.value)
        assert "belongs to another user" in msg and "--session" in msg and "\n" not in msg
        assert ALICE not in msg and "alice" not in msg and "secret" not in msg
        assert e.value.exit_code == 2
    assert backend.snapshot() == before  # nothing written
    assert store.latest_session(BOB) is None and store.list_sessions(BOB) == []
    assert [r.run_id for r in store.runs("shared-id", ALICE)] == ["r1"]


def test_empty_ids_are_refused(store: SessionStore) -> None:
    with pytest.raises(SessionError, match="session id"):
        store.append_runs("", ALICE, "t", [])
    with pytest.raises(SessionError, match="user id"):
        store.get_session("s1", "")
    with pytest.raises(SessionError, match="user id"):
        store.list_sessions("")


WEIRD_IDS = [
    "user@example.com",
    "a/b\\c",
    "../../etc/passwd",
    "..",
    ".hidden",
    "ユーザー 🙂",
    "Alice",
    "alice",
    "%2F",
]


def test_any_id_round_trips_and_case_matters(store: SessionStore) -> None:
    for k, ident in enumerate(WEIRD_IDS):
        store.append_runs(ident, ident, "t", [make_run(k, session_id=ident, user_id=ident)])
    for k, ident in enumerate(WEIRD_IDS):
        (run,) = store.runs(ident, ident)
        assert run.run_id == f"r{k}" and run.user_id == ident and run.session_id == ident
        assert store.latest_session(ident) == ident
    assert sorted(s.session_id for s in store.list_sessions()) == sorted(WEIRD_IDS)
    with pytest.raises(SessionError):  # "Alice" and "alice" are different users and sessions
        store.get_session("Alice", "alice")


def test_racing_first_saves_give_the_session_one_owner(backend: Backend) -> None:
    users = [f"user-{k}" for k in range(6)]
    outcome: dict[str, str] = {}

    def claim(user: str) -> None:
        try:
            backend.store.append_runs("race", user, "t", [make_run(user, session_id="race", user_id=user)])
            outcome[user] = "ok"
        except SessionError:
            outcome[user] = "refused"

    threads = [threading.Thread(target=claim, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (owner,) = [u for u, o in outcome.items() if o == "ok"]
    assert [r.run_id for r in backend.store.runs("race", owner)] == [f"r{owner}"]
    assert [s.user_id for s in backend.store.list_sessions()] == [owner]


def test_concurrent_appends_to_one_session_lose_nothing(backend: Backend) -> None:
    def append(worker: int) -> None:
        store = backend.store
        for i in range(15):
            store.append_runs("busy", ALICE, "t", [make_run(f"{worker}-{i}", session_id="busy")])

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    runs = backend.store.runs("busy", ALICE)
    assert len(runs) == 60 and backend.store.get_session("busy", ALICE).run_count == 60  # type: ignore[union-attr]
    for w in range(4):  # each writer's runs keep their order
        assert [r.run_id for r in runs if r.run_id.startswith(f"r{w}-")] == [f"r{w}-{i}" for i in range(15)]


# ---- scrubbing --------------------------------------------------------------------------------


def test_default_policy_drops_only_history_messages(store: SessionStore) -> None:
    run = tool_run()
    original = copy.deepcopy(run)
    store.append_runs("s1", ALICE, "t", [run])
    assert run == original
    (stored,) = store.runs("s1", ALICE)
    assert not any(m.from_history for m in stored.messages)
    assert len(stored.messages) == 6 and stored.tool_calls == run.tool_calls


def test_store_history_messages_keeps_them(store: SessionStore) -> None:
    store.append_runs("s1", ALICE, "t", [tool_run()], policy=StorePolicy(store_history_messages=True))
    (stored,) = store.runs("s1", ALICE)
    assert stored.messages == tool_run().messages


def test_store_tool_results_false(store: SessionStore) -> None:
    run = tool_run()
    original = copy.deepcopy(run)
    store.append_runs("s1", ALICE, "t", [run], policy=StorePolicy(store_tool_results=False))
    assert run == original  # the live run keeps everything
    (stored,) = store.runs("s1", ALICE)
    assert [(m.role, m.content) for m in stored.messages] == [
        ("user", "weather?"),
        ("assistant", "Let me check."),  # its text survives, its tool call does not
        ("assistant", "It is sunny."),
    ]
    assert all(not m.tool_calls for m in stored.messages)
    assert [(t.id, t.name, t.arguments, t.result) for t in stored.tool_calls] == [
        ("c1", "weather", '{"city": "Paris"}', None),
        ("c2", "weather", '{"city": "Rome"}', None),
    ]


def test_failed_runs_are_never_filtered(store: SessionStore) -> None:
    failed = make_run(1, status="error", error="boom", content=None, messages=[Message("user", "q")])
    store.append_runs("s1", ALICE, "t", [failed], policy=StorePolicy(store_tool_results=False))
    (stored,) = store.runs("s1", ALICE)
    assert stored.status == "error" and stored.error == "boom" and stored.input == "question 1"


# ---- listing and deleting ---------------------------------------------------------------------


def test_latest_and_list_sessions_order_and_filters(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = iter(range(100, 1000))
    monkeypatch.setattr(time, "time", lambda: float(next(clock)))
    store.append_runs("a1", ALICE, "team-x", [make_run(1)])
    store.append_runs("a2", ALICE, "team-y", [make_run(2)])
    store.append_runs("b1", BOB, "team-x", [make_run(3)])
    store.append_runs("a1", ALICE, "team-x", [make_run(4)])  # a1 is now the newest of alice's

    assert [s.session_id for s in store.list_sessions(ALICE)] == ["a1", "a2"]
    assert [s.session_id for s in store.list_sessions(ALICE, "team-y")] == ["a2"]
    assert [s.session_id for s in store.list_sessions()] == ["a1", "b1", "a2"]
    assert [s.session_id for s in store.list_sessions(team_id="team-x")] == ["a1", "b1"]
    assert store.latest_session(ALICE) == "a1"
    assert store.latest_session(ALICE, "team-y") == "a2"
    assert store.latest_session(BOB) == "b1"
    assert store.latest_session(BOB, "team-y") is None
    store.update_session("a2", ALICE, metadata={"touched": True})
    assert store.latest_session(ALICE) == "a2"


def test_delete_session_frees_the_id(store: SessionStore) -> None:
    store.append_runs("s1", ALICE, "t", [make_run(i) for i in range(40)])
    store.append_runs("s2", ALICE, "t", [make_run(99, session_id="s2")])
    store.delete_session("s1", ALICE)
    assert store.get_session("s1", ALICE) is None and store.runs("s1", ALICE) == []
    assert [s.session_id for s in store.list_sessions(ALICE)] == ["s2"]
    # The id is free again; a new owner starts empty and never sees the old runs.
    store.append_runs("s1", BOB, "t", [make_run("b", session_id="s1", user_id=BOB)])
    assert [r.run_id for r in store.runs("s1", BOB)] == ["rb"]
    with pytest.raises(SessionError, match="belongs to another user"):
        store.get_session("s1", ALICE)


# ---- turns, search, export and import ------------------------------------------------------------


def test_turns_and_the_first_message_are_counted(store: SessionStore) -> None:
    leader = make_run(1)
    member = make_run("m", parent_run_id="r1", member="agent-1")
    store.append_runs("s1", ALICE, "t", [leader, member])
    info = store.append_runs("s1", ALICE, "t", [make_run(2)])
    assert (info.run_count, info.turn_count, info.first_message) == (3, 2, "question 1")


def said(
    store: SessionStore, user: str, text: str, team: str | None = None
) -> list[tuple[str, int, str, str]]:
    return [
        (h.session_id, h.turn, h.role, h.snippet) for h in store.search_sessions(user, text, team_id=team)
    ]


def test_search_finds_every_word_in_the_users_sessions_only(store: SessionStore) -> None:
    store.append_runs(
        "a", ALICE, "team-x", [make_run(1, session_id="a", input="Comment ça va?", content="Ça va bien")]
    )
    store.append_runs("a", ALICE, "team-x", [make_run(2, session_id="a", input="the weather in Paris")])
    store.append_runs(
        "b", ALICE, "team-y", [make_run(3, session_id="b", input="Paris weather, again please")]
    )
    store.append_runs(
        "z", BOB, "team-x", [make_run(4, session_id="z", user_id=BOB, input="paris weather secret")]
    )
    hits = said(store, ALICE, "Weather PARIS")
    assert sorted(hits) == [
        ("a", 2, "user", "the [weather] in [Paris]"),
        ("b", 1, "user", "[Paris] [weather], again please"),
    ]
    assert sorted(said(store, ALICE, "ca va")) == [  # accents and case do not matter
        ("a", 1, "assistant", "[Ça] [va] bien"),
        ("a", 1, "user", "Comment [ça] [va]?"),
    ]
    assert said(store, ALICE, "weather", team="team-y") == [("b", 1, "user", "Paris [weather], again please")]
    assert said(store, BOB, "weather") == [("z", 1, "user", "paris [weather] secret")]  # never alice's
    assert said(store, ALICE, "secret") == [] and said(store, ALICE, "   ") == []


def test_export_then_import_gives_back_an_identical_session(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    store.append_runs("s1", ALICE, "t", [make_run(1), make_run("m", parent_run_id="r1", member="agent-1")],
                      summary={"summary": "hi", "topics": []}, session_state={"n": 1}, metadata={"k": "v"})  # fmt: skip
    store.append_runs("s1", ALICE, "t", [make_run(2, status="error", error="boom", content=None)])
    exported = store.export_session("s1", ALICE)
    other = MemoryStore() if backend.name == "tinydb" else TinyDBStore(tmp_path / "other")
    other.import_session(json.loads(json.dumps(exported)), ALICE)
    again = other.export_session("s1", ALICE)
    assert {**again, "exported_at": 0} == {**exported, "exported_at": 0}
    assert [r.to_dict() for r in other.runs("s1", ALICE)] == [r.to_dict() for r in store.runs("s1", ALICE)]
    assert other.get_session("s1", ALICE) == store.get_session("s1", ALICE)


def test_import_refuses_to_overwrite_and_keeps_owners(store: SessionStore) -> None:
    store.append_runs("s1", ALICE, "t", [make_run(1)])
    store.append_runs("b1", BOB, "t", [make_run(1, session_id="b1", user_id=BOB)])
    exported = store.export_session("s1", ALICE)
    with pytest.raises(UsageError, match="exists already"):
        store.import_session(exported, ALICE)
    bobs = store.export_session("b1", BOB)
    with pytest.raises(UsageError, match="exists already"):  # another user's id is never overwritten
        store.import_session({**exported, "session": {**exported["session"], "session_id": "b1"}}, ALICE)
    with pytest.raises(UsageError, match="a session of another user"):
        store.import_session(bobs, ALICE, new_id="mine-now")
    copy_ = store.import_session(exported, ALICE, new_id="s1-copy")
    assert copy_.session_id == "s1-copy" and [r.session_id for r in store.runs("s1-copy", ALICE)] == [
        "s1-copy"
    ]
    assert {**store.export_session("b1", BOB), "exported_at": 0} == {**bobs, "exported_at": 0}  # untouched


def test_rename_moves_the_session_under_its_new_id(store: SessionStore) -> None:
    store.append_runs("old", ALICE, "t", [make_run(1, session_id="old")])
    info = store.rename_session("old", ALICE, "new")
    assert info.session_id == "new" and store.get_session("old", ALICE) is None
    assert [(r.session_id, r.run_id) for r in store.runs("new", ALICE)] == [("new", "r1")]
    assert [h.session_id for h in store.search_sessions(ALICE, "question")] == ["new"]
    with pytest.raises(SessionError, match="belongs to another user"):
        store.rename_session("new", BOB, "stolen")
