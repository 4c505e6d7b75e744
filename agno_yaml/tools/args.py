"""A tool's arguments between JSON and Python: the schema each parameter's type hint promises the
model, and the conversion of the (already schema-checked) arguments the model sends back.

Both directions live here, side by side, because a call must accept exactly what the schema
promised: a change to one that is not made to the other shows up in the same screenful. Neither
cares how a tool was found, imported or named; they see only type hints, parameters and JSON values.
"""

from __future__ import annotations

import enum
import functools
import inspect
import json
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from ..errors import type_name

_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean"}


# ---- type hints -> JSON schema ------------------------------------------------------------------


def is_unconstrained(tp: Any) -> bool:
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
    if is_unconstrained(tp):
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


def words(schema: dict[str, Any]) -> str:
    """A schema in a few words, for messages to the model."""
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"])
    if "anyOf" in schema:
        return " or ".join(words(s) for s in schema["anyOf"])
    kind = schema.get("type")
    if kind == "array" and "items" in schema:
        return f"array of {words(schema['items'])}"
    return str(kind) if kind else "any JSON value"


def hint_target(fn: Callable[..., Any]) -> Any:
    """The object whose annotations and docstring describe ``fn``'s parameters."""
    if isinstance(fn, functools.partial):
        return hint_target(fn.func)
    if isinstance(fn, type):
        return fn.__init__  # type: ignore[misc]  # the signature a call to the class goes through
    if not (inspect.isfunction(fn) or inspect.ismethod(fn) or inspect.isbuiltin(fn)):
        return type(fn).__call__  # a callable instance
    return inspect.unwrap(fn)  # functools.wraps keeps the original's globals for resolving names


def type_hints(fn: Callable[..., Any], sig: inspect.Signature) -> dict[str, Any]:
    try:
        return typing.get_type_hints(hint_target(fn), include_extras=True)
    except Exception:  # a name that cannot be resolved (e.g. imported only under TYPE_CHECKING)
        return {n: p.annotation for n, p in sig.parameters.items()}  # strings among them stay unconstrained


# ---- the model's JSON -> Python arguments -------------------------------------------------------


class Mismatch(Exception):
    """A value does not fit its type hint; the message names where and what was expected."""


def sent(value: Any) -> str:
    """What the model sent, in words and shortened, for messages to the model: a string "Oslo"."""
    shown = json.dumps(value, ensure_ascii=False)
    return (
        type_name(value)
        if value is None
        else f"{type_name(value)} {shown if len(shown) <= 60 else shown[:57] + '...'}"
    )


def _convert(value: Any, tp: Any, where: str) -> Any:
    """``value`` as ``tp`` expects it (enum members, tuples, ints from 2.0), or Mismatch."""
    if is_unconstrained(tp):
        return value
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return _convert(value, args[0], where)

    def wrong() -> Mismatch:
        return Mismatch(f"{where} must be {words(hint_schema(tp))}, got {sent(value)}")

    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        arms = [a for a in args if a is not type(None)]
        if len(arms) == 1:  # Optional[X]: X's own message says more, e.g. which list item is wrong
            return _convert(value, arms[0], where)
        for arm in args:
            try:
                return _convert(value, arm, where)
            except Mismatch:
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
        text = f"{name} ({words(prop)}, {need})"
        note = str(prop.get("description", "")).rstrip(". ")  # the list adds its own punctuation
        parts.append(f"{text}: {note}" if note else text)
    return "Expected a JSON object with: " + "; ".join(parts) + "."


def to_python(
    fn: Callable[..., Any], args: Mapping[str, Any], *, skip_first: bool = False
) -> tuple[list[Any], dict[str, Any]]:
    """(positional, keyword) to call ``fn`` with the model's ``args``, each converted to the type its
    hint names (enum members, tuples, sets, ints from 2.0). The arguments were checked against the
    tool's schema already; a value the schema could not express and the hint refuses raises
    Mismatch. ``skip_first``: the first parameter is a context the run loop passes, not the model.
    """
    sig = inspect.signature(fn)
    hints = type_hints(fn, sig)
    params = [p for p in list(sig.parameters.values())[1 if skip_first else 0 :] if p.name != "session_state"]
    positional: list[Any] = []
    keyword: dict[str, Any] = {}
    for p in params:
        if p.name not in args:
            if p.kind is p.POSITIONAL_ONLY:
                positional.append(p.default)  # keeps later positional-only arguments in their places
            continue
        value = _convert(args[p.name], hints.get(p.name, p.empty), f"argument {p.name!r}")
        if p.kind is p.POSITIONAL_ONLY:
            positional.append(value)
        else:
            keyword[p.name] = value
    return positional, keyword
