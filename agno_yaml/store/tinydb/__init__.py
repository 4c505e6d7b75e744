"""The TinyDB backend: the only code that reads or writes session files.

Layout under the store root (every ``*.json`` is a TinyDB database stock ``tinydb.TinyDB`` opens)::

    sessions/<enc session_id>/session.json       table "session": one document (doc id 1)
    sessions/<enc session_id>/runs-000000.json   table "runs": the first runs, doc id = run number (1-based)
    sessions/<enc session_id>/runs-000001.json   ... a new segment every 32 runs or 64 KB
    sessions/<enc session_id>/.lock              held for every read-modify-write of this session
    users/<enc user_id>.json                     table "sessions": one document per session of the user
    users/<enc user_id>.json.lock

Segments live in ``segments``, the per-user index in ``user_index``, atomic files and locks in
``files``; this module owns the session document, the locking order and the store protocol's
methods. Ownership and the stored form of runs are the shared rules of ``store.rules``.

Why this shape: TinyDB reads and rewrites a whole file per operation, so the cost of an operation
is the size of the files it touches. One directory per session keeps a save independent of how
many sessions exist; splitting runs into bounded segments keeps it independent of how long the
session is (append = rewrite the small session document + the last segment), and reading recent
history parses only the last segment(s). Runs are appended once and never rewritten.

Crash order: segments are written before ``session.json``. The segments are the truth for runs;
``run_count`` and ``last_segment`` in ``session.json`` are hints that the next append repairs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from types import EllipsisType
from typing import Any, TypeVar

from tinydb.table import Document

from ...errors import SessionError, StoreError, UsageError
from ...messages import RunRecord
from .. import StoreBase
from ..policy import StorePolicy
from ..rules import (
    SessionInfo,
    changed_fields,
    check_id,
    check_ids,
    check_owner,
    foreign,
    new_session_doc,
    not_found,
    stored_run,
)
from .files import encode_id, locked, open_db
from .segments import SEGMENT_BYTES, SEGMENT_RUNS, last_segment, read_segment, write_runs
from .user_index import index_add, index_remove, indexed_session_ids, user_file

T = TypeVar("T")

SESSION_TABLE = "session"
SESSION_DOC_ID = 1


class TinyDBStore(StoreBase):
    """Sessions on disk. Every method opens the files it needs and closes them again: no handle
    outlives a call, so nothing cached (TinyDB's next id, query cache) can go stale when another
    process writes."""

    def __init__(self, root: str | os.PathLike[str], *, lock_timeout: float = 10.0) -> None:
        self.root = os.path.abspath(os.fspath(root))
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            # Found when the store is opened, before any model is paid for.
            raise UsageError(
                f"the session store {self.root} is a file, not a directory; give --db a directory"
            )
        self.location = self.root
        self.lock_timeout = lock_timeout
        self.sessions_dir = os.path.join(self.root, "sessions")
        self.users_dir = os.path.join(self.root, "users")

    # ---- paths -------------------------------------------------------------------------------

    def session_dir(self, session_id: str) -> str:
        return os.path.join(self.sessions_dir, encode_id(session_id))

    def user_file(self, user_id: str) -> str:
        return user_file(self.users_dir, user_id)

    @staticmethod
    def _session_file(sdir: str) -> str:
        return os.path.join(sdir, "session.json")

    # ---- low level ---------------------------------------------------------------------------

    def _read_session_doc(self, sdir: str) -> dict[str, Any] | None:
        with open_db(self._session_file(sdir), "pretty") as db:
            doc = db.table(SESSION_TABLE).get(doc_id=SESSION_DOC_ID)
        return dict(doc) if doc is not None else None

    def _owned_doc(self, session_id: str, user_id: str) -> dict[str, Any] | None:
        """The session document if it exists and is ``user_id``'s; SessionError if it is someone else's."""
        check_ids(session_id, user_id)
        sdir = self.session_dir(session_id)
        if not os.path.isdir(sdir):
            return None
        doc = self._read_session_doc(sdir)
        if doc is not None:
            check_owner(doc, session_id, user_id)
        return doc

    def _clear_leftovers(self, sdir: str) -> None:
        """Files in a session directory that has no session.json belong to nobody (a delete or a
        first save that was killed half way): remove them so a new owner never inherits runs."""
        for entry in os.scandir(sdir):
            if entry.name.startswith(("runs-", ".tmp-")) and entry.name.endswith(".json"):
                os.unlink(entry.path)

    # ---- public API --------------------------------------------------------------------------

    def get_session(self, session_id: str, user_id: str) -> SessionInfo | None:
        doc = self._guard(lambda: self._owned_doc(session_id, user_id), session_id)
        return SessionInfo.from_doc(doc) if doc is not None else None

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
    ) -> SessionInfo:
        """Append ``runs`` in order (creating the session, owned by ``user_id``, on first use).
        ``summary``/``session_state``/``metadata`` replace the stored values when given."""
        check_ids(session_id, user_id)
        # Encode before taking the lock: the lock is held only for file work.
        docs = [stored_run(r, session_id, user_id, policy) for r in runs]
        sdir = self.session_dir(session_id)

        def work() -> SessionInfo:
            os.makedirs(sdir, exist_ok=True)
            with locked(os.path.join(sdir, ".lock"), f"session {session_id!r}", self.lock_timeout):
                path = self._session_file(sdir)
                with open_db(path, "pretty") as db:
                    table = db.table(SESSION_TABLE)
                    found = table.get(doc_id=SESSION_DOC_ID)
                    now = time.time()
                    if found is None:
                        self._clear_leftovers(sdir)
                        # Index first: a session that exists is always listed; an index entry
                        # without a session is skipped by readers.
                        index_add(
                            self.user_file(user_id),
                            user_id,
                            session_id,
                            team_id,
                            now,
                            lock_timeout=self.lock_timeout,
                        )
                        doc = new_session_doc(session_id, user_id, team_id, now)
                        doc.update(last_segment=0, segment_runs=SEGMENT_RUNS, segment_bytes=SEGMENT_BYTES)
                    else:
                        doc = dict(found)
                        check_owner(doc, session_id, user_id)
                    count, last = write_runs(sdir, doc, docs)
                    fields = changed_fields(
                        now,
                        ... if summary is None else summary,
                        ... if session_state is None else session_state,
                        ... if metadata is None else metadata,
                    )
                    fields.update(run_count=count, last_segment=last)
                    doc.update(fields)
                    if found is None:
                        table.insert(Document(doc, doc_id=SESSION_DOC_ID))
                    else:
                        table.update(fields, doc_ids=[SESSION_DOC_ID])
                    return SessionInfo.from_doc(doc)

        return self._guard(work, session_id)

    def iter_runs_newest_first(self, session_id: str, user_id: str) -> Iterator[RunRecord]:
        """Runs from the newest back, parsing one segment at a time and only when the caller gets
        that far. Ownership is checked now, not on the first ``next()``."""
        doc = self._guard(lambda: self._owned_doc(session_id, user_id), session_id)
        if doc is None:
            return iter(())
        sdir = self.session_dir(session_id)
        last = last_segment(sdir, int(doc.get("last_segment", 0)))
        return self._iter_back(sdir, last, session_id, user_id)

    def _iter_back(self, sdir: str, last: int, session_id: str, user_id: str) -> Iterator[RunRecord]:
        for index in range(last, -1, -1):

            def read(i: int = index) -> list[Document]:
                return read_segment(sdir, i)

            for doc in reversed(self._guard(read, session_id)):
                # Reads take no lock; if the session was deleted and re-created by someone else
                # meanwhile, its runs carry another owner: never hand them out.
                if doc.get("user_id") != user_id:
                    raise foreign(session_id)
                yield RunRecord.from_dict(doc)

    def update_session(
        self,
        session_id: str,
        user_id: str,
        *,
        summary: dict[str, Any] | None | EllipsisType = ...,
        session_state: dict[str, Any] | EllipsisType = ...,
        metadata: dict[str, Any] | EllipsisType = ...,
    ) -> SessionInfo:
        """Replace the given fields (``...`` leaves one unchanged; ``summary=None`` clears it)."""
        check_ids(session_id, user_id)
        sdir = self.session_dir(session_id)

        def work() -> SessionInfo:
            if not os.path.isdir(sdir):
                raise not_found(session_id, user_id)
            lock = os.path.join(sdir, ".lock")
            with (
                locked(lock, f"session {session_id!r}", self.lock_timeout),
                open_db(self._session_file(sdir), "pretty") as db,
            ):
                table = db.table(SESSION_TABLE)
                found = table.get(doc_id=SESSION_DOC_ID)
                if found is None:
                    raise not_found(session_id, user_id)
                check_owner(found, session_id, user_id)
                fields = changed_fields(time.time(), summary, session_state, metadata)
                table.update(fields, doc_ids=[SESSION_DOC_ID])
                return SessionInfo.from_doc({**found, **fields})

        return self._guard(work, session_id)

    def list_sessions(self, user_id: str | None = None, team_id: str | None = None) -> list[SessionInfo]:
        """Newest updated first. With a user, only that user's index and sessions are read."""

        def work() -> list[SessionInfo]:
            if user_id is not None:
                check_id(user_id, "user id")
                ids = indexed_session_ids(self.user_file(user_id), user_id)
                dirs = [self.session_dir(s) for s in ids]
            elif os.path.isdir(self.sessions_dir):
                dirs = [e.path for e in os.scandir(self.sessions_dir) if e.is_dir()]
            else:
                dirs = []
            found: list[SessionInfo] = []
            for sdir in dirs:
                if not os.path.isdir(sdir):
                    continue
                doc = self._read_session_doc(sdir)
                # The index is only a pointer: the session document decides who owns what.
                if doc is None or (user_id is not None and doc.get("user_id") != user_id):
                    continue
                if team_id is not None and doc.get("team_id") != team_id:
                    continue
                found.append(SessionInfo.from_doc(doc))
            found.sort(key=lambda s: (-s.updated_at, s.session_id))
            return found

        return self._guard(work, None)

    def delete_session(self, session_id: str, user_id: str) -> None:
        """Remove the session's data. The directory and its ``.lock`` stay: deleting a lock file
        another process may be waiting on would let a third process lock a fresh file and both
        would think they hold the lock."""
        check_ids(session_id, user_id)
        sdir = self.session_dir(session_id)

        def work() -> None:
            if not os.path.isdir(sdir):
                raise not_found(session_id, user_id)
            with locked(os.path.join(sdir, ".lock"), f"session {session_id!r}", self.lock_timeout):
                doc = self._read_session_doc(sdir)
                if doc is None:
                    raise not_found(session_id, user_id)
                check_owner(doc, session_id, user_id)
                # session.json first: from that instant the session does not exist for anyone,
                # and whatever a crash leaves behind is cleared by the next first save.
                os.unlink(self._session_file(sdir))
                self._clear_leftovers(sdir)
                index_remove(self.user_file(user_id), user_id, session_id, lock_timeout=self.lock_timeout)

        self._guard(work, session_id)

    # ---- errors ------------------------------------------------------------------------------

    @staticmethod
    def _guard(fn: Callable[[], T], session_id: str | None) -> T:
        """Turn filesystem failures into one-line StoreErrors; our own errors pass through."""
        try:
            return fn()
        except (SessionError, StoreError):
            raise
        except OSError as e:
            where = f" for session {session_id!r}" if session_id is not None else ""
            target = e.filename or "the session store"
            raise StoreError(f"cannot access {target}{where}: {e.strerror or e}") from e
