"""Stored documents read back with their types checked, so damage is named, never a traceback.

A session document or a run that is not what this version wrote (hand-edited, truncated by a disk,
written by a buggy tool) must give one line naming what is wrong, for every backend: files and
database rows go through the same checks. ``DamagedDocument`` says what; the backend adds where
(the file, the row) and what to do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..messages import RunRecord
from .rules import SessionInfo

_ROLES = ("system", "user", "assistant", "tool")
_STATUSES = ("completed", "error", "cancelled")


class DamagedDocument(ValueError):
    """A stored document does not have the shape this version writes; ``str(e)`` says how."""


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check(
    doc: Mapping[str, Any], field: str, kinds: tuple[type, ...], what: str, *, required: bool = False
) -> None:
    if field not in doc:
        if required:
            raise DamagedDocument(f"{field} is missing")
        return
    value = doc[field]
    ok = (value is None and type(None) in kinds) or (
        value is not None and isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    )
    if not ok:
        raise DamagedDocument(f"{field} is not {what}")


def _text(doc: Mapping[str, Any], field: str, *, required: bool = False, nullable: bool = False) -> None:
    kinds: tuple[type, ...] = (str, type(None)) if nullable else (str,)
    _check(doc, field, kinds, "text" + (" or null" if nullable else ""), required=required)


def _time(doc: Mapping[str, Any], field: str) -> None:
    if field in doc and not _number(doc[field]):
        raise DamagedDocument(f"{field} is not a number of seconds")


def _message(m: Any, where: str) -> None:
    if not isinstance(m, Mapping):
        raise DamagedDocument(f"{where} is not an object")
    if m.get("role") not in _ROLES:
        raise DamagedDocument(f"{where}.role is not one of {', '.join(_ROLES)}")
    try:
        _text(m, "content", nullable=True)
        _text(m, "tool_call_id", nullable=True)
        _text(m, "name", nullable=True)
        _check(m, "tool_calls", (list, type(None)), "a list")
    except DamagedDocument as e:
        raise DamagedDocument(f"{where}.{e}") from None
    for j, call in enumerate(m.get("tool_calls") or []):
        fn = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
            raise DamagedDocument(f"{where}.tool_calls[{j}] is not a tool call")
        if not isinstance(fn.get("arguments", "{}"), str):
            raise DamagedDocument(f"{where}.tool_calls[{j}].function.arguments is not text")


def _execution(t: Any, where: str) -> None:
    if not isinstance(t, Mapping):
        raise DamagedDocument(f"{where} is not an object")
    try:
        _text(t, "id", required=True)
        _text(t, "name", required=True)
        _text(t, "arguments")
        _text(t, "result", nullable=True)
        _text(t, "error", nullable=True)
        _check(t, "child_run_ids", (list,), "a list")
        _time(t, "duration")
    except DamagedDocument as e:
        raise DamagedDocument(f"{where}.{e}") from None


def parse_run(doc: Any) -> RunRecord:
    """A stored run, its types checked; DamagedDocument says what is wrong with it."""
    if not isinstance(doc, Mapping):
        raise DamagedDocument("the run is not an object")
    for field in ("run_id", "session_id", "user_id"):
        _text(doc, field, required=True)
    if not isinstance(doc.get("input", ""), (str, dict)):
        raise DamagedDocument("input is not text")
    for field in ("parent_run_id", "member", "content", "error", "answered_by", "summary_error"):
        _text(doc, field, nullable=True)
    _text(doc, "model")
    _time(doc, "created_at")
    if not isinstance(doc.get("summary_failures", 0), int) or isinstance(doc.get("summary_failures"), bool):
        raise DamagedDocument("summary_failures is not an integer")
    _check(doc, "truncated", (bool,), "true or false")
    if doc.get("status", "completed") not in _STATUSES:
        raise DamagedDocument(f"status is not one of {', '.join(_STATUSES)}")
    _check(doc, "messages", (list,), "a list")
    _check(doc, "tool_calls", (list,), "a list")
    _check(doc, "metrics", (dict,), "an object")
    for i, m in enumerate(doc.get("messages") or []):
        _message(m, f"messages[{i}]")
    for i, t in enumerate(doc.get("tool_calls") or []):
        _execution(t, f"tool_calls[{i}]")
    metrics = doc.get("metrics") or {}
    for field in ("input_tokens", "output_tokens", "total_tokens", "duration"):
        if field in metrics and not _number(metrics[field]):
            raise DamagedDocument(f"metrics.{field} is not a number")
    if metrics.get("cost") is not None and not _number(metrics["cost"]):
        raise DamagedDocument("metrics.cost is not a number")
    data = dict(doc)
    if isinstance(data.get("input"), dict):  # media-bearing input: the text is what a person typed
        data["input"] = str(data["input"].get("text", ""))
    return RunRecord.from_dict(data)


def parse_session(doc: Any) -> SessionInfo:
    """A stored session document, its types checked; DamagedDocument says what is wrong with it.

    Only the session's own fields are checked here; a backend's bookkeeping (segment numbers,
    counters) is its own business, and it repairs those itself.
    """
    if not isinstance(doc, Mapping):
        raise DamagedDocument("the session document is not an object")
    if not isinstance(doc.get("user_id"), str) or not doc.get("user_id"):
        raise DamagedDocument(
            "user_id (the session's owner) is missing" if "user_id" not in doc else "user_id is not text"
        )
    _text(doc, "session_id", required=True)
    _text(doc, "team_id")
    _time(doc, "created_at")
    _time(doc, "updated_at")
    _check(doc, "summary", (dict, type(None)), "an object or null")
    _check(doc, "session_state", (dict, type(None)), "an object")
    _check(doc, "metadata", (dict, type(None)), "an object")
    if "run_count" in doc and not (
        isinstance(doc["run_count"], int) and not isinstance(doc["run_count"], bool)
    ):
        raise DamagedDocument("run_count is not a whole number")
    if "schema_version" in doc and not (
        isinstance(doc["schema_version"], int) and not isinstance(doc["schema_version"], bool)
    ):
        raise DamagedDocument("schema_version is not a whole number")
    return SessionInfo.from_doc(doc)
