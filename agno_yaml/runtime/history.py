"""Which earlier messages of a session a model sees: pure functions over stored runs.

Rules (Agno's, plus its fixes): only completed runs are replayed, never failed or cancelled ones;
the leader sees only top-level runs, a member only its own runs; system messages and copies of
older history are never replayed; a tool call is never separated from its results; a route-mode
run replays as the question and the answer the user got, not the delegation plumbing.

Only well-formed messages are replayed, because a provider rejects a whole request for one bad
message, and would reject every later turn of the session with it: an assistant message has text or
tool calls, every tool call is followed by its result and every result follows its call. A stored
run that is left with no answer (an empty reply stored by an older version) is skipped and does not
take a place in the window, so one bad run never poisons the rest of a session.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from ..messages import Message, RunRecord, completed_runs


def _has_text(message: Message) -> bool:
    return bool((message.content or "").strip())


def well_formed(messages: list[Message]) -> list[Message]:
    """``messages`` without what a provider would reject: assistant messages with neither text nor
    tool calls, tool calls whose results are missing (the calls are dropped, the text kept), and
    tool results whose call is not there."""
    answered = {m.tool_call_id for m in messages if m.role == "tool"}
    kept: list[Message] = []
    open_calls: set[str] = set()
    for m in messages:
        if m.role == "assistant":
            calls = [c for c in m.tool_calls if c.id in answered]
            if calls != m.tool_calls:
                m = Message("assistant", m.content, calls, from_history=m.from_history)
            if not calls and not _has_text(m):
                continue
            open_calls = {c.id for c in calls}
        elif m.role == "tool":
            if m.tool_call_id not in open_calls:
                continue
        else:
            open_calls = set()
        kept.append(m)
    return kept


def _replayable(run: RunRecord) -> list[Message]:
    """The run's exchange as it can be replayed; empty when it has no answer to replay."""
    if run.answered_by is not None and _has_text(Message("assistant", run.content)):
        # Route mode: the member's answer was returned as written; replay the exchange the user saw.
        return [Message("user", run.input), Message("assistant", run.content)]
    messages = well_formed([m for m in run.messages if m.role != "system" and not m.from_history])
    if not any(m.role == "assistant" and _has_text(m) for m in messages):
        return []  # no answer: replaying the question alone would only confuse the model
    return messages


def _drop_orphans(messages: list[Message]) -> list[Message]:
    """Trim the front of a window so it never starts inside a tool-call group."""
    start = 0
    while start < len(messages) and messages[start].role == "tool":
        start += 1
    return messages[start:]


def _exchanges(runs_newest_first: Iterable[RunRecord], member: str | None) -> Iterator[list[Message]]:
    """The replayable exchange of each completed run of the leader or one member, newest first,
    lazily; runs with nothing to replay are skipped."""
    for run in completed_runs(runs_newest_first, member):
        messages = _replayable(run)
        if messages:
            yield messages


def history_messages(
    runs_newest_first: Iterable[RunRecord],
    *,
    num_runs: int | None = 3,
    num_messages: int | None = None,
    member: str | None = None,
) -> list[Message]:
    """Messages to place between the system message and the new user message, tagged ``from_history``.

    With ``num_messages`` the window is the last that many messages (of however many runs), trimmed
    so it does not begin with a tool result whose call was cut off; otherwise the last ``num_runs``
    runs. The input is consumed lazily, so a long session is read only as far back as needed.
    """
    if num_messages is not None:
        collected: list[Message] = []
        if num_messages > 0:
            for exchange in _exchanges(runs_newest_first, member):
                collected[:0] = exchange
                if len(collected) >= num_messages:
                    break
        window = _drop_orphans(collected[-num_messages:]) if collected else []
    else:
        chosen = list(islice(_exchanges(runs_newest_first, member), num_runs))
        window = [m for exchange in reversed(chosen) for m in exchange]
    return [m.as_history() for m in window]
