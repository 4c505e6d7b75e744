"""A model's tool arguments checked against the tool's JSON Schema, with jsonschema.

The schema is the one the model was offered, so whatever it promised is exactly what is accepted.
jsonschema's own messages are written for programmers ("Additional properties are not allowed"), so
each error is reworded here for the model to correct itself in one go: every problem at once,
unknown arguments first (with the argument probably meant), then missing ones, then each wrong value
by the order of the schema's properties.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from .args import sent, words


@lru_cache(maxsize=256)
def _validator(schema_key: str) -> Any:
    import json

    from jsonschema import Draft202012Validator  # ~80 ms, paid only when a tool is called

    return Draft202012Validator(json.loads(schema_key))


def _where(path: Sequence[Any]) -> str:
    head, rest = path[0], path[1:]
    return f"argument {head!r}" + "".join(f"[{p!r}]" if isinstance(p, str) else f"[{p}]" for p in rest)


def _problem(err: Any) -> tuple[int, str] | None:
    """(sort group, text) for one jsonschema error; None for errors reported another way."""
    path = list(err.absolute_path)
    kind = err.validator
    if kind == "additionalProperties":
        known = list(err.schema.get("properties", {}))
        unknown = [k for k in err.instance if k not in known]
        texts = []
        for key in unknown:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            texts.append(
                f"unknown argument {key!r}{hint}" if not path else f"unknown key {key!r} in {_where(path)}"
            )
        return 0, "; ".join(texts)
    if kind == "required":
        missing = ", ".join(repr(k) for k in err.validator_value if k not in err.instance)
        return 1, f"missing required key {missing} in {_where(path)}" if path else missing
    if not path:
        return 2, err.message  # the arguments object itself (its type was checked before)
    if kind == "minLength" and err.validator_value == 1:
        return 2, f"{_where(path)} must not be empty"
    if kind in ("minItems", "maxItems"):
        return (
            2,
            f"{_where(path)} must have {err.validator_value} item{'s' if err.validator_value != 1 else ''} {'at least' if kind == 'minItems' else 'at most'}, got {len(err.instance)}",
        )
    if kind == "uniqueItems":
        return 2, f"the items of {_where(path)} must all be different"
    if kind in (
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "pattern",
        "maxLength",
        "minLength",
    ):
        return 2, f"{_where(path)}: {err.message}"
    return 2, f"{_where(path)} must be {words(err.schema)}, got {sent(err.instance)}"


def check_arguments(schema: dict[str, Any], args: dict[str, Any]) -> list[str]:
    """Every problem with ``args`` under ``schema``, worded for the model; [] when they fit."""
    import json

    validator = _validator(json.dumps(schema, sort_keys=True))
    order = {name: i for i, name in enumerate(schema.get("properties") or {})}
    found: list[tuple[int, int, str, str]] = []
    for err in validator.iter_errors(args):
        problem = _problem(err)
        if problem is None or not problem[1]:
            continue
        path = list(err.absolute_path)
        position = order.get(path[0], len(order)) if path else -1
        found.append((problem[0], position, str(path), problem[1]))
    found.sort()
    # jsonschema reports each missing argument on its own: name them together, in one problem.
    missing = [text for group, position, _, text in found if group == 1 and position == -1]
    texts = [text for group, position, _, text in found if not (group == 1 and position == -1)]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        texts.insert(
            sum(1 for g, *_ in found if g == 0), f"missing required argument{plural} {', '.join(missing)}"
        )
    return list(dict.fromkeys(texts))
