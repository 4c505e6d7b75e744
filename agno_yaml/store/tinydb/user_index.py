"""The per-user session index: ``users/<enc user_id>.json``, table "sessions", one document per
session of the user, guarded by ``users/<enc user_id>.json.lock``.

Separate from the backend's session code because it is a different file with its own lock and its own rule: the
index is only a pointer that lets listing one user's sessions skip everyone else's directories.
It never decides ownership; the session document does, and the backend checks it on every read.
"""

from __future__ import annotations

import os

from tinydb import Query

from ..rules import SCHEMA_VERSION
from .files import AtomicJSONStorage, DamagedFile, encode_id, locked, open_db, remove_temp_files

USER_TABLE = "sessions"


def user_file(users_dir: str, user_id: str) -> str:
    return os.path.join(users_dir, encode_id(user_id) + ".json")


def _what(user_id: str) -> str:
    return f"the session index of user {user_id!r}"


def index_add(
    path: str, user_id: str, session_id: str, team_id: str, created_at: float, *, lock_timeout: float
) -> None:
    """List ``session_id`` in the index file ``path``; listing it twice is a no-op."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with locked(path + ".lock", _what(user_id), lock_timeout), open_db(path, "pretty") as db:
        remove_temp_files(path)
        table = db.table(USER_TABLE)
        q = Query()
        if not table.contains((q.session_id == session_id) & (q.user_id == user_id)):
            table.insert(
                {
                    "session_id": session_id,
                    "user_id": user_id,
                    "team_id": team_id,
                    "created_at": created_at,
                    "schema_version": SCHEMA_VERSION,
                }
            )


def index_remove(path: str, user_id: str, session_id: str, *, lock_timeout: float) -> None:
    """Drop ``session_id`` from the index file ``path``, if the file exists at all."""
    if not os.path.exists(path):
        return  # no index yet: nothing to remove, and no reason to create files on a delete
    with locked(path + ".lock", _what(user_id), lock_timeout):
        try:
            with open_db(path, "pretty") as db:
                q = Query()
                db.table(USER_TABLE).remove((q.session_id == session_id) & (q.user_id == user_id))
        except DamagedFile:
            pass  # a damaged index is rebuilt by the next listing, which only lists existing sessions


def indexed_session_ids(path: str, user_id: str) -> list[str] | None:
    """The session ids listed for ``user_id``, in index order, each once; None when the index is
    damaged (the caller then finds the user's sessions by looking at all of them). Read without the
    lock: a write replaces the file atomically, so a reader sees the old or the new index."""
    try:
        with open_db(path, "pretty") as db:
            entries = db.table(USER_TABLE).all()
    except DamagedFile:
        return None
    ids = [e.get("session_id") for e in entries if e.get("user_id") == user_id]
    return list(dict.fromkeys(i for i in ids if isinstance(i, str) and i))


def rewrite_index(
    path: str, user_id: str, sessions: list[tuple[str, str, float]], *, lock_timeout: float
) -> None:
    """Replace a damaged index with ``sessions`` ((session id, team id, created at), found by looking
    at every session). The damaged file is kept next to it, never deleted."""
    with locked(path + ".lock", _what(user_id), lock_timeout):
        if os.path.exists(path):
            os.replace(path, f"{path}.damaged")
        entries = {
            str(n): {
                "session_id": s,
                "user_id": user_id,
                "team_id": t,
                "created_at": c,
                "schema_version": SCHEMA_VERSION,
            }
            for n, (s, t, c) in enumerate(sessions, start=1)
        }
        AtomicJSONStorage(path, layout="pretty").write({USER_TABLE: entries})
