"""The CLI as a user sees it: stdout, stderr, exit codes and what ends up in the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from agno_yaml.cli import cli
from agno_yaml.store.tinydb import TinyDBStore as SessionStore

ROOT = Path(__file__).resolve().parent.parent
MULTILINGUAL = str(ROOT / "teams" / "multilingual.yaml")
MCP_TEAM = str(ROOT / "teams" / "mcp-tools.yaml")


def agno(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False, prog_name="agno-run")


@pytest.fixture()
def db(tmp_path: Path) -> str:
    return str(tmp_path / "store")


def test_help_shows_both_forms_and_the_commands() -> None:
    result = agno("--help")
    assert result.exit_code == 0
    assert "TEAM.yaml [MESSAGE] [OPTIONS]" in result.stdout
    for command in ("validate", "schema", "inspect"):
        assert command in result.stdout


def test_two_turns_of_one_session_offline(db: str) -> None:
    common = ["--user", "user_101", "--session", "session_101", "--model", "echo", "--db", db]
    first = agno(MULTILINGUAL, "comment ça va?", *common)
    assert first.exit_code == 0, first.output
    assert first.stdout == "comment ça va?\n"
    assert "session session_101" in first.stderr and "answered by agent-1" in first.stderr

    second = agno(MULTILINGUAL, "Raconte-moi une blague.", *common)
    assert second.exit_code == 0
    assert second.stdout == 'Raconte-moi une blague. (earlier in this session: "comment ça va?")\n'
    runs = SessionStore(db).runs("session_101", "user_101")
    assert [r.input for r in runs if r.parent_run_id is None] == ["comment ça va?", "Raconte-moi une blague."]


def test_message_from_stdin_and_json_envelope(db: str) -> None:
    result = agno(MULTILINGUAL, "--json", "--model", "echo", "--db", db, "-u", "ann", input="hello there\n")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["answer"] == "hello there"
    assert data["status"] == "completed" and data["error"] is None
    assert data["user_id"] == "ann" and data["member"] == "agent-1" and data["new_session"] is True
    assert set(data) == {
        "version", "status", "answer", "error", "team_id", "session_id", "new_session",
        "user_id", "run_id", "member", "usage", "duration_s", "summary", "summary_error", "saved",
        "save_error", "warnings", "session_state", "route", "truncated", "output",
    }  # fmt: skip
    assert set(data["usage"]) == {"input_tokens", "output_tokens", "total_tokens", "cost", "estimated"}
    assert data["usage"]["estimated"] is True and data["route"] == "member" and data["truncated"] is False
    assert f"--session {data['session_id']}" in result.stderr  # how to continue


def test_continue_takes_the_latest_session_of_the_user(db: str) -> None:
    first = json.loads(agno(MULTILINGUAL, "one", "--json", "--model", "echo", "--db", db, "-u", "u").stdout)
    again = json.loads(
        agno(MULTILINGUAL, "two", "-c", "--json", "--model", "echo", "--db", db, "-u", "u").stdout
    )
    assert again["session_id"] == first["session_id"] and again["new_session"] is False
    other = json.loads(
        agno(MULTILINGUAL, "x", "-c", "--json", "--model", "echo", "--db", db, "-u", "v").stdout
    )
    assert other["session_id"] != first["session_id"]


def test_session_and_continue_together_is_a_usage_error(db: str) -> None:
    result = agno(MULTILINGUAL, "hi", "-s", "a", "-c", "--model", "echo", "--db", db)
    assert result.exit_code == 2
    assert result.stderr == "error: --session and --continue both choose a session; give only one of them\n"


def test_another_users_session_is_refused_without_writing(db: str) -> None:
    assert agno(MULTILINGUAL, "mine", "-u", "alice", "-s", "s1", "--model", "echo", "--db", db).exit_code == 0
    result = agno(MULTILINGUAL, "let me in", "-u", "bob", "-s", "s1", "--model", "echo", "--db", db)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert "mine" not in result.stderr
    assert [r.input for r in SessionStore(db).runs("s1", "alice")] == ["mine", "mine"]  # leader + member


def test_a_failed_run_exits_1_and_is_stored(tmp_path: Path, db: str) -> None:
    team = tmp_path / "t.yaml"
    team.write_text("model: {id: scripted, replies: []}\n")
    result = agno(str(team), "are you there?", "-s", "s", "--db", db)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "error: the run failed: the scripted model has no reply left" in result.stderr
    (run,) = SessionStore(db).runs("s", "default")
    assert (run.input, run.status) == ("are you there?", "error")


def test_bad_team_file_gives_located_lines_and_exit_2(tmp_path: Path) -> None:
    team = tmp_path / "bad.yaml"
    team.write_text("name: x\nnum_history_runs: many\nmembres: []\n")
    result = agno(str(team), "hi", "--model", "echo")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{team}:2:19: $.num_history_runs: ")
    assert lines[1].startswith(f"{team}:3:1: $") and "members" in lines[1]
    assert "Traceback" not in result.output


def test_missing_team_file_is_one_line(tmp_path: Path) -> None:
    result = agno(str(tmp_path / "nope.yaml"), "hi")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "nope.yaml" in result.stderr


def test_validate_and_schema(tmp_path: Path) -> None:
    ok = agno("validate", MULTILINGUAL)
    assert ok.exit_code == 0 and ok.stdout == f"{MULTILINGUAL}: ok\n"
    bad = tmp_path / "bad.yaml"
    bad.write_text("search_past_sessions: true\n")
    result = agno("validate", MULTILINGUAL, str(bad), "--json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert [f["ok"] for f in report["files"]] == [True, False]
    assert (
        "search_session_history"
        in report["files"][1]["problems"][0]["message"] + report["files"][1]["problems"][0]["fix"]
    )
    schema = json.loads(agno("schema").stdout)
    assert schema == json.loads((ROOT / "schemas" / "team.schema.json").read_text())


def test_inspect_shows_what_a_run_sends(tmp_path: Path) -> None:
    result = agno("inspect", MULTILINGUAL, "--json")
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    assert view["mode"] == "route"
    assert [m["id"] for m in view["members"]] == ["agent-1", "agent-2", "agent-3"]
    assert view["configuration"]["num_history_runs"] == 3
    assert '<member id="agent-3" name="Agent 3">' in view["leader"]["system_message"]
    assert view["leader"]["tools"][0]["function"]["name"] == "delegate_task_to_member"
    assert view["members"][2]["system_message"] == "<your_role>\nYou answer questions in French\n</your_role>"
    text = agno("inspect", MULTILINGUAL).stdout
    assert "system_message: |" in text


def test_inspect_never_shows_an_api_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SECRET_KEY", "sk-very-secret")
    team = tmp_path / "t.yaml"
    team.write_text("model: {id: openai/gpt-5-mini, api_key: '${MY_SECRET_KEY}'}\n")
    result = agno("inspect", str(team), "--json")
    assert result.exit_code == 0
    assert "sk-very-secret" not in result.output
    assert json.loads(result.stdout)["configuration"]["model"]["api_key"] == "***"


# -- as a real process --------------------------------------------------------------------------


def console_script() -> str:
    script = Path(sys.executable).with_name("agno-run")
    assert script.exists(), "the package must be installed (pip install -e .) for its console script"
    return str(script)


@pytest.mark.slow
def test_console_script_persists_across_processes(tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    base = [
        console_script(),
        MULTILINGUAL,
        "--model",
        "echo",
        "--db",
        str(tmp_path / "db"),
        "-u",
        "u",
        "-s",
        "s",
    ]
    one = subprocess.run([*base, "first"], capture_output=True, text=True, env=env, cwd=tmp_path)
    two = subprocess.run([*base, "second"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    assert two.stdout == 'second (earlier in this session: "first")\n'


@pytest.mark.slow
def test_fast_commands_import_neither_litellm_nor_asyncio_nor_the_store(tmp_path: Path) -> None:
    probe = textwrap.dedent(
        f"""
        import sys
        from click.testing import CliRunner
        from agno_yaml.cli import cli
        for args in (["--help"], ["validate", {MULTILINGUAL!r}], ["schema"], ["inspect", {MULTILINGUAL!r}],
                     ["validate", {MCP_TEAM!r}]):
            result = CliRunner().invoke(cli, args)
            assert result.exit_code == 0, (args, result.output)
            heavy = [m for m in ("litellm", "asyncio", "filelock", "tinydb", "mcp") if m in sys.modules]
            assert heavy == [], (args, heavy)
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_validate_notes_unset_variables_unless_strict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI_ONLY_KEY", raising=False)
    team = tmp_path / "t.yaml"
    team.write_text("model:\n  id: openai/gpt-5-mini\n  api_key: ${CI_ONLY_KEY}\n")
    lenient = agno("validate", str(team))
    assert lenient.exit_code == 0
    assert lenient.stdout == f"{team}: ok\n"
    assert lenient.stderr == (
        f"{team}:3:12: note: environment variable CI_ONLY_KEY is not set; it must be set to run the team\n"
    )
    strict = agno("validate", "--strict-env", str(team))
    assert strict.exit_code == 2
    assert strict.stderr.startswith(
        f"{team}:3:12: $.model.api_key: environment variable CI_ONLY_KEY is not set"
    )


def test_the_files_session_state_starts_every_new_session(db: str, tmp_path: Path) -> None:
    team = tmp_path / "state.yaml"
    team.write_text("model: echo\nsession_state: {cart: []}\n")
    result = agno(str(team), "hi", "--model", "echo", "--db", db, "-s", "s", "--json")
    assert result.exit_code == 0 and "note:" not in result.stderr
    assert json.loads(result.stdout)["session_state"] == {"cart": []}
    assert SessionStore(db).get_session("s", "default").session_state == {"cart": []}  # type: ignore[union-attr]


def test_an_answer_that_cannot_be_saved_is_still_printed(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from agno_yaml.errors import StoreError

    def full_disk(*args: object, **kwargs: object) -> None:
        raise StoreError("cannot write session file: No space left on device")

    monkeypatch.setattr(SessionStore, "append_runs", full_disk)
    result = agno(MULTILINGUAL, "still answer me", "--model", "echo", "--db", db, "-s", "s")
    assert result.exit_code == 1
    assert result.stdout == "still answer me\n"
    assert "error: the answer could not be saved to session s: cannot write session file" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["", "--model", "echo"], "error: the message is empty; write something to say, or pipe it in\n"),
        (
            ["hi", "-u", " ", "--model", "echo"],
            "error: --user is empty; give a user id, or leave the option out to use the file's user_id\n",
        ),
        (
            ["hi", "--model", ""],
            "error: --model is empty; give a model such as echo or openai/gpt-5-mini, or leave it out\n",
        ),
        (
            ["hello", "world", "--model", "echo"],
            "error: Got unexpected extra argument (world); put the message in quotes (see agno-run --help)\n",
        ),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(db: str, args: list[str], message: str) -> None:
    result = agno(MULTILINGUAL, *args, "--db", db)
    assert result.exit_code == 2
    assert (result.stdout, result.stderr) == ("", message)


def test_a_store_path_that_is_a_file_is_refused_before_any_model_call(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "afile"
    not_a_dir.write_text("")
    result = agno(MULTILINGUAL, "hi", "--model", "echo", "--db", str(not_a_dir))
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"error: the session store {not_a_dir} is a file, not a directory; give --db a directory\n"
    )


def test_continue_hint_is_quoted_for_the_shell(db: str) -> None:
    result = agno(MULTILINGUAL, "hi", "-u", "Alice Smith", "-s", "s 1", "--model", "echo", "--db", db)
    assert "continue with: agno-run " in result.stderr
    assert "--user 'Alice Smith' --session 's 1'" in result.stderr
    assert f'continue with: agno-run {MULTILINGUAL} "..." --user' in result.stderr


def test_run_help_shows_the_form_people_type() -> None:
    result = agno(MULTILINGUAL, "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: agno-run TEAM.yaml [MESSAGE] [OPTIONS]")


def test_a_failed_summary_is_a_warning_not_a_failure(tmp_path: Path, db: str) -> None:
    team = tmp_path / "t.yaml"
    team.write_text("model: echo\nsession_summary_manager: {model: {id: scripted, replies: []}}\n")
    result = agno(str(team), "remember me", "--db", db, "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["status"] == "completed" and data["answer"] == "remember me"
    assert data["summary"] is None and "no reply left" in data["summary_error"]
    assert "warning: the session summary was not updated: " in result.stderr
