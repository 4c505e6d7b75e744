"""``session.json``: one session document, read with its types checked, written atomically.

The document holds the session's own fields (see ``store.rules.new_session_doc``) plus this
backend's bookkeeping, which is only ever a hint the segments can correct: ``run_count``,
``last_run_number`` (the highest run number ever given, so a lost run's number is never reused),
``last_segment`` and the segment bounds the session was created with, and ``lost_runs`` (run
numbers a repair found lost, so they are not reported again).
"""

from __future__ import annotations

import os
from typing import Any

from ..documents import DamagedDocument, parse_session
from ..rules import damaged
from .files import AtomicJSONStorage, DamagedFile

SESSION_FILE = "session.json"
SESSION_TABLE = "session"
SESSION_DOC_ID = "1"
DELETE_MARKER = ".deleting"  # present while a delete is under way: the session no longer exists
_HINTS = ("run_count", "turn_count", "last_run_number", "last_segment", "segment_runs", "segment_bytes")


def session_file(sdir: str) -> str:
    return os.path.join(sdir, SESSION_FILE)


def being_deleted(sdir: str) -> bool:
    return os.path.exists(os.path.join(sdir, DELETE_MARKER))


def read_doc(sdir: str, session_id: str) -> dict[str, Any] | None:
    """The session document, checked; None when there is none (never created, deleted, or lost).

    A document that is there but damaged raises the one-line StoreError that names the file and
    the repair command. Bad bookkeeping hints are dropped, not reported: the segments restore them.
    """
    if being_deleted(sdir):
        return None
    path = session_file(sdir)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    if not text.strip():
        raise damaged(session_id, path, "the file is empty")
    try:
        tables = AtomicJSONStorage.parse(text, path)
    except DamagedFile as e:
        raise damaged(session_id, path, e.reason) from None
    doc = tables.get(SESSION_TABLE, {}).get(SESSION_DOC_ID)
    if doc is None:
        raise damaged(session_id, path, f"it has no {SESSION_TABLE!r} document")
    for hint in _HINTS:
        value = doc.get(hint)
        if hint in doc and not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            del doc[hint]
    lost = doc.get("lost_runs", [])
    if not isinstance(lost, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in lost):
        doc.pop("lost_runs", None)
    try:
        parse_session(doc)
    except DamagedDocument as e:
        raise damaged(session_id, path, str(e)) from None
    if doc["session_id"] != session_id:
        raise damaged(session_id, path, f"it is the document of session {doc['session_id']!r}")
    return dict(doc)


def write_doc(sdir: str, doc: dict[str, Any]) -> None:
    """Replace session.json with ``doc``, atomically (the caller holds the session's lock)."""
    AtomicJSONStorage(session_file(sdir), layout="pretty").write({SESSION_TABLE: {SESSION_DOC_ID: doc}})
