"""SessionStore: what lands on disk, who may read it, and that nothing is lost or half-written."""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import re
import threading
import time
from pathlib import Path

import pytest
from filelock import FileLock
from tinydb import Query, TinyDB

from agno_yaml import storage as storage_mod
from agno_yaml import store as store_mod
from agno_yaml.errors import SessionError, StoreError
from agno_yaml.messages import Message, RunRecord, ToolCall, ToolExecution, Usage
from agno_yaml.segments import SEGMENT_RUNS
from agno_yaml.storage import AtomicJSONStorage, StorePolicy, encode_id
from agno_yaml.store import SessionStore, new_session_id

ALICE = "alice@example.com"
BOB = "bob@example.com"


def make_run(i: int | str, session_id: str = "s1", user_id: str = ALICE, **kw: object) -> RunRecord:
    fields: dict[str, object] = {
        "run_id": f"r{i}",
        "session_id": session_id,
        "user_id": user_id,
        "input": f"question {i}",
        "content": f"answer {i}",
        "messages": [Message("user", f"question {i}"), Message("assistant", f"answer {i}")],
        "usage": Usage(10, 5, 15, 0.001),
        "duration": 0.25,
        "created_at": 1000.0 + (i if isinstance(i, int) else 0),
        "model": "echo",
    }
    fields.update(kw)
    return RunRecord(**fields)  # type: ignore[arg-type]


def tool_run() -> RunRecord:
    return RunRecord(
        run_id="rt",
        session_id="s1",
        user_id=ALICE,
        input="weather?",
        content="It is sunny.",
        messages=[
            Message("user", "old question", from_history=True),
            Message("assistant", "old answer", from_history=True),
            Message("user", "weather?"),
            Message(
                "assistant", "Let me check.", tool_calls=[ToolCall("c1", "weather", '{"city": "Paris"}')]
            ),
            Message("tool", "sunny, 21C", tool_call_id="c1", name="weather"),
            Message("assistant", None, tool_calls=[ToolCall("c2", "weather", '{"city": "Rome"}')]),
            Message("tool", "rain", tool_call_id="c2", name="weather"),
            Message("assistant", "It is sunny."),
        ],
        tool_calls=[
            ToolExecution("c1", "weather", '{"city": "Paris"}', result="sunny, 21C", duration=0.1),
            ToolExecution("c2", "weather", '{"city": "Rome"}', result="rain", error=None),
        ],
    )


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "db")


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


def test_missing_session_reads_as_none_and_empty(store: SessionStore) -> None:
    assert store.get_session("nope", ALICE) is None
    assert store.runs("nope", ALICE) == []
    assert list(store.iter_runs_newest_first("nope", ALICE)) == []
    assert store.latest_session(ALICE) is None
    assert store.list_sessions() == []
    with pytest.raises(SessionError, match="not found"):
        store.update_session("nope", ALICE, summary=None)
    with pytest.raises(SessionError, match="not found"):
        store.delete_session("nope", ALICE)
    assert not (Path(store.root) / "sessions").exists()  # reads create nothing


def test_stored_copy_names_the_session_and_owner(store: SessionStore) -> None:
    store.append_runs("s1", ALICE, "t", [make_run(1, session_id="", user_id="someone")])
    (run,) = store.runs("s1", ALICE)
    assert run.session_id == "s1" and run.user_id == ALICE


def test_update_session_fields(store: SessionStore) -> None:
    store.append_runs("s1", ALICE, "t", [make_run(1)], summary={"summary": "a"}, metadata={"m": 1})
    info = store.update_session("s1", ALICE, session_state={"x": 2})
    assert info.summary == {"summary": "a"} and info.session_state == {"x": 2} and info.metadata == {"m": 1}
    info = store.update_session("s1", ALICE, summary=None)
    assert info.summary is None and store.get_session("s1", ALICE) == info
    assert info.run_count == 1


# ---- stock TinyDB -----------------------------------------------------------------------------


def test_stock_tinydb_opens_and_queries_every_file(store: SessionStore) -> None:
    store.append_runs("s1", ALICE, "team-a", [make_run(i) for i in range(SEGMENT_RUNS + 3)])
    sdir = Path(store.session_dir("s1"))
    q = Query()
    with TinyDB(sdir / "session.json") as db:
        (doc,) = db.table("session").search(q.user_id == ALICE)
        assert (
            doc["session_id"] == "s1" and doc["run_count"] == SEGMENT_RUNS + 3 and doc["schema_version"] == 1
        )
    with TinyDB(sdir / "runs-000001.json") as db:
        found = db.table("runs").search(q.run_id == f"r{SEGMENT_RUNS + 1}")
        assert len(found) == 1 and found[0].doc_id == SEGMENT_RUNS + 2 and found[0]["schema_version"] == 1
        assert db.table("runs").count(q.status == "completed") == 3
    with TinyDB(store.user_file(ALICE)) as db:
        assert db.table("sessions").search(q.session_id == "s1")[0]["team_id"] == "team-a"


def test_files_are_plain_json_one_run_per_line(store: SessionStore) -> None:
    store.append_runs("s1", ALICE, "t", [make_run(i) for i in range(3)])
    text = (Path(store.session_dir("s1")) / "runs-000000.json").read_text()
    assert json.loads(text)["runs"]["3"]["run_id"] == "r2"
    assert sum(1 for line in text.splitlines() if '"run_id"' in line) == 3
    assert text.isascii()


# ---- ownership --------------------------------------------------------------------------------


def test_other_user_is_refused_everywhere_and_learns_nothing(store: SessionStore, tmp_path: Path) -> None:
    store.append_runs(
        "shared-id", ALICE, "t", [make_run(1, session_id="shared-id")], summary={"summary": "secret"}
    )
    before = snapshot(tmp_path)
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
    assert snapshot(tmp_path) == before  # nothing written, byte for byte
    assert store.latest_session(BOB) is None and store.list_sessions(BOB) == []
    assert [r.run_id for r in store.runs("shared-id", ALICE)] == ["r1"]


def test_empty_ids_are_refused(store: SessionStore) -> None:
    with pytest.raises(SessionError, match="session id"):
        store.append_runs("", ALICE, "t", [])
    with pytest.raises(SessionError, match="user id"):
        store.get_session("s1", "")


# ---- segments ---------------------------------------------------------------------------------


def test_appends_across_segment_boundaries(store: SessionStore) -> None:
    n = 0
    for batch in (1, 5, SEGMENT_RUNS - 7, 3, SEGMENT_RUNS + 5, 1):  # lands exactly on and across boundaries
        store.append_runs("s1", ALICE, "t", [make_run(n + k) for k in range(batch)])
        n += batch
    assert store.get_session("s1", ALICE).run_count == n  # type: ignore[union-attr]
    assert [r.run_id for r in store.runs("s1", ALICE)] == [f"r{i}" for i in range(n)]
    sdir = Path(store.session_dir("s1"))
    segments = sorted(sdir.glob("runs-*.json"))
    ids: list[int] = []
    for seg in segments:
        docs = json.loads(seg.read_text())["runs"]
        assert 0 < len(docs) <= SEGMENT_RUNS
        ids += [int(k) for k in docs]
    assert ids == list(range(1, n + 1))  # doc id = run number, continuous across files
    assert len(segments) == -(-n // SEGMENT_RUNS)


def test_segments_also_close_on_size(store: SessionStore) -> None:
    big = "x" * 40_000
    store.append_runs("s1", ALICE, "t", [make_run(i, content=big) for i in range(5)])
    segments = sorted(Path(store.session_dir("s1")).glob("runs-*.json"))
    assert len(segments) >= 3  # 40 KB runs: at most two fit under the 64 KB bound
    assert all(seg.stat().st_size < 3 * 45_000 for seg in segments)
    assert [r.run_id for r in store.runs("s1", ALICE)] == [f"r{i}" for i in range(5)]


def test_reading_the_last_runs_touches_only_the_last_segments(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    total = SEGMENT_RUNS * 10 + 1  # the last segment holds a single run
    for start in range(0, total, 40):
        store.append_runs("s1", ALICE, "t", [make_run(i) for i in range(start, min(total, start + 40))])
    opened: list[str] = []
    real_read = AtomicJSONStorage.read

    def spy(self: AtomicJSONStorage) -> object:
        opened.append(os.path.basename(self.path))
        return real_read(self)

    monkeypatch.setattr(AtomicJSONStorage, "read", spy)
    it = store.iter_runs_newest_first("s1", ALICE)
    assert [next(it).run_id for _ in range(3)] == [f"r{total - 1}", f"r{total - 2}", f"r{total - 3}"]
    assert opened == ["session.json", "runs-000010.json", "runs-000009.json"]

    opened.clear()
    it = store.iter_runs_newest_first("s1", ALICE)
    next(it)
    assert opened == ["session.json", "runs-000010.json"]


def test_append_reads_only_the_last_segment(store: SessionStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.append_runs("s1", ALICE, "t", [make_run(i) for i in range(SEGMENT_RUNS * 5 + 2)])
    opened: list[str] = []
    written: list[str] = []
    real_read, real_write = AtomicJSONStorage.read, AtomicJSONStorage.write

    def spy_read(self: AtomicJSONStorage) -> object:
        if self._data is None:  # a real parse, not the storage's memory of this operation
            opened.append(os.path.basename(self.path))
        return real_read(self)

    def spy_write(self: AtomicJSONStorage, data: dict) -> None:
        written.append(os.path.basename(self.path))
        real_write(self, data)

    monkeypatch.setattr(AtomicJSONStorage, "read", spy_read)
    monkeypatch.setattr(AtomicJSONStorage, "write", spy_write)
    store.append_runs("s1", ALICE, "t", [make_run("new")])
    assert set(opened) == {"session.json", "runs-000005.json"}
    assert opened.count("runs-000005.json") == 1  # parsed once, not once per TinyDB call
    assert written == ["runs-000005.json", "session.json"]  # segment first: it is the truth for runs


# ---- concurrency ------------------------------------------------------------------------------


def _append_worker(root: str, worker: int, count: int, start: multiprocessing.synchronize.Event) -> None:
    store = SessionStore(root, lock_timeout=60)
    start.wait()
    for i in range(count):
        store.append_runs("busy", ALICE, "t", [make_run(f"{worker}-{i}", session_id="busy")])


@pytest.mark.slow
def test_two_processes_appending_lose_nothing(tmp_path: Path) -> None:
    root = str(tmp_path / "db")
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_append_worker, args=(root, w, 50, start)) for w in range(2)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = SessionStore(root)
    runs = store.runs("busy", ALICE)
    assert len(runs) == 100 and store.get_session("busy", ALICE).run_count == 100  # type: ignore[union-attr]
    assert sorted(r.run_id for r in runs) == sorted(f"r{w}-{i}" for w in range(2) for i in range(50))
    for w in range(2):  # each writer's runs keep their order
        mine = [r.run_id for r in runs if r.run_id.startswith(f"r{w}-")]
        assert mine == [f"r{w}-{i}" for i in range(50)]
    for path in Path(root).rglob("*.json"):
        json.loads(path.read_text())
    assert not list(Path(root).rglob(".tmp-*"))


# ---- crash safety -----------------------------------------------------------------------------


def test_failed_write_leaves_previous_file_and_no_temp(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.append_runs("s1", ALICE, "t", [make_run(1)])
    sdir = Path(store.session_dir("s1"))
    before = snapshot(sdir)

    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage_mod.os, "replace", boom)
    with pytest.raises(StoreError, match="No space left on device") as e:
        store.append_runs("s1", ALICE, "t", [make_run(2)])
    assert "runs-000000.json" in str(e.value) and e.value.exit_code == 1
    monkeypatch.undo()
    assert snapshot(sdir) == before
    assert not list(sdir.glob(".tmp-*"))
    assert [r.run_id for r in store.runs("s1", ALICE)] == ["r1"]


def test_interrupt_during_write_cleans_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"t": {"1": {"a": 1}}}')

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(storage_mod.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        AtomicJSONStorage(path).write({"t": {"1": {"a": 2}}})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"t": {"1": {"a": 1}}}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_crash_between_segment_and_session_write_is_repaired(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.append_runs("s1", ALICE, "t", [make_run(i) for i in range(SEGMENT_RUNS - 1)])
    real_write = AtomicJSONStorage.write

    def fail_on_session(self: AtomicJSONStorage, data: dict) -> None:
        if self.path.endswith("session.json"):
            raise StoreError("simulated crash")
        real_write(self, data)

    monkeypatch.setattr(AtomicJSONStorage, "write", fail_on_session)
    with pytest.raises(StoreError):  # fills the segment and opens the next one, then "dies"
        store.append_runs("s1", ALICE, "t", [make_run(i) for i in range(SEGMENT_RUNS - 1, SEGMENT_RUNS + 2)])
    monkeypatch.undo()
    assert store.get_session("s1", ALICE).run_count == SEGMENT_RUNS - 1  # type: ignore[union-attr]  # stale hint
    assert len(store.runs("s1", ALICE)) == SEGMENT_RUNS + 2  # the segments are the truth
    info = store.append_runs("s1", ALICE, "t", [make_run("after")])
    assert info.run_count == SEGMENT_RUNS + 3
    runs = store.runs("s1", ALICE)
    assert runs[-1].run_id == "rafter" and len({r.run_id for r in runs}) == SEGMENT_RUNS + 3


def test_corrupt_file_is_a_store_error(store: SessionStore) -> None:
    store.append_runs("s1", ALICE, "t", [make_run(1)])
    (Path(store.session_dir("s1")) / "session.json").write_text('{"session": {')
    with pytest.raises(StoreError, match=r"session\.json is not valid JSON"):
        store.get_session("s1", ALICE)


# ---- locking ----------------------------------------------------------------------------------


def test_lock_timeout_is_a_clear_store_error(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "db", lock_timeout=0.2)
    store.append_runs("s1", ALICE, "t", [make_run(1)])
    lock_path = os.path.join(store.session_dir("s1"), ".lock")
    with FileLock(lock_path, timeout=1):
        with pytest.raises(StoreError) as e:
            store.append_runs("s1", ALICE, "t", [make_run(2)])
        msg = str(e.value)
        assert lock_path in msg and "locked by another process" in msg and "try again" in msg
        assert "\n" not in msg and e.value.exit_code == 1
        assert store.get_session("s1", ALICE).run_count == 1  # type: ignore[union-attr]  # reads need no lock
    assert store.append_runs("s1", ALICE, "t", [make_run(2)]).run_count == 2


def test_data_file_is_never_the_lock_file(store: SessionStore) -> None:
    store.append_runs("s1", ALICE, "t", [make_run(1)])
    names = set(os.listdir(store.session_dir("s1")))
    assert names == {"session.json", "runs-000000.json", ".lock"}


# ---- ids --------------------------------------------------------------------------------------

WEIRD_IDS = [
    "user@example.com",
    "a/b\\c",
    "../../etc/passwd",
    "..",
    ".",
    ".hidden",
    "trailing.",
    "ユーザー 🙂",
    "Alice",
    "alice",
    "%2F",
    "/",
    "con",
    "x" * 500,
    "tab\tnew\nline",
    "a~b",
]


def test_encoded_names_are_safe_and_distinct() -> None:
    names = [encode_id(i) for i in WEIRD_IDS]
    assert len({n.lower() for n in names}) == len(WEIRD_IDS)  # distinct even on case-insensitive disks
    for n in names:
        assert re.fullmatch(r"[A-Za-z0-9_@+.%~-]+", n), n
        assert not n.startswith(".") and not n.endswith(".") and len(n) <= 120
    assert encode_id("user@example.com") == "user@example.com"
    assert encode_id("s-20261121-7f3a9c") == "s-20261121-7f3a9c"


def test_weird_ids_are_stored_safely_and_read_back(tmp_path: Path) -> None:
    root = tmp_path / "db"
    store = SessionStore(root)
    for k, ident in enumerate(WEIRD_IDS):
        store.append_runs(ident, ident, "t", [make_run(k, session_id=ident, user_id=ident)])
    for k, ident in enumerate(WEIRD_IDS):
        (run,) = store.runs(ident, ident)
        assert run.run_id == f"r{k}" and run.user_id == ident and run.session_id == ident
        assert store.latest_session(ident) == ident
    assert sorted(s.session_id for s in store.list_sessions()) == sorted(WEIRD_IDS)
    for path in tmp_path.rglob("*"):  # nothing escaped the root, nothing hidden but our own lock files
        assert str(path.resolve()).startswith(str(root.resolve()))
        assert not path.name.startswith(".") or path.name == ".lock"
    assert set(os.listdir(root)) == {"sessions", "users"}
    with pytest.raises(SessionError):  # "Alice" and "alice" are different users and sessions
        store.get_session("Alice", "alice")


def test_new_session_id_is_short_unique_and_sortable() -> None:
    ids = [new_session_id() for _ in range(200)]
    assert len(set(ids)) == 200
    assert all(re.fullmatch(r"s-\d{8}-\d{6}-[0-9a-f]{6}", i) for i in ids)
    assert encode_id(ids[0]) == ids[0]


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


def test_store_media_false_drops_media_keys() -> None:
    data = tool_run().to_dict()
    data["images"] = [{"url": "http://x/y.png"}]
    data["input"] = {"text": "hi", "files": ["a.pdf"], "audio": ["a.wav"]}
    data["messages"][2]["videos"] = ["v.mp4"]
    keep = copy.deepcopy(data)
    scrubbed = storage_mod.scrub_run(data, StorePolicy(store_media=False, store_history_messages=True))
    assert data == keep
    assert "images" not in scrubbed and scrubbed["input"] == {"text": "hi"}
    assert not any(set(m) & set(storage_mod.MEDIA_KEYS) for m in scrubbed["messages"])
    kept = storage_mod.scrub_run(data, StorePolicy(store_history_messages=True))
    assert kept["images"] == data["images"] and kept["messages"][2]["videos"] == ["v.mp4"]


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
    monkeypatch.setattr(store_mod.time, "time", lambda: float(next(clock)))
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


def test_delete_session(store: SessionStore) -> None:
    store.append_runs("s1", ALICE, "t", [make_run(i) for i in range(SEGMENT_RUNS + 1)])
    store.append_runs("s2", ALICE, "t", [make_run(99, session_id="s2")])
    store.delete_session("s1", ALICE)
    assert store.get_session("s1", ALICE) is None and store.runs("s1", ALICE) == []
    assert [s.session_id for s in store.list_sessions(ALICE)] == ["s2"]
    assert set(os.listdir(store.session_dir("s1"))) == {".lock"}  # the lock stays, see delete_session
    with TinyDB(store.user_file(ALICE)) as db:
        assert [d["session_id"] for d in db.table("sessions").all()] == ["s2"]
    # The id is free again; a new owner starts empty and never sees the old runs.
    store.append_runs("s1", BOB, "t", [make_run("b", session_id="s1", user_id=BOB)])
    assert [r.run_id for r in store.runs("s1", BOB)] == ["rb"]
    with pytest.raises(SessionError, match="belongs to another user"):
        store.get_session("s1", ALICE)


def test_leftover_runs_without_a_session_are_not_inherited(store: SessionStore) -> None:
    store.append_runs("s1", ALICE, "t", [make_run(1)])
    os.unlink(os.path.join(store.session_dir("s1"), "session.json"))  # a delete killed half way
    store.append_runs("s1", BOB, "t", [make_run("b", user_id=BOB)])
    assert [r.run_id for r in store.runs("s1", BOB)] == ["rb"]


def test_racing_first_saves_give_the_session_one_owner(tmp_path: Path) -> None:
    root = tmp_path / "db"
    users = [f"user-{k}" for k in range(6)]
    outcome: dict[str, str] = {}

    def claim(user: str) -> None:
        try:
            SessionStore(root).append_runs(
                "race", user, "t", [make_run(user, session_id="race", user_id=user)]
            )
            outcome[user] = "ok"
        except SessionError:
            outcome[user] = "refused"

    threads = [threading.Thread(target=claim, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (owner,) = [u for u, o in outcome.items() if o == "ok"]
    assert [r.run_id for r in SessionStore(root).runs("race", owner)] == [f"r{owner}"]
    assert [s.user_id for s in SessionStore(root).list_sessions()] == [owner]


def _append_forever(root: str) -> None:
    store = SessionStore(root)
    for i in range(100_000):
        store.append_runs("k", ALICE, "t", [make_run(i, session_id="k", content="y" * 3000)])


@pytest.mark.slow
def test_sigkill_mid_write_leaves_valid_files(tmp_path: Path) -> None:
    root = str(tmp_path / "db")
    ctx = multiprocessing.get_context("spawn")
    for delay in (0.6, 0.75, 0.9):
        p = ctx.Process(target=_append_forever, args=(root,))
        p.start()
        time.sleep(delay)
        p.kill()
        p.join()
        for path in Path(root).rglob("*.json"):
            if not path.name.startswith(
                ".tmp-"
            ):  # a killed writer may leave its temp file, never a torn file
                json.loads(path.read_text())
        runs = SessionStore(root).runs("k", ALICE)
        assert [int(r.run_id[1:]) for r in runs[:5]] == list(range(min(5, len(runs))))
    assert len(runs) > 0


def test_store_keeps_no_leftover_reexports() -> None:
    # These moved to segments / storage / user_index; importing them from here hid where they live.
    for moved in ("RUNS_TABLE", "USER_TABLE", "AtomicJSONStorage", "Layout"):
        assert not hasattr(store_mod, moved), moved
    assert not hasattr(SessionStore, "segment_file")  # nothing called it; segments.segment_file is the one
