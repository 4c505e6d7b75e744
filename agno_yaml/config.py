"""Team file -> TeamSpec: read (safe YAML), interpolate ``${VAR}``, validate, fill defaults.

``schemas/team.schema.json`` is the one place that says which keys exist and what their defaults
are; this module reads both from it, so adding a key means editing the schema and ``spec.py`` (a test
keeps the two in step), not a list here. Only the rules Agno applies on top of plain defaults live in
code: the 3-run history window, summaries switched on by a manager, inherited models, derived ids.

Importing this module costs PyYAML only; jsonschema is imported on the first validation and
litellm never.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from copy import deepcopy
from functools import lru_cache
from pathlib import Path
from typing import Any

from yaml.nodes import ScalarNode

from .errors import ConfigError, Problem
from .interpolate import has_reference, interpolate
from .spec import MemberSpec, ModelSpec, StoreSpec, SummarySpec, TeamSpec, member_id_from_name
from .validate import check
from .yamlload import JsonPath, construct_scalar, load_yaml

SCHEMA_NAME = "team.schema.json"
_STR_TAG = "tag:yaml.org,2002:str"
_HERE = Path(__file__).resolve().parent
# The wheel carries a copy inside the package; an editable or source checkout has only the top one.
_SCHEMA_CANDIDATES = (_HERE / "schemas" / SCHEMA_NAME, _HERE.parent / "schemas" / SCHEMA_NAME)


def schema_path() -> Path:
    """Where the team schema was found (the packaged copy first)."""
    for candidate in _SCHEMA_CANDIDATES:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{SCHEMA_NAME} is missing from the installation (looked in {', '.join(map(str, _SCHEMA_CANDIDATES))})"
    )


@lru_cache(maxsize=1)
def schema_text() -> str:
    """The team schema as JSON text (what `agno-run schema` prints)."""
    return schema_path().read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The team schema, parsed once. Treat it as read-only: it is shared."""
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


def _analyse(path: str | os.PathLike[str], env: Mapping[str, str] | None) -> tuple[Any, list[Problem]]:
    try:
        doc = load_yaml(path)
    except ConfigError as err:
        return None, err.problems
    interp = interpolate(doc, env)
    return interp.data, check(doc, interp, load_schema())


def check_team_file(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> list[Problem]:
    """Every problem in the team file at ``path``, in file order; [] when it is valid.

    Never raises for anything about the file (missing, unreadable, malformed): each is a Problem.
    ``env`` replaces ``os.environ`` for ``${VAR}`` references.
    """
    return _analyse(path, env)[1]


_UNSET_ENV = re.compile(r"environment variable \w+ is not set")


def is_unset_env_problem(problem: Problem) -> bool:
    """The problem is only that a ``${VAR}`` is unset here: a fact about this machine, not the file.

    `agno-run validate` reports these as notes, so CI can check a file without holding its secrets.
    """
    return _UNSET_ENV.match(problem.message) is not None


def load_team(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> TeamSpec:
    """The TeamSpec of the team file at ``path``, every default filled in.

    Raises ConfigError listing every problem when anything in the file is wrong.
    """
    data, problems = _analyse(path, env)
    if problems:
        raise ConfigError(problems)
    return build_team(data, source=os.fspath(path))


def reference_templates(path: str | os.PathLike[str]) -> dict[JsonPath, str]:
    """Every string value in the file at ``path`` that uses a ``${VAR}`` reference, as written, by path.

    Paths are those of the file (``("members", 0, "model", "api_base")``), not of the TeamSpec.
    `inspect` shows these templates instead of what the environment put into them, since such values
    are often secrets. The environment is not read, so the answer is the same on every machine, set
    or unset. Raises ConfigError when the file cannot be read or parsed.
    """
    doc = load_yaml(path)
    found: dict[JsonPath, str] = {}

    def scalar(node: ScalarNode, at: JsonPath) -> Any:
        if node.tag == _STR_TAG and has_reference(node.value):
            found[at] = node.value
        return construct_scalar(node)

    doc.construct(scalar)
    return found


# -- from validated data to specs --------------------------------------------------------------


def _props(section: str | None) -> dict[str, Any]:
    schema = load_schema()
    node = schema if section is None else schema["$defs"][section]
    props: dict[str, Any] = node["properties"]
    return props


def _with_defaults(raw: Mapping[str, Any], section: str | None) -> dict[str, Any]:
    """The keys of ``raw`` known at this level, plus the schema default of every key it lacks."""
    out: dict[str, Any] = {}
    for key, prop in _props(section).items():
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
    values = {key: _coerce(prop, raw[key]) for key, prop in _props("model").items() if key in raw}
    if "extra" in values:
        values["extra"] = dict(values["extra"])
    return ModelSpec(**values)


def build_member(raw: Mapping[str, Any], team_model: ModelSpec) -> MemberSpec:
    values = _with_defaults(raw, "member")
    values["model"] = build_model(raw["model"]) if "model" in raw else team_model
    values.setdefault("id", member_id_from_name(values["name"]))
    return MemberSpec(**values)


def build_team(data: Mapping[str, Any], source: str = "<team>") -> TeamSpec:
    """A TeamSpec from validated team data, resolved as Agno resolves a Team's arguments."""
    values = _with_defaults(data, None)
    model = build_model(values["model"])
    values["model"] = model
    values["members"] = tuple(build_member(m, model) for m in data.get("members", ()))
    values["db"] = StoreSpec(**_with_defaults(values["db"], "db"))
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
