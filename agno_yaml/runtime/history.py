"""Which earlier messages of a session a model sees: pure functions over stored runs.

Rules (Agno's, plus its fixes): only completed runs are replayed, never failed or cancelled ones;
the leader sees only top-level runs, a member only its own runs; system messages and copies of
older history are never replayed; a tool call is never separated from its results; a route-mode
run replays as the question and the answer the user got, not the delegation plumbing.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

from ..messages import Message, RunRecord, completed_runs


def _replayable(run: RunRecord) -> list[Message]:
    if run.answered_by is not None and run.content is not None:
        # Route mode: the member's answer was returned as written; replay the exchange the user saw.
        return [Message("user", run.input), Message("assistant", run.content)]
    return [m for m in run.messages if m.role != "system" and not m.from_history]


def _drop_orphans(messages: list[Message]) -> list[Message]:
    """Trim the front of a window so it never starts inside a tool-call group."""
    start = 0
    while start < len(messages) and messages[start].role == "tool":
        start += 1
    return messages[start:]


def select_runs(
    runs_newest_first: Iterable[RunRecord], *, num_runs: int | None, member: str | None = None
) -> list[RunRecord]:
    """The last ``num_runs`` completed runs of the leader (member None) or of one member, oldest first.

    The input is consumed lazily, so a long session is read only as far back as needed.
    """
    chosen = list(islice(completed_runs(runs_newest_first, member), num_runs))
    chosen.reverse()
    return chosen


def history_messages(
    runs_newest_first: Iterable[RunRecord],
    *,
    num_runs: int | None = 3,
    num_messages: int | None = None,
    member: str | None = None,
) -> list[Message]:
    """Messages to place between the system message and the new user message, tagged ``from_history``.

    With ``num_messages`` the window is the last that many messages (of however many runs), trimmed
    so it does not begin with a tool result whose call was cut off; otherwise the last ``num_runs`` runs.
    """
    if num_messages is not None:
        collected: list[Message] = []
        if num_messages > 0:
            for run in completed_runs(runs_newest_first, member):
                collected[:0] = _replayable(run)
                if len(collected) >= num_messages:
                    break
        window = _drop_orphans(collected[-num_messages:]) if collected else []
    else:
        window = [
            m
            for run in select_runs(runs_newest_first, num_runs=num_runs, member=member)
            for m in _replayable(run)
        ]
    return [m.as_history() for m in window]
