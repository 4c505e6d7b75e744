"""A session as one self-contained JSON document, to move it between stores (export / import).

The document is the session's own fields and every stored run, with a format name and version so a
later version can read an older file. Exporting and importing gives back an identical session: the
same ids, times, runs, summary and state. The checks on the way in are the ones every stored
document gets (``documents``), so a hand-edited file is named, not half imported.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from ..errors import UsageError
from ..messages import RunRecord
from .documents import DamagedDocument, parse_run, parse_session
from .rules import SessionInfo

FORMAT = "agno-yaml-session"
VERSION = 1


def export_document(info: SessionInfo, runs: list[RunRecord]) -> dict[str, Any]:
    """The export of a session: its fields and its runs, oldest first."""
    session = asdict(info)
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": time.time(),
        "session": session,
        "runs": [run.to_dict() for run in runs],
    }


def read_document(
    document: Any, user_id: str, new_id: str | None = None
) -> tuple[dict[str, Any], list[RunRecord]]:
    """The session fields and runs of an export, checked, for ``user_id``; renamed to ``new_id``.

    Raises UsageError naming what is wrong (another format, a newer version, a damaged run, another
    user's session).
    """
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise UsageError(
            f"this is not an exported session (it has no format {FORMAT!r}); make one with `agno-run sessions export`"
        )
    if document.get("version") != VERSION:
        raise UsageError(
            f"the file is format version {document.get('version')!r}; this agno-run reads version {VERSION}: "
            "use the agno-run that exported it, or a newer one"
        )
    raw = document.get("session")
    try:
        info = parse_session(raw)
        runs = [parse_run(r) for r in document.get("runs") or []]
    except DamagedDocument as e:
        raise UsageError(f"the exported session is damaged: {e}") from None
    if info.user_id != user_id:
        raise UsageError(
            "the file holds a session of another user; import it as that user (--user), "
            "since a session keeps its owner"
        )
    session = asdict(info)
    if new_id is not None:
        session["session_id"] = new_id
        for run in runs:
            run.session_id = new_id
    return session, runs
