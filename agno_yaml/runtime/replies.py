"""What a reply's shape means for the user: the lines for an empty reply, a context overflow, an
answer cut at ``max_tokens``, and a route-mode leader that answered itself.

Small and local models send these shapes often; each gets one line saying what happened and what
to change, built here so the run loop only decides *when* (``team.py``).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ModelError
from ..messages import Message, RunRecord
from .turn import Agent

__all__ = ["answer_warnings", "empty_reply", "overflow", "route_of"]


def route_of(mode: str, run: RunRecord) -> str | None:
    """Route mode: ``member`` when a member's answer was returned, ``leader`` when the leader
    answered itself instead of handing the question on; None in other modes or a failed run."""
    if mode != "route" or run.status != "completed":
        return None
    return "member" if run.answered_by else "leader"


def answer_warnings(mode: str, run: RunRecord, leader: Agent, members: Mapping[str, Agent]) -> list[str]:
    """What the user should know about an answer that is not what it seems: cut short, or a
    route-mode leader answering itself."""
    found = []
    if run.truncated and run.status == "completed":
        limits = [leader.max_tokens] if not run.answered_by else [
            members[m].max_tokens for m in run.answered_by.split(",") if m in members
        ]  # fmt: skip
        limit = next((n for n in limits if n), None)
        cut = f"at max_tokens={limit}" if limit else "by the model's output limit"
        found.append(f"the answer was cut {cut}; raise max_tokens: in the model mapping for a whole answer")
    if route_of(mode, run) == "leader":
        found.append(
            "route mode: the leader answered itself instead of handing the question to a member "
            "(check the members' roles, or the leader's instructions)"
        )
    return found


def empty_reply(agent: Agent, finish_reason: str | None, times: int) -> str:
    who = f"model {agent.model.name}"
    if finish_reason == "length":
        limit = f"max_tokens={agent.max_tokens}" if agent.max_tokens else "its output limit"
        return f"{who}: the reply was cut at {limit} before any text; raise max_tokens: in the model mapping"
    return (
        f"{who}: the model returned an empty reply (no text and no tool call){', twice' if times > 1 else ''}; "
        "try again, and if it persists check the model server (its log, its context size)"
    )


def overflow(exc: ModelError, agent: Agent, messages: list[Message]) -> str:
    """A context overflow, with what the history window put into the request and how to shrink it."""
    earlier = [m for m in messages if m.from_history]
    if not earlier:
        return f"{exc}; the request is too long for the model's context even without history: shorten the message or the instructions"

    def rough_tokens(found: list[Message]) -> int:
        return sum(len(m.content or "") + sum(len(c.arguments) for c in m.tool_calls) for m in found) // 4

    runs = sum(1 for m in earlier if m.role == "user")
    tokens, everything = rough_tokens(earlier), rough_tokens(messages)
    window = (
        f"num_history_runs (now {agent.num_history_runs})"
        if agent.num_history_messages is None
        else f"num_history_messages (now {agent.num_history_messages})"
    )
    added = f"the history window added {runs} earlier run{'s' if runs != 1 else ''} (about {tokens} tokens"
    if tokens * 2 < everything:  # the history is the smaller part: shrinking it alone will not do
        return (
            f"{exc}; {added} of about {everything}): the rest is the message and the instructions, "
            f"shorten the message (lowering {window} or a new session saves only the history's part)"
        )
    return f"{exc}; {added}): lower {window}, or start a new session"
