"""Defects a new user hits first, each found by trying the product from a fresh clone.

Every test names the promise it keeps: where sessions are stored, what an offline run requires,
what a missing key costs, and what a mistyped command or option says.
"""

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
from agno_yaml.store.tinydb import TinyDBStore

ROOT = Path(__file__).resolve().parent.parent
MULTILINGUAL = str(ROOT / "teams" / "multilingual.yaml")


def agno(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False, prog_name="agno-run")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# ---- where sessions live ------------------------------------------------------------------------


def test_a_relative_db_path_is_relative_to_the_team_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = write(tmp_path / "repo" / "teams" / "t.yaml", "model: echo\ndb: {path: data}\n")
    for where, message in (("repo", "first"), ("elsewhere", "second")):
        (tmp_path / where).mkdir(exist_ok=True)
        monkeypatch.chdir(tmp_path / where)
        result = agno(str(team), message, "-s", "s1")
        assert result.exit_code == 0, result.output
    # The second turn, run from another directory, continued the same session in the same store.
    runs = TinyDBStore(tmp_path / "repo" / "teams" / "data").runs("s1", "default")
    assert [r.input for r in runs] == ["first", "second"]
    assert not (tmp_path / "repo" / "data").exists() and not (tmp_path / "elsewhere" / "data").exists()


def test_without_db_every_directory_shares_one_store_per_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    team = write(tmp_path / "t.yaml", "model: echo\nadd_history_to_context: true\n")
    for where, message in (("a", "first"), ("b", "second")):
        (tmp_path / where).mkdir()
        monkeypatch.chdir(tmp_path / where)
        result = agno(str(team), message, "-s", "mine")
        assert result.exit_code == 0, result.output
    assert result.stdout == "second [1 earlier turn in context]\n"
    store = tmp_path / "data-home" / "agno-run"
    assert [r.input for r in TinyDBStore(store).runs("mine", "default")] == ["first", "second"]


def test_agno_run_db_replaces_the_default_store_but_not_a_files_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGNO_RUN_DB", str(tmp_path / "env-store"))
    bare = write(tmp_path / "bare.yaml", "model: echo\n")
    own = write(tmp_path / "own.yaml", "model: echo\ndb: {path: own-store}\n")
    assert agno(str(bare), "hi", "-s", "x").exit_code == 0
    assert agno(str(own), "hi", "-s", "y").exit_code == 0
    assert TinyDBStore(tmp_path / "env-store").get_session("x", "default") is not None
    assert TinyDBStore(tmp_path / "own-store").get_session("y", "default") is not None
    assert agno(str(own), "hi", "-s", "z", "--db", str(tmp_path / "flag-store")).exit_code == 0
    assert TinyDBStore(tmp_path / "flag-store").get_session("z", "default") is not None  # --db wins


def test_the_store_is_shown_by_inspect_and_on_a_sessions_first_turn(tmp_path: Path) -> None:
    team = write(tmp_path / "t.yaml", "model: echo\ndb: {path: here}\n")
    view = json.loads(agno("inspect", str(team), "--json").stdout)
    assert view["store"] == str(tmp_path / "here")
    first = agno(str(team), "hi", "-s", "s")
    assert f"saved in {tmp_path / 'here'}" in first.stderr
    assert "saved in" not in agno(str(team), "again", "-s", "s").stderr


# ---- what an offline run needs -----------------------------------------------------------------

NEEDS_VARS = """\
    model: {id: openai/gpt-5-mini, api_key: "${AGNO_TEST_UNSET_KEY}"}
    members:
      - name: Agent 1
        model: {id: openai/gpt-5-mini, api_base: "${AGNO_TEST_UNSET_BASE}"}
    instructions: "Greet ${AGNO_TEST_GREETING}"
    db: {path: store}
"""


def test_model_override_does_not_demand_the_replaced_models_variables(tmp_path: Path) -> None:
    team = write(tmp_path / "t.yaml", NEEDS_VARS)
    env = {"AGNO_TEST_GREETING": "Ada"}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        offline = agno(str(team), "hello", "--model", "echo")
        assert offline.exit_code == 0, offline.output
        assert offline.stdout == "hello\n"
        without = agno(str(team), "hello")
    assert without.exit_code == 2
    assert (
        "AGNO_TEST_UNSET_KEY is not set" in without.stderr
        and "AGNO_TEST_UNSET_BASE is not set" in without.stderr
    )
    # A variable used outside the models is still required, --model or not.
    missing_greeting = agno(str(team), "hello", "--model", "echo")
    assert missing_greeting.exit_code == 2 and "AGNO_TEST_GREETING is not set" in missing_greeting.stderr


MISSING_KEY_PROBE = """
import sys
from agno_yaml.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="agno-run")
except SystemExit as e:
    print("exit", e.code, "litellm imported:", "litellm" in sys.modules, file=sys.stderr)
"""


def test_a_missing_api_key_is_refused_at_once_and_stores_nothing(tmp_path: Path) -> None:
    team = write(tmp_path / "t.yaml", "model: anthropic/claude-sonnet-4-5\ndb: {path: store}\n")
    env = {k: v for k, v in os.environ.items() if "API_KEY" not in k}
    out = subprocess.run(
        [sys.executable, "-c", MISSING_KEY_PROBE, str(team), "hello", "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    lines = out.stderr.strip().splitlines()
    assert lines[0] == (
        "error: model anthropic/claude-sonnet-4-5: no API key: set ANTHROPIC_API_KEY in the environment "
        "(or api_key: in the model mapping), or run offline with --model echo"
    )
    assert lines[-1] == "exit 2 litellm imported: False"
    assert json.loads(out.stdout) == {
        "version": 1,
        "status": "error",
        "answer": None,
        "error": lines[0].removeprefix("error: "),
        "exit_code": 2,
    }
    assert not (tmp_path / "store").exists()  # nothing stored for a run that could never start


def test_a_local_api_base_needs_no_key(tmp_path: Path) -> None:
    team = write(
        tmp_path / "t.yaml", "model: {id: openai/local, api_base: 'http://127.0.0.1:9/v1'}\ndb: {path: s}\n"
    )
    result = agno(str(team), "hello")
    # Not refused up front: the run started (the openai client itself wants some key, and says so).
    assert result.exit_code == 1 and "any value works for a local server" in result.stderr


# ---- what a mistake says -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["validate"],
            "error: missing FILE...: name at least one team file, e.g. agno-run validate teams/*.yaml",
        ),
        (
            ["inspect"],
            'error: missing TEAM.yaml: name a team file, e.g. agno-run teams/multilingual.yaml "hello"',
        ),
        ([MULTILINGUAL, "hi", "--modle", "echo"], "error: No such option '--modle'. Did you mean '--model'?"),
        (["inspect", MULTILINGUAL, "--jsn"], "error: No such option '--jsn'. Did you mean '--json'?"),
    ],
)
def test_usage_mistakes_say_what_is_missing_or_meant(args: list[str], expected: str) -> None:
    result = agno(*args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == expected + " (see agno-run --help)\n"


@pytest.mark.parametrize(
    "args",
    [
        ["{team}", "", "--json"],  # an empty message
        ["{bad}", "hi", "--json"],  # a bad file
        ["{team}", "hi", "--json", "--stream", "--modle", "x"],  # an unknown option
        ["{team}", "hi", "-s", "theirs", "-u", "me", "--json"],  # another user's session
    ],
)
def test_json_always_gets_one_document_on_stdout(tmp_path: Path, args: list[str]) -> None:
    team = write(tmp_path / "t.yaml", "model: echo\ndb: {path: store}\n")
    bad = write(tmp_path / "bad.yaml", "model: echo\nnum_history_runs: many\n")
    assert agno(str(team), "mine", "-s", "theirs", "-u", "them").exit_code == 0
    result = agno(*(a.format(team=team, bad=bad) for a in args))
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["status"] == "error" and document["exit_code"] == 2 and document["answer"] is None
    assert document["error"] and result.stderr.count("\n") >= 1


# ---- stdout carries only the answer -------------------------------------------------------------

NOISY_TOOL = '''\
import os
import subprocess
import sys


def shout(text: str) -> str:
    """Shout the text back.

    Args:
        text: What to shout.
    """
    print("print says", text)
    os.write(1, b"fd 1 says hi\\n")
    subprocess.run([sys.executable, "-c", "print('a child says hi')"], check=True)
    return text.upper()
'''


def test_whatever_a_tool_writes_to_stdout_goes_to_stderr(tmp_path: Path) -> None:
    write(tmp_path / "noisy_tool.py", NOISY_TOOL)
    team = write(
        tmp_path / "t.yaml",
        """\
        tools: ["noisy_tool:shout"]
        model: {id: scripted, replies: [{tool_calls: [{name: shout, arguments: {text: hi}}]}, "HI"]}
        db: {path: store}
        """,
    )
    script = Path(sys.executable).with_name("agno-run")
    for extra in ([], ["--json"]):
        out = subprocess.run([str(script), str(team), "go", *extra], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        if extra:
            assert json.loads(out.stdout)["answer"] == "HI"
        else:
            assert out.stdout == "HI\n"
        for noise in ("print says hi", "fd 1 says hi", "a child says hi"):
            assert noise in out.stderr
