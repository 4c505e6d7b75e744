"""The file layer: a team file in, a validated ``TeamSpec`` out, every mistake located.

    from agno_yaml.config import load_team
    loaded = load_team("teams/multilingual.yaml")     # LoadedTeam: .spec, .doc, .notes
    loaded.spec.members[0].id                          # "agent-1"

Pipeline: ``yamlload`` (safe YAML with line marks) -> ``interpolate`` (``${VAR}``) -> ``validate``
(the JSON Schema in ``schemas/`` plus the rules it cannot express, as located ``Problem`` s) ->
``build`` (defaults and Agno's rules) -> ``spec`` (frozen dataclasses). Nothing here imports tool
code or litellm, so a file from an untrusted pull request can be checked without running it.
"""

from __future__ import annotations

from .load import LoadedTeam, check_team_file, is_unset_env_problem, load_team, load_team_text
from .schema import load_schema, schema_text
from .spec import MemberSpec, ModelSpec, StoreSpec, SummarySpec, TeamSpec

__all__ = [
    "LoadedTeam",
    "MemberSpec",
    "ModelSpec",
    "StoreSpec",
    "SummarySpec",
    "TeamSpec",
    "check_team_file",
    "is_unset_env_problem",
    "load_schema",
    "load_team",
    "load_team_text",
    "schema_text",
]
