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
from pathlib import Path
from typing import Any

from .schema import properties
from .spec import MemberSpec, ModelSpec, StoreSpec, SummarySpec, TeamSpec, member_id_from_name


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


def build_member(raw: Mapping[str, Any], team_model: ModelSpec) -> MemberSpec:
    values = _with_defaults(raw, "member")
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


def build_team(data: Mapping[str, Any], source: str = "<team>", base_dir: str | None = None) -> TeamSpec:
    """A TeamSpec from validated team data, resolved as Agno resolves a Team's arguments.

    ``base_dir`` is the directory a relative ``db.path`` is resolved against: the team file's own
    directory for a file, the working directory when not given.
    """
    values = _with_defaults(data, None)
    model = build_model(values["model"])
    values["model"] = model
    values["members"] = tuple(build_member(m, model) for m in data.get("members", ()))
    values["db"] = _store(values.get("db"), os.path.abspath(base_dir or os.curdir))
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
