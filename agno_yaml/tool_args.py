"""A tool's arguments as JSON: the schema each parameter's type hint promises the model, and the
check and conversion of the arguments the model sends back.

Both directions live here, side by side, because ``call_tool`` must accept exactly what the schema
promised: a change to one that is not made to the other shows up in the same screenful. They are
separate from ``tools`` because neither cares how a tool was found, imported or named; they see
only type hints, parameters and JSON values. Every problem is worded for the model to correct
itself, not as a Python traceback.
"""

from __future__ import annotations

import difflib
import enum
import inspect
import json
import types
import typing
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean"}


# ---- type hints -> JSON schema ------------------------------------------------------------------


def _is_unconstrained(tp: Any) -> bool:
    return tp is Any or tp is object or tp is inspect.Parameter.empty or isinstance(tp, str)


def _container(tp: Any) -> type | None:
    """The runtime class behind ``tp`` when it is a mapping or an array-like, else None."""
    cls = typing.get_origin(tp) or tp
    array_like = (
        isinstance(cls, type)
        and issubclass(cls, (Sequence, AbstractSet))
        and not issubclass(cls, (str, bytes))
    )
    return cls if array_like or isinstance(cls, type) and issubclass(cls, Mapping) else None


def _item_type(args: tuple[Any, ...]) -> Any:
    """The one type of every item (``list[X]``, ``tuple[X, ...]``, ``tuple[X, X]``), else unconstrained."""
    kinds = {a for a in args if a is not Ellipsis}
    return kinds.pop() if len(kinds) == 1 else Any


def _fixed_length(cls: type, args: tuple[Any, ...]) -> bool:
    return cls is tuple and bool(args) and args[-1] is not Ellipsis


def _enum_schema(values: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"enum": values}
    kinds = {_SIMPLE.get(type(v)) for v in values}
    if len(kinds) == 1 and None not in kinds:
        out["type"] = kinds.pop()
    return out


def hint_schema(tp: Any) -> dict[str, Any]:
    """The JSON Schema of one parameter whose type hint is ``tp`` (``{}``: anything goes)."""
    if _is_unconstrained(tp):
        return {}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return hint_schema(args[0])
    if origin in (typing.Union, types.UnionType):
        arms = [a for a in args if a is not type(None)]
        return hint_schema(arms[0]) if len(arms) == 1 else {"anyOf": [hint_schema(a) for a in arms]}
    if origin is typing.Literal:
        return _enum_schema(list(args))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_schema([m.value for m in tp])
    if tp in _SIMPLE:
        return {"type": _SIMPLE[tp]}
    if tp is type(None):
        return {"type": "null"}
    cls = _container(tp)
    if cls is not None and issubclass(cls, Mapping):
        value = hint_schema(args[1]) if len(args) == 2 else {}
        return {"type": "object", "additionalProperties": value} if value else {"type": "object"}
    if cls is not None:
        out: dict[str, Any] = {"type": "array"}
        if _fixed_length(cls, args):
            out["minItems"] = out["maxItems"] = len(args)
        if items := hint_schema(_item_type(args)):
            out["items"] = items
        if issubclass(cls, AbstractSet):
            out["uniqueItems"] = True
        return out
    return {}  # a class JSON cannot express: the model may send anything, the tool decides


def _words(schema: dict[str, Any]) -> str:
    """A schema in a few words, for messages to the model."""
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"])
    if "anyOf" in schema:
        return " or ".join(_words(s) for s in schema["anyOf"])
    kind = schema.get("type")
    if kind == "array" and "items" in schema:
        return f"array of {_words(schema['items'])}"
    return str(kind) if kind else "any JSON value"


# ---- the model's JSON -> Python arguments -------------------------------------------------------


class _Mismatch(Exception):
    """A value does not fit its type hint; the message names where and what was expected."""


def json_kind(value: Any) -> str:
    """What the model sent, in JSON's words and shortened, for messages to the model."""
    kinds = {type(None): "null", bool: "boolean", int: "integer", float: "number", str: "string"}
    kind = kinds.get(type(value)) or ("array" if isinstance(value, list) else "object")
    shown = json.dumps(value, ensure_ascii=False)
    return kind if value is None else f"{kind} {shown if len(shown) <= 60 else shown[:57] + '...'}"


def _convert(value: Any, tp: Any, where: str) -> Any:
    """``value`` as ``tp`` expects it (enum members, tuples, ints from 2.0), or _Mismatch."""
    if _is_unconstrained(tp):
        return value
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return _convert(value, args[0], where)

    def wrong() -> _Mismatch:
        return _Mismatch(f"{where} must be {_words(hint_schema(tp))}, got {json_kind(value)}")

    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        arms = [a for a in args if a is not type(None)]
        if len(arms) == 1:  # Optional[X]: X's own message says more, e.g. which list item is wrong
            return _convert(value, arms[0], where)
        for arm in args:
            try:
                return _convert(value, arm, where)
            except _Mismatch:
                continue
        raise wrong()
    is_enum = isinstance(tp, type) and issubclass(tp, enum.Enum)
    if origin is typing.Literal or is_enum:
        for option in list(tp) if is_enum else args:
            plain = option.value if is_enum else option
            if plain == value and isinstance(plain, bool) == isinstance(value, bool):
                return option
        raise wrong()
    if tp is type(None) and value is None:
        return None
    if tp in _SIMPLE:
        if tp is bool and isinstance(value, bool) or tp is str and isinstance(value, str):
            return value
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if tp is int and numeric and float(value).is_integer():
            return int(value)  # models write 2.0 for 2
        if tp is float and numeric:
            return float(value)
        raise wrong()
    cls = _container(tp)
    if cls is not None and issubclass(cls, Mapping) and isinstance(value, dict):
        if len(args) == 2:
            return {k: _convert(v, args[1], f"{where}[{k!r}]") for k, v in value.items()}
        return value
    if cls is not None and not issubclass(cls, Mapping) and isinstance(value, list):
        if _fixed_length(cls, args) and len(value) != len(args):
            raise wrong()
        items = [_convert(v, _item_type(args), f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if cls is tuple else set(items) if issubclass(cls, AbstractSet) else items
    if cls is not None or tp in _SIMPLE or tp is type(None):
        raise wrong()
    return value  # a class without a JSON form: the tool gets the value as sent


def expected_arguments(schema: dict[str, Any]) -> str:
    """What a tool takes, as a sentence appended to every argument error so the model can retry."""
    properties = schema.get("properties") or {}
    if not properties:
        return "This tool takes no arguments; send {}."
    required = set(schema.get("required") or [])
    parts = []
    for name, prop in properties.items():
        need = "required" if name in required else "optional"
        if "default" in prop:
            need += f", default {json.dumps(prop['default'], ensure_ascii=False)}"
        text = f"{name} ({_words(prop)}, {need})"
        note = str(prop.get("description", "")).rstrip(". ")  # the list adds its own punctuation
        parts.append(f"{text}: {note}" if note else text)
    return "Expected a JSON object with: " + "; ".join(parts) + "."


def bind_arguments(
    params: Mapping[str, inspect.Parameter], hints: Mapping[str, Any], args: Mapping[str, Any]
) -> tuple[list[Any], dict[str, Any], list[str]]:
    """(positional, keyword, problems) for calling a function with ``params`` on the model's
    ``args``. Every problem is collected, not just the first, so the model can fix them in one go;
    the call must not be made unless ``problems`` is empty."""
    problems = []
    for key in args:
        if key not in params:
            close = difflib.get_close_matches(key, list(params), n=1)
            problems.append(f"unknown argument {key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    missing = [repr(n) for n, p in params.items() if p.default is p.empty and n not in args]
    if missing:
        problems.append(f"missing required argument{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    positional: list[Any] = []
    keyword: dict[str, Any] = {}
    for name, p in params.items():
        if name not in args:
            if p.kind is p.POSITIONAL_ONLY:
                positional.append(p.default)  # keeps later positional-only arguments in their places
            continue
        try:
            value = _convert(args[name], hints.get(name, p.empty), f"argument {name!r}")
        except _Mismatch as e:
            problems.append(str(e))
            continue
        if p.kind is p.POSITIONAL_ONLY:
            positional.append(value)
        else:
            keyword[name] = value
    return positional, keyword, problems
