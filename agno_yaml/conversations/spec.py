"""Conversation files: read, checked against ``schemas/conversation.schema.json`` and against the
team they name, before anything runs.

A mistake is reported like a team file's, every one at once, ``FILE:LINE:COL: PATH: what; fix``:
a key or an expectation misspelt (with the one meant), a team file that is missing or broken (at
the team file's own lines), a member id, a reply target or a tool the team does not have. A broken
file never passes silently.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from typing import Any

from ..config import LoadedTeam, load_team
from ..config.interpolate import interpolate
from ..config.schema import load_schema
from ..config.schema_errors import Checker, validator_for
from ..config.yamlload import JsonPath, YamlDoc, load_yaml
from ..errors import ConfigError, Problem, ToolImportError

SCHEMA = "conversation.schema.json"
AGENT_KEYS = ("leader", "summary", "judge")  # reply targets besides member ids


@dataclass(frozen=True)
class Turn:
    say: str
    user: str | None  # None: the conversation's
    session: str | None  # None: the conversation's
    replies: dict[str, list[Any]]  # agent key -> scripted replies for this turn
    expect: dict[str, Any]
    where: JsonPath  # ("conversations", i, "turns", j), to locate expectations in reports


@dataclass(frozen=True)
class Conversation:
    name: str
    file: str
    user: str
    session: str | None
    state: dict[str, Any]
    turns: tuple[Turn, ...]
    expect_session: dict[str, Any]
    where: JsonPath
    line: int = 0  # where it starts in the file

    @property
    def id(self) -> str:
        """``FILE::NAME``: how a report (and pytest) names the conversation."""
        return f"{self.file}::{self.name}"


@dataclass(frozen=True)
class ConversationFile:
    path: str
    doc: YamlDoc
    team: LoadedTeam
    model: str | None
    conversations: tuple[Conversation, ...] = field(default_factory=tuple)

    def mark(self, path: JsonPath) -> tuple[int, int]:
        return self.doc.mark(path)


def _replies(raw: Any) -> dict[str, list[Any]]:
    if raw is None:
        return {}
    return {"leader": list(raw)} if isinstance(raw, list) else {str(k): list(v) for k, v in raw.items()}


def _offered(team: LoadedTeam, model: str | None) -> tuple[set[str], set[str]]:
    """The team's member ids and the names of every tool any of its agents is offered."""
    from ..runtime.compile import compile_team  # imports the team's tool modules, as a run will

    compiled = compile_team(team, model_override=model or "echo", store=False)
    members: set[str] = set()
    tools: set[str] = set()
    teams = [compiled]
    while teams:  # the teams among the members, and theirs: their agents are scripted by id too
        current = teams.pop()
        tools |= set(current.leader.tools)
        for member_id, agent in current.members.items():
            members.add(member_id)
            tools |= set(agent.tools)
            if agent.team is not None:
                teams.append(agent.team)
    return members, tools


class _Check:
    def __init__(self, doc: YamlDoc) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def add(self, path: JsonPath, message: str, fix: str) -> None:
        self.problems.append(self.doc.problem(path, message, fix))

    def one_of(self, path: JsonPath, value: str, allowed: set[str], what: str) -> None:
        if value in allowed:
            return
        close = difflib.get_close_matches(value, sorted(allowed), n=1)
        fix = (
            f"did you mean {close[0]}?" if close else f"the team has: {', '.join(sorted(allowed)) or 'none'}"
        )
        self.add(path, f"the team has no {what} {value!r}", fix)


def _names(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _check_turns(check: _Check, data: dict[str, Any], members: set[str], tools: set[str]) -> None:
    names: dict[str, int] = {}
    for i, conversation in enumerate(data["conversations"]):
        at: JsonPath = ("conversations", i)
        if conversation["name"] in names:
            check.add(
                (*at, "name"),
                f"the name {conversation['name']!r} is used by conversation {names[conversation['name']] + 1} too",
                "give each conversation its own name",
            )
        names.setdefault(conversation["name"], i)
        for j, turn in enumerate(conversation["turns"]):
            where: JsonPath = (*at, "turns", j)
            replies = turn.get("replies")
            if isinstance(replies, dict):
                for key in replies:
                    check.one_of(
                        (*where, "replies", key),
                        str(key),
                        members | set(AGENT_KEYS),
                        "member or reply target",
                    )
            expect = turn.get("expect") or {}
            if isinstance(expect.get("member"), str):
                check.one_of((*where, "expect", "member"), expect["member"], members | {"leader"}, "member")
            for k, member in enumerate(_names(expect.get("delegated_to"))):
                path = (*where, "expect", "delegated_to") + (
                    (k,) if isinstance(expect["delegated_to"], list) else ()
                )
                check.one_of(path, member, members, "member")
            called = expect.get("tool_called")
            if called is not None:
                name = called if isinstance(called, str) else called.get("name")
                path = (*where, "expect", "tool_called") + (() if isinstance(called, str) else ("name",))
                check.one_of(path, str(name), tools, "tool")
            for k, tool in enumerate(_names(expect.get("tool_not_called"))):
                path = (*where, "expect", "tool_not_called") + (
                    (k,) if isinstance(expect["tool_not_called"], list) else ()
                )
                check.one_of(path, tool, tools, "tool")
            if isinstance(expect.get("regex"), str):
                try:
                    re.compile(expect["regex"])
                except re.error as e:
                    check.add(
                        (*where, "expect", "regex"),
                        f"not a regular expression ({e})",
                        "fix the pattern (Python's re syntax)",
                    )
            schema = (
                (expect.get("json") or {}).get("json_schema")
                if isinstance(expect.get("json"), dict)
                else None
            )
            if schema is not None:
                from jsonschema import Draft202012Validator
                from jsonschema.exceptions import SchemaError

                try:
                    Draft202012Validator.check_schema(schema)
                except SchemaError as e:
                    check.add(
                        (*where, "expect", "json", "json_schema"),
                        f"not a valid JSON Schema ({e.message})",
                        "fix the schema",
                    )


def load_conversations(path: str | os.PathLike[str], *, model: str | None = None) -> ConversationFile:
    """The conversation file at ``path``, checked against its schema and its team; ConfigError with
    every problem (those of the team file at that file's lines). ``model`` replaces the file's model."""
    doc = load_yaml(path)
    interp = interpolate(doc)
    schema = load_schema(SCHEMA)
    checker = Checker(doc, interp, schema)
    checker.problems.extend(interp.problems)
    for err in validator_for(schema).iter_errors(interp.data):
        checker.schema_error(err)
    if checker.problems:
        raise ConfigError(sorted(checker.problems, key=lambda p: (p.line, p.col)))
    data: dict[str, Any] = interp.data
    base = os.path.dirname(os.path.abspath(os.fspath(path)))
    team_path = os.path.normpath(os.path.join(base, os.path.expanduser(data["team"])))
    model = model or data.get("model")
    if not os.path.exists(team_path):
        raise ConfigError(
            [
                doc.problem(
                    ("team",),
                    f"no team file at {team_path}",
                    "the path is relative to this conversation file",
                )
            ]
        )
    team = load_team(team_path, model_override=model)  # its own problems, at its own lines
    try:
        members, tools = _offered(team, model)
    except ToolImportError as e:
        raise ConfigError([doc.problem(("team",), str(e), "")]) from None
    check = _Check(doc)
    _check_turns(check, data, members, tools)
    if check.problems:
        raise ConfigError(sorted(check.problems, key=lambda p: (p.line, p.col)))
    file = os.fspath(path)
    default_user = data.get("user") or team.spec.user_id or "default"
    conversations = tuple(
        Conversation(
            name=c["name"],
            file=file,
            user=c.get("user") or default_user,
            session=c.get("session") or data.get("session"),
            state=dict(c.get("state") or {}),
            turns=tuple(
                Turn(
                    t["say"],
                    t.get("user"),
                    t.get("session"),
                    _replies(t.get("replies")),
                    dict(t.get("expect") or {}),
                    ("conversations", i, "turns", j),
                )
                for j, t in enumerate(c["turns"])
            ),
            expect_session=dict(c.get("expect_session") or {}),
            where=("conversations", i),
            line=doc.mark(("conversations", i))[0],
        )
        for i, c in enumerate(data["conversations"])
    )
    return ConversationFile(file, doc, team, model, conversations)


def conversation_files(paths: list[str]) -> list[str]:
    """The conversation files among ``paths``: files as given, directories searched for *.yaml files
    that name a team and hold conversations (others, such as team files, are skipped)."""
    found: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            for root, _, names in sorted(os.walk(path)):
                for name in sorted(names):
                    if name.endswith((".yaml", ".yml")) and _looks_like_conversations(
                        os.path.join(root, name)
                    ):
                        found.append(os.path.join(root, name))
        else:
            found.append(path)
    return found


def _looks_like_conversations(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            head = f.read(4096)
    except OSError:
        return False
    return "conversations:" in head and re.search(r"^team:", head, re.M) is not None
