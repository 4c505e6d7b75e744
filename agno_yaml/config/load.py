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


@dataclass
class _Nesting:
    """What following the teams among a file's members needs and finds."""

    env: Mapping[str, str] | None
    override: ModelOverride | None
    allow_unsafe_tools: bool
    chain: tuple[str, ...]  # the team files from the top one to here: a reference back is a cycle
    secrets: set[str] = field(default_factory=set)


def _member_teams(
    data: Mapping[str, Any], doc: YamlDoc, base_dir: str, nesting: _Nesting, at: JsonPath = ()
) -> tuple[dict[int, TeamSpec], list[Problem]]:
    """The teams among the members of ``data`` (a team file's data, or an inline team at ``at`` of
    ``doc``), built by member index, and every problem in them, each at its own file's line. A
    referenced file is read and checked (nothing of it is imported); a cycle is refused."""
    built: dict[int, TeamSpec] = {}
    problems: list[Problem] = []
    members = data.get("members")
    for index, member in enumerate(members if isinstance(members, list) else []):
        if not isinstance(member, Mapping) or "team" not in member:
            continue
        where: JsonPath = (*at, "members", index, "team")
        value = member["team"]
        if isinstance(value, Mapping):
            inner, found = _member_teams(value, doc, base_dir, nesting, where)
            problems += found
            if not any(p.severity == "error" for p in found):
                built[index] = build_team(
                    _inherit(value, data), source=doc.file, base_dir=base_dir, nested=inner
                )
            continue
        if not isinstance(value, str):
            continue  # the schema said so already
        path = os.path.normpath(os.path.join(base_dir, os.path.expanduser(value)))
        if path in nesting.chain:
            cycle = " -> ".join(
                os.path.basename(p) for p in (*nesting.chain[nesting.chain.index(path) :], path)
            )
            problems.append(
                doc.problem(
                    where,
                    f"team files include each other in a cycle: {cycle}",
                    "remove one of the references",
                )
            )
            continue
        if not os.path.isfile(path):
            problems.append(
                doc.problem(where, f"no team file at {value} ({path})", "give a path relative to this file")
            )
            continue
        try:
            sub_doc = load_yaml(path)
        except ConfigError as err:
            problems += err.problems
            continue
        sub_interp, found = _analyse(sub_doc, nesting.env, nesting.override, nesting.allow_unsafe_tools)
        deeper = _Nesting(
            nesting.env, nesting.override, nesting.allow_unsafe_tools, (*nesting.chain, path), nesting.secrets
        )
        inner, more = _member_teams(sub_interp.data, sub_doc, os.path.dirname(path), deeper)
        problems += found + more
        nesting.secrets.update(_secrets(sub_interp, nesting.env))
        if not any(p.severity == "error" for p in found + more):
            built[index] = build_team(
                _inherit(sub_interp.data, data),
                source=sub_doc.file,
                base_dir=os.path.dirname(path),
                nested=inner,
            )
    return built, problems


def _inherit(team: Mapping[str, Any], parent: Mapping[str, Any]) -> Mapping[str, Any]:
    """A team among the members uses its parent's model unless it names its own, as members do."""
    if "model" in team or "model" not in parent:
        return team
    return {**team, "model": parent["model"]}


def _load(
    doc: YamlDoc,
    env: Mapping[str, str] | None,
    model_override: str | Sequence[str] | ModelOverride | None,
    base_dir: str,
    allow_unsafe_tools: bool = False,
) -> LoadedTeam:
    override = ModelOverride.parse(model_override)
    interp, problems = _analyse(doc, env, override, allow_unsafe_tools)
    nesting = _Nesting(env, override, allow_unsafe_tools, (os.path.abspath(doc.file),))
    nested, found = (
        _member_teams(interp.data, doc, base_dir, nesting) if not _split(problems)[0] else ({}, [])
    )
    errors, notes = _split(problems + found)
    if errors:
        raise ConfigError(errors)
    spec = build_team(interp.data, source=doc.file, base_dir=base_dir, nested=nested)
    secrets = _secrets(interp, env) | frozenset(nesting.secrets)
    return LoadedTeam(spec, doc, dict(interp.sources), tuple(notes), secrets)


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
    interp, problems = _analyse(doc, env, None, allow_unsafe_tools)
    if any(p.severity == "error" for p in problems):
        return problems
    base_dir = os.path.dirname(os.path.abspath(os.fspath(path)))
    nesting = _Nesting(env, None, allow_unsafe_tools, (os.path.abspath(doc.file),))
    return problems + _member_teams(interp.data, doc, base_dir, nesting)[1]


_UNSET_ENV = re.compile(r"environment variable \w+ is not set")


def is_unset_env_problem(problem: Problem) -> bool:
    """The problem is only that a ``${VAR}`` is unset here: a fact about this machine, not the file.

    `agno-run validate` reports these as notes, so CI can check a file without holding its secrets.
    """
    return _UNSET_ENV.match(problem.message) is not None
