"""Team file -> LoadedTeam: read (safe YAML), interpolate ``${VAR}``, validate, build the spec.

The result keeps the located document next to the spec, so whatever reports a problem later
(a tool that cannot be imported, a warning about a tool) points at the file's line and column
without reading the file a second time.

Importing this module costs PyYAML only; jsonschema is imported on the first validation and
litellm never.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, Problem
from .build import build_team
from .interpolate import Interpolated, interpolate, referenced_names
from .overrides import ModelOverride
from .schema import load_schema
from .spec import TeamSpec
from .validate import check
from .yamlload import JsonPath, PathItem, YamlDoc, load_yaml, parse_yaml


@dataclass(frozen=True)
class LoadedTeam:
    """A team file, loaded: its spec, the located document it came from, and what to tell the user."""

    spec: TeamSpec
    doc: YamlDoc
    sources: Mapping[JsonPath, str] = field(default_factory=dict)  # values built from ${VAR}, as written
    notes: tuple[Problem, ...] = ()  # warnings and notes: the file loads, but the user should know
    secrets: frozenset[str] = frozenset()  # what ${VAR}s put into the file: masked wherever shown or stored

    def problem(self, path: Sequence[PathItem], message: str, fix: str = "", **kw: Any) -> Problem:
        """A Problem at the value at ``path`` of the file, located by the document's marks."""
        found = self.doc.problem(path, message, fix)
        return Problem(found.file, found.line, found.col, found.path, message, fix, **kw)


def in_model(path: JsonPath) -> bool:
    """``path`` lies inside a model setting (the team's, a member's or the summary manager's)."""
    if path[:1] == ("model",) or path[:2] == ("session_summary_manager", "model"):
        return True
    return len(path) >= 3 and path[0] == "members" and path[2] == "model"


def _analyse(
    doc: YamlDoc,
    env: Mapping[str, str] | None,
    override: ModelOverride | None = None,
    allow_unsafe_tools: bool = False,
) -> tuple[Interpolated, list[Problem]]:
    interp = interpolate(doc, env)
    if override:
        # --model replaces models: the variables only their replaced settings used are not needed.
        interp.excused.update(
            p
            for p in interp.failed
            if in_model(p) and is_unset_env_problem(interp.failed[p]) and override.replaces(p, interp.data)
        )
    return interp, check(doc, interp, load_schema(), allow_unsafe_tools=allow_unsafe_tools)


def _split(problems: list[Problem]) -> tuple[list[Problem], list[Problem]]:
    errors = [p for p in problems if p.severity == "error"]
    return errors, [p for p in problems if p.severity != "error"]


def _load(
    doc: YamlDoc,
    env: Mapping[str, str] | None,
    model_override: str | Sequence[str] | ModelOverride | None,
    base_dir: str,
    allow_unsafe_tools: bool = False,
) -> LoadedTeam:
    interp, problems = _analyse(doc, env, ModelOverride.parse(model_override), allow_unsafe_tools)
    errors, notes = _split(problems)
    if errors:
        raise ConfigError(errors)
    spec = build_team(interp.data, source=doc.file, base_dir=base_dir)
    return LoadedTeam(spec, doc, dict(interp.sources), tuple(notes), _secrets(interp, env))


SECRET_MIN_LENGTH = 6  # shorter values ("1", "true", a first name) are too common to mask in text


def _secrets(interp: Interpolated, env: Mapping[str, str] | None) -> frozenset[str]:
    """The values the environment put into the file: any may be a key or a token. A model id is not
    one (it is shown in every footer); values too short to be a secret are left alone."""
    environ: Mapping[str, str] = os.environ if env is None else env
    found: set[str] = set()
    for path, template in interp.sources.items():
        if in_model(path) and path[-1] in ("id", "model"):
            continue  # a model id
        for name in referenced_names(template):
            value = environ.get(name) or ""
            if len(value) >= SECRET_MIN_LENGTH:
                found.add(value)
    return frozenset(found)


def load_team(
    path: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    *,
    model_override: str | Sequence[str] | ModelOverride | None = None,
    allow_unsafe_tools: bool = False,
) -> LoadedTeam:
    """The team file at ``path``, every default filled in.

    Raises ConfigError listing every problem when anything in the file is wrong. ``env`` replaces
    ``os.environ`` for ``${VAR}`` references; with ``model_override`` the variables used only by
    the model settings it replaces need not be set. A relative ``db.path`` is resolved against the
    file's directory. Standard-library tools are refused unless ``allow_unsafe_tools`` (or the
    file's own ``allow_unsafe_tools: true``).
    """
    doc = load_yaml(path)
    base_dir = os.path.dirname(os.path.abspath(os.fspath(path)))
    return _load(doc, env, model_override, base_dir, allow_unsafe_tools)


def load_team_text(
    text: str,
    name: str = "<team>",
    *,
    env: Mapping[str, str] | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    model_override: str | Sequence[str] | ModelOverride | None = None,
    allow_unsafe_tools: bool = False,
) -> LoadedTeam:
    """A team held in memory as YAML ``text``; ``name`` is how problems name it.

    ``base_dir`` is where a relative ``db.path`` and the team's tool modules are looked up (default:
    the working directory).
    """
    doc = parse_yaml(text, name)
    return _load(doc, env, model_override, os.path.abspath(base_dir or os.curdir), allow_unsafe_tools)


def check_team_file(
    path: str | os.PathLike[str], env: Mapping[str, str] | None = None, *, allow_unsafe_tools: bool = False
) -> list[Problem]:
    """Every problem in the team file at ``path``, notes included, in file order; [] when it is fine.

    Never raises for anything about the file (missing, unreadable, malformed): each is a Problem.
    ``env`` replaces ``os.environ`` for ``${VAR}`` references.
    """
    try:
        doc = load_yaml(path)
    except ConfigError as err:
        return err.problems
    return _analyse(doc, env, None, allow_unsafe_tools)[1]


_UNSET_ENV = re.compile(r"environment variable \w+ is not set")


def is_unset_env_problem(problem: Problem) -> bool:
    """The problem is only that a ``${VAR}`` is unset here: a fact about this machine, not the file.

    `agno-run validate` reports these as notes, so CI can check a file without holding its secrets.
    """
    return _UNSET_ENV.match(problem.message) is not None
