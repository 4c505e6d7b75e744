"""The TinyDB backend: what lands on disk, and that nothing is lost or half-written.

What every backend must do is in test_store_contract.py; this file holds what only files can get
wrong: the layout stock TinyDB opens, segments, atomic writes, locks, file names, crashes and kills.
"""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import re
import time
from pathlib import Path

import pytest
from filelock import FileLock
from storekit import ALICE, BOB, make_run, tool_run
from tinydb import Query, TinyDB

from agno_yaml.errors import SessionError, StoreError, UsageError
from agno_yaml.store import StorePolicy, new_session_id
from agno_yaml.store import tinydb as backend_mod
from agno_yaml.store.policy import MEDIA_KEYS, scrub_run
from agno_yaml.store.tinydb import TinyDBStore as SessionStore
from agno_yaml.store.tinydb import files as files_mod
from agno_yaml.store.tinydb import segments as segments_mod
from agno_yaml.store.tinydb.files import AtomicJSONStorage, encode_id
from agno_yaml.store.tinydb.segments import SEGMENT_RUNS


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "db")


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---- stock TinyDB -----------------------------------------------------------------------------


def test_a_store_path_that_is_a_file_is_refused_when_opened(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UsageError, match="is a file, not a directory"):
        SessionStore(tmp_path / "afile")


def append_turns(
    store: SessionStore, count: int, session_id: str = "s1", start: int = 0, **kw: object
) -> None:
    """``count`` turns of one run each (a turn's runs always share a segment)."""
    for i in range(start, start + count):
        store.append_runs(session_id, ALICE, "t", [make_run(i, session_id=session_id, **kw)])


def test_stock_tinydb_opens_and_queries_every_file(store: SessionStore) -> None:
    append_turns(store, SEGMENT_RUNS + 3)
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
        assert found[0]["team_id"] == "t"  # every run names its team, so a lost session.json can be rebuilt


def test_files_are_plain_json_one_run_per_line(store: SessionStore) -> None:
    store.append_runs("s1", ALICE, "t", [make_run(i) for i in range(3)])
    text = (Path(store.session_dir("s1")) / "runs-000000.json").read_text()
    assert json.loads(text)["runs"]["3"]["run_id"] == "r2"
    assert sum(1 for line in text.splitlines() if '"run_id"' in line) == 3
    assert text.isascii()


# ---- segments ---------------------------------------------------------------------------------


def segment_ids(store: SessionStore) -> list[list[int]]:
    segments = sorted(Path(store.session_dir("s1")).glob("runs-*.json"))
    return [[int(k) for k in json.loads(seg.read_text())["runs"]] for seg in segments]


def test_a_turn_never_spans_two_segments(store: SessionStore) -> None:
    """Each turn is one atomic file write: a kill leaves the whole turn or none of it."""
    n = 0
    for batch in (1, 5, SEGMENT_RUNS - 7, 3, SEGMENT_RUNS + 5, 1):
        store.append_runs("s1", ALICE, "t", [make_run(n + k) for k in range(batch)])
        n += batch
    assert store.get_session("s1", ALICE).run_count == n  # type: ignore[union-attr]
    assert [r.run_id for r in store.runs("s1", ALICE)] == [f"r{i}" for i in range(n)]
    # 1+5+25 fill the first segment to 31; the next turn of 3 does not fit and opens segment 1;
    # a turn larger than a segment gets one of its own; the last run joins... a full one? No: a new one.
    assert segment_ids(store) == [
        list(range(1, 32)),
        list(range(32, 35)),
        list(range(35, 35 + SEGMENT_RUNS + 5)),
        [35 + SEGMENT_RUNS + 5],
    ]


def test_segments_also_close_on_size(store: SessionStore) -> None:
    big = "x" * 40_000
    append_turns(store, 5, content=big)
    segments = sorted(Path(store.session_dir("s1")).glob("runs-*.json"))
    assert len(segments) >= 3  # 40 KB runs: at most two fit under the 64 KB bound
    assert all(seg.stat().st_size < 3 * 45_000 for seg in segments)
    assert [r.run_id for r in store.runs("s1", ALICE)] == [f"r{i}" for i in range(5)]


def test_reading_the_last_runs_touches_only_the_last_segments(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    total = SEGMENT_RUNS * 10 + 1  # the last segment holds a single run
    for start in range(0, total, SEGMENT_RUNS):
        store.append_runs(
            "s1", ALICE, "t", [make_run(i) for i in range(start, min(total, start + SEGMENT_RUNS))]
        )
    opened: list[str] = []
    real_read = segments_mod.read_segment

    def spy(sdir: str, index: int) -> segments_mod.Segment:
        opened.append(f"runs-{index:06d}.json")
        return real_read(sdir, index)

    monkeypatch.setattr(backend_mod, "read_segment", spy)
    it = store.iter_runs_newest_first("s1", ALICE)
    assert [next(it).run_id for _ in range(3)] == [f"r{total - 1}", f"r{total - 2}", f"r{total - 3}"]
    assert opened == ["runs-000010.json", "runs-000009.json"]

    opened.clear()
    it = store.iter_runs_newest_first("s1", ALICE)
    next(it)
    assert opened == ["runs-000010.json"]


def test_append_rewrites_only_the_last_segment(store: SessionStore, monkeypatch: pytest.MonkeyPatch) -> None:
    append_turns(store, SEGMENT_RUNS * 5 + 2)
    written: list[str] = []
    real_write = AtomicJSONStorage.write

    def spy_write(self: AtomicJSONStorage, data: dict) -> None:
        written.append(os.path.basename(self.path))
        real_write(self, data)

    monkeypatch.setattr(AtomicJSONStorage, "write", spy_write)
    store.append_runs("s1", ALICE, "t", [make_run("new")])
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

    monkeypatch.setattr(files_mod.os, "replace", boom)
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

    monkeypatch.setattr(files_mod.os, "fsync", interrupted)
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
    with pytest.raises(StoreError) as info:
        store.get_session("s1", ALICE)
    assert str(info.value) == (
        f"session 's1' is damaged: {store.session_dir('s1')}/session.json: not valid JSON (line 1, column 14: "
        "Expecting property name enclosed in double quotes); rebuild it from its runs with "
        "`agno-run sessions repair s1` (nothing is deleted)"
    )
    assert info.value.exit_code == 1


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


def test_weird_ids_never_escape_the_store_directory(tmp_path: Path) -> None:
    """That any id reads back is the contract suite's; here: the files they make stay inside the root."""
    root = tmp_path / "db"
    store = SessionStore(root)
    for k, ident in enumerate(WEIRD_IDS):
        store.append_runs(ident, ident, "t", [make_run(k, session_id=ident, user_id=ident)])
    assert len(store.list_sessions()) == len(WEIRD_IDS)
    for path in tmp_path.rglob("*"):  # nothing escaped the root, nothing hidden but our own lock files
        assert str(path.resolve()).startswith(str(root.resolve()))
        assert not path.name.startswith(".") or path.name == ".lock"
    assert set(os.listdir(root)) - {"index.sqlite3-wal", "index.sqlite3-shm"} == {"sessions", "index.sqlite3"}


def test_new_session_id_is_short_unique_and_sortable() -> None:
    ids = [new_session_id() for _ in range(200)]
    assert len(set(ids)) == 200
    assert all(re.fullmatch(r"s-\d{8}-\d{6}-[0-9a-f]{6}", i) for i in ids)
    assert encode_id(ids[0]) == ids[0]


def test_store_media_false_drops_media_keys() -> None:
    data = tool_run().to_dict()
    data["images"] = [{"url": "http://x/y.png"}]
    data["input"] = {"text": "hi", "files": ["a.pdf"], "audio": ["a.wav"]}
    data["messages"][2]["videos"] = ["v.mp4"]
    keep = copy.deepcopy(data)
    scrubbed = scrub_run(data, StorePolicy(store_media=False, store_history_messages=True))
    assert data == keep
    assert "images" not in scrubbed and scrubbed["input"] == {"text": "hi"}
    assert not any(set(m) & set(MEDIA_KEYS) for m in scrubbed["messages"])
    kept = scrub_run(data, StorePolicy(store_history_messages=True))
    assert kept["images"] == data["images"] and kept["messages"][2]["videos"] == ["v.mp4"]


def test_delete_leaves_only_the_lock(store: SessionStore) -> None:
    store.append_runs("s1", ALICE, "t", [make_run(i) for i in range(SEGMENT_RUNS + 1)])
    store.append_runs("s2", ALICE, "t", [make_run(99, session_id="s2")])
    store.delete_session("s1", ALICE)
    assert store.get_session("s1", ALICE) is None and store.runs("s1", ALICE) == []
    assert [s.session_id for s in store.list_sessions(ALICE)] == ["s2"]
    assert set(os.listdir(store.session_dir("s1"))) == {".lock"}  # the lock stays, see delete_session
    assert store.search_sessions(ALICE, "answer 0") == []  # gone from the index too
    # The id is free again; a new owner starts empty and never sees the old runs.
    store.append_runs("s1", BOB, "t", [make_run("b", session_id="s1", user_id=BOB)])
    assert [r.run_id for r in store.runs("s1", BOB)] == ["rb"]
    with pytest.raises(SessionError, match="belongs to another user"):
        store.get_session("s1", ALICE)


def test_runs_whose_session_json_is_lost_stay_their_owners(store: SessionStore) -> None:
    store.append_runs("s1", ALICE, "t", [make_run(1)])
    os.unlink(os.path.join(store.session_dir("s1"), "session.json"))  # lost, not deleted: no delete marker
    with pytest.raises(SessionError, match="belongs to another user"):
        store.append_runs("s1", BOB, "t", [make_run("b", user_id=BOB)])
    assert [r.run_id for r in store.runs("s1", ALICE)] == ["r1"]  # rebuilt for its owner
    assert any("had lost its session.json" in w for w in store.take_warnings())


def _append_forever(root: str) -> None:
    store = SessionStore(root)
    for i in range(100_000):
        store.append_runs("k", ALICE, "t", [make_run(i, session_id="k", content="y" * 3000)])


def _run_count(root: str) -> int:
    path = Path(root, "sessions", "k", "session.json")
    try:
        return int(json.loads(path.read_text())["session"]["1"]["run_count"])
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.slow
def test_sigkill_mid_write_leaves_valid_files(tmp_path: Path) -> None:
    """Killed while writing, at several points: every file still parses and no kept run is torn.

    Waits on the store itself (a run count), never on a fixed sleep, so it holds on a busy machine.
    """
    root = str(tmp_path / "db")
    ctx = multiprocessing.get_context("spawn")
    for target in (3, 40, 70):  # inside the first segment, across the boundary, further on
        p = ctx.Process(target=_append_forever, args=(root,))
        p.start()
        deadline = time.monotonic() + 120
        while _run_count(root) < target and p.is_alive():
            assert time.monotonic() < deadline, f"no progress to {target} runs in 120 s"
            time.sleep(0.01)
        p.kill()
        p.join()
        for path in Path(root).rglob("*.json"):
            if not path.name.startswith(
                ".tmp-"
            ):  # a killed writer may leave its temp file, never a torn file
                json.loads(path.read_text())
        runs = SessionStore(root).runs("k", ALICE)
        assert len(runs) >= target
        # Each writer appended r0, r1, ... in order: the stored runs are those runs, none torn or lost
        # in the middle, one run of numbers per writer killed so far.
        numbers = [int(r.run_id[1:]) for r in runs]
        starts = [i for i, n in enumerate(numbers) if n == 0]
        assert len(starts) == (3, 40, 70).index(target) + 1
        for a, b in zip(starts, [*starts[1:], len(numbers)], strict=True):
            assert numbers[a:b] == list(range(b - a))


def _turns_forever(root: str, tag: int) -> None:
    store = SessionStore(root)
    for i in range(100_000):
        turn = f"{tag}.{i}"
        leader = make_run(f"L{turn}", session_id="k", content="x" * 3000)
        members = [
            make_run(f"M{turn}-{m}", session_id="k", parent_run_id=f"rL{turn}", content="y" * 3000)
            for m in range(2)
        ]
        store.append_runs("k", ALICE, "t", [leader, *members])


@pytest.mark.slow
def test_a_turn_is_stored_whole_or_not_at_all_when_killed(tmp_path: Path) -> None:
    """Killed at any moment, a turn's leader run is never stored without its member runs."""
    root = str(tmp_path / "db")
    ctx = multiprocessing.get_context("spawn")
    for target in (
        10,
        23,
        41,
    ):  # turns of ~9 KB: segments fill every 6-7 turns, so kills fall near their ends
        p = ctx.Process(target=_turns_forever, args=(root, target))
        p.start()
        deadline = time.monotonic() + 120
        while _run_count(root) < 3 * target and p.is_alive():
            assert time.monotonic() < deadline, f"no progress to {target} turns in 120 s"
            time.sleep(0.005)
        p.kill()
        p.join()
        runs = SessionStore(root).runs("k", ALICE)
        ids = {r.run_id for r in runs}
        for run in runs:
            if run.run_id.startswith("rL"):
                number = run.run_id[2:]
                assert {f"rM{number}-0", f"rM{number}-1"} <= ids, f"turn {number} was stored in part"


def test_an_import_killed_half_way_is_discarded_never_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after its runs but before its session document: the session does not exist (no rebuild
    without its summary), and importing it again stores it whole."""
    source = SessionStore(tmp_path / "src")
    source.append_runs("s1", ALICE, "t", [make_run(1), make_run(2)], summary={"summary": "kept"})
    document = source.export_session("s1", ALICE)
    target = SessionStore(tmp_path / "dst")

    def killed(*_: object) -> None:
        raise KeyboardInterrupt("killed between the runs and the session document")

    with monkeypatch.context() as patch:
        patch.setattr(backend_mod, "write_doc", killed)
        with pytest.raises(KeyboardInterrupt):
            target.import_session(document, ALICE)
    again = SessionStore(tmp_path / "dst")
    assert again.get_session("s1", ALICE) is None and again.list_sessions(ALICE) == []
    assert not [w for w in again.take_warnings() if "s1" in w]  # the session was not "rebuilt"
    info = again.import_session(document, ALICE)
    assert info.summary == {"summary": "kept"} and [r.run_id for r in again.runs("s1", ALICE)] == ["r1", "r2"]
