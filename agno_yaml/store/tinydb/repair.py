"""Rebuilding a session from its runs: the runs in the segments are the truth, and each names its
session, owner and team, so a lost or damaged ``session.json`` is rebuilt from them and a damaged
segment is rewritten with every run that could be read. Nothing is ever deleted: damaged files are
moved into the session's ``damaged/`` directory.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from ..documents import DamagedDocument, parse_run
from ..rules import RepairReport, damaged, foreign, new_session_doc
from .files import AtomicJSONStorage, Tables
from .segments import (
    RUNS_TABLE,
    SEGMENT_BYTES,
    SEGMENT_RUNS,
    Segment,
    read_segment,
    segment_file,
    segment_indices,
)
from .sessiondoc import SESSION_TABLE, session_file, write_doc

DAMAGED_DIR = "damaged"


@dataclass
class Scan:
    """Every segment of a session as read: the runs that can be used, and the numbers lost."""

    segments: list[Segment]
    runs: dict[int, dict[str, Any]] = field(default_factory=dict)  # readable runs by number
    lost: list[int] = field(default_factory=list)  # numbers given to runs that cannot be read
    last_number: int = 0

    @property
    def owners(self) -> set[str]:
        return {d["user_id"] for d in self.runs.values()}

    @property
    def teams(self) -> set[str]:
        return {
            d["team_id"] for d in self.runs.values() if isinstance(d.get("team_id"), str) and d["team_id"]
        }

    @property
    def damaged_segments(self) -> list[Segment]:
        return [s for s in self.segments if s.damage is not None or any(n not in self.runs for n in s.runs)]


def scan(sdir: str, last_number_hint: int = 0) -> Scan:
    segments = [read_segment(sdir, i) for i in segment_indices(sdir)]
    result = Scan(segments)
    for segment in segments:
        for number, doc in segment.runs.items():
            try:
                parse_run(doc)
            except DamagedDocument:
                continue
            result.runs[number] = doc
    seen = {n for s in segments for n in s.runs}
    result.last_number = max(max(seen, default=0), last_number_hint)
    result.lost = [n for n in range(1, result.last_number + 1) if n not in result.runs]
    return result


def _set_aside(sdir: str, path: str) -> str:
    """Move a damaged file into ``damaged/`` under a name not used yet; the new path."""
    folder = os.path.join(sdir, DAMAGED_DIR)
    os.makedirs(folder, exist_ok=True)
    base = os.path.basename(path)
    target = os.path.join(folder, base)
    n = 1
    while os.path.exists(target):
        n += 1
        target = os.path.join(folder, f"{base}.{n}")
    os.replace(path, target)
    return target


def _old_fields(sdir: str) -> dict[str, Any]:
    """Whatever can still be read from a damaged session.json (summary, state, team ...)."""
    try:
        with open(session_file(sdir), encoding="utf-8") as f:
            data = json.loads(f.read())
        doc = data[SESSION_TABLE]["1"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if not isinstance(doc, dict):
        return {}
    kinds: dict[str, type | tuple[type, ...]] = {
        "team_id": str,
        "summary": dict,
        "session_state": dict,
        "metadata": dict,
        "created_at": (int, float),
    }
    return {
        k: v for k, v in doc.items() if k in kinds and isinstance(v, kinds[k]) and not isinstance(v, bool)
    }


def rebuild(
    sdir: str, session_id: str, user_id: str, current: dict[str, Any] | None
) -> tuple[dict[str, Any], RepairReport]:
    """Repair the session in ``sdir`` for ``user_id`` (the caller holds the session's lock).

    ``current`` is the session document when it could be read (None when it is missing or
    damaged). Refuses (SessionError) when the runs belong to another user, and says the session is
    damaged beyond a rebuild (StoreError) when no readable run names one owner.
    """
    found = scan(sdir, int((current or {}).get("last_run_number", 0)))
    owners = {current["user_id"]} if current is not None else found.owners
    if not owners:
        raise damaged(session_id, sdir, "no run in it can be read, so its owner is unknown")
    if len(owners) > 1:
        raise damaged(session_id, sdir, "its runs name different owners; move the wrong ones out by hand")
    if user_id not in owners:
        raise foreign(session_id)
    acknowledged = set((current or {}).get("lost_runs") or [])
    newly_lost = [n for n in found.lost if n not in acknowledged]
    damaged_files = found.damaged_segments
    if current is not None and not damaged_files and not newly_lost:
        return current, RepairReport(session_id, user_id, len(found.runs))
    set_aside: list[str] = []
    for segment in damaged_files:
        if os.path.exists(segment.path):
            set_aside.append(_set_aside(sdir, segment.path))
        kept = {str(n): d for n, d in segment.runs.items() if n in found.runs}
        if kept:
            tables: Tables = {RUNS_TABLE: kept}
            AtomicJSONStorage(segment_file(sdir, segment.index)).write(tables)
    old = current if current is not None else _old_fields(sdir)
    if current is None and os.path.exists(session_file(sdir)):
        set_aside.append(_set_aside(sdir, session_file(sdir)))
    times = [float(d.get("created_at", 0.0)) for d in found.runs.values()] or [time.time()]
    teams = found.teams
    doc = new_session_doc(session_id, user_id, teams.pop() if len(teams) == 1 else "", min(times))
    doc.update(
        {
            k: v
            for k, v in old.items()
            if k in ("team_id", "summary", "session_state", "metadata", "created_at")
        }
    )
    doc.update(
        updated_at=max(times),
        run_count=len(found.runs),
        last_run_number=found.last_number,
        last_segment=max((s.index for s in found.segments), default=0),
        segment_runs=int(old.get("segment_runs", SEGMENT_RUNS)),
        segment_bytes=int(old.get("segment_bytes", SEGMENT_BYTES)),
        lost_runs=sorted(acknowledged | set(found.lost)),
        repaired_at=time.time(),
    )
    write_doc(sdir, doc)
    report = RepairReport(session_id, user_id, len(found.runs), tuple(found.lost), tuple(set_aside), True)
    return doc, report
