"""The TinyDB store's catalogue: the derived SQLite index (each user's sessions, full-text search),
and the listing and search that read it.

The index is never the truth: it is built again from the session files when it is missing or
damaged (the damaged one is kept aside), so listing a user's sessions never opens their files and
a broken index costs a rebuild, never a session.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from ...errors import SessionError, StoreError
from .. import StoreBase
from ..rules import Said, SearchHit, SessionInfo, check_id, count_turns, said_in
from .files import AtomicJSONStorage, DamagedFile
from .index import IndexDamaged, SessionIndex
from .segments import read_segment, segment_indices
from .sessiondoc import SESSION_DOC_ID, SESSION_TABLE, read_doc, session_file

__all__ = ["IndexedSessions", "guarded"]

T = TypeVar("T")


def guarded(fn: Callable[[], T], session_id: str | None) -> T:
    """Turn filesystem failures into one-line StoreErrors; our own errors pass through."""
    try:
        return fn()
    except (SessionError, StoreError):
        raise
    except OSError as e:
        where = f" for session {session_id!r}" if session_id is not None else ""
        target = e.filename or "the session store"
        raise StoreError(f"cannot access {target}{where}: {e.strerror or e}") from e


class IndexedSessions(StoreBase):
    """What the TinyDB store does through its index; the store itself (``TinyDBStore``) sets
    ``root``, ``sessions_dir`` and ``index``, and reads a session's own document (``_owned_doc``)."""

    root: str
    sessions_dir: str
    index: SessionIndex

    def _owned_doc(self, session_id: str, user_id: str) -> dict[str, Any] | None:
        raise NotImplementedError

    # ---- the index ---------------------------------------------------------------------------

    def _indexing(self, fn: Callable[[], T]) -> T:
        """Run an index operation; a damaged index is set aside (kept) and rebuilt from the files."""
        try:
            return fn()
        except IndexDamaged as e:
            kept = self.index.set_aside()
            self.warn(
                f"the session index was damaged ({e}); it was rebuilt from the sessions (the old one is kept as {kept})"
            )
            self._rebuild_index()
            return fn()
        except sqlite3.OperationalError as e:
            raise StoreError(f"the session index {self.index.path} is busy ({e}); try again") from e

    def _said(self, sdir: str, doc: dict[str, Any]) -> list[Said]:
        """Everything said in the session, turn by turn (its turns are counted again on the way)."""
        runs = [run for index in segment_indices(sdir) for run in read_segment(sdir, index).runs.values()]
        doc.update(turn_count=0, first_message=None)
        return [s for number, run in count_turns(doc, runs) for s in said_in(number, run)]

    def _reindex(self, sdir: str, doc: dict[str, Any]) -> None:
        said = self._said(sdir, doc)
        self._indexing(lambda: self.index.put(doc, said, replace_said=True))

    def _rebuild_index(self) -> int:
        """Index every session from its files (a store made before the index, or a damaged index)."""
        count = 0
        if os.path.isdir(self.sessions_dir):
            with os.scandir(self.sessions_dir) as entries:
                dirs = [e.path for e in entries if e.is_dir()]
            for sdir in dirs:
                try:
                    doc = self._read_any(sdir)
                except StoreError as e:
                    self.warn(f"{e} (it is left out of the index)")
                    continue
                if doc is not None:
                    said = self._said(sdir, doc)
                    self.index.put(doc, said, replace_said=True)
                    count += 1
        return count

    def _ensure_index(self) -> None:
        if not self.index.exists() and os.path.isdir(self.sessions_dir) and os.listdir(self.sessions_dir):
            count = self._rebuild_index()
            self.warn(f"built the session index of {self.root} from its {count} sessions")

    # ---- listing and deleting ----------------------------------------------------------------

    @staticmethod
    def _read_any(sdir: str) -> dict[str, Any] | None:
        """A session document when its id is not known (listing every session): read by its own id."""
        try:
            with open(session_file(sdir), encoding="utf-8") as f:
                tables = AtomicJSONStorage.parse(f.read(), session_file(sdir))
            claimed = tables.get(SESSION_TABLE, {}).get(SESSION_DOC_ID, {}).get("session_id")
        except (OSError, DamagedFile, AttributeError):
            claimed = None
        if not isinstance(claimed, str) or not claimed:
            return read_doc(sdir, os.path.basename(sdir))  # raises the damage, or None
        return read_doc(sdir, claimed)

    def list_sessions(
        self, user_id: str | None = None, team_id: str | None = None, *, limit: int | None = None
    ) -> list[SessionInfo]:
        """Newest updated first, from the index (a user's sessions without opening their files)."""
        if user_id is not None:
            check_id(user_id, "user id")

        def work() -> list[SessionInfo]:
            self._ensure_index()
            return self._indexing(lambda: self.index.sessions(user_id, team_id, limit))

        return guarded(work, None)

    def latest_session(self, user_id: str, team_id: str | None = None) -> str | None:
        """The user's most recently updated session that can be continued: a damaged one is skipped
        (with a warning), so one damaged session never breaks ``--continue``."""
        check_id(user_id, "user id")

        def work() -> str | None:
            self._ensure_index()
            for limit in (5, None):

                def rows(n: int | None = limit) -> list[SessionInfo]:
                    return self.index.sessions(user_id, team_id, limit=n)

                for info in self._indexing(rows):
                    try:
                        if self._owned_doc(info.session_id, user_id) is not None:
                            return info.session_id
                    except StoreError as e:
                        self.warn(f"{e} (skipped)")
            return None

        return guarded(work, None)

    def search_sessions(
        self,
        user_id: str,
        text: str,
        *,
        team_id: str | None = None,
        limit: int = 20,
        marks: tuple[str, str] = ("[", "]"),
    ) -> list[SearchHit]:
        """Where the user's sessions (of one team) said every word of ``text``, best matches first."""
        check_id(user_id, "user id")

        def work() -> list[SearchHit]:
            self._ensure_index()
            return self._indexing(lambda: self.index.search(user_id, text, team_id, limit, marks))

        return guarded(work, None)
