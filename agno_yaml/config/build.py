"""Validated team data -> TeamSpec: fill in the schema's defaults and apply Agno's rules.

Only the rules Agno applies on top of plain defaults live in code: the 3-run history window,
summaries switched on by a manager, inherited models, derived ids. Which keys exist and their
defaults are read from the schema, so adding a key means editing the schema and ``spec.py`` (a
test keeps the two in step), not a list here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from copy import deepcopy
from dataclasses import replace
from pathlib import Path
from typing import Any

from .output_schema import is_file_reference
from .schema import properties
from .spec import McpServerSpec, MemberSpec, ModelSpec, StoreSpec, SummarySpec, TeamSpec, member_id_from_name


def _with_defaults(raw: Mapping[str, Any], section: str | None) -> dict[str, Any]:
    """The keys of ``raw`` known at this level, plus the schema default of every key it lacks."""
    out: dict[str, Any] = {}
    for key, prop in properties(section).items():
        if key in raw:
            out[key] = _coerce(prop, raw[key])
        elif "default" in prop:
            out[key] = _coerce(prop, deepcopy(prop["default"]))
    return out


def _coerce(prop: Mapping[str, Any], value: Any) -> Any:
    """Lists become tuples and a lone string in a string-or-list key a 1-tuple (frozen specs)."""
    kinds = prop.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "array" in kinds:
        return tuple(value) if isinstance(value, list) else (value,)
    if kinds == ["number"] and isinstance(value, int):
        return float(value)
    return value


def build_model(raw: str | Mapping[str, Any]) -> ModelSpec:
    """A ModelSpec from a model string or mapping (already validated).

    The schema's timeout / num_retries defaults are not filled in: None means "the model layer's
    default" (spec.DEFAULT_TIMEOUT_S / DEFAULT_NUM_RETRIES, which a test checks against the schema),
    so `inspect` shows only what the file set.
    """
    if isinstance(raw, str):
        return ModelSpec(id=raw)
    values = {key: _coerce(prop, raw[key]) for key, prop in properties("model").items() if key in raw}
    if "extra" in values:
        values["extra"] = dict(values["extra"])
    return ModelSpec(**values)


def build_mcp_servers(raw: Any, base_dir: str) -> tuple[McpServerSpec, ...]:
    """The ``mcp_servers`` list (already validated); commands run in the team file's directory."""
    servers = []
    for item in raw or ():
        values = _with_defaults(item, "mcpServer")
        for key in ("env", "headers"):
            values[key] = {str(k): str(v) for k, v in (values.get(key) or {}).items()}
        values["cwd"] = base_dir
        servers.append(McpServerSpec(**values))
    return tuple(servers)


def build_member(raw: Mapping[str, Any], team_model: ModelSpec, base_dir: str | None = None) -> MemberSpec:
    values = _with_defaults(raw, "member")
    values["mcp_servers"] = build_mcp_servers(values.get("mcp_servers"), os.path.abspath(base_dir or "."))
    values["model"] = build_model(raw["model"]) if "model" in raw else team_model
    values.setdefault("id", member_id_from_name(values["name"]))
    return MemberSpec(**values)


def _store(raw: Mapping[str, Any] | None, base_dir: str) -> StoreSpec:
    if not raw:
        return StoreSpec()
    if raw.get("url"):
        return StoreSpec(url=str(raw["url"]))
    path = os.path.expanduser(str(raw["path"]))
    return StoreSpec(path=os.path.normpath(os.path.join(base_dir, path)))


def _output_schema(raw: Mapping[str, Any] | None, base_dir: str) -> Mapping[str, Any] | None:
    """An inline schema as written; a relative ``{file: PATH}`` resolved against the team file's
    directory, as ``db.path`` is (whether the file exists is checked by validate and compile)."""
    if raw is None or not is_file_reference(raw) or not isinstance(raw["file"], str):
        return raw
    return {"file": os.path.normpath(os.path.join(base_dir, os.path.expanduser(raw["file"])))}


def build_team_member(raw: Mapping[str, Any], team: TeamSpec, team_model: ModelSpec) -> MemberSpec:
    """A member that is a team: it is delegated to by its id (default: the team's), with its role
    (default: the team's description)."""
    return MemberSpec(
        name=str(raw.get("name") or team.name),
        id=str(raw.get("id") or team.id),
        model=team.model if team.model is not None else team_model,
        role=raw.get("role") or team.description,
        team=team,
    )


def build_team(
    data: Mapping[str, Any],
    source: str = "<team>",
    base_dir: str | None = None,
    nested: Mapping[int, TeamSpec] | None = None,
) -> TeamSpec:
    """A TeamSpec from validated team data, resolved as Agno resolves a Team's arguments.

    ``base_dir`` is the directory a relative ``db.path`` is resolved against: the team file's own
    directory for a file, the working directory when not given. ``nested`` holds the built teams of
    the members that are teams, by member index (``load`` resolves and checks them).
    """
    values = _with_defaults(data, None)
    model = build_model(values["model"])
    values["model"] = model
    nested = nested or {}
    values["members"] = tuple(
        build_team_member(m, nested[i], model) if i in nested else build_member(m, model, base_dir)
        for i, m in enumerate(data.get("members", ()))
    )
    values["db"] = _store(values.get("db"), os.path.abspath(base_dir or os.curdir))
    values["mcp_servers"] = build_mcp_servers(values.get("mcp_servers"), os.path.abspath(base_dir or "."))
    here = os.path.abspath(base_dir or os.curdir)
    values["output_schema"] = _output_schema(values.get("output_schema"), here)
    values["members"] = tuple(
        replace(m, output_schema=_output_schema(m.output_schema, here)) if m.output_schema else m
        for m in values["members"]
    )
    values.setdefault("name", Path(source).stem or "team")
    values.setdefault("id", member_id_from_name(values["name"]))
    if "num_history_messages" in data and "num_history_runs" not in data:
        values["num_history_runs"] = None  # the 3-run default applies only when neither window is set
    manager = data.get("session_summary_manager")
    # As in Agno: giving a manager turns summaries on, and the summary goes into the context
    # unless the file says otherwise.
    enabled = bool(values["enable_session_summaries"]) or manager is not None
    values["enable_session_summaries"] = enabled
    values.setdefault("add_session_summary_to_context", enabled)
    if enabled:
        manager_values = _with_defaults(manager or {}, "session_summary_manager")
        manager_values["model"] = build_model(manager["model"]) if manager and "model" in manager else model
        values["session_summary_manager"] = SummarySpec(**manager_values)
    if "session_state" in values:
        values["session_state"] = dict(values["session_state"])
    return TeamSpec(source=source, **values)
