"""The values one turn carries: who speaks (``Agent``), what the user sees as it happens
(``Output``), the turn's state (``Turn``) and what it produced (``RunOutput``).

Kept apart from the loop in ``team.py`` so the loop reads as behaviour, not bookkeeping.
Nothing here (nor anywhere in the library) redirects the process's streams: streamed text goes
to the caller's ``on_text``, and what a tool prints is the caller's business (the CLI keeps stdout
for the answer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..messages import RunRecord, Usage
from ..models import Model, OnText
from ..store import SessionStore
from ..tools import ToolDef

ENVELOPE_VERSION = 1
# What a turn does as it happens, for a caller that shows it live (the HTTP server's event stream):
# ``on_event(kind, data)`` with kind "tool_call", "tool_result", "delegation" or "member_done".
OnEvent = Callable[[str, dict[str, Any]], None]
PARAGRAPH = "\n\n"  # joins the parts of an answer: text written before tool calls, route answers


@dataclass
class Agent:
    """A model with what it is told and what it may call: the leader or one member."""

    name: str
    model: Model
    system_message: str
    # Every tool it is offered, by name, in the order offered: delegation, the file's, session tools.
    tools: dict[str, ToolDef] = field(default_factory=dict)
    member_id: str | None = None  # None for the leader
    add_history_to_context: bool = False
    num_history_runs: int | None = 3
    num_history_messages: int | None = None
    max_tokens: int | None = None  # the model's output limit, when the file sets one (named in warnings)
    team: Any = None  # a team among the members (runtime.team.Team): it runs its own loop for a task
    output_schema: dict[str, Any] | None = None  # the JSON Schema its final answer must match

    def tool_schemas(self) -> list[dict[str, Any]]:
        return [t.to_openai() for t in self.tools.values()]


@dataclass
class RunOutput:
    """What a run produced. ``run`` is the live leader run: nothing scrubbed, history included."""

    run: RunRecord
    member_runs: list[RunRecord]
    summary: dict[str, Any] | None = None  # the session's summary after this run (new, or the one kept)
    state: dict[str, Any] = field(default_factory=dict)  # the session's state after this run
    save_error: str | None = None  # the run happened but could not be stored (disk full, lock timeout)
    warnings: list[str] = field(
        default_factory=list
    )  # a cut answer, a route not taken, store damage worked around
    route: str | None = (
        None  # route mode: "member" (a member's answer) or "leader" (the leader answered itself)
    )

    @property
    def content(self) -> str | None:
        return self.run.content

    @property
    def status(self) -> str:
        return self.run.status

    @property
    def ok(self) -> bool:
        return self.run.status == "completed"

    @property
    def usage(self) -> Usage:
        """Tokens and cost of the whole turn: the leader and every member."""
        total = self.run.usage
        for member_run in self.member_runs:
            total = total + member_run.usage
        return total

    def envelope(self, team_id: str, *, new_session: bool) -> dict[str, Any]:
        """The documented JSON document of a turn (README, "JSON output"; version 1, fields only ever
        added): what the CLI's ``--json`` prints and an HTTP API returns."""
        run = self.run
        return {
            "version": ENVELOPE_VERSION,
            "status": run.status,
            "answer": run.content,
            "error": run.error,
            "team_id": team_id,
            "session_id": run.session_id,
            "new_session": new_session,
            "user_id": run.user_id,
            "run_id": run.run_id,
            "member": run.answered_by,
            "route": self.route,
            "truncated": run.truncated,
            "usage": self.usage.to_dict() | {"cost": self.usage.cost, "estimated": self.usage.estimated},
            "duration_s": round(run.duration, 3),
            "summary": self.summary,  # the session summary after this turn; null when summaries are off
            "summary_error": run.summary_error,
            "session_state": self.state,
            "saved": self.save_error is None,
            "save_error": self.save_error,
            "warnings": list(self.warnings),
            "output": run.output,  # the answer parsed as JSON when the team has an output_schema
        }


@dataclass
class Output:
    """Streamed text as the user sees it; paragraph breaks keep it equal to the run's final content."""

    on_text: OnText | None
    pending_break: bool = False  # something was shown since the last break
    parts: list[str] = field(default_factory=list)  # everything shown so far

    @property
    def shown(self) -> str:
        """What the user has seen of the answer (stored with a turn that is interrupted)."""
        return "".join(self.parts).strip()

    def write(self, text: str) -> None:
        if text and self.on_text is not None:
            self.parts.append(text)
            self.on_text(text)
            self.pending_break = True

    def paragraph(self) -> None:
        if self.pending_break and self.on_text is not None:
            self.parts.append(PARAGRAPH)
            self.on_text(PARAGRAPH)
            self.pending_break = False


@dataclass
class Turn:
    session_id: str
    user_id: str
    message: str
    stream: bool
    output: Output
    past_runs: Iterable[RunRecord]  # the session's stored runs, newest first, read only when iterated
    summary: dict[str, Any] | None = None  # the session's stored summary when the turn started
    member_runs: list[RunRecord] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)  # the session's live state: tools change it
    on_event: OnEvent | None = None

    def emit(self, kind: str, data: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(kind, data)


@dataclass
class StoredRuns:
    """A session's stored runs, newest first; iterating reads the store only as far back as consumed."""

    store: SessionStore
    session_id: str
    user_id: str

    def __iter__(self) -> Iterator[RunRecord]:
        return self.store.iter_runs_newest_first(self.session_id, self.user_id)
