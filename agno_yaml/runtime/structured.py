"""Structured output: an agent with an ``output_schema`` must answer with JSON that matches it.

The request asks for it (``response_format``, OpenAI's ``json_schema`` shape, which litellm passes
on or translates); the answer is parsed (a fenced ```json block is accepted) and checked with
jsonschema. A wrong answer is sent back once with what is wrong (``repair_request``); the run loop
fails the run on a second one with ``failure_line``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

MAX_ERRORS_SHOWN = 8  # in the repair request; the failure line names the first
_FENCE = re.compile(r"```(?:json|JSON)?[ \t]*\n(.*?)\n?[ \t]*```", re.DOTALL)
_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def response_format(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """What the provider is sent: the schema by a name it accepts (letters, digits, _ and -)."""
    safe = _NAME.sub("_", name).strip("_")[:64] or "answer"
    return {"type": "json_schema", "json_schema": {"name": safe, "schema": schema, "strict": False}}


@dataclass
class Checked:
    """An answer checked against a schema: ``ok`` with ``value`` (parsed) and ``text`` (the JSON as
    written, without a fence), or ``errors`` ("$.path: message", the first the most telling)."""

    value: Any = None
    text: str = ""
    errors: list[str] = field(default_factory=list)
    not_json: str = ""  # why the answer is not JSON at all

    @property
    def ok(self) -> bool:
        return not self.errors


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _parse(text: str) -> tuple[Any, str] | str:
    """(value, JSON text) or why it is not JSON. A fenced block is tried when the whole is not JSON."""
    stripped = text.strip()
    candidates = [stripped, *(m.group(1).strip() for m in _FENCE.finditer(text))]
    first_error = ""
    for candidate in candidates:
        try:
            return json.loads(candidate), candidate
        except json.JSONDecodeError as exc:
            first_error = first_error or f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return first_error or "no JSON found"


def check(text: str | None, schema: dict[str, Any]) -> Checked:
    """``text`` parsed as JSON and checked against ``schema`` (already known to be a valid schema)."""
    parsed = _parse(text or "")
    if isinstance(parsed, str):
        return Checked(errors=[f"$: not JSON ({parsed})"], not_json=parsed)
    value, json_text = parsed
    from jsonschema import Draft202012Validator

    found = sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: (e.json_path, e.message))
    errors = [f"{e.json_path}: {_short(e.message)}" for e in found]
    return Checked(value=value, text=json_text, errors=errors)


def repair_request(checked: Checked) -> str:
    """The user message that asks once for a corrected answer, naming what is wrong."""
    shown = checked.errors[:MAX_ERRORS_SHOWN]
    more = len(checked.errors) - len(shown)
    lines = "\n".join(f"- {e}" for e in shown) + (f"\n- ... and {more} more" if more > 0 else "")
    return (
        "Your answer does not match the required JSON Schema (output_schema):\n"
        f"{lines}\n"
        "Reply with the corrected JSON only: one JSON value that matches the schema, no other text."
    )


def failure_line(checked: Checked) -> str:
    """The one line a run fails with after the repair attempt also missed."""
    if checked.not_json:
        return (
            f"the answer is not JSON, as output_schema requires ({checked.not_json}); "
            "the model was asked once to correct it"
        )
    more = len(checked.errors) - 1
    rest = f" (and {more} more error{'s' if more != 1 else ''})" if more else ""
    return (
        f"the answer does not match output_schema: {checked.errors[0]}{rest}; "
        "the model was asked once to correct it"
    )


__all__ = ["Checked", "check", "failure_line", "repair_request", "response_format"]
