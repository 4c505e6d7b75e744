"""Copy sessions from one store to another: how a user moves from TinyDB files to PostgreSQL.

    from agno_yaml.store import open_store
    from agno_yaml.store.copy import copy_sessions
    report = copy_sessions(open_store(None, "old-dir"), open_store(None, "postgresql://..."))
    print(report.summary())   # copied 12 sessions (340 runs), 3 already there, 0 conflicts

Each session goes whole or not at all: exported from the source and imported into the target,
which stores an import in one step. A session the target already holds, identical (the same runs
in the same order, the same team, summary, state and metadata), is skipped; so a copy cut short
(killed at any point) is finished by running it again, and nothing is ever stored twice. A session
the target holds differently, or that is another user's there, is a conflict: never overwritten,
reported with the reason. A session that cannot be copied (damaged in the source, refused by the
target) is reported with its error and does not stop the others.

A PostgreSQL target imports each session in one transaction, so a killed copy leaves nothing half
there. A TinyDB import killed between writing the runs and the session file leaves the runs, from
which the store rebuilds the session without its summary, state and metadata: that session is a
conflict, named as such with the fix (delete it there and copy again), never silently skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..errors import AgnoYamlError, SessionError
from . import SessionStore
from .rules import SessionInfo

Outcome = Literal["copied", "skipped", "conflict", "failed"]
_COMPARED = ("team_id", "summary", "session_state", "metadata")  # besides the runs


@dataclass(frozen=True)
class SessionCopy:
    """What happened to one session."""

    session_id: str
    user_id: str
    outcome: Outcome
    runs: int  # runs of the source's session (0 when it could not be read)
    reason: str = ""  # why it is a conflict, or the error that failed it

    def line(self) -> str:
        """The one line a person sees for a conflict or a failure."""
        return f"{self.outcome}: session {self.session_id!r} of user {self.user_id!r}: {self.reason}"


@dataclass
class CopyReport:
    """Every session of a copy, by outcome (each list in the order the sessions were copied)."""

    source: str
    target: str
    copied: list[SessionCopy] = field(default_factory=list)
    skipped: list[SessionCopy] = field(default_factory=list)  # already in the target, identical
    conflicts: list[SessionCopy] = field(default_factory=list)  # in the target differently: left alone
    failed: list[SessionCopy] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing conflicted and nothing failed: the target holds every session of the source."""
        return not self.conflicts and not self.failed

    def add(self, result: SessionCopy) -> None:
        {"copied": self.copied, "skipped": self.skipped, "conflict": self.conflicts, "failed": self.failed}[
            result.outcome
        ].append(result)

    def summary(self) -> str:
        runs = sum(c.runs for c in self.copied)
        text = (
            f"copied {_count(len(self.copied), 'session')} ({_count(runs, 'run')}), "
            f"{len(self.skipped)} already there, {_count(len(self.conflicts), 'conflict')}"
        )
        return text + (f", {len(self.failed)} failed" if self.failed else "")

    def to_dict(self) -> dict[str, Any]:
        """The report as ``sessions copy --json`` prints it."""
        return {
            "source": self.source,
            "target": self.target,
            "ok": self.ok,
            "summary": self.summary(),
            **{
                name: [asdict(c) for c in getattr(self, name)]
                for name in ("copied", "skipped", "conflicts", "failed")
            },
        }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def copy_sessions(
    source: SessionStore,
    target: SessionStore,
    user_id: str | None = None,
    *,
    on_session: Callable[[SessionCopy], None] | None = None,
) -> CopyReport:
    """Copy every session of ``source`` (of ``user_id`` only, when given) that ``target`` lacks.

    ``on_session`` is called with each session's outcome as soon as it is known (to report
    progress). Raises only when the source cannot be listed or the target cannot be written at all
    (``check_writable``); anything about one session is in the report.
    """
    target.check_writable()
    found = source.list_sessions(user_id)
    # Oldest first: a long copy that is cut short has the oldest sessions done, and the order is stable.
    found.sort(key=lambda s: (s.created_at, s.user_id, s.session_id))
    report = CopyReport(source.location, target.location)
    for info in found:
        result = _copy_one(source, target, info)
        report.add(result)
        if on_session is not None:
            on_session(result)
    return report


def _copy_one(source: SessionStore, target: SessionStore, info: SessionInfo) -> SessionCopy:
    session_id, user_id = info.session_id, info.user_id

    def outcome(kind: Outcome, runs: int, reason: str = "") -> SessionCopy:
        return SessionCopy(session_id, user_id, kind, runs, reason)

    try:
        document = source.export_session(session_id, user_id)
    except Exception as e:  # one session's trouble is reported, and the others go on
        return outcome("failed", 0, f"cannot read it from the source: {_error_line(e)}")
    runs = len(document["runs"])
    try:
        difference = _difference(target, document)
        if difference is None:
            return outcome("skipped", runs)
        if difference:
            return outcome("conflict", runs, difference)
        try:
            target.import_session(document, user_id)
        except Exception as e:
            # Someone stored it meanwhile (another copy running): judge what is there now.
            difference = _difference(target, document)
            if difference is None:
                return outcome("skipped", runs)
            if difference:
                return outcome("conflict", runs, difference)
            raise e
        return outcome("copied", runs)
    except Exception as e:
        return outcome("failed", runs, f"cannot store it in the target: {_error_line(e)}")


def _difference(target: SessionStore, document: dict[str, Any]) -> str | None:
    """How the target's session of this id differs from the exported one: "" when the target has
    none, None when it holds the same, else the reason (a conflict)."""
    session = document["session"]
    session_id, user_id = session["session_id"], session["user_id"]
    try:
        there = target.get_session(session_id, user_id)
    except SessionError:
        return "the target has a session with this id of another user; left as it is"
    if there is None:
        return ""
    wanted = [r["run_id"] for r in document["runs"]]
    held = [r.run_id for r in target.runs(session_id, user_id)]
    n, m = len(held), len(wanted)
    replace = "left as it is: to replace it, delete it there (agno-run sessions delete) and copy again"
    if held != wanted and held == wanted[:n]:
        return f"the target holds an older copy ({n} of its {m} runs); {replace}"
    if held != wanted and held[:m] == wanted:
        return f"the target's copy went on ({_count(n, 'run')}, the first {m} of them these); left as it is"
    if held != wanted:
        return f"the target holds another session with this id ({_count(n, 'run')}, not these {m}); left as it is"
    differs = [name for name in _COMPARED if getattr(there, name) != session.get(name)]
    if not differs:
        return None
    fields = ", ".join(differs)
    if there.summary is None and not there.session_state and not there.metadata:
        # What a store that rebuilt a half-imported session from its runs holds.
        return f"the target's copy has the same runs but lacks its {fields} (as a copy cut short can leave it); {replace}"
    return f"the target's copy has the same runs but another {fields}; left as it is"


def _error_line(error: Exception) -> str:
    """The error in one line: ours as they are (they are written for people), others with their type."""
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(error, AgnoYamlError) and first:
        return first
    return f"{type(error).__name__}: {first}" if first else type(error).__name__
