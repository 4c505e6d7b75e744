"""``output_schema:``: the JSON Schema a final answer must match, inline or ``{file: PATH}``.

``resolve`` turns the file's value into the schema itself (reading a file relative to the team
file) or says what is wrong with it, as (path below ``output_schema``, message, fix) triples that
the caller locates in the file. ``validate`` and ``compile_team`` both use it: nothing here imports
user code. jsonschema is imported on first use.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

# A problem below the output_schema key: (path inside it, what is wrong, how to fix it).
SchemaProblem = tuple[tuple[str | int, ...], str, str]


def is_file_reference(value: Mapping[str, Any]) -> bool:
    """``{file: PATH}`` and nothing else: a reference to a JSON file, not an inline schema."""
    return set(value) == {"file"}


def resolve(value: Any, base_dir: str | None) -> tuple[dict[str, Any] | None, list[SchemaProblem]]:
    """The schema ``value`` stands for, and its problems (the schema is None when there are any).

    ``base_dir`` is the team file's directory, for a relative ``file``; None leaves a relative one
    unchecked (a team held in memory with no directory)."""
    if not isinstance(value, Mapping):
        return None, []  # the team schema reports the type
    where: tuple[str | int, ...] = ()
    if is_file_reference(value):
        where = ("file",)
        ref = value["file"]
        if not isinstance(ref, str) or not ref:
            return None, [
                (where, "file must be a path to a JSON file", "give a path relative to the team file")
            ]
        path = os.path.expanduser(ref)
        if not os.path.isabs(path):
            if base_dir is None:
                return None, []
            path = os.path.normpath(os.path.join(base_dir, path))
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            return None, [
                (where, f"no JSON Schema file at {ref} ({path})", "give a path relative to the team file")
            ]
        except (OSError, UnicodeDecodeError) as exc:
            return None, [(where, f"cannot read {ref}: {exc}", "give a readable UTF-8 JSON file")]
        try:
            schema: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            return None, [
                (
                    where,
                    f"{ref} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                    "fix the file",
                )
            ]
        if not isinstance(schema, dict):
            return None, [(where, f"{ref} holds a JSON {type(schema).__name__}, not a schema object", "")]
    else:
        schema = dict(value)
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        inside = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
        shown = f" at {inside.lstrip('.')}" if inside and where else ""
        located = where or tuple(err.absolute_path)
        return None, [
            (
                located,
                f"not a valid JSON Schema{shown}: {err.message}",
                "see https://json-schema.org/understanding-json-schema (draft 2020-12)",
            )
        ]
    return schema, []


__all__ = ["SchemaProblem", "is_file_reference", "resolve"]
