"""The TinyDB backend: the only code that reads or writes session files.

Layout under the store root (every ``*.json`` is a TinyDB database stock ``tinydb.TinyDB`` opens)::

    sessions/<enc session_id>/session.json       table "session": one document (doc id 1)
    sessions/<enc session_id>/runs-000000.json   table "runs": the first runs, doc id = run number (1-based)
    sessions/<enc session_id>/runs-000001.json   ... a new segment every 32 runs or 64 KB
    sessions/<enc session_id>/.lock              held for every read-modify-write of this session
    sessions/<enc session_id>/damaged/           damaged files a repair set aside (never deleted)
    index.sqlite3                                derived index: each user's sessions, full-text search

Segments live in ``segments``, the session document in ``sessiondoc``, rebuilding in ``repair``,
the index in ``index`` (and the listing and search that read it in ``catalogue``), atomic files
and locks in ``files``; this module owns the locking order and the store protocol's other methods. Ownership and the stored form of runs are the
shared rules of ``store.rules``.

Why this shape: TinyDB reads and rewrites a whole file per operation, so the cost of an operation
is the size of the files it touches. One directory per session keeps a save independent of how
many sessions exist; splitting runs into bounded segments keeps it independent of how long the
session is (append = rewrite the small session document + the last segment), and reading recent
history parses only the last segment(s). Runs are appended once and never rewritten.

Crash order: a turn's runs are written in one segment write, before ``session.json``. The segments
are the truth for runs; ``session.json`` counters are hints that the next append repairs, and a
session whose ``session.json`` is lost is rebuilt from its runs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from types import EllipsisType
from typing import Any, TypeVar

from ...errors import StoreError, UsageError
from ...messages import RunRecord
from ..documents import DamagedDocument, parse_run
from ..policy import StorePolicy
from ..rules import (
    RepairReport,
    SessionInfo,
    appended_fields,
    changed_fields,
    check_ids,
    check_owner,
    count_turns,
    foreign,
    new_session_doc,
    not_found,
    run_ranges,
    said_in,
    stored_run,
    summary_is,
    taken,
)
from .catalogue import IndexedSessions, guarded
from .files import TEMP_PREFIX, AtomicJSONStorage, encode_id, locked
from .index import SessionIndex
from .repair import rebuild
from .segments import (
    RUNS_TABLE,
    SEGMENT_BYTES,
    SEGMENT_RUNS,
    Segment,
    read_segment,
    segment_file,
    segment_indices,
    write_turn,
)
from .sessiondoc import (
    DELETE_MARKER,
    being_deleted,
    read_doc,
    session_file,
    write_doc,
)

T = TypeVar("T")


class TinyDBStore(IndexedSessions):
    """Sessions on disk. Every method opens the files it needs and closes them again: no handle
    outlives a call, so nothing cached can go stale when another process writes."""

    def __init__(self, root: str | os.PathLike[str], *, lock_timeout: float = 10.0) -> None:
        super().__init__()
        self.root = os.path.abspath(os.fspath(root))
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            # Found when the store is opened, before any model is paid for.
            raise UsageError(
                f"the session store {self.root} is a file, not a directory; give --db a directory"
            )
        self.location = self.root
        self.lock_timeout = lock_timeout
        self.sessions_dir = os.path.join(self.root, "sessions")
        self.index = SessionIndex(self.root, timeout=lock_timeout)

    # ---- paths and locks ---------------------------------------------------------------------

    def session_dir(self, session_id: str) -> str:
        return os.path.join(self.sessions_dir, encode_id(session_id))

    def _locked(self, sdir: str, session_id: str) -> contextlib.AbstractContextManager[None]:
        return locked(os.path.join(sdir, ".lock"), f"session {session_id!r}", self.lock_timeout)

    def check_writable(self) -> None:
        """Refuse before a turn when the store cannot be written (read-only disk, no permission):
        a file is created and removed where the store is, or where it will be created."""
        target = self.root
        while not os.path.isdir(target) and os.path.dirname(target) != target:
            target = os.path.dirname(target)
        try:
            with tempfile.TemporaryFile(dir=target, prefix=TEMP_PREFIX):
                pass
        except OSError as e:
            raise StoreError(
                f"the session store {self.root} cannot be written ({target}: {e.strerror or e}); "
                "give --db a directory you can write, or fix its permissions"
            ) from None

    # ---- reading a session -------------------------------------------------------------------

    def _owned_doc(self, session_id: str, user_id: str) -> dict[str, Any] | None:
        """The session document if it exists and is ``user_id``'s; SessionError if it is another
        user's. A session whose document was lost but whose runs remain is rebuilt first."""
        check_ids(session_id, user_id)
        sdir = self.session_dir(session_id)
        if not os.path.isdir(sdir):
            return None
        doc = read_doc(sdir, session_id)
        if doc is None and not being_deleted(sdir) and segment_indices(sdir):
            with self._locked(sdir, session_id):
                doc = read_doc(sdir, session_id)
                if doc is None and not being_deleted(sdir) and segment_indices(sdir):
                    doc = self._auto_repair(sdir, session_id, user_id)
        if doc is not None:
            check_owner(doc, session_id, user_id)
        return doc

    def _auto_repair(self, sdir: str, session_id: str, user_id: str) -> dict[str, Any]:
        doc, report = rebuild(sdir, session_id, user_id, None)
        self._reindex(sdir, doc)
        self.warn(f"session {session_id!r} had lost its session.json; {report.summary().split(' ', 2)[2]}")
        return doc

    def get_session(self, session_id: str, user_id: str) -> SessionInfo | None:
        doc = guarded(lambda: self._owned_doc(session_id, user_id), session_id)
        return SessionInfo.from_doc(doc) if doc is not None else None

    def iter_runs_newest_first(self, session_id: str, user_id: str) -> Iterator[RunRecord]:
        """Runs from the newest back, parsing one segment at a time and only when the caller gets
        that far. Ownership is checked now, not on the first ``next()``. Runs that cannot be read
        are skipped with a warning naming the file and the run numbers."""
        doc = guarded(lambda: self._owned_doc(session_id, user_id), session_id)
        if doc is None:
            return iter(())
        sdir = self.session_dir(session_id)
        indices = guarded(lambda: segment_indices(sdir), session_id)
        return self._iter_back(sdir, indices, doc, user_id)

    def _iter_back(
        self, sdir: str, indices: list[int], doc: dict[str, Any], user_id: str
    ) -> Iterator[RunRecord]:
        session_id = doc["session_id"]
        known_lost = set(doc.get("lost_runs") or [])
        # Run numbers are given in order, so the numbers between one segment's last run and the
        # next segment's first (or the last number given) belong to runs that cannot be read.
        above = int(doc.get("last_run_number", 0))
        for index in reversed(indices):

            def read(i: int = index) -> Segment:
                return read_segment(sdir, i)

            segment = guarded(read, session_id)
            top = max(segment.runs, default=0)
            unread = [n for n in range(top + 1, above + 1) if n not in known_lost] if segment.runs else []
            if segment.damage is not None or unread:
                self._report_segment(segment, unread, session_id)
            for number in reversed(segment.runs):
                raw = segment.runs[number]
                if isinstance(raw.get("user_id"), str) and raw["user_id"] != user_id:
                    # Reads take no lock: if the session was deleted and re-created by someone else
                    # meanwhile, its runs carry another owner. Never hand them out.
                    raise foreign(session_id)
                try:
                    run = parse_run(raw)
                except DamagedDocument as e:
                    if number not in known_lost:
                        self.warn(f"{segment.path}: run {number} is damaged ({e}); it is skipped")
                    continue
                yield run
            if segment.runs:
                above = min(segment.runs) - 1

    def _report_segment(self, segment: Segment, unread: list[int], session_id: str) -> None:
        if segment.damage is not None:
            what = f"{segment.path} is damaged ({segment.damage})"
        else:
            what = f"runs are missing after those in {segment.path}"
        lost = f"; runs {run_ranges(unread)} are lost" if unread else ""
        self.warn(
            f"{what}{lost}; `agno-run sessions repair {session_id}` sets damaged files aside and rebuilds it"
        )

    # ---- writing, deleting -----------------------------------------------------------------------------

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
        """Append ``runs`` in order, all or none (one segment write), creating the session (owned by
        ``user_id``) on first use; ``summary``/``session_state``/``metadata`` replace the stored ones
        (the summary only if it is still current, see the protocol)."""
        check_ids(session_id, user_id)
        # Encode before taking the lock: the lock is held only for file work.
        docs = [stored_run(r, session_id, user_id, team_id, policy) for r in runs]
        sdir = self.session_dir(session_id)

        def work() -> SessionInfo:
            os.makedirs(sdir, exist_ok=True)
            with self._locked(sdir, session_id):
                self._tidy(sdir)
                now = time.time()
                doc = read_doc(sdir, session_id)
                if doc is None and segment_indices(sdir):
                    doc = self._auto_repair(sdir, session_id, user_id)
                if doc is None:
                    doc = new_session_doc(session_id, user_id, team_id, now)
                    doc.update(segment_runs=SEGMENT_RUNS, segment_bytes=SEGMENT_BYTES)
                check_owner(doc, session_id, user_id)
                if "turn_count" not in doc:  # written before turns were counted: count them once
                    self._said(sdir, doc)
                turns_before = int(doc["turn_count"])
                said = [s for number, run in count_turns(doc, docs) for s in said_in(number, run)]
                if not doc.get("team_id"):
                    doc["team_id"] = team_id  # rebuilt from runs that did not name their team
                indices = segment_indices(sdir)
                last = read_segment(sdir, indices[-1]) if indices else None
                newest = last.runs[last.last_id].get("run_id") if last is not None and last.runs else None
                current = summary_is(doc, expected_summary, expected_last_run, newest)
                new_summary = summary if current else None  # else the caller builds it again
                if docs:
                    # A turn killed after its segment write and before session.json left the counters
                    # behind the segment: catch up, so numbers are never reused and counts stay true.
                    known = int(doc.get("last_run_number", doc.get("run_count", 0)))
                    behind = max(0, (last.last_id if last else 0) - known)
                    index, last_number = write_turn(
                        sdir, last, known + behind + 1, docs,
                        max_runs=int(doc.get("segment_runs", SEGMENT_RUNS)),
                        max_bytes=int(doc.get("segment_bytes", SEGMENT_BYTES)),
                    )  # fmt: skip
                    doc.update(
                        run_count=int(doc.get("run_count", 0)) + behind + len(docs),
                        last_run_number=last_number,
                        last_segment=index,
                    )
                doc.update(appended_fields(now, new_summary, session_state, metadata))
                write_doc(sdir, doc)
                # The index follows the files; one that missed a turn (a kill between the two) is caught up.
                if not self._indexing(lambda: self.index.put(doc, said, after=turns_before)):
                    self._reindex(sdir, doc)
                return SessionInfo.from_doc(doc)

        return guarded(work, session_id)

    def _tidy(self, sdir: str) -> None:
        """Under the session's lock: finish a delete that was killed half way, and remove the
        temporary files of killed writers (no live writer of this session exists now)."""
        if being_deleted(sdir):
            self._remove_session_files(sdir)
        with os.scandir(sdir) as entries:
            for entry in entries:
                if entry.name.startswith(TEMP_PREFIX):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)

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
        """Replace the given fields (``...`` leaves one unchanged; ``summary=None`` clears it); the
        summary only if the stored one is still ``expected_summary`` (when given)."""
        check_ids(session_id, user_id)
        sdir = self.session_dir(session_id)

        def work() -> SessionInfo:
            if not os.path.isdir(sdir):
                raise not_found(session_id, user_id)
            with self._locked(sdir, session_id):
                doc = read_doc(sdir, session_id)
                if doc is None:
                    raise not_found(session_id, user_id)
                check_owner(doc, session_id, user_id)
                fields = changed_fields(time.time(), summary, session_state, metadata)
                if not summary_is(doc, expected_summary):
                    fields.pop("summary", None)
                doc.update(fields)
                write_doc(sdir, doc)
                self._indexing(lambda: self.index.put(doc, []))
                return SessionInfo.from_doc(doc)

        return guarded(work, session_id)

    def repair_session(self, session_id: str, user_id: str) -> RepairReport:
        """Rebuild the session from its runs: damaged files are set aside (kept), every readable
        run is kept, and the run numbers lost are recorded so they are never reused or reported again."""
        check_ids(session_id, user_id)
        sdir = self.session_dir(session_id)

        def work() -> RepairReport:
            if not os.path.isdir(sdir) or being_deleted(sdir):
                raise not_found(session_id, user_id)
            with self._locked(sdir, session_id):
                self._tidy(sdir)
                try:
                    current = read_doc(sdir, session_id)
                except StoreError:
                    current = None  # damaged: rebuilt from the runs (and its readable fields)
                if current is None and not segment_indices(sdir) and not os.path.exists(session_file(sdir)):
                    raise not_found(session_id, user_id)
                doc, report = rebuild(sdir, session_id, user_id, current)
                if report.repaired:
                    self._reindex(sdir, doc)
                return report

        return guarded(work, session_id)

    def _put_session(self, session: dict[str, Any], runs: list[RunRecord]) -> SessionInfo:
        """An imported session, written as it was: runs in segments of the usual size, then the
        session document, then the index. Whole or not at all: the delete marker is written first,
        so until it is removed (the commit) the session does not exist for anyone, and an import
        killed half way is discarded by the next writer of that id, never rebuilt from its runs."""
        session_id, user_id = session["session_id"], session["user_id"]
        docs = [stored_run(r, session_id, user_id, session["team_id"], StorePolicy()) for r in runs]
        sdir = self.session_dir(session_id)

        def work() -> SessionInfo:
            os.makedirs(sdir, exist_ok=True)
            with self._locked(sdir, session_id):
                self._tidy(sdir)
                if read_doc(sdir, session_id) is not None or segment_indices(sdir):
                    raise taken(session_id)
                marker = os.path.join(sdir, DELETE_MARKER)
                with open(marker, "w", encoding="utf-8"):
                    pass  # until this is removed, what follows is an unfinished import
                for index, start in enumerate(range(0, len(docs), SEGMENT_RUNS)):
                    chunk = {str(start + n + 1): d for n, d in enumerate(docs[start : start + SEGMENT_RUNS])}
                    AtomicJSONStorage(segment_file(sdir, index)).write({RUNS_TABLE: chunk})
                doc = dict(session)
                doc.update(
                    run_count=len(docs), last_run_number=len(docs), last_segment=max(0, (len(docs) - 1) // SEGMENT_RUNS),
                    segment_runs=SEGMENT_RUNS, segment_bytes=SEGMENT_BYTES,
                )  # fmt: skip
                write_doc(sdir, doc)
                os.unlink(marker)  # the commit: the session exists, whole
                self._reindex(sdir, doc)
                return SessionInfo.from_doc(doc)

        return guarded(work, session_id)

    def delete_session(self, session_id: str, user_id: str) -> None:
        """Remove the session's data. A marker says a delete is under way, so a delete killed half
        way is finished by the next writer instead of being mistaken for a session to rebuild. The
        directory and its ``.lock`` stay: deleting a lock file another process may be waiting on
        would let a third process lock a fresh file and both would think they hold the lock."""
        check_ids(session_id, user_id)
        sdir = self.session_dir(session_id)

        def work() -> None:
            if not os.path.isdir(sdir):
                raise not_found(session_id, user_id)
            with self._locked(sdir, session_id):
                doc = read_doc(sdir, session_id)
                if doc is None:
                    raise not_found(session_id, user_id)
                check_owner(doc, session_id, user_id)
                with open(os.path.join(sdir, DELETE_MARKER), "w", encoding="utf-8"):
                    pass  # from this instant the session does not exist for anyone
                self._indexing(lambda: self.index.remove(session_id))
                self._remove_session_files(sdir)

        guarded(work, session_id)

    @staticmethod
    def _remove_session_files(sdir: str) -> None:
        for index in segment_indices(sdir):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(sdir, f"runs-{index:06d}.json"))
        with contextlib.suppress(FileNotFoundError):
            os.unlink(session_file(sdir))
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(sdir, DELETE_MARKER))  # last: the delete is complete
