"""The view ``agno-run inspect`` prints: the team as it will run, nothing hidden, no secret shown.

It is built from the compiled team, so the system messages and tool schemas shown are the ones a
run sends, byte for byte.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import yaml

from .compile import compile_team, store_root
from .spec import ModelSpec, TeamSpec
from .team import Agent


def _plain(value: Any) -> Any:
    """Dataclasses to plain data; a model shows its public form, so an api_key is masked."""
    if isinstance(value, ModelSpec):
        return value.public_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _agent_view(agent: Agent) -> dict[str, Any]:
    view: dict[str, Any] = {"name": agent.name}
    if agent.member_id is not None:
        view["id"] = agent.member_id
    view["model"] = agent.model.name
    view["history"] = (
        {"runs": agent.num_history_runs, "messages": agent.num_history_messages}
        if agent.add_history_to_context
        else "off"
    )
    view["system_message"] = agent.system_message
    view["tools"] = agent.tool_schemas()
    return view


def describe_team(
    spec: TeamSpec, *, model_override: str | None = None, db_path: str | None = None
) -> dict[str, Any]:
    team = compile_team(spec, model_override=model_override, store=False)
    effective = _plain(team.spec)
    source = effective.pop("source")
    return {
        "file": source,
        "mode": team.spec.mode if team.spec.members else "single agent",
        "store": str(store_root(team.spec, db_path)),
        "configuration": effective,
        "leader": _agent_view(team.leader),
        "members": [_agent_view(agent) for agent in team.members.values()],
    }


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (system messages) as ``|`` blocks, so they read as they are sent."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_BlockDumper.add_representer(str, _str)


def render_yaml(view: Mapping[str, Any]) -> str:
    return yaml.dump(dict(view), Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)
