"""Every example team file is valid, self-describing, and says what the docs example says."""

from __future__ import annotations

from pathlib import Path

import pytest

from agno_yaml import config
from agno_yaml.config.spec import TeamSpec

TEAMS = Path(__file__).resolve().parent.parent / "teams"
FILES = sorted(TEAMS.glob("*.yaml"))
DOCS_EXAMPLES = {
    "multilingual.yaml",
    "session-summary.yaml",
    "custom-summary.yaml",
    "session-history.yaml",
    "search-history.yaml",
    "store-flags.yaml",
    "coordinate.yaml",
    "broadcast.yaml",
    "tools-team.yaml",
}


def test_every_documented_example_exists() -> None:
    assert {p.name for p in FILES} >= DOCS_EXAMPLES


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_example_is_valid(path: Path) -> None:
    assert config.check_team_file(path, env={}) == []
    team = config.load_team(path, env={}).spec
    assert team.source == str(path)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_example_points_editors_at_schema_and_explains_itself(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# yaml-language-server: $schema=../schemas/team.schema.json"
    comments = "\n".join(line for line in lines if line.startswith("#"))
    assert f"agno-run teams/{path.name}" in comments


def load(name: str) -> TeamSpec:
    return config.load_team(TEAMS / name, env={}).spec


def test_multilingual_is_a_route_team_of_three() -> None:
    team = load("multilingual.yaml")
    assert team.mode == "route" and team.model.id == "openai/gpt-5-mini"
    assert [(m.name, m.id, m.role) for m in team.members] == [
        ("Agent 1", "agent-1", "You answer questions in English"),
        ("Agent 2", "agent-2", "You answer questions in Chinese"),
        ("Agent 3", "agent-3", "You answer questions in French"),
    ]
    assert team.db.path == str(TEAMS / "tmp" / "agno")  # relative to the file, not the working directory


def test_session_summary_uses_gemini_and_default_summary() -> None:
    team = load("session-summary.yaml")
    assert team.model.id == "gemini/gemini-2.0-flash-001"
    assert team.enable_session_summaries and team.add_session_summary_to_context
    assert team.session_summary_manager is not None and team.session_summary_manager.model == team.model
    assert [m.role for m in team.members] == [
        "You answer questions in English",
        "You answer questions in Chinese",
    ]


def test_custom_summary_has_its_own_model_and_prompt() -> None:
    team = load("custom-summary.yaml")
    assert team.is_single_agent
    manager = team.session_summary_manager
    assert manager is not None and manager.model.id == "openai/gpt-5-mini"
    assert manager.session_summary_prompt == "Create a very succinct summary of the following conversation:"


def test_session_history_is_a_single_agent_with_history() -> None:
    team = load("session-history.yaml")
    assert team.is_single_agent and team.model.id == "gemini/gemini-2.0-flash-exp"
    assert (team.add_history_to_context, team.num_history_runs, team.read_chat_history) == (True, 3, True)
    assert (
        team.description
        == "You are a helpful assistant that always responds in a polite, upbeat and positive manner."
    )


def test_search_history_looks_at_two_sessions_of_user_1() -> None:
    team = load("search-history.yaml")
    assert (team.search_session_history, team.num_history_sessions, team.user_id) == (True, 2, "user_1")


def test_store_flags_are_all_written_out() -> None:
    text = (TEAMS / "store-flags.yaml").read_text(encoding="utf-8")
    for key in ("store_media:", "store_tool_results:", "store_history_messages:"):
        assert f"\n{key}" in text
    team = load("store-flags.yaml")
    assert (team.store_media, team.store_tool_results, team.store_history_messages) == (False, False, False)


def test_modes_of_the_other_examples() -> None:
    assert load("coordinate.yaml").mode == "coordinate"
    assert load("coordinate.yaml").expected_output
    assert load("broadcast.yaml").mode == "broadcast"
    tools_team = load("tools-team.yaml")
    assert tools_team.members[0].tools == ("example_tools:get_exchange_rate",)
