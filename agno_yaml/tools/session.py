"""The session tools a model may be offered: its chat history, its tool-call history, and the same
user's previous sessions (``read_chat_history``, ``read_tool_call_history``, ``search_session_history``).

Each tool is a ``ToolDef`` with a hand-written schema (so what the model is promised is visible and
tested) and a function whose first parameter is a ``SessionContext``. The run loop passes that
context when it carries out a call (``call_tool``), so the functions see exactly one session of
one user and never hold state between turns.

What the tools read, and where we differ from Agno on purpose:

- Only stored runs are read: the current turn is already in the model's context.
- ``get_chat_history`` returns the user's messages and the answers with text, never system prompts,
  tool results or tool-call-only messages (Agno returns all of them), oldest first. ``num_chats``
  counts messages, as Agno's code does, but our schema says so: Agno's docstring promises pairs.
- ``get_previous_session_messages`` lists sessions of the run's user with this team only (the
  sessions ``--continue`` chooses from), read through that user's index (never another user's
  files), leaves the current session out *before* taking the last ``num_history_sessions`` (Agno 2.x
  counted it), and returns each run's question and final answer (Agno 2.x paired messages by index
  and mostly returned system prompts). The team is fixed when the tool is built (``session_tools``),
  so it is not an argument a model could change.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import islice
from typing import Any

from ..errors import StoreError
from ..messages import RunRecord, completed_runs, conversation
from ..store import SessionStore
from .base import SESSION_CONTEXT, ToolDef

CHAT_HISTORY = "get_chat_history"
TOOL_CALL_HISTORY = "get_tool_call_history"
PREVIOUS_SESSIONS = "get_previous_session_messages"
SESSION_TOOL_NAMES = (CHAT_HISTORY, TOOL_CALL_HISTORY, PREVIOUS_SESSIONS)

RUNS_PER_PAST_SESSION = 10  # the most recent exchanges of each earlier session: enough to recall it
PAST_TEXT_CHARS = 500  # per message; a long answer is cut, the question it answered is what matters


@dataclass(frozen=True)
class SessionContext:
    """What a session tool may see during one turn: one session of one user, and the store."""

    store: SessionStore | None
    session_id: str
    user_id: str
    member: str | None  # the agent calling: None for the leader, else a member id
    past_runs: Iterable[RunRecord]  # this session's stored runs, newest first, read lazily
    num_history_sessions: int | None = None


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def get_chat_history(ctx: SessionContext, num_chats: int | None = None) -> str:
    """The conversation so far, oldest first, as ``[{"role", "content"}]``; the last ``num_chats`` messages."""
    if num_chats is not None and num_chats <= 0:
        return "[]"
    # Top-level runs for members too: the chat is the conversation with the user, not a member's tasks.
    collected: list[dict[str, Any]] = []
    for run in completed_runs(ctx.past_runs):
        collected[:0] = [{"role": m.role, "content": m.content} for m in conversation(run)]
        if num_chats is not None and len(collected) >= num_chats:
            break  # older runs are not read at all
    return _dump(collected if num_chats is None else collected[-num_chats:])


def _arguments(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw  # keep what the model wrote, even when it was not valid JSON


def get_tool_call_history(ctx: SessionContext, num_calls: int = 3) -> str:
    """The agent's tool calls in this session, newest first, with their results or errors."""
    calls: list[dict[str, Any]] = []
    if num_calls <= 0:
        return "[]"
    for run in ctx.past_runs:
        # Failed runs count: their tool calls were made, and may have had effects.
        mine = run.is_top_level if ctx.member is None else run.member == ctx.member
        if not mine:
            continue
        for execution in reversed(run.tool_calls):
            entry: dict[str, Any] = {"name": execution.name, "arguments": _arguments(execution.arguments)}
            if execution.error is not None:
                entry["error"] = execution.error
            else:
                entry["result"] = execution.result  # None when store_tool_results is off
            entry["run_id"] = run.run_id
            calls.append(entry)
            if len(calls) >= num_calls:
                return _dump(calls)
    return _dump(calls)


def _cut(text: str | None) -> str:
    text = (text or "").strip()
    return text if len(text) <= PAST_TEXT_CHARS else text[:PAST_TEXT_CHARS].rstrip() + "…"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def get_previous_session_messages(ctx: SessionContext, team_id: str) -> str:
    """The user's previous sessions with team ``team_id``, most recently active first, each with its
    recent exchanges."""
    if ctx.store is None:
        return "[]"
    found: list[dict[str, Any]] = []
    limit = ctx.num_history_sessions
    seen: set[str] = {ctx.session_id}
    # Only this user's sessions with this team, newest first: another team's conversations were had
    # with other instructions and members. Sessions with no completed turn are passed over, so the
    # first window asks for more than needed, and all of them only if that was not enough.
    for window in (None if limit is None else 2 * limit + 1, None):
        listed = ctx.store.list_sessions(user_id=ctx.user_id, team_id=team_id, limit=window)
        for info in listed:
            if limit is not None and len(found) >= limit:
                return _dump(found)
            if info.session_id in seen:
                continue
            seen.add(info.session_id)
            try:
                newest = ctx.store.iter_runs_newest_first(info.session_id, ctx.user_id)
                runs = list(islice(completed_runs(newest), RUNS_PER_PAST_SESSION))
            except StoreError:  # a damaged session is passed over; the store has warned about it
                continue
            if not runs:
                continue
            runs.reverse()
            found.append(
                {
                    "session_id": info.session_id,
                    "created_at": _iso(info.created_at),
                    "updated_at": _iso(info.updated_at),
                    "runs": [{"user": _cut(r.input), "assistant": _cut(r.content)} for r in runs],
                }
            )
        if window is None or len(listed) < window:
            break
    return _dump(found)


@dataclass(frozen=True)
class _PreviousSessionsOf:
    """``get_previous_session_messages`` for one team: ``bind`` adds the context, the model no argument."""

    team_id: str

    def __call__(self, ctx: SessionContext) -> str:
        return get_previous_session_messages(ctx, self.team_id)


def _schema(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": [], "additionalProperties": False}


_TOOLS = {
    CHAT_HISTORY: ToolDef(
        CHAT_HISTORY,
        "Read the earlier messages of this conversation: what the user wrote and the answers given, "
        'oldest first, as a JSON list of {"role", "content"}. Use it when the user refers to something '
        "said earlier that you cannot see. Leave num_chats out to get the whole conversation.",
        _schema(
            {
                "num_chats": {
                    "type": "integer",
                    "description": "How many of the most recent messages to return. A question and its "
                    "answer are two messages, so 4 returns the last two exchanges.",
                }
            }
        ),
        get_chat_history,
        SESSION_CONTEXT,
    ),
    TOOL_CALL_HISTORY: ToolDef(
        TOOL_CALL_HISTORY,
        "List the tools you called earlier in this conversation, most recent first, as a JSON list of "
        '{"name", "arguments", "result" or "error", "run_id"}. Use it to reuse an earlier result '
        "instead of calling a tool again.",
        _schema(
            {
                "num_calls": {
                    "type": "integer",
                    "description": "How many of the most recent tool calls to return.",
                    "default": 3,
                }
            }
        ),
        get_tool_call_history,
        SESSION_CONTEXT,
    ),
    PREVIOUS_SESSIONS: ToolDef(
        PREVIOUS_SESSIONS,
        "Read this user's previous conversations with this team (not the current one), most recently "
        "active first: "
        "for each, its session id, dates and recent exchanges as user message and answer. Use it only "
        "when the user asks about earlier conversations, e.g. 'what did we talk about last time?'.",
        _schema({}),
        None,  # bound to the team in session_tools()
        SESSION_CONTEXT,
    ),
}


def session_tools(
    *,
    read_chat_history: bool = False,
    read_tool_call_history: bool = False,
    search_session_history: bool = False,
    team_id: str | None = None,
) -> dict[str, ToolDef]:
    """The session tools an agent is offered, by name: only those whose flag is on.

    ``search_session_history`` needs ``team_id``: previous sessions are those with this team.
    """
    wanted = {
        CHAT_HISTORY: read_chat_history,
        TOOL_CALL_HISTORY: read_tool_call_history,
        PREVIOUS_SESSIONS: search_session_history,
    }
    tools = {name: tool for name, tool in _TOOLS.items() if wanted[name]}
    if search_session_history:
        if not team_id:
            raise ValueError("search_session_history needs the team_id its previous sessions belong to")
        tools[PREVIOUS_SESSIONS] = dataclasses.replace(
            tools[PREVIOUS_SESSIONS], function=_PreviousSessionsOf(team_id)
        )
    return tools
