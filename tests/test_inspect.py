"""`agno-run inspect` never shows a secret: values built from ${VAR} appear as written in the file."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from agno_yaml.cli import cli
from agno_yaml.config import load_team
from agno_yaml.runtime.describe import describe_team

SECRET = "sk-SUPERSECRET123"

TEAM = """\
    name: Secret Team
    model:
      id: openai/x
      api_base: "http://user:${MY_SECRET_KEY}@host/v1"
      api_key: ${MY_SECRET_KEY}
      extra: {extra_headers: {Authorization: "Bearer ${MY_SECRET_KEY}"}}
    instructions: "Greet ${GREETING_NAME} politely"
    enable_session_summaries: true
    members:
      - name: Agent 1
        role: You answer in English
      - name: Agent 2
        role: You answer in French
        model:
          id: ${MEMBER_MODEL}
          api_base: http://bob:hunter2-literal@other/v1
"""


@pytest.fixture()
def team_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MY_SECRET_KEY", SECRET)
    monkeypatch.setenv("GREETING_NAME", "Ada")
    monkeypatch.setenv("MEMBER_MODEL", "openai/y")
    path = tmp_path / "team.yaml"
    path.write_text(textwrap.dedent(TEAM), encoding="utf-8")
    return path


def inspect(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["inspect", *args], catch_exceptions=False, prog_name="agno-run")
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("as_json", [False, True])
def test_no_secret_anywhere_in_inspect_output(team_file: Path, as_json: bool) -> None:
    result = inspect(str(team_file), *(["--json"] if as_json else []))
    assert SECRET not in result.output
    assert "SUPERSECRET" not in result.output
    assert "hunter2" not in result.output  # a literal password in an api_base is not shown either


def test_configuration_shows_references_as_written(team_file: Path) -> None:
    view = json.loads(inspect(str(team_file), "--json").stdout)
    config = view["configuration"]
    team_model = {
        "id": "openai/x",
        "api_base": "http://host/v1",  # the user:password@ part is dropped, template or not
        "api_key": "***",
        "extra": {"extra_headers": {"Authorization": "Bearer ${MY_SECRET_KEY}"}},
    }
    assert config["model"] == team_model
    assert config["instructions"] == ["Greet ${GREETING_NAME} politely"]
    # The member without a model inherits the team's, references and all; the other keeps its own.
    assert config["members"][0]["model"] == team_model
    assert config["members"][1]["model"] == {"id": "${MEMBER_MODEL}", "api_base": "http://other/v1"}
    assert config["session_summary_manager"]["model"] == team_model
    # System messages are what the model receives: the instruction is resolved there.
    assert "Greet Ada politely" in view["leader"]["system_message"]
    assert [m["model"] for m in view["members"]] == ["openai/x", "openai/y"]


def test_model_override_shows_no_reference_of_the_replaced_models(team_file: Path) -> None:
    view = json.loads(inspect(str(team_file), "--json", "--model", "echo").stdout)
    config = view["configuration"]
    assert config["model"] == {"id": "echo"}
    assert [m["model"] for m in config["members"]] == [{"id": "echo"}, {"id": "echo"}]
    assert config["instructions"] == ["Greet ${GREETING_NAME} politely"]
    assert SECRET not in json.dumps(view)


def test_describing_leaves_the_spec_untouched(team_file: Path) -> None:
    loaded = load_team(team_file)
    spec = loaded.spec
    describe_team(loaded)
    assert spec.model.extra["extra_headers"]["Authorization"] == f"Bearer {SECRET}"
    assert spec.model.api_base == f"http://user:{SECRET}@host/v1"


def test_references_are_kept_as_written_by_file_path(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "model: ${UNSET_MODEL_VAR:-echo}\n"
        "members:\n"
        "  - {name: A, role: 'costs $$5', instructions: [plain, 'hi ${NOT_SET_ANYWHERE}']}\n"
    )
    assert load_team(path, env={"NOT_SET_ANYWHERE": "there"}).sources == {
        ("model",): "${UNSET_MODEL_VAR:-echo}",
        ("members", 0, "instructions", 1): "hi ${NOT_SET_ANYWHERE}",
    }
