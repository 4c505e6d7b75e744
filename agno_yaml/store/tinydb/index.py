"""The store's index: which sessions each user has, and full-text search over what was said.

A SQLite file next to the sessions (``index.sqlite3``; stdlib ``sqlite3``, FTS5). It is derived:
the TinyDB files stay the truth, every entry is written after them under the session's lock, and
the whole index can be rebuilt from them (it is, when it is missing or damaged). It exists for
speed: listing or searching a user's 10,000 sessions must not open 10,000 files, and creating a
session must not rewrite a list that grows with every session. SQLite keeps it consistent when
several processes write at once.

Rows: ``sessions`` (one per session: owner, team, times, counts, first message, summary's first
line, turns indexed) and ``said`` (FTS5: each turn's user message and answer, with the session,
owner and turn number).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from ..rules import Said, SearchHit, SessionInfo

INDEX_FILE = "index.sqlite3"
VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS sessions(
    session_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, team_id TEXT NOT NULL,
    updated_at REAL NOT NULL, indexed_turns INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions(user_id, updated_at DESC);
CREATE VIRTUAL TABLE IF NOT EXISTS said USING fts5(
    text, session_id UNINDEXED, user_id UNINDEXED, team_id UNINDEXED, turn UNINDEXED, role UNINDEXED,
    created_at UNINDEXED, tokenize='unicode61 remove_diacritics 2');
"""
_WORD = re.compile(r"\w+")


class IndexDamaged(Exception):
    """The index file is not a usable SQLite database; it is set aside and rebuilt from the files."""


def fts_query(text: str) -> str | None:
    """The words of ``text`` as an FTS5 query that needs all of them; None when it has no word."""
    words = _WORD.findall(text)
    return " ".join(f'"{w}"' for w in words) if words else None


class SessionIndex:
    """The index of one store. A connection is kept per thread (opening one costs more than a write),
    and made again in a child process or when the file was replaced."""

    def __init__(self, root: str, *, timeout: float = 10.0) -> None:
        self.path = os.path.join(root, INDEX_FILE)
        self.timeout = timeout
        self._local = threading.local()
        # Writers of this process take turns here: SQLite's own busy handler, met by threads of one
        # process (a server's turns), backs off by sleeping, up to 100 ms a time.
        self._writing = threading.Lock()

    def exists(self) -> bool:
        return os.path.exists(self.path)

    def _connection(self) -> sqlite3.Connection:
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == os.getpid() and os.path.exists(self.path):
            return held[1]  # type: ignore[no-any-return]
        self.close()
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        db.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        db.execute("PRAGMA journal_mode = WAL")  # readers never wait for a writer
        db.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints: the files are the truth
        db.executescript(_SCHEMA)
        db.execute("INSERT OR IGNORE INTO meta VALUES ('version', ?)", (VERSION,))
        self._local.held = (os.getpid(), db)
        return db

    def close(self) -> None:
        held = getattr(self._local, "held", None)
        self._local.held = None
        if held is not None and held[0] == os.getpid():
            with contextlib.suppress(sqlite3.Error):
                held[1].close()

    @contextlib.contextmanager
    def _db(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        if not write:
            with self._opened() as db:
                yield db
            return
        with self._writing, self._opened(write=True) as db:
            yield db

    @contextlib.contextmanager
    def _opened(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        try:
            db = self._connection()
        except sqlite3.DatabaseError as e:
            self.close()
            raise IndexDamaged(str(e)) from e
        try:
            if write:
                db.execute("BEGIN IMMEDIATE")
            yield db
            if write:
                db.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            if isinstance(e, sqlite3.OperationalError) and "locked" in str(e):
                raise
            self.close()
            raise IndexDamaged(str(e)) from e
        except BaseException:
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise

    def set_aside(self) -> str:
        """Move a damaged index out of the way (kept, never deleted); the new path."""
        self.close()
        target = self.path + ".damaged"
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.path + suffix):
                os.replace(self.path + suffix, target + suffix)
        return target

    # ---- writing (callers hold the session's lock) ---------------------------------------------

    def put(
        self,
        doc: dict[str, Any],
        said: Sequence[Said],
        *,
        replace_said: bool = False,
        after: int | None = None,
    ) -> bool:
        """Record the session ``doc`` and what was said in its new turns (all of it with ``replace_said``).

        With ``after``, the new turns are added only if the index holds exactly the session's first
        ``after`` turns (a session it has not seen counts as 0); False when it does not (a turn was
        missed: the caller indexes the whole session again).
        """
        info = SessionInfo.from_doc(doc)
        kept = {
            "session_id": info.session_id, "user_id": info.user_id, "team_id": info.team_id,
            "created_at": info.created_at, "updated_at": info.updated_at, "run_count": info.run_count,
            "turn_count": info.turn_count, "first_message": info.first_message, "summary": info.summary,
            "session_state": info.session_state, "metadata": info.metadata, "schema_version": info.schema_version,
        }  # fmt: skip
        with self._db(write=True) as db:
            if after is not None:
                row = db.execute(
                    "SELECT indexed_turns FROM sessions WHERE session_id = ?", (info.session_id,)
                ).fetchone()
                if (int(row[0]) if row else 0) != after:
                    return False
            if replace_said:
                db.execute("DELETE FROM said WHERE session_id = ?", (info.session_id,))
            db.execute(
                "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?, ?)",
                (
                    info.session_id,
                    info.user_id,
                    info.team_id,
                    info.updated_at,
                    info.turn_count,
                    json.dumps(kept),
                ),
            )
            db.executemany(
                "INSERT INTO said VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        s.text,
                        doc["session_id"],
                        doc["user_id"],
                        doc.get("team_id", ""),
                        s.turn,
                        s.role,
                        s.created_at,
                    )
                    for s in said
                    if s.text.strip()
                ],
            )
        return True

    def remove(self, session_id: str) -> None:
        with self._db(write=True) as db:
            db.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
            db.execute("DELETE FROM said WHERE session_id = ?", (session_id,))

    # ---- reading -------------------------------------------------------------------------------

    def sessions(
        self, user_id: str | None, team_id: str | None = None, limit: int | None = None
    ) -> list[SessionInfo]:
        """Sessions, most recently updated first."""
        if not self.exists():
            return []
        where, args = _filters(user_id, team_id)
        sql = f"SELECT doc FROM sessions {where} ORDER BY updated_at DESC, session_id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._db() as db:
            return [SessionInfo.from_doc(json.loads(row[0])) for row in db.execute(sql, args)]

    def search(
        self,
        user_id: str,
        text: str,
        team_id: str | None = None,
        limit: int = 20,
        marks: tuple[str, str] = ("[", "]"),
    ) -> list[SearchHit]:
        query = fts_query(text)
        if query is None or not self.exists():
            return []
        sql = (
            "SELECT session_id, team_id, turn, role, created_at, highlight(said, 0, ?, ?), bm25(said) "
            "FROM said WHERE said MATCH ? AND user_id = ?"
        )
        args: list[Any] = [marks[0], marks[1], query, user_id]
        if team_id is not None:
            sql += " AND team_id = ?"
            args.append(team_id)
        sql += f" ORDER BY bm25(said), created_at DESC LIMIT {int(limit)}"
        with self._db() as db:
            rows = db.execute(sql, args).fetchall()
        return [SearchHit(r[0], r[1], int(r[2]), r[3], float(r[4]), r[5], float(r[6])) for r in rows]


def _filters(user_id: str | None, team_id: str | None) -> tuple[str, list[Any]]:
    clauses, args = [], []
    if user_id is not None:
        clauses.append("user_id = ?")
        args.append(user_id)
    if team_id is not None:
        clauses.append("team_id = ?")
        args.append(team_id)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", args
