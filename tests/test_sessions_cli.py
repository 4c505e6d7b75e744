"""`agno-run sessions ...` and the session API on a store built by real runs with the offline model:
two users and two teams in one store. No command ever lists, shows, searches, exports, imports into
or deletes another user's session; every field of the output is checked.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from agno_yaml.cli import cli
from agno_yaml.store.tinydb import TinyDBStore

ROOT = Path(__file__).resolve().parent.parent
MULTI = str(ROOT / "teams" / "multilingual.yaml")
COORD = str(ROOT / "teams" / "coordinate.yaml")


def agno(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False, prog_name="agno-run")


@pytest.fixture
def db(tmp_path: Path) -> str:
    store = str(tmp_path / "store")
    turns = [
        (MULTI, "ann", "s1", "comment ça va?"),
        (MULTI, "ann", "s1", "Raconte-moi une blague sur les chats."),
        (COORD, "ann", "s2", "Plan a weekend in Paris"),
        (MULTI, "bob", "b1", "bob's secret plan about chats"),
    ]
    for team, user, session, message in turns:
        result = agno(team, message, "-u", user, "-s", session, "--model", "echo", "--db", store, "-q")
        assert result.exit_code == 0, result.output
    return store


def sessions(*args: str, input: str | None = None) -> Result:
    return agno("sessions", *args, input=input)


def test_list_shows_every_field_of_the_users_sessions_only(db: str) -> None:
    result = sessions("list", "--db", db, "-u", "ann", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [s["session_id"] for s in listed] == ["s2", "s1"]  # newest first
    s2, s1 = listed
    assert (s1["user_id"], s1["team_id"], s1["turns"], s1["runs"]) == ("ann", "multilingual-team", 2, 4)
    assert s1["first_message"] == "comment ça va?" and s1["summary"] is None and s1["session_state"] == {}
    assert (s2["team_id"], s2["turns"], s2["first_message"]) == (
        "research-team",
        1,
        "Plan a weekend in Paris",
    )
    assert s1["created_at"] <= s1["updated_at"] <= s2["updated_at"]
    only_multi = json.loads(sessions("list", "--team", MULTI, "--db", db, "-u", "ann", "--json").stdout)
    assert [s["session_id"] for s in only_multi] == ["s1"]
    piped = sessions("list", "--db", db, "-u", "ann").stdout.splitlines()  # not a terminal: tab-separated
    assert [line.split("\t")[0] for line in piped] == ["s2", "s1"] and all(
        len(line.split("\t")) == 7 for line in piped
    )
    assert "b1" not in result.stdout and "bob" not in result.stdout and "secret" not in result.stdout


def test_show_is_the_transcript_and_never_another_users(db: str) -> None:
    text = sessions("show", "s1", "--db", db, "-u", "ann").stdout
    assert text.splitlines()[0] == "session s1 · user ann · team multilingual-team · 2 turns"
    assert "user: comment ça va?" in text and "  → agent-1 was asked: comment ça va?" in text
    assert (
        'answer (by agent-1): Raconte-moi une blague sur les chats. (earlier in this session: "comment ça va?")'
        in text
    )
    markdown = sessions("show", "s1", "--db", db, "-u", "ann", "--markdown").stdout
    assert (
        markdown.startswith("# session s1")
        and "## turn 2" in markdown
        and "**user**: comment ça va?" in markdown
    )
    document = json.loads(sessions("show", "s1", "--db", db, "-u", "ann", "--json").stdout)
    assert document["session"]["user_id"] == "ann" and len(document["runs"]) == 4
    refused = sessions("show", "b1", "--db", db, "-u", "ann")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert refused.stderr == (
        "error: session 'b1' belongs to another user; choose another --session id or omit it to start a new one\n"
    )


def test_history_and_summary(db: str) -> None:
    history = json.loads(sessions("history", "s1", "--db", db, "-u", "ann", "--json").stdout)
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]
    assert history[0] == {"role": "user", "content": "comment ça va?"}
    result = sessions("summary", "s1", "--db", db, "-u", "ann")
    assert result.exit_code == 0 and "has no summary yet" in result.stderr


def test_search_ranks_marks_and_stays_in_the_users_sessions(db: str) -> None:
    hits = json.loads(sessions("search", "chats", "--db", db, "-u", "ann", "--json").stdout)
    assert {(h["session_id"], h["turn"], h["role"]) for h in hits} == {
        ("s1", 2, "user"),
        ("s1", 2, "assistant"),
    }
    assert all("[chats]" in h["snippet"] for h in hits)
    assert hits == sorted(hits, key=lambda h: h["score"])  # best first
    lines = sessions("search", "CHATS", "--db", db, "-u", "ann").stdout.splitlines()
    assert lines[0].split("\t")[:2] == ["s1", "turn 2"] and "[chats]" in lines[0]
    assert sessions("search", "secret", "--db", db, "-u", "ann").stdout == ""  # bob's words are not ann's
    assert (
        json.loads(sessions("search", "secret", "--db", db, "-u", "bob", "--json").stdout)[0]["session_id"]
        == "b1"
    )


def test_export_import_round_trip_and_no_overwrite(db: str, tmp_path: Path) -> None:
    out = tmp_path / "s1.json"
    assert sessions("export", "s1", "--db", db, "-u", "ann", "-o", str(out)).exit_code == 0
    other = str(tmp_path / "other")
    result = sessions("import", str(out), "--db", other, "-u", "ann")
    assert result.exit_code == 0 and result.stdout.startswith("imported session s1 (2 turns) into ")
    again = json.loads(sessions("export", "s1", "--db", other, "-u", "ann").stdout)
    first = json.loads(out.read_text())
    assert {**again, "exported_at": 0} == {**first, "exported_at": 0}
    # Into the first store, where bob owns b1: never overwritten, whatever the file says.
    doc = json.loads(out.read_text())
    doc["session"]["session_id"] = "b1"
    (tmp_path / "as-b1.json").write_text(json.dumps(doc))
    refused = sessions("import", str(tmp_path / "as-b1.json"), "--db", db, "-u", "ann")
    assert refused.exit_code == 2 and "exists already" in refused.stderr
    stolen = sessions("import", str(out), "--db", other, "-u", "bob", "--as", "mine")
    assert stolen.exit_code == 2 and "a session of another user" in stolen.stderr
    assert TinyDBStore(db).get_session("b1", "bob").first_message == "bob's secret plan about chats"  # type: ignore[union-attr]


def test_delete_asks_and_never_touches_another_users(db: str) -> None:
    no_terminal = sessions("delete", "s2", "--db", db, "-u", "ann")
    assert no_terminal.exit_code == 2 and "add --yes" in no_terminal.stderr
    refused = sessions("delete", "b1", "--db", db, "-u", "ann", "--yes")
    assert refused.exit_code == 2 and "belongs to another user" in refused.stderr
    assert sessions("delete", "s2", "--db", db, "-u", "ann", "--yes").stdout == "deleted session s2\n"
    assert [s.session_id for s in TinyDBStore(db).list_sessions("ann")] == ["s1"]
    assert [s.session_id for s in TinyDBStore(db).list_sessions("bob")] == ["b1"]


def test_prune_deletes_only_the_users_old_sessions(db: str) -> None:
    assert sessions("prune", "--older-than", "1d", "--db", db, "-u", "ann", "--yes").stdout.startswith(
        "no session"
    )
    assert (
        sessions("prune", "--older-than", "0s", "--db", db, "-u", "ann", "--yes").stdout
        == "deleted 2 sessions\n"
    )
    assert TinyDBStore(db).list_sessions("ann") == [] and len(TinyDBStore(db).list_sessions("bob")) == 1
    bad = sessions("prune", "--older-than", "a while", "--db", db, "-u", "ann")
    assert bad.exit_code == 2 and "write e.g. 30d" in bad.stderr


def test_relative_session_references_for_runs_and_commands(db: str) -> None:
    last = json.loads(sessions("show", "last", "--db", db, "-u", "ann", "--json").stdout)
    assert last["session"]["session_id"] == "s2"
    assert (
        json.loads(sessions("show", "-2", "--db", db, "-u", "ann", "--json").stdout)["session"]["session_id"]
        == "s1"
    )
    run = agno(MULTI, "encore", "-u", "ann", "-s", "-1", "--model", "echo", "--db", db, "--json")
    assert json.loads(run.stdout)["session_id"] == "s1"  # -1 counts back among this team's sessions
    too_far = agno(MULTI, "x", "-u", "ann", "-s", "-5", "--model", "echo", "--db", db)
    assert too_far.exit_code == 2 and "you have only 1 with this team" in too_far.stderr


def test_rename(db: str) -> None:
    assert sessions("rename", "s2", "trip", "--db", db, "-u", "ann").exit_code == 0
    assert {s.session_id for s in TinyDBStore(db).list_sessions("ann")} == {"s1", "trip"}
    assert json.loads(sessions("history", "trip", "--db", db, "-u", "ann", "--json").stdout)[0][
        "content"
    ] == ("Plan a weekend in Paris")


def test_commands_use_the_team_files_store_and_user(tmp_path: Path) -> None:
    team = tmp_path / "t.yaml"
    team.write_text("model: echo\nuser_id: zoe\ndb: {path: here}\n")
    assert agno(str(team), "hello there", "-s", "z1").exit_code == 0
    listed = json.loads(sessions("list", "--team", str(team), "--json").stdout)
    assert [(s["session_id"], s["user_id"]) for s in listed] == [("z1", "zoe")]


def test_sessions_commands_never_import_litellm(db: str, tmp_path: Path) -> None:
    probe = (
        "import sys\nfrom click.testing import CliRunner\nfrom agno_yaml.cli import cli\n"
        f"for args in (['list'], ['show', 's1'], ['search', 'chats'], ['history', 's1'], ['export', 's1']):\n"
        f"    r = CliRunner().invoke(cli, ['sessions', *args, '--db', {db!r}, '-u', 'ann'])\n"
        "    assert r.exit_code == 0, (args, r.output)\n"
        "print('litellm' in sys.modules)\n"
    )
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.strip() == "False", out.stderr


def test_shell_completion_offers_the_users_session_ids(db: str) -> None:
    env = {
        "_AGNO_RUN_COMPLETE": "bash_complete",
        "COMP_WORDS": f"agno-run {MULTI} --db {db} -u ann -s ",
        "COMP_CWORD": "7",
    }
    result = CliRunner().invoke(cli, [], env=env, prog_name="agno-run")
    assert "plain,s1" in result.stdout and "b1" not in result.stdout


def test_init_writes_a_starter_that_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert agno("init").exit_code == 0
    first = Path("team.yaml").read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=") and os.path.exists(first.split("=", 1)[1])
    assert agno("validate", "team.yaml").exit_code == 0
    assert agno("team.yaml", "Hello", "--model", "echo", "--db", "memory:").stdout.startswith("Hello")
    again = agno("init")
    assert again.exit_code == 2 and "exists already" in again.stderr
