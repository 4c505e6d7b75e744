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
from .files import encode_id, locked, open_db

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
    with locked(path + ".lock", _what(user_id), lock_timeout), open_db(path, "pretty") as db:
        q = Query()
        db.table(USER_TABLE).remove((q.session_id == session_id) & (q.user_id == user_id))


def indexed_session_ids(path: str, user_id: str) -> list[str]:
    """The session ids listed for ``user_id``, in index order, each once. Read without the lock:
    a write replaces the file atomically, so a reader sees the old or the new index."""
    with open_db(path, "pretty") as db:
        entries = db.table(USER_TABLE).all()
    return list(dict.fromkeys(e["session_id"] for e in entries if e.get("user_id") == user_id))
