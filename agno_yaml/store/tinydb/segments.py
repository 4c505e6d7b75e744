"""A session's runs on disk: bounded segment files ``runs-000000.json``, ``runs-000001.json``, ...
in the session's directory, each a TinyDB database whose table "runs" has doc id = run number.

Separate from the backend's session code because segmenting is a self-contained mechanism (where runs go, when a
segment is closed, how the newest one is found after a crash) with no notion of owners, locks or
session documents: callers hold the session's lock and check ownership before coming here.
"""

from __future__ import annotations

import os
from typing import Any

from tinydb.table import Document

from .files import open_db

# A segment is closed at 32 runs or 64 KB, whichever comes first: appending rewrites at most one
# segment, measured at ~0.3 ms to encode 32 runs of 2 KB. The byte bound keeps that true when
# runs carry large tool results; a single huge run still gets a segment of its own.
SEGMENT_RUNS = 32
SEGMENT_BYTES = 64 * 1024

RUNS_TABLE = "runs"


def segment_file(sdir: str, index: int) -> str:
    return os.path.join(sdir, f"runs-{index:06d}.json")


def last_segment(sdir: str, hint: int) -> int:
    """The index of the newest segment, from the hint in session.json, repaired by probing
    (a crash between writing a segment and session.json leaves the hint one behind)."""
    index = max(0, hint)
    while index > 0 and not os.path.exists(segment_file(sdir, index)):
        index -= 1
    while os.path.exists(segment_file(sdir, index + 1)):
        index += 1
    return index


def read_segment(sdir: str, index: int) -> list[Document]:
    """The runs of one segment, oldest first (empty if the segment does not exist)."""
    with open_db(segment_file(sdir, index)) as db:
        docs: list[Document] = db.table(RUNS_TABLE).all()
    docs.sort(key=lambda d: d.doc_id)
    return docs


def write_runs(sdir: str, session: dict[str, Any], docs: list[dict[str, Any]]) -> tuple[int, int]:
    """Append ``docs`` after the last stored run; returns (run count, last segment index).
    ``session`` is the session document: its hints and segment bounds, never written here."""
    index = last_segment(sdir, int(session.get("last_segment", 0)))
    # The bounds a session was created with stay its bounds, so changing the defaults never
    # reshapes existing sessions.
    max_runs = int(session.get("segment_runs", SEGMENT_RUNS))
    max_bytes = int(session.get("segment_bytes", SEGMENT_BYTES))
    pending = list(docs)
    last_id: int | None = None
    while True:
        path = segment_file(sdir, index)
        with open_db(path) as db:
            table = db.table(RUNS_TABLE)
            ids = [d.doc_id for d in table.all()]  # parsed once; the insert below reuses it
            if ids:
                last_id = max(ids)
            elif last_id is None:
                last_id = max((d.doc_id for d in read_segment(sdir, index - 1)), default=0) if index else 0
            if not pending:
                return last_id, index
            size = os.path.getsize(path) if ids else 0
            batch: list[Document] = []
            while pending and len(ids) + len(batch) < max_runs and (size < max_bytes or not (ids or batch)):
                doc = pending.pop(0)
                size += len(repr(doc))  # a cheap stand-in for the encoded size; only the bound matters
                batch.append(Document(doc, doc_id=last_id + len(batch) + 1))
            if batch:
                table.insert_multiple(batch)
                last_id += len(batch)
        if not pending:
            return last_id, index
        index += 1
