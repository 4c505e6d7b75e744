"""TeamSpec -> Team: pick each model, import each tool, write each system message, open the store.

This is the only step that imports user code (the ``module:function`` tools), which is why
``agno-run validate`` stops before it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, Problem, ToolImportError
from .models import Model, get_model
from .prompts import delegation_tools, leader_system_message, member_system_message
from .session_tools import SESSION_TOOL_NAMES, session_tools
from .spec import ModelSpec, TeamSpec
from .store import SessionStore
from .summary import Summarizer
from .team import DEFAULT_MAX_ROUNDS, Team
from .tools import ToolDef, import_tool
from .turn import Agent
from .yamlload import JsonPath, json_path, load_yaml


def with_model(spec: TeamSpec, model_id: str) -> TeamSpec:
    """The same team with every model (leader, members, summaries) replaced by ``model_id``."""
    model = ModelSpec(id=model_id)
    members = tuple(dataclasses.replace(m, model=model) for m in spec.members)
    summary = spec.session_summary_manager
    if summary is not None:
        summary = dataclasses.replace(summary, model=model)
    return dataclasses.replace(spec, model=model, members=members, session_summary_manager=summary)


def store_root(spec: TeamSpec, db_path: str | os.PathLike[str] | None = None) -> Path:
    """Where sessions live: ``--db`` if given, else the file's ``db.path``, relative to the working directory."""
    return Path(db_path if db_path is not None else spec.db.path).expanduser()


def settings_not_acted_on(spec: TeamSpec) -> list[str]:
    """Keys the file sets that this version validates but does not act on yet, so the CLI can say so."""
    return ["session_state"] if spec.session_state else []


class _Models:
    """One model object per distinct model spec, so a scripted reply list is shared in call order."""

    def __init__(self) -> None:
        self._made: dict[str, Model] = {}

    def get(self, spec: ModelSpec) -> Model:
        key = json.dumps(spec.public_dict(), sort_keys=True, default=str) + (spec.api_key or "")
        if key not in self._made:
            self._made[key] = get_model(spec)
        return self._made[key]


@dataclass(frozen=True)
class _ToolProblem:
    """A tool that cannot be offered, by its place in the file; located only if compiling fails."""

    path: JsonPath  # ("tools", 1) or ("members", 0, "tools", 1)
    message: str
    fix: str = ""


def _split(error: ToolImportError) -> tuple[str, str]:
    """Tool errors read "what is wrong; how to fix it": the last "; " separates the two."""
    message, sep, fix = str(error).rpartition("; ")
    return (message, fix) if sep else (fix, "")


def _tools(
    refs: tuple[str, ...], spec: TeamSpec, at: JsonPath, problems: list[_ToolProblem]
) -> dict[str, ToolDef]:
    """Import every tool of one agent; each failure is added to ``problems`` and the rest still load."""
    search_path = Path(spec.source).parent if spec.source and not spec.source.startswith("<") else None
    tools: dict[str, ToolDef] = {}
    first_at: dict[str, int] = {}
    for index, ref in enumerate(refs):
        path = (*at, index)
        try:
            tool = import_tool(ref, search_path=search_path)
        except ToolImportError as exc:
            problems.append(_ToolProblem(path, *_split(exc)))
            continue
        if tool.name in SESSION_TOOL_NAMES:
            problems.append(
                _ToolProblem(
                    path,
                    f"tool {ref!r} is named {tool.name!r}, the name of a built-in session tool",
                    "rename the function (the read_*/search_session_history keys offer the built-in)",
                )
            )
        elif tool.name in tools:
            problems.append(
                _ToolProblem(
                    path,
                    f"tool {ref!r} is a second tool named {tool.name!r} (the first is "
                    f"{json_path((*at, first_at[tool.name]))})",
                    "remove one of them (a model calls tools by name)",
                )
            )
        else:
            tools[tool.name] = tool
            first_at[tool.name] = index
    return tools


def _located(spec: TeamSpec, problems: list[_ToolProblem]) -> ConfigError:
    """Tool problems with the file's line and column, read again only now that something failed."""
    doc = None
    if spec.source and not spec.source.startswith("<"):
        try:
            doc = load_yaml(spec.source)
        except ConfigError:
            doc = None  # changed or gone since loading: still report them all, at the top of the file
    located = []
    for problem in problems:
        if doc is None:
            located.append(Problem(spec.source, 1, 1, json_path(problem.path), problem.message, problem.fix))
        else:
            located.append(doc.problem(problem.path, problem.message, problem.fix))
    return ConfigError(located)


def compile_team(
    spec: TeamSpec,
    *,
    model_override: str | None = None,
    db_path: str | os.PathLike[str] | None = None,
    store: SessionStore | None | bool = True,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
) -> Team:
    """Build the runtime team. ``store=False`` runs without saving; a SessionStore instance is used as is."""
    if model_override:
        spec = with_model(spec, model_override)
    models = _Models()
    problems: list[_ToolProblem] = []  # every tool is tried, so one run of `agno-run` reports them all
    leader = Agent(
        name=spec.name,
        model=models.get(spec.model),
        system_message=leader_system_message(spec),
        tools=_tools(spec.tools, spec, ("tools",), problems),
        add_history_to_context=spec.add_history_to_context,
        num_history_runs=spec.num_history_runs,
        num_history_messages=spec.num_history_messages,
        extra_tool_schemas=delegation_tools(spec),
        session_tools=session_tools(
            read_chat_history=spec.read_chat_history,
            read_tool_call_history=spec.read_tool_call_history,
            search_session_history=spec.search_session_history,
            team_id=spec.id,
        ),
    )
    members = {
        member.id: Agent(
            name=member.name,
            model=models.get(member.model),
            system_message=member_system_message(member, spec),
            tools=_tools(member.tools, spec, ("members", index, "tools"), problems),
            member_id=member.id,
            add_history_to_context=member.add_history_to_context,
            num_history_runs=member.num_history_runs or spec.num_history_runs,
            num_history_messages=member.num_history_messages,
            session_tools=session_tools(
                read_chat_history=member.read_chat_history,
                read_tool_call_history=member.read_tool_call_history,
            ),
        )
        for index, member in enumerate(spec.members)
    }
    if problems:
        raise _located(spec, problems)
    if store is True:
        session_store: SessionStore | None = SessionStore(store_root(spec, db_path))
    elif store is False or store is None:
        session_store = None
    else:
        session_store = store
    manager = spec.session_summary_manager
    summarizer = (
        Summarizer(models.get(manager.model), manager.session_summary_prompt)
        if spec.enable_session_summaries and manager is not None
        else None
    )
    return Team(spec, leader, members, session_store, max_rounds=max_rounds, summarizer=summarizer)
