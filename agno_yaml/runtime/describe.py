"""The view ``agno-run inspect`` prints: the team as it will run, nothing hidden, no secret shown.

It is built from the compiled team, so the system messages and tool schemas shown are the ones a
run sends, byte for byte.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from ..config import LoadedTeam
from ..config.overrides import ModelOverride
from ..config.spec import ModelSpec, TeamSpec
from ..config.yamlload import JsonPath
from ..models.providers import safe_url
from ..store.location import store_target
from ..store.policy import redact_all
from .compile import compile_team
from .turn import Agent


def _plain(value: Any) -> Any:
    """Dataclasses to fresh plain data; a model shows its public form, so an api_key is masked.

    Every container is a new one (public_dict copies ``extra`` only one level deep), so masking
    the view never reaches into the spec the caller still holds.
    """
    if isinstance(value, ModelSpec):
        return _plain(value.public_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _view_paths(spec: TeamSpec, file_path: JsonPath, *, models_replaced: bool) -> list[JsonPath]:
    """Where a value of the file shows up in the configuration view.

    The view has the file's shape, except that the team's model is also every model that inherits
    it (members without their own, the summary manager). With ``--model`` every model is replaced,
    so nothing the file says about models is shown.
    """
    in_model = file_path[:1] == ("model",) or (
        len(file_path) >= 3
        and file_path[0] in ("members", "session_summary_manager")
        and "model" in file_path[1:3]
    )
    if in_model and models_replaced:
        return []
    if file_path[:1] != ("model",):
        return [file_path]
    rest = file_path[1:]
    paths: list[JsonPath] = [file_path]
    # Identity, not equality: build_team hands the team's ModelSpec object to every inheritor.
    paths += [("members", i, "model", *rest) for i, m in enumerate(spec.members) if m.model is spec.model]
    manager = spec.session_summary_manager
    if manager is not None and manager.model is spec.model:
        paths.append(("session_summary_manager", "model", *rest))
    return paths


def _put(view: dict[str, Any], path: JsonPath, template: str) -> None:
    """Replace the value at ``path`` with ``template``; a path the view does not have is left alone."""
    parent: Any = None
    key: Any = None
    node: Any = view
    for item in path:
        in_dict = isinstance(node, dict) and item in node
        in_list = isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node)
        if not (in_dict or in_list):
            return
        parent, key, node = node, item, node[item]
    if isinstance(node, dict) and "id" in node:
        node["id"] = template  # a model written as a string is shown as a mapping
    elif isinstance(node, list) and len(node) == 1:
        node[0] = template  # a lone string in a string-or-list key (instructions, tools)
    elif parent is not None:  # an api_key (wherever it sits) is "***", whatever it was written as
        parent[key] = "***" if key == "api_key" else template


def _models(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    found = [configuration.get("model")]
    found += [m.get("model") for m in configuration.get("members") or ()]
    found.append((configuration.get("session_summary_manager") or {}).get("model"))
    return [m for m in found if isinstance(m, dict)]


def _safe_configuration(
    spec: TeamSpec, sources: Mapping[JsonPath, str], configuration: dict[str, Any], *, models_replaced: bool
) -> None:
    """Show what the file wrote for every value built from a ``${VAR}``, and no api_base credentials.

    Values that came from the environment are often secrets (a key inside an api_base or a header),
    so the view shows the reference as written, e.g. ``Bearer ${API_TOKEN}``.
    """
    for file_path, template in sources.items():
        for view_path in _view_paths(spec, file_path, models_replaced=models_replaced):
            _put(configuration, view_path, template)
    for model in _models(configuration):
        if isinstance(model.get("api_base"), str):
            model["api_base"] = _without_userinfo(model["api_base"])


def _without_userinfo(url: str) -> str:
    try:
        return safe_url(url) or url
    except ValueError:  # urlparse refuses some malformed netlocs: show nothing of it rather than all
        return "***"


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
    if agent.output_schema is not None:
        view["output_schema"] = agent.output_schema  # as sent in response_format (a file's, read)
    return view


def describe_team(
    loaded: LoadedTeam | TeamSpec,
    *,
    model_override: str | Sequence[str] | ModelOverride | None = None,
    db: str | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """The view `agno-run inspect` prints; ``warnings`` lists what the file should improve."""
    spec = loaded.spec if isinstance(loaded, LoadedTeam) else loaded
    sources = loaded.sources if isinstance(loaded, LoadedTeam) else {}
    team = compile_team(loaded, model_override=model_override, store=False, strict=strict)
    effective = _plain(team.spec)
    source = effective.pop("source")
    replaced = ModelOverride.parse(model_override).everything is not None
    _safe_configuration(spec, sources, effective, models_replaced=replaced)
    notes = loaded.notes if isinstance(loaded, LoadedTeam) else ()
    view = {
        "file": source,
        "mode": "single agent" if team.spec.is_single_agent else team.spec.mode,
        "store": store_target(spec.db, db),
        "warnings": [str(p) for p in (*notes, *team.warnings)],
        "configuration": effective,
        "leader": _agent_view(team.leader),
        "members": [_agent_view(agent) for agent in team.members.values()],
    }
    # Last, whatever the view holds: no value a ${VAR} or a provider key put anywhere is shown.
    masked: dict[str, Any] = redact_all(view, team.secrets)
    return masked


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (system messages) as ``|`` blocks, so they read as they are sent."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_BlockDumper.add_representer(str, _str)


def render_yaml(view: Mapping[str, Any]) -> str:
    return yaml.dump(dict(view), Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)
