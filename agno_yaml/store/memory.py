"""The memory backend: sessions in a dict, gone when the process ends.

For tests and for library users who want no files. It keeps the same rules as every backend
(``rules``): documents are stored as JSON would store them (a copy through ``json``), so a value
that could not be saved to a file fails here too, and nothing a caller holds is shared with the store.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from types import EllipsisType
from typing import Any

from ..messages import RunRecord
from . import StoreBase
from .policy import StorePolicy
from .rules import (
    SearchHit,
    SessionInfo,
    appended_fields,
    changed_fields,
    check_id,
    check_ids,
    check_owner,
    count_turns,
    json_copy,
    match,
    new_session_doc,
    not_found,
    said_in,
    stored_run,
    summary_is,
    taken,
)


class MemoryStore(StoreBase):
    location = "memory:"

    def __init__(self) -> None:
        super().__init__()
        self._sessions: dict[str, dict[str, Any]] = {}
        self._runs: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.RLock()

    def _owned(self, session_id: str, user_id: str) -> dict[str, Any] | None:
        check_ids(session_id, user_id)
        doc = self._sessions.get(session_id)
        if doc is not None:
            check_owner(doc, session_id, user_id)
        return doc

    def get_session(self, session_id: str, user_id: str) -> SessionInfo | None:
        with self._lock:
            doc = self._owned(session_id, user_id)
            return SessionInfo.from_doc(json_copy(doc)) if doc is not None else None

    def append_runs(
        self,
        session_id: str,
        user_id: str,
        team_id: str,
        runs: Sequence[RunRecord],
        *,
        policy: StorePolicy = StorePolicy(),  # noqa: B008 - frozen, so sharing the default is safe
        summary: dict[str, Any] | None = None,
        session_state: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        expected_summary: dict[str, Any] | None | EllipsisType = ...,
        expected_last_run: str | None | EllipsisType = ...,
    ) -> SessionInfo:
        check_ids(session_id, user_id)
        docs = json_copy([stored_run(r, session_id, user_id, team_id, policy) for r in runs])
        fields = json_copy(appended_fields(time.time(), summary, session_state, metadata))
        with self._lock:
            doc = self._owned(session_id, user_id)
            if doc is None:
                doc = new_session_doc(session_id, user_id, team_id, fields["updated_at"])
                self._sessions[session_id] = doc
                self._runs[session_id] = []
            stored = self._runs[session_id]
            newest = stored[-1]["run_id"] if stored else None
            if not summary_is(doc, expected_summary, expected_last_run, newest):
                fields.pop("summary", None)
            stored.extend(docs)
            count_turns(doc, docs)
            doc.update(fields, run_count=len(stored))
            return SessionInfo.from_doc(json_copy(doc))

    def iter_runs_newest_first(self, session_id: str, user_id: str) -> Iterator[RunRecord]:
        with self._lock:
            if self._owned(session_id, user_id) is None:
                return iter(())
            snapshot = list(self._runs[session_id])
        return (RunRecord.from_dict(json_copy(d)) for d in reversed(snapshot))

    def update_session(
        self,
        session_id: str,
        user_id: str,
        *,
        summary: dict[str, Any] | None | EllipsisType = ...,
        session_state: dict[str, Any] | EllipsisType = ...,
        metadata: dict[str, Any] | EllipsisType = ...,
        expected_summary: dict[str, Any] | None | EllipsisType = ...,
    ) -> SessionInfo:
        fields = json_copy(changed_fields(time.time(), summary, session_state, metadata))
        with self._lock:
            doc = self._owned(session_id, user_id)
            if doc is None:
                raise not_found(session_id, user_id)
            if not summary_is(doc, expected_summary):
                fields.pop("summary", None)
            doc.update(fields)
            return SessionInfo.from_doc(json_copy(doc))

    def list_sessions(
        self, user_id: str | None = None, team_id: str | None = None, *, limit: int | None = None
    ) -> list[SessionInfo]:
        if user_id is not None:
            check_id(user_id, "user id")
        with self._lock:
            found = [
                SessionInfo.from_doc(json_copy(doc))
                for doc in self._sessions.values()
                if (user_id is None or doc["user_id"] == user_id)
                and (team_id is None or doc["team_id"] == team_id)
            ]
        found.sort(key=lambda s: (-s.updated_at, s.session_id))
        return found[:limit]

    def search_sessions(
        self,
        user_id: str,
        text: str,
        *,
        team_id: str | None = None,
        limit: int = 20,
        marks: tuple[str, str] = ("[", "]"),
    ) -> list[SearchHit]:
        check_id(user_id, "user id")
        hits: list[SearchHit] = []
        with self._lock:
            for session_id, doc in self._sessions.items():
                if doc["user_id"] != user_id or (team_id is not None and doc["team_id"] != team_id):
                    continue
                numbered = count_turns({}, self._runs[session_id])
                for said in (s for number, run in numbered for s in said_in(number, run)):
                    found = match(said.text, text, marks)
                    if found is not None:
                        hits.append(
                            SearchHit(
                                session_id,
                                doc["team_id"],
                                said.turn,
                                said.role,
                                said.created_at,
                                found[1],
                                found[0],
                            )
                        )
        hits.sort(key=lambda h: (h.score, -h.created_at))
        return hits[:limit]

    def _put_session(self, session: dict[str, Any], runs: list[RunRecord]) -> SessionInfo:
        session_id, user_id = session["session_id"], session["user_id"]
        docs = json_copy(
            [stored_run(r, session_id, user_id, session["team_id"], StorePolicy()) for r in runs]
        )
        with self._lock:
            if session_id in self._sessions:
                raise taken(session_id)
            doc = json_copy(session)
            doc["run_count"] = len(docs)
            self._sessions[session_id] = doc
            self._runs[session_id] = docs
            return SessionInfo.from_doc(json_copy(doc))

    def delete_session(self, session_id: str, user_id: str) -> None:
        with self._lock:
            if self._owned(session_id, user_id) is None:
                raise not_found(session_id, user_id)
            del self._sessions[session_id]
            del self._runs[session_id]
