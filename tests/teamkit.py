"""Helpers shared by the run-loop tests: a team from YAML text, and its scripted models."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from agno_yaml.config import load_team
from agno_yaml.models.offline import ScriptedModel
from agno_yaml.runtime.compile import compile_team
from agno_yaml.runtime.team import Team


def make_team(tmp_path: Path, body: str, **kwargs: Any) -> Team:
    """Write ``body`` (dedented) as tmp_path/team.yaml and compile it with its store in tmp_path/db."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "team.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return compile_team(load_team(path), db=tmp_path / "db", **kwargs)


def scripted(team: Team, member_id: str | None = None) -> ScriptedModel:
    """The scripted model of the leader, or of one member, to read the requests it received."""
    agent = team.leader if member_id is None else team.members[member_id]
    assert isinstance(agent.model, ScriptedModel)
    return agent.model
