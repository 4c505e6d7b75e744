"""The rules every backend keeps, in one place: valid ids, who owns a session, what a stored run
and a new session document look like, and the errors a person sees when a rule says no.

A backend calls these inside its own transaction (under its lock), so the check and the read or
write it guards happen together. The contract suite (tests/test_store_contract.py) proves each
backend does.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import SessionError, StoreError, UsageError
from ..messages import RunRecord
from .policy import StorePolicy, scrub_run

SCHEMA_VERSION = 1  # written into every stored document, so a later format can tell old ones apart


@dataclass(frozen=True)
class SessionInfo:
    """A session's own fields (its runs are read separately)."""

    session_id: str
    user_id: str
    team_id: str
    created_at: float
    updated_at: float
    run_count: int
    summary: dict[str, Any] | None
    session_state: dict[str, Any]
    metadata: dict[str, Any]
    schema_version: int
    turn_count: int = 0  # top-level runs: the turns a person had
    first_message: str | None = None  # the user's first message, to recognise the session by

    def public(self) -> dict[str, Any]:
        """The session as ``sessions list --json`` and the HTTP API show it."""
        return {
            "session_id": self.session_id, "user_id": self.user_id, "team_id": self.team_id,
            "created_at": self.created_at, "updated_at": self.updated_at, "turns": self.turn_count,
            "runs": self.run_count, "first_message": self.first_message, "summary": self.summary,
            "session_state": self.session_state,
        }  # fmt: skip

    @property
    def summary_line(self) -> str | None:
        text = str((self.summary or {}).get("summary") or "").strip()
        return text.splitlines()[0] if text else None

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> SessionInfo:
        first = doc.get("first_message")
        return cls(
            turn_count=int(doc.get("turn_count", 0) or 0),
            first_message=first if isinstance(first, str) else None,
            session_id=doc["session_id"],
            user_id=doc["user_id"],
            team_id=doc.get("team_id", ""),
            created_at=float(doc.get("created_at", 0.0)),
            updated_at=float(doc.get("updated_at", 0.0)),
            run_count=int(doc.get("run_count", 0)),
            summary=doc.get("summary"),
            session_state=dict(doc.get("session_state") or {}),
            metadata=dict(doc.get("metadata") or {}),
            schema_version=int(doc.get("schema_version", SCHEMA_VERSION)),
        )


def new_session_id() -> str:
    """``s-YYYYMMDD-HHMMSS-xxxxxx`` (UTC): sorts by creation time, and the random tail makes two
    sessions started in the same second distinct."""
    return "s-" + time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def check_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise SessionError(f"{what} must be a non-empty string, got {value!r}")
    return value


def check_ids(session_id: object, user_id: object) -> None:
    check_id(session_id, "session id")
    check_id(user_id, "user id")


def foreign(session_id: str) -> SessionError:
    # Never name the owner: that alone would leak who uses which session id.
    return SessionError(
        f"session {session_id!r} belongs to another user; "
        "choose another --session id or omit it to start a new one"
    )


def taken(session_id: str) -> UsageError:
    """A session id asked for as new already exists (whoever owns it: named without the owner)."""
    return UsageError(
        f"session {session_id!r} exists already in this store; give it another id (--as NEW_ID), "
        "or delete the existing one first if you mean to replace it"
    )


def not_found(session_id: str, user_id: str) -> SessionError:
    return SessionError(f"session {session_id!r} not found for user {user_id!r}")


def check_owner(doc: Mapping[str, Any], session_id: str, user_id: str) -> None:
    """Refuse unless the stored session document ``doc`` is ``session_id`` owned by ``user_id``."""
    if doc.get("user_id") != user_id or doc.get("session_id") != session_id:
        raise foreign(session_id)


def stored_run(
    run: RunRecord, session_id: str, user_id: str, team_id: str, policy: StorePolicy
) -> dict[str, Any]:
    """The document stored for ``run``: scrubbed by ``policy``, and naming the session, owner and
    team it is stored under whatever the caller set. Readers check ``user_id`` on every run they
    return, and a session document lost to damage is rebuilt from these fields."""
    doc = scrub_run(run.to_dict(), policy)
    doc["session_id"] = session_id
    doc["user_id"] = user_id
    doc["team_id"] = team_id
    doc["schema_version"] = SCHEMA_VERSION
    return doc


def damaged(session_id: str, where: str, reason: str) -> StoreError:
    """The one line for a damaged session: what and where, and the command that repairs it."""
    return StoreError(
        f"session {session_id!r} is damaged: {where}: {reason}; rebuild it from its runs with "
        f"`agno-run sessions repair {shlex.quote(session_id)}` (nothing is deleted)"
    )


@dataclass(frozen=True)
class RepairReport:
    """What ``repair_session`` did: runs kept, run numbers lost, damaged files set aside (kept)."""

    session_id: str
    user_id: str
    runs_kept: int
    runs_lost: tuple[int, ...] = ()
    set_aside: tuple[str, ...] = ()  # damaged files, moved next to the session, never deleted
    repaired: bool = False  # False: there was nothing to repair

    def summary(self) -> str:
        if not self.repaired:
            return f"session {self.session_id!r} is whole: nothing to repair ({self.runs_kept} runs)"
        lost = f"; runs lost: {_ranges(self.runs_lost)}" if self.runs_lost else "; no run lost"
        kept = f"; damaged files kept as {', '.join(self.set_aside)}" if self.set_aside else ""
        return f"session {self.session_id!r} rebuilt from {self.runs_kept} runs{lost}{kept}"


def _ranges(numbers: tuple[int, ...]) -> str:
    """1, 2, 3, 7 -> "1-3, 7": how run numbers are named in messages."""
    parts: list[str] = []
    for n in sorted(numbers):
        if parts and parts[-1].split("-")[-1] == str(n - 1):
            parts[-1] = f"{parts[-1].split('-')[0]}-{n}"
        else:
            parts.append(str(n))
    return ", ".join(parts)


def run_ranges(numbers: Sequence[int]) -> str:
    return _ranges(tuple(numbers))


def new_session_doc(session_id: str, user_id: str, team_id: str, now: float) -> dict[str, Any]:
    """A session document as it is first stored; backends may add fields of their own."""
    return {
        "session_id": session_id,
        "user_id": user_id,
        "team_id": team_id,
        "created_at": now,
        "updated_at": now,
        "summary": None,
        "session_state": {},
        "metadata": {},
        "schema_version": SCHEMA_VERSION,
        "run_count": 0,
        "turn_count": 0,
        "first_message": None,
    }


def count_turns(
    doc: dict[str, Any], runs: Sequence[Mapping[str, Any]]
) -> list[tuple[int, Mapping[str, Any]]]:
    """Number the top-level runs among ``runs`` after the session's turns so far, and update the
    session document's ``turn_count`` and ``first_message``; the (turn number, run) pairs."""
    numbered: list[tuple[int, Mapping[str, Any]]] = []
    turns = int(doc.get("turn_count", 0) or 0)
    for run in runs:
        if run.get("parent_run_id") is None:
            turns += 1
            numbered.append((turns, run))
            if doc.get("first_message") is None and isinstance(run.get("input"), str):
                doc["first_message"] = run["input"]
    doc["turn_count"] = turns
    return numbered


@dataclass(frozen=True)
class Said:
    """One thing said in a turn, as the user saw it: their message, or the answer."""

    turn: int
    role: str  # "user" or "assistant"
    text: str
    created_at: float


def said_in(turn: int, run: Mapping[str, Any]) -> list[Said]:
    """What a top-level run said: the user's message, and the answer when there is one."""
    when = float(run.get("created_at", 0.0) or 0.0)
    found = [Said(turn, "user", str(run.get("input") or ""), when)]
    if isinstance(run.get("content"), str) and run["content"].strip():
        found.append(Said(turn, "assistant", run["content"], when))
    return found


@dataclass(frozen=True)
class SearchHit:
    """One place a search matched: the session, the turn, who said it, and the text with the hits marked."""

    session_id: str
    team_id: str
    turn: int
    role: str
    created_at: float
    snippet: str
    score: float  # lower is a better match


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def match(text: str, query: str, marks: tuple[str, str] = ("[", "]")) -> tuple[float, str] | None:
    """Whether every word of ``query`` is a word of ``text`` (case and accents ignored), as (score,
    text with the matching words marked); None when one is missing. For backends without a text index."""
    wanted = {_fold(w) for w in re.findall(r"\w+", query)}
    if not wanted:
        return None
    spans = [m for m in re.finditer(r"\w+", text) if _fold(m.group()) in wanted]
    if {_fold(m.group()) for m in spans} != wanted:
        return None
    out, last = [], 0
    for m in spans:
        out += [text[last : m.start()], marks[0], m.group(), marks[1]]
        last = m.end()
    out.append(text[last:])
    return -float(len(spans)) / (1 + len(text) / 200), "".join(out)


def summary_is(
    doc: Mapping[str, Any], expected: Any, last_run: Any = ..., stored_last_run: str | None = None
) -> bool:
    """The stored summary is still ``expected`` and the newest stored run still ``last_run`` (``...``:
    no condition). A summary is written only if it was built on what is stored, so two turns at
    once never lose each other's runs."""
    if last_run is not ... and last_run != stored_last_run:
        return False
    return expected is ... or doc.get("summary") == expected


def json_copy(value: Any) -> Any:
    """What JSON keeps of ``value``, as every backend stores it: a value JSON cannot hold fails here,
    and nothing a caller holds is shared with the store."""
    return json.loads(json.dumps(value))


def appended_fields(
    now: float,
    summary: dict[str, Any] | None,
    session_state: dict[str, Any] | None,
    metadata: dict[str, Any] | None,
) -> dict[str, Any]:
    """The session fields an append writes: as ``changed_fields``, with None meaning "unchanged"
    (``append_runs`` takes None for a value not given)."""
    return changed_fields(
        now,
        ... if summary is None else summary,
        ... if session_state is None else session_state,
        ... if metadata is None else metadata,
    )


def changed_fields(
    now: float,
    summary: Any = ...,
    session_state: Any = ...,
    metadata: Any = ...,
) -> dict[str, Any]:
    """The session fields an update writes: ``updated_at`` and each given value (``...``: unchanged)."""
    fields: dict[str, Any] = {"updated_at": now}
    if summary is not ...:
        fields["summary"] = summary
    if session_state is not ...:
        fields["session_state"] = dict(session_state or {})
    if metadata is not ...:
        fields["metadata"] = dict(metadata or {})
    return fields
