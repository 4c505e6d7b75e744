"""A session's runs on disk: bounded segment files ``runs-000000.json``, ``runs-000001.json``, ...
in the session's directory, each a TinyDB database whose table "runs" has doc id = run number.

Separate from the backend's session code because segmenting is a self-contained mechanism (where
runs go, when a segment is closed, how a damaged segment is read) with no notion of owners, locks
or session documents: callers hold the session's lock and check ownership before coming here.

- A turn is committed by one atomic file write: all of its runs go into one segment, a new one
  when the current one has no room. A kill therefore leaves either the whole turn or none of it.
- A damaged segment (truncated, emptied, hand-edited) is never rewritten. Reading salvages every
  run that is still whole (each run is one line of the file) and says which run numbers are lost;
  new runs go to a fresh segment, numbered after every number ever used.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from .files import AtomicJSONStorage, DamagedFile, Tables

# A segment is closed at 32 runs or 64 KB, whichever comes first: appending rewrites at most one
# segment, measured at ~0.3 ms to encode 32 runs of 2 KB. A single turn bigger than that still
# gets one segment of its own, so that it is written (or not) as a whole.
SEGMENT_RUNS = 32
SEGMENT_BYTES = 64 * 1024

RUNS_TABLE = "runs"
_NAME = re.compile(r"runs-(\d{6})\.json")
_LINE = re.compile(r'^"(\d+)": (\{.*\}),?$')


def segment_file(sdir: str, index: int) -> str:
    return os.path.join(sdir, f"runs-{index:06d}.json")


def segment_indices(sdir: str) -> list[int]:
    """The indices of the segment files present, in order."""
    with os.scandir(sdir) as entries:
        return sorted(int(m.group(1)) for e in entries if (m := _NAME.fullmatch(e.name)))


@dataclass
class Segment:
    """One segment as read: its runs by number, and what could not be read."""

    index: int
    path: str
    runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    damage: str | None = None  # why the file is not what was written; None when it is whole
    size: int = 0

    @property
    def last_id(self) -> int:
        return max(self.runs, default=0)


def read_segment(sdir: str, index: int) -> Segment:
    """A segment's runs, oldest first. Damage never raises: whole runs are salvaged, ``damage`` says
    what is wrong (OSError, e.g. a permission problem, still raises)."""
    path = segment_file(sdir, index)
    segment = Segment(index, path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        segment.damage = "missing"
        return segment
    segment.size = len(text)
    if not text.strip():
        segment.damage = "empty"
        return segment
    try:
        tables = AtomicJSONStorage.parse(text, path)
        found = tables.get(RUNS_TABLE)
        if found is None:
            segment.damage = f"it has no {RUNS_TABLE!r} table"
        else:
            segment.runs = {int(k): v for k, v in found.items()}
    except DamagedFile as e:
        segment.damage = e.reason
        segment.runs = _salvage(text)
    return dict_sorted(segment)


def dict_sorted(segment: Segment) -> Segment:
    segment.runs = dict(sorted(segment.runs.items()))
    return segment


def _salvage(text: str) -> dict[int, dict[str, Any]]:
    """Every run still whole in a damaged segment: the well-formed entries of a file that parses,
    else each line that holds one whole run (this layout writes one run per line)."""
    try:
        table = json.loads(text).get(RUNS_TABLE)
    except (json.JSONDecodeError, AttributeError):
        table = None
    if isinstance(table, dict):
        return {int(k): v for k, v in table.items() if k.isdigit() and isinstance(v, dict)}
    found: dict[int, dict[str, Any]] = {}
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if not match:
            continue
        try:
            doc = json.loads(match.group(2))
        except json.JSONDecodeError:
            continue
        if isinstance(doc, dict):
            found[int(match.group(1))] = doc
    return found


def write_turn(
    sdir: str,
    last: Segment | None,
    next_id: int,
    docs: list[dict[str, Any]],
    *,
    max_runs: int,
    max_bytes: int,
) -> tuple[int, int]:
    """Write ``docs`` (one turn) in one atomic file write, numbered from ``next_id``; returns
    (segment index written, last run number).

    ``last`` is the newest segment as read (None for a new session). The turn joins it when it is
    whole and has room, else it starts the next segment; a damaged segment is never rewritten.
    """
    encoded = sum(len(json.dumps(d)) for d in docs)
    if last is None:
        index, runs = 0, {}
    elif last.damage is None and (
        not last.runs or (len(last.runs) + len(docs) <= max_runs and last.size + encoded <= max_bytes)
    ):
        index, runs = last.index, dict(last.runs)
    else:
        index, runs = last.index + 1, {}
    for offset, doc in enumerate(docs):
        runs[next_id + offset] = doc
    tables: Tables = {RUNS_TABLE: {str(k): v for k, v in runs.items()}}
    AtomicJSONStorage(segment_file(sdir, index)).write(tables)
    return index, next_id + len(docs) - 1
