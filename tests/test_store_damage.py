"""A damaged store is repaired or named, never thrown away: each test names the guarantee it proves.

Damage comes from outside (a disk, a hand edit, a tool that truncated a file): the store's own
writes are atomic. Whatever the damage, the runs still readable are kept, the user gets one line
naming the file and what to do, and nothing is ever deleted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from storekit import ALICE, BOB, make_run

from agno_yaml.cli import cli
from agno_yaml.errors import SessionError, StoreError
from agno_yaml.store.tinydb import TinyDBStore
from agno_yaml.store.tinydb.segments import SEGMENT_RUNS


def agno(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, prog_name="agno-run")


def seventy_runs(root: Path, session_id: str = "s1") -> TinyDBStore:
    store = TinyDBStore(root)
    for i in range(70):  # one run per turn: three segments (32, 32, 6)
        store.append_runs(session_id, ALICE, "team-a", [make_run(i, session_id=session_id)])
    return store


def session_json(store: TinyDBStore, session_id: str = "s1") -> Path:
    return Path(store.session_dir(session_id)) / "session.json"


def segment(store: TinyDBStore, index: int, session_id: str = "s1") -> Path:
    return Path(store.session_dir(session_id)) / f"runs-{index:06d}.json"


def run_ids(store: TinyDBStore, user: str = ALICE, session_id: str = "s1") -> list[str]:
    return [r.run_id for r in store.runs(session_id, user)]


# ---- session.json -------------------------------------------------------------------------------


def test_a_damaged_session_document_is_named_and_repaired_never_thrown_away(tmp_path: Path) -> None:
    store = seventy_runs(tmp_path / "db")
    session_json(store).write_text('{"session": {"1": {"session_id": "s1", "user_')  # truncated
    with pytest.raises(StoreError) as info:
        store.get_session("s1", ALICE)
    message = str(info.value)
    assert "session 's1' is damaged: " in message and "session.json: not valid JSON" in message
    assert "`agno-run sessions repair s1`" in message and "delete" not in message.replace(
        "nothing is deleted", ""
    )
    result = agno("sessions", "repair", "s1", "--db", str(tmp_path / "db"), "-u", ALICE)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("session 's1' rebuilt from 70 runs; no run lost")
    assert run_ids(store) == [f"r{i}" for i in range(70)]  # all seventy, not one
    info_after = store.get_session("s1", ALICE)
    assert info_after is not None and info_after.run_count == 70 and info_after.team_id == "team-a"
    kept = list(Path(store.session_dir("s1"), "damaged").iterdir())
    assert [p.name for p in kept] == ["session.json"]  # the damaged file is kept, set aside


def test_a_missing_session_document_is_rebuilt_from_its_runs_automatically(tmp_path: Path) -> None:
    store = seventy_runs(tmp_path / "db")
    session_json(store).unlink()
    assert (
        agno(
            str(write_team(tmp_path)), "next", "-s", "s1", "-u", ALICE, "--db", str(tmp_path / "db")
        ).exit_code
        == 0
    )
    runs = TinyDBStore(tmp_path / "db").runs("s1", ALICE)
    assert len(runs) == 70 + 1 and runs[-1].input == "next"


def write_team(tmp_path: Path, team_id: str = "team-a") -> Path:
    path = tmp_path / "team.yaml"
    path.write_text(f"id: {team_id}\nmodel: echo\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.pop("user_id"), "user_id (the session's owner) is missing"),
        (lambda d: d.update(user_id=7), "user_id is not text"),
        (lambda d: d.update(summary="not an object"), "summary is not an object or null"),
        (lambda d: d.update(created_at="yesterday"), "created_at is not a number of seconds"),
        (lambda d: d.update(session_state=[1, 2]), "session_state is not an object"),
        (lambda d: d.update(session_id="another"), "it is the document of session 'another'"),
    ],
)
def test_every_malformed_session_document_is_one_line_exit_1(
    tmp_path: Path, change: object, expected: str
) -> None:
    store = TinyDBStore(tmp_path / "db")
    store.append_runs("s1", ALICE, "team-a", [make_run(1)])
    data = json.loads(session_json(store).read_text())
    change(data["session"]["1"])  # type: ignore[operator]
    session_json(store).write_text(json.dumps(data))
    result = agno(str(write_team(tmp_path)), "hi", "-s", "s1", "-u", ALICE, "--db", str(tmp_path / "db"))
    assert result.exit_code == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: session 's1' is damaged: ") and expected in line
    assert "belongs to another user" not in line and "internal error" not in line


def test_bad_bookkeeping_in_a_session_document_is_repaired_silently(tmp_path: Path) -> None:
    store = seventy_runs(tmp_path / "db")
    data = json.loads(session_json(store).read_text())
    data["session"]["1"].update(last_segment="two", run_count="many", last_run_number=None)
    session_json(store).write_text(json.dumps(data))
    assert store.append_runs("s1", ALICE, "team-a", [make_run("new")]).run_count == 71
    assert run_ids(store)[-1] == "rnew" and len(run_ids(store)) == 71


# ---- segments -----------------------------------------------------------------------------------


def test_a_truncated_segment_loses_only_its_torn_runs_and_says_which(tmp_path: Path) -> None:
    store = seventy_runs(tmp_path / "db")
    path = segment(store, 1)  # runs 33..64
    text = path.read_text()
    path.write_text(text[: text.index('"50": ') + 40])  # cut inside run 50
    runs = run_ids(store)
    assert runs == [f"r{i}" for i in range(70) if not 49 <= i <= 63]  # runs 50-64 (r49..r63) are lost
    (warning,) = store.take_warnings()
    assert f"{path} is damaged (not valid JSON" in warning and "runs 50-64 are lost" in warning
    # New runs never reuse the numbers of lost ones.
    store.append_runs("s1", ALICE, "team-a", [make_run("new")])
    assert list(json.loads(segment(store, 2).read_text())["runs"])[-1] == "71"


def test_an_emptied_or_missing_middle_segment_is_reported_with_its_run_numbers(tmp_path: Path) -> None:
    store = seventy_runs(tmp_path / "db")
    segment(store, 1).write_text("")
    assert len(run_ids(store)) == 38
    assert any("runs 33-64 are lost" in w for w in store.take_warnings())
    segment(store, 1).unlink()
    fresh = TinyDBStore(tmp_path / "db")
    assert len(run_ids(fresh)) == 38
    assert any("runs 33-64 are lost" in w for w in fresh.take_warnings())


def test_a_run_that_is_not_an_object_is_skipped_and_named(tmp_path: Path) -> None:
    store = seventy_runs(tmp_path / "db")
    path = segment(store, 2)
    data = json.loads(path.read_text())
    data["runs"]["66"] = "garbage"
    data["runs"]["67"]["messages"] = "not a list"
    path.write_text(json.dumps(data))
    assert len(run_ids(store)) == 68
    warnings = "\n".join(store.take_warnings())
    assert "table 'runs' has an entry '66' that is not a numbered document" in warnings
    assert "run 67 is damaged (messages is not a list)" in warnings


def test_repair_sets_damaged_segments_aside_and_records_what_is_lost(tmp_path: Path) -> None:
    store = seventy_runs(tmp_path / "db")
    path = segment(store, 1)
    text = path.read_text()
    path.write_text(text[: text.index('"50": ') + 40])
    report = store.repair_session("s1", ALICE)
    assert report.repaired and report.runs_kept == 55 and report.runs_lost == tuple(range(50, 65))
    assert [p.name for p in Path(store.session_dir("s1"), "damaged").iterdir()] == ["runs-000001.json"]
    fresh = TinyDBStore(tmp_path / "db")
    assert len(run_ids(fresh)) == 55 and fresh.take_warnings() == []  # the loss is recorded: no more warnings
    assert fresh.repair_session("s1", ALICE).repaired is False  # now whole
    assert fresh.append_runs("s1", ALICE, "team-a", [make_run("new")]).run_count == 56


def test_a_damaged_last_segment_is_never_rewritten(tmp_path: Path) -> None:
    store = seventy_runs(tmp_path / "db")
    last = segment(store, 2)
    damaged = last.read_text()[:-30]
    last.write_text(damaged)
    store.append_runs("s1", ALICE, "team-a", [make_run("new")])
    assert last.read_text() == damaged  # left as it was, for a repair
    assert segment(store, 3).exists() and json.loads(segment(store, 3).read_text())["runs"].keys() == {"71"}


# ---- one damaged session never breaks the others -----------------------------------------------


def test_one_damaged_session_never_breaks_continue_list_or_another_session(tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    team = str(write_team(tmp_path))
    for session in ("good", "bad"):
        assert agno(team, f"hello {session}", "-s", session, "-u", ALICE, "--db", db).exit_code == 0
    store = TinyDBStore(db)
    session_json(store, "bad").write_text("{not json")
    assert sorted(s.session_id for s in store.list_sessions(ALICE)) == [
        "bad",
        "good",
    ]  # listed, from the index
    assert store.latest_session(ALICE) == "good"  # "bad" is newer, but cannot be continued
    assert "session 'bad' is damaged" in store.take_warnings()[0]
    cont = agno(team, "again", "--continue", "-u", ALICE, "--db", db)
    assert cont.exit_code == 0 and "session good" in cont.stderr
    assert agno(team, "and", "-s", "good", "-u", ALICE, "--db", db).exit_code == 0


def test_a_damaged_or_missing_index_is_rebuilt_from_the_sessions_and_kept(tmp_path: Path) -> None:
    store = TinyDBStore(tmp_path / "db")
    for s in ("a", "b"):
        store.append_runs(s, ALICE, "t", [make_run(1, session_id=s)])
    index = Path(store.index.path)
    store.index.close()  # as in the next process: no connection kept from before the damage
    for suffix in ("-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    index.write_bytes(b"not a database at all")
    store = TinyDBStore(tmp_path / "db")
    assert sorted(s.session_id for s in store.list_sessions(ALICE)) == ["a", "b"]
    assert Path(f"{index}.damaged").read_bytes() == b"not a database at all"
    assert any("the session index was damaged" in w for w in store.take_warnings())
    store.append_runs("c", ALICE, "t", [make_run(1, session_id="c")])
    assert [h.session_id for h in store.search_sessions(ALICE, "answer")] != []
    index.unlink()  # a store from before the index: built on first use
    assert sorted(s.session_id for s in TinyDBStore(tmp_path / "db").list_sessions(ALICE)) == ["a", "b", "c"]


# ---- leftovers and deletes ----------------------------------------------------------------------


def test_leftover_temp_files_are_removed_by_the_next_write_of_the_session(tmp_path: Path) -> None:
    store = TinyDBStore(tmp_path / "db")
    store.append_runs("s1", ALICE, "t", [make_run(1)])
    sdir = Path(store.session_dir("s1"))
    for name in (".tmp-runs-000000.json-abc.json", ".tmp-session.json-def.json"):
        (sdir / name).write_text("{half")  # what a killed writer leaves
    store.append_runs("s1", ALICE, "t", [make_run(2)])
    assert not list(sdir.glob(".tmp-*"))


def test_a_delete_killed_half_way_never_brings_the_session_back(tmp_path: Path) -> None:
    store = TinyDBStore(tmp_path / "db")
    store.append_runs("s1", ALICE, "t", [make_run(i) for i in range(3)])
    sdir = Path(store.session_dir("s1"))
    (sdir / ".deleting").write_text("")  # the delete began...
    (sdir / "session.json").unlink()  # ...and was killed before the runs were removed
    assert store.get_session("s1", ALICE) is None  # not rebuilt: it was being deleted
    store.append_runs("s1", BOB, "t", [make_run("b", user_id=BOB)])  # the id is free; the delete is finished
    assert run_ids(store, BOB) == ["rb"]
    with pytest.raises(SessionError, match="belongs to another user"):
        store.get_session("s1", ALICE)


def test_runs_that_name_different_owners_are_never_merged(tmp_path: Path) -> None:
    store = TinyDBStore(tmp_path / "db")
    store.append_runs("s1", ALICE, "t", [make_run(1)])
    store.append_runs("s1", ALICE, "t", [make_run(2)] * (SEGMENT_RUNS))
    data = json.loads(segment(store, 1).read_text())
    for doc in data["runs"].values():
        doc["user_id"] = BOB
    segment(store, 1).write_text(json.dumps(data))
    session_json(store).unlink()
    with pytest.raises(StoreError, match="its runs name different owners"):
        store.get_session("s1", ALICE)
    assert os.path.exists(segment(store, 0)) and os.path.exists(segment(store, 1))  # nothing deleted
