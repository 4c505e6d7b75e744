"""The PostgreSQL backend: sessions in one table, runs as rows of their own, safe under concurrent
writers on many hosts.

    db: {url: "postgresql://app:${PGPASSWORD}@db.internal/agno"}      (pip install 'agno-yaml[postgres]')

``agno_sessions`` holds one row per session (owner, team, times, summary, state, metadata, schema
version, counts); ``agno_runs`` one row per run, ``(session_id, n)`` its key, the run document as
JSONB. An append inserts rows and updates the session's row: it never rewrites earlier runs, so
its cost does not grow with the session (Agno rewrites a whole JSONB array and loses concurrent
runs). Every write takes the session's row lock first (``SELECT ... FOR UPDATE``): run numbers
are given under it, so two hosts appending to one session both keep their runs, in one order;
ownership is checked in the same transaction as the read or the write, so another user's session
id is refused before anything is read or written. A session created by two hosts at once is
created once (``ON CONFLICT DO NOTHING``, then the lock). The schema is created and migrated by
the program, under an advisory lock, with its version recorded in ``agno_meta``, so processes
starting together never race.

psycopg 3 and its pool are imported only when a postgresql:// store is opened.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from types import EllipsisType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import StoreError, UsageError
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

__all__ = ["SCHEMA", "PostgresStore", "safe_location"]

SCHEMA_VERSION = 1
_LOCK_KEY = 0x61676E6F  # "agno": the advisory lock under which the schema is created or migrated
_PAGE = 50  # runs read per query when walking a session back from its newest run
_COLUMNS = (
    "session_id, user_id, team_id, created_at, updated_at, summary, session_state, metadata, "
    "schema_version, run_count, turn_count, first_message"
)
SCHEMA = """
CREATE TABLE IF NOT EXISTS agno_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS agno_sessions (
    session_id text PRIMARY KEY,
    user_id text NOT NULL,
    team_id text NOT NULL,
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL,
    summary jsonb,
    session_state jsonb NOT NULL DEFAULT '{}',
    metadata jsonb NOT NULL DEFAULT '{}',
    schema_version integer NOT NULL,
    run_count integer NOT NULL DEFAULT 0,
    turn_count integer NOT NULL DEFAULT 0,
    first_message text
);
CREATE INDEX IF NOT EXISTS agno_sessions_by_user ON agno_sessions (user_id, team_id, updated_at DESC);
CREATE TABLE IF NOT EXISTS agno_runs (
    session_id text NOT NULL REFERENCES agno_sessions (session_id) ON DELETE CASCADE ON UPDATE CASCADE,
    n integer NOT NULL,
    run_id text NOT NULL,
    doc jsonb NOT NULL,
    PRIMARY KEY (session_id, n)
);
"""


def safe_location(url: str) -> str:
    """The URL without its password, for people (errors, footers, ``inspect``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


class PostgresStore(StoreBase):
    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10, timeout: float = 30.0) -> None:
        super().__init__()
        self.url = url
        self.location = safe_location(url)
        self._sizes = (min_size, max_size)
        self._timeout = timeout
        self._pool: Any = None
        self._pid = -1
        self._lock = threading.Lock()

    # -- connections ------------------------------------------------------------------------------------
    def _connection(self) -> Any:
        """A pooled connection (context manager: commits on success, rolls back on an error)."""
        if self._pool is None or self._pid != os.getpid():  # a fork (the worker, server processes)
            with self._lock:
                if self._pool is None or self._pid != os.getpid():
                    self._pool = self._open_pool()
                    self._pid = os.getpid()
        return self._pool.connection(timeout=self._timeout)

    def _open_pool(self) -> Any:
        try:
            import psycopg
            from psycopg.types.json import set_json_dumps
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise UsageError(
                "sessions in PostgreSQL need psycopg: pip install 'agno-yaml[postgres]'"
            ) from None
        # The pool logs each failed attempt and retries for its whole timeout: one direct attempt
        # first, so an unreachable server is one line at once; its own complaints stay quiet.
        logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)
        try:
            psycopg.connect(self.url, connect_timeout=10).close()
        except psycopg.Error as exc:
            raise self._unreachable(exc) from None
        set_json_dumps(lambda value: json.dumps(value, ensure_ascii=False))
        pool = ConnectionPool(
            self.url, min_size=self._sizes[0], max_size=self._sizes[1], open=False,
            kwargs={"autocommit": False, "connect_timeout": 10}, name="agno-yaml",
        )  # fmt: skip
        try:
            pool.open(wait=True, timeout=self._timeout)
        except Exception as exc:
            pool.close()
            raise self._unreachable(exc) from None
        self._migrate(pool)
        return pool

    def _unreachable(self, exc: BaseException) -> StoreError:
        detail = " ".join(str(exc).split()).replace(self.url, self.location)
        parts = urlsplit(self.url)
        if parts.password:
            detail = detail.replace(parts.password, "***")
        return StoreError(
            f"cannot reach the session store {self.location}: {detail[:300]}; check the url, that the "
            "server runs and accepts this user, and the password"
        )

    def _migrate(self, pool: Any) -> None:
        """Create the schema, or bring it to this version, once, whoever else starts at the same time."""
        with pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            conn.execute(SCHEMA)
            row = conn.execute("SELECT value FROM agno_meta WHERE key = 'schema_version'").fetchone()
            found = int(row[0]) if row else 0
            if found > SCHEMA_VERSION:
                raise StoreError(
                    f"the session store {self.location} has schema version {found}, newer than this "
                    f"agno-yaml knows ({SCHEMA_VERSION}); upgrade agno-yaml"
                )
            if found < SCHEMA_VERSION:  # the migrations from ``found`` go here, one version at a time
                conn.execute(
                    "INSERT INTO agno_meta VALUES ('schema_version', %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    (str(SCHEMA_VERSION),),
                )

    def _run(self, work: Any) -> Any:
        """``work(conn)`` in one transaction; a lost server becomes one StoreError line."""
        import psycopg

        try:
            with self._connection() as conn, conn.transaction():
                return work(conn)
        except psycopg.OperationalError as exc:
            raise self._unreachable(exc) from None

    def check_writable(self) -> None:
        self._run(lambda conn: conn.execute("SELECT 1"))

    def close(self) -> None:
        if self._pool is not None and self._pid == os.getpid():
            self._pool.close()
        self._pool = None

    # -- reading the session row ---------------------------------------------------------------------
    @staticmethod
    def _doc(row: Sequence[Any]) -> dict[str, Any]:
        names = [c.strip() for c in _COLUMNS.split(",")]
        doc = dict(zip(names, row, strict=True))
        doc["session_state"] = doc["session_state"] or {}
        doc["metadata"] = doc["metadata"] or {}
        return doc

    def _owned(self, conn: Any, session_id: str, user_id: str, *, lock: bool) -> dict[str, Any] | None:
        """The session's row as a document, checked to be ``user_id``'s; locked for the transaction."""
        check_ids(session_id, user_id)
        sql = f"SELECT {_COLUMNS} FROM agno_sessions WHERE session_id = %s" + (" FOR UPDATE" if lock else "")
        row = conn.execute(sql, (session_id,)).fetchone()
        if row is None:
            return None
        doc = self._doc(row)
        check_owner(doc, session_id, user_id)
        return doc

    def _write_doc(self, conn: Any, doc: dict[str, Any]) -> None:
        from psycopg.types.json import Jsonb

        conn.execute(
            "UPDATE agno_sessions SET updated_at = %s, summary = %s, session_state = %s, metadata = %s, "
            "run_count = %s, turn_count = %s, first_message = %s WHERE session_id = %s",
            (
                doc["updated_at"], Jsonb(doc["summary"]) if doc["summary"] is not None else None,
                Jsonb(doc["session_state"]), Jsonb(doc["metadata"]), doc["run_count"], doc["turn_count"],
                doc["first_message"], doc["session_id"],
            ),
        )  # fmt: skip

    def _insert_doc(self, conn: Any, doc: dict[str, Any]) -> bool:
        """Create the session's row; False when it exists already (another host was first)."""
        from psycopg.types.json import Jsonb

        created = conn.execute(
            f"INSERT INTO agno_sessions ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (session_id) DO NOTHING",
            (
                doc["session_id"], doc["user_id"], doc["team_id"], doc["created_at"], doc["updated_at"],
                Jsonb(doc["summary"]) if doc.get("summary") is not None else None,
                Jsonb(doc.get("session_state") or {}), Jsonb(doc.get("metadata") or {}),
                doc.get("schema_version", SCHEMA_VERSION), doc.get("run_count", 0),
                doc.get("turn_count", 0), doc.get("first_message"),
            ),
        )  # fmt: skip
        return bool(created.rowcount)

    @staticmethod
    def _insert_runs(conn: Any, session_id: str, first: int, docs: list[dict[str, Any]]) -> None:
        from psycopg.types.json import Jsonb

        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO agno_runs (session_id, n, run_id, doc) VALUES (%s, %s, %s, %s)",
                [(session_id, first + i, d["run_id"], Jsonb(d)) for i, d in enumerate(docs)],
            )

    # -- the protocol -----------------------------------------------------------------------------------
    def get_session(self, session_id: str, user_id: str) -> SessionInfo | None:
        doc = self._run(lambda conn: self._owned(conn, session_id, user_id, lock=False))
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
        expected_summary: dict[str, Any] | None | EllipsisType = ...,
        expected_last_run: str | None | EllipsisType = ...,
    ) -> SessionInfo:
        check_ids(session_id, user_id)
        docs = json_copy([stored_run(r, session_id, user_id, team_id, policy) for r in runs])
        fields = json_copy(appended_fields(time.time(), summary, session_state, metadata))

        def work(conn: Any) -> SessionInfo:
            doc = self._owned(conn, session_id, user_id, lock=True)
            if doc is None:
                self._insert_doc(conn, new_session_doc(session_id, user_id, team_id, fields["updated_at"]))
                doc = self._owned(conn, session_id, user_id, lock=True)  # ours, or another host's first
                assert doc is not None
            newest = conn.execute(
                "SELECT run_id FROM agno_runs WHERE session_id = %s ORDER BY n DESC LIMIT 1", (session_id,)
            ).fetchone()
            if not summary_is(doc, expected_summary, expected_last_run, newest[0] if newest else None):
                fields.pop("summary", None)
            self._insert_runs(conn, session_id, int(doc["run_count"]) + 1, docs)
            count_turns(doc, docs)
            doc.update(fields, run_count=int(doc["run_count"]) + len(docs))
            self._write_doc(conn, doc)
            return SessionInfo.from_doc(doc)

        result: SessionInfo = self._run(work)
        return result

    def iter_runs_newest_first(self, session_id: str, user_id: str) -> Iterator[RunRecord]:
        doc = self._run(lambda conn: self._owned(conn, session_id, user_id, lock=False))
        if doc is None:
            return iter(())
        return self._walk_back(session_id)

    def _walk_back(self, session_id: str) -> Iterator[RunRecord]:
        below = 2**31 - 1
        while True:
            rows = self._run(self._page_query(session_id, below))
            for n, doc in rows:
                yield RunRecord.from_dict(doc)
                below = n
            if len(rows) < _PAGE:
                return

    @staticmethod
    def _page_query(session_id: str, below: int) -> Any:
        """The work that reads the page of runs numbered just below ``below``, newest first."""
        sql = "SELECT n, doc FROM agno_runs WHERE session_id = %s AND n < %s ORDER BY n DESC LIMIT %s"
        return lambda conn: conn.execute(sql, (session_id, below, _PAGE)).fetchall()

    def runs(self, session_id: str, user_id: str) -> list[RunRecord]:
        def work(conn: Any) -> list[Any]:
            if self._owned(conn, session_id, user_id, lock=False) is None:
                return []
            found: list[Any] = conn.execute(
                "SELECT doc FROM agno_runs WHERE session_id = %s ORDER BY n", (session_id,)
            ).fetchall()
            return found

        return [RunRecord.from_dict(row[0]) for row in self._run(work)]

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

        def work(conn: Any) -> SessionInfo:
            doc = self._owned(conn, session_id, user_id, lock=True)
            if doc is None:
                raise not_found(session_id, user_id)
            if not summary_is(doc, expected_summary):
                fields.pop("summary", None)
            doc.update(fields)
            self._write_doc(conn, doc)
            return SessionInfo.from_doc(doc)

        result: SessionInfo = self._run(work)
        return result

    def list_sessions(
        self, user_id: str | None = None, team_id: str | None = None, *, limit: int | None = None
    ) -> list[SessionInfo]:
        if user_id is not None:
            check_id(user_id, "user id")
        where, args = [], []
        if user_id is not None:
            where.append("user_id = %s")
            args.append(user_id)
        if team_id is not None:
            where.append("team_id = %s")
            args.append(team_id)
        sql = f"SELECT {_COLUMNS} FROM agno_sessions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY updated_at DESC, session_id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = self._run(lambda conn: conn.execute(sql, args).fetchall())
        return [SessionInfo.from_doc(self._doc(r)) for r in rows]

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
        words = [w for w in text.split() if w]
        sql = (
            "SELECT s.session_id, s.team_id, r.doc FROM agno_runs r JOIN agno_sessions s USING (session_id) "
            "WHERE s.user_id = %s AND r.doc->>'parent_run_id' IS NULL"
        )
        args: list[Any] = [user_id]
        if team_id is not None:
            sql += " AND s.team_id = %s"
            args.append(team_id)
        sql += " ORDER BY s.session_id, r.n"
        rows = self._run(lambda conn: conn.execute(sql, args).fetchall()) if words else []
        hits: list[SearchHit] = []
        turns: dict[str, int] = {}
        for session_id, team, doc in rows:  # the case- and accent-blind match is the shared rule's
            turns[session_id] = turns.get(session_id, 0) + 1
            for said in said_in(turns[session_id], doc):
                found = match(said.text, text, marks)
                if found is not None:
                    hits.append(
                        SearchHit(session_id, team, said.turn, said.role, said.created_at, found[1], found[0])
                    )
        hits.sort(key=lambda h: (h.score, -h.created_at))
        return hits[:limit]

    def _put_session(self, session: dict[str, Any], runs: list[RunRecord]) -> SessionInfo:
        session_id, user_id = session["session_id"], session["user_id"]
        docs = json_copy(
            [stored_run(r, session_id, user_id, session["team_id"], StorePolicy()) for r in runs]
        )
        doc = json_copy(session)
        doc["run_count"] = len(docs)

        def work(conn: Any) -> SessionInfo:
            if not self._insert_doc(conn, doc):
                raise taken(session_id)
            self._insert_runs(conn, session_id, 1, docs)
            stored = self._owned(conn, session_id, user_id, lock=False)
            assert stored is not None
            return SessionInfo.from_doc(stored)

        result: SessionInfo = self._run(work)
        return result

    def delete_session(self, session_id: str, user_id: str) -> None:
        def work(conn: Any) -> None:
            if self._owned(conn, session_id, user_id, lock=True) is None:
                raise not_found(session_id, user_id)
            conn.execute("DELETE FROM agno_sessions WHERE session_id = %s", (session_id,))

        self._run(work)
