"""A loaded team file -> a runnable Team: pick each model, import each tool, write each system
message, open the store.

This is the only step that imports user code (the ``module:function`` tools), which is why
``agno-run validate`` stops before it. Every tool is tried, so one run reports every bad reference
at its line in the file, and a tool described badly enough to leave the model guessing is a warning
at its line (an error with ``strict``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import LoadedTeam
from ..config.output_schema import resolve as resolve_output_schema
from ..config.overrides import ModelOverride
from ..config.spec import McpServerSpec, MemberSpec, ModelSpec, TeamSpec
from ..config.yamlload import JsonPath, json_path
from ..errors import ConfigError, Problem, Severity, ToolImportError
from ..models import Model, get_model
from ..models.providers import key_values
from ..store import SessionStore, open_store
from ..tools import ToolDef, import_tool
from ..tools.delegation import delegation_tools
from ..tools.session import SESSION_TOOL_NAMES, session_tools
from .prompts import leader_system_message, member_system_message
from .summary import Summarizer
from .team import DEFAULT_MAX_ROUNDS, Team
from .turn import Agent


class ModelCache:
    """One model object per distinct model spec, so a scripted reply list is shared in call order."""

    def __init__(self) -> None:
        self._made: dict[str, Model] = {}

    def get(self, spec: ModelSpec) -> Model:
        key = json.dumps(spec.public_dict(), sort_keys=True, default=str) + (spec.api_key or "")
        if key not in self._made:
            self._made[key] = get_model(spec)
        return self._made[key]


# Picks the model of one agent: its key ("leader", a member id, "summary") and its spec -> the model.
ModelFor = Callable[[str, ModelSpec], Model]


@dataclass(frozen=True)
class _Found:
    """Something about a tool reference, by its place in the file; located when reported."""

    path: JsonPath  # ("tools", 1) or ("members", 0, "tools", 1)
    message: str
    fix: str = ""


def _split(text: str) -> tuple[str, str]:
    """Tool messages read "what is wrong; how to fix it": the last "; " separates the two."""
    message, sep, fix = text.rpartition("; ")
    return (message, fix) if sep else (fix, "")


class _Tools:
    """Imports the tools of every agent of one team, collecting problems and warnings as it goes."""

    def __init__(self, spec: TeamSpec, search_path: Path | None) -> None:
        self.spec = spec
        self.search_path = search_path
        self.problems: list[_Found] = []
        self.warnings: list[_Found] = []

    def load(self, refs: tuple[str, ...], at: JsonPath) -> dict[str, ToolDef]:
        tools: dict[str, ToolDef] = {}
        first_at: dict[str, int] = {}
        for index, ref in enumerate(refs):
            path = (*at, index)
            try:
                tool = import_tool(ref, search_path=self.search_path)
            except ToolImportError as exc:
                self.problems.append(_Found(path, *_split(str(exc))))
                continue
            if tool.name in SESSION_TOOL_NAMES:
                self.problems.append(
                    _Found(
                        path,
                        f"tool {ref!r} is named {tool.name!r}, the name of a built-in session tool",
                        "rename the function (the read_*/search_session_history keys offer the built-in)",
                    )
                )
            elif tool.name in tools:
                first = json_path((*at, first_at[tool.name]))
                self.problems.append(
                    _Found(
                        path,
                        f"tool {ref!r} is a second tool named {tool.name!r} (the first is {first})",
                        "remove one of them (a model calls tools by name)",
                    )
                )
            else:
                tools[tool.name] = tool
                first_at[tool.name] = index
                self.warnings += [_Found(path, *_split(f"tool {ref!r}: {w}")) for w in tool.warnings]
        return tools

    def mcp(
        self, servers: tuple[McpServerSpec, ...], at: JsonPath, taken: Collection[str]
    ) -> dict[str, ToolDef]:
        """The tools of an agent's MCP servers (each started, or reused, here); a server that does
        not start is a problem at its entry, with why and the last lines of its stderr."""
        if not servers:
            return {}
        from ..tools.mcp_servers import McpError, mcp_tools

        tools: dict[str, ToolDef] = {}
        for index, server in enumerate(servers):
            path = (*at, index)
            if any(s.name == server.name for s in servers[:index]):
                second = f"a second MCP server named {server.name!r}"
                self.problems.append(_Found((*path, "name"), second, "give each server its own name"))
                continue
            try:
                found = mcp_tools(server, self.spec.store_media)
            except McpError as exc:
                fix = "check the command or url, or run the server by hand"
                self.problems.append(_Found(path, str(exc), fix))
                continue
            for name in found:
                if name in taken:
                    clash = f"the MCP tool {name!r} has the name of another tool"
                    self.problems.append(_Found(path, clash, "rename the server"))
            tools.update(found)
        return tools


def _locate(team: LoadedTeam | TeamSpec, found: list[_Found], severity: Severity = "error") -> list[Problem]:
    """Problems at the file's line and column (at its top when the team has no located document)."""
    if isinstance(team, LoadedTeam):
        return [team.problem(f.path, f.message, f.fix, severity=severity) for f in found]
    return [Problem(team.source, 1, 1, json_path(f.path), f.message, f.fix, severity) for f in found]


def compile_team(
    team: LoadedTeam | TeamSpec,
    *,
    model_override: str | Sequence[str] | ModelOverride | None = None,
    db: str | os.PathLike[str] | None = None,
    store: SessionStore | None | bool = True,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    strict: bool = False,
    model_for: ModelFor | None = None,
) -> Team:
    """Build the runtime team from a loaded file (or a bare spec).

    The store: ``store=True`` opens the one ``db`` (a ``--db`` override), the file's ``db:``,
    ``AGNO_RUN_DB`` or the per-user default names; ``store=False`` runs without saving; a
    SessionStore instance is used as it is. ``strict`` makes tool warnings errors. ``model_for``
    builds each agent's model instead of the default (one model object per distinct spec): the
    conversation runner scripts, records and replays agents through it.
    """
    spec = team.spec if isinstance(team, LoadedTeam) else team
    override = ModelOverride.parse(model_override)
    if override:
        spec = override.apply(spec)
    shared = ModelCache()
    pick: ModelFor = model_for or (lambda _key, model: shared.get(model))
    file_dir = Path(spec.source).parent if spec.source and not spec.source.startswith("<") else None
    tools = _Tools(spec, file_dir)
    member_ids = [(m.id, m.name) for m in spec.members]
    leader_tools = {
        **{t.name: t for t in delegation_tools(member_ids, broadcast=spec.mode == "broadcast")},
        **tools.load(spec.tools, ("tools",)),
        **session_tools(
            read_chat_history=spec.read_chat_history,
            read_tool_call_history=spec.read_tool_call_history,
            search_session_history=spec.search_session_history,
            team_id=spec.id,
        ),
    }
    leader_tools.update(tools.mcp(spec.mcp_servers, ("mcp_servers",), leader_tools))
    leader = Agent(
        name=spec.name,
        model=pick("leader", spec.model),
        system_message=leader_system_message(spec),
        tools=leader_tools,
        add_history_to_context=spec.add_history_to_context,
        num_history_runs=spec.num_history_runs,
        num_history_messages=spec.num_history_messages,
        max_tokens=spec.model.max_tokens,
    )
    nested = {
        member.id: _nested_team(member, override, model_for or pick, max_rounds, strict)
        for member in spec.members
        if member.team is not None
    }
    members = {
        member.id: _team_member(member, nested[member.id])
        if member.id in nested
        else Agent(
            name=member.name,
            model=pick(member.id, member.model),
            system_message=member_system_message(member, spec),
            tools={
                **tools.load(member.tools, ("members", index, "tools")),
                **session_tools(
                    read_chat_history=member.read_chat_history,
                    read_tool_call_history=member.read_tool_call_history,
                ),
                **tools.mcp(member.mcp_servers, ("members", index, "mcp_servers"), member.tools),
            },
            member_id=member.id,
            add_history_to_context=member.add_history_to_context,
            num_history_runs=member.num_history_runs or spec.num_history_runs,
            num_history_messages=member.num_history_messages,
            max_tokens=member.model.max_tokens,
        )
        for index, member in enumerate(spec.members)
    }
    tools.problems += _tool_choice_problems(spec, leader, members)
    tools.problems += _output_schemas(spec, leader, members)
    if tools.problems or (strict and tools.warnings):
        raise ConfigError(_locate(team, tools.problems + (tools.warnings if strict else [])))
    if store is True:
        session_store: SessionStore | None = open_store(spec.db, db)
    elif store is False or store is None:
        session_store = None
    else:
        session_store = store
    manager = spec.session_summary_manager
    summarizer = (
        Summarizer(pick("summary", manager.model), manager.session_summary_prompt, manager.max_runs)
        if spec.enable_session_summaries and manager is not None
        else None
    )
    warnings = tuple(_locate(team, tools.warnings, "warning"))
    secrets = _secrets(team, spec).union(*(t.secrets for t in nested.values()))
    return Team(
        spec, leader, members, session_store, max_rounds=max_rounds, summarizer=summarizer,
        warnings=warnings, secrets=secrets, max_tool_calls=spec.max_tool_calls_per_round,
    )  # fmt: skip


def _nested_team(
    member: MemberSpec, override: ModelOverride | None, pick: ModelFor, max_rounds: int, strict: bool
) -> Team:
    """A team among the members, compiled on its own (no store: its runs go into the parent's
    session). Its leader's model is asked for under the member's id (how conversation scripts and
    ``--model ID=...`` name it); its members under their own ids."""
    assert member.team is not None
    team = compile_team(
        member.team, model_override=override, store=False, max_rounds=max_rounds, strict=strict,
        model_for=lambda key, model: pick(member.id if key == "leader" else key, model),
    )  # fmt: skip
    team.as_member = member.id
    return team


def _team_member(member: MemberSpec, team: Team) -> Agent:
    """The parent's view of a team among its members: delegated to by id, run by its own loop."""
    return Agent(
        name=member.name, model=team.leader.model, system_message=team.leader.system_message,
        tools=team.leader.tools, member_id=member.id, max_tokens=team.leader.max_tokens, team=team,
    )  # fmt: skip


TOOL_CHOICES = ("auto", "required", "none")


def _tool_choice_problems(spec: TeamSpec, leader: Agent, members: dict[str, Agent]) -> list[_Found]:
    """A ``tool_choice`` naming a tool the agent whose mapping it is in is not offered (the provider
    would reject every call). A member that inherits the team's mapping is not checked: a tool name
    is only sent to an agent offered that tool (see ``models/litellm.py``), the others get ``auto``."""
    found = []
    agents: list[tuple[ModelSpec, JsonPath, Agent]] = [(spec.model, ("model", "tool_choice"), leader)]
    for index, member in enumerate(spec.members):
        if member.model is not spec.model:
            agents.append((member.model, ("members", index, "model", "tool_choice"), members[member.id]))
    for model, where, agent in agents:
        choice = model.tool_choice
        if choice is None or choice in TOOL_CHOICES or choice in agent.tools:
            continue
        offered = ", ".join(agent.tools) or "none"
        found.append(
            _Found(
                where,
                f"{'the leader' if agent.member_id is None else 'member ' + agent.name} is offered no "
                f"tool named {choice!r} (its tools: {offered})",
                "use auto, required, none or one of its tools",
            )
        )
    return found


def _output_schemas(spec: TeamSpec, leader: Agent, members: dict[str, Agent]) -> list[_Found]:
    """Each agent's ``output_schema`` read (a file) and checked as a JSON Schema; the agent gets it."""
    found = []
    places: list[tuple[Any, JsonPath, Agent]] = [(spec.output_schema, ("output_schema",), leader)]
    places += [
        (member.output_schema, ("members", index, "output_schema"), members[member.id])
        for index, member in enumerate(spec.members)
        if member.team is None
    ]
    for raw, where, agent in places:
        if raw is None:
            continue
        schema, problems = resolve_output_schema(raw, None)
        found += [_Found((*where, *inside), message, fix) for inside, message, fix in problems]
        agent.output_schema = schema
    return found


def _secrets(team: LoadedTeam | TeamSpec, spec: TeamSpec) -> frozenset[str]:
    """What must never be shown or stored: the values ${VAR}s put into the file, every model's
    api_key, and the provider keys in the environment for the team's models."""
    found = set(team.secrets) if isinstance(team, LoadedTeam) else set()
    models = [spec.model, *(m.model for m in spec.members)]
    if spec.session_summary_manager is not None:
        models.append(spec.session_summary_manager.model)
    for model in models:
        if model.api_key and len(model.api_key) >= 4:
            found.add(model.api_key)
        found.update(v for v in key_values(model.id) if len(v) >= 4)
    return frozenset(found)
