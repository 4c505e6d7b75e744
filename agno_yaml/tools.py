"""Python callables as tools: a JSON schema from type hints and docstring, import by ``module:function``,
and a call with the JSON arguments a model wrote.

``call_tool`` checks the model's arguments against the same type hints the schema came from, so a
mistake goes back to the model as a message it can act on instead of as a Python traceback.
"""

from __future__ import annotations

import asyncio
import difflib
import enum
import functools
import importlib
import inspect
import json
import os
import re
import sys
import threading
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from .errors import ToolImportError

_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean"}
_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what OpenAI-compatible APIs accept as a function name
_REF_RE = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")
_ARGS_RE = re.compile(r"args|arguments|parameters|params|keyword arg(ument)?s|other parameters", re.I)
_SECTION_RE = re.compile(  # headers that end a docstring's summary (Google with ":", NumPy without)
    rf"({_ARGS_RE.pattern}|returns?|yields?|raises|warns|examples?|notes?|attributes|methods|warnings?"
    r"|see also|references|todo):",
    re.IGNORECASE,
)
_RULE_RE = re.compile(r"\s*-{3,}\s*")  # the underline of a NumPy section header
_SPHINX_RE = re.compile(r"\s*:param\s+(?:[^:]+\s+)?(\w+)\s*:\s*(.*)")
_IMPORT_LOCK = threading.Lock()  # sys.path is process-wide: two imports must not see each other's entry


class ToolArgumentError(ValueError):
    """The model's arguments do not fit the tool. ``str(e)`` is written for the model to correct itself."""


@dataclass(frozen=True)
class ToolDef:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON Schema of the arguments object
    function: Callable[..., Any] | None = None  # None: the run loop implements it (delegation, history)

    def to_openai(self) -> dict[str, Any]:
        spec = {"name": self.name, "description": self.description, "parameters": self.parameters}
        return {"type": "function", "function": spec}


# ---- docstrings ----------------------------------------------------------------------------------


def _param_block(lines: list[str], start: int, numpy: bool) -> dict[str, str]:
    """Entries of a Google ``Args:`` or NumPy ``Parameters`` block whose first entry is at ``start``."""
    found: dict[str, list[str]] = {}
    base: int | None = None
    current: list[str] = []
    for j in range(start, len(lines)):
        line = lines[j]
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        base = indent if base is None else base
        if indent < base or (numpy and j + 1 < len(lines) and _RULE_RE.fullmatch(lines[j + 1])):
            break  # the next section
        head, _, rest = line.strip().partition(":")
        names = [n.strip().lstrip("*") for n in re.sub(r"\(.*?\)", "", head).split(",")]
        if indent == base and all(n.isidentifier() for n in names):
            current = [] if numpy else [rest.strip()]  # NumPy puts the type after the colon
            for n in names:
                found[n] = current
        else:
            current.append(line.strip())
    return {name: " ".join(p for p in parts if p) for name, parts in found.items()}


def _parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """(summary, {parameter: description}) from a Google, Sphinx or NumPy style docstring."""
    lines = inspect.cleandoc(doc or "").splitlines()
    params: dict[str, str] = {}
    summary_end = len(lines)
    last_sphinx: str | None = None
    for i, line in enumerate(lines):
        text = line.strip()
        underlined = i + 1 < len(lines) and bool(_RULE_RE.fullmatch(lines[i + 1]))
        numpy_header = underlined and bool(_SECTION_RE.fullmatch(text + ":"))
        if _SECTION_RE.fullmatch(text) or numpy_header or re.match(r":\w+", text):
            summary_end = min(summary_end, i)
        if _SECTION_RE.fullmatch(text) and _ARGS_RE.fullmatch(text[:-1]):
            params.update(_param_block(lines, i + 1, numpy=False))
        elif numpy_header and _ARGS_RE.fullmatch(text):
            params.update(_param_block(lines, i + 2, numpy=True))
        elif match := _SPHINX_RE.match(line):
            last_sphinx = match.group(1)
            params[last_sphinx] = match.group(2).strip()
        elif last_sphinx and text and not text.startswith(":") and line[:1].isspace():
            params[last_sphinx] += " " + text  # an indented continuation of the last :param
        else:
            last_sphinx = None
    paragraphs = "\n".join(lines[:summary_end]).split("\n\n")
    summary = "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
    return summary, params


# ---- type hints -> JSON schema ------------------------------------------------------------------


def _target(fn: Callable[..., Any]) -> Any:
    """The object whose annotations and docstring describe ``fn``'s parameters."""
    if isinstance(fn, functools.partial):
        return _target(fn.func)
    if isinstance(fn, type):
        return fn.__init__
    if not (inspect.isfunction(fn) or inspect.ismethod(fn) or inspect.isbuiltin(fn)):
        return type(fn).__call__  # a callable instance
    return inspect.unwrap(fn)  # functools.wraps keeps the original's globals for resolving names


def _hints(fn: Callable[..., Any], sig: inspect.Signature) -> dict[str, Any]:
    target = _target(fn)
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:  # a name that cannot be resolved (e.g. imported only under TYPE_CHECKING)
        return {n: p.annotation for n, p in sig.parameters.items()}  # strings among them stay unconstrained


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


def _schema(tp: Any) -> dict[str, Any]:
    if _is_unconstrained(tp):
        return {}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return _schema(args[0])
    if origin in (typing.Union, types.UnionType):
        arms = [a for a in args if a is not type(None)]
        return _schema(arms[0]) if len(arms) == 1 else {"anyOf": [_schema(a) for a in arms]}
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
        value = _schema(args[1]) if len(args) == 2 else {}
        return {"type": "object", "additionalProperties": value} if value else {"type": "object"}
    if cls is not None:
        out: dict[str, Any] = {"type": "array"}
        if _fixed_length(cls, args):
            out["minItems"] = out["maxItems"] = len(args)
        if items := _schema(_item_type(args)):
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


def _jsonable(value: Any) -> tuple[bool, Any]:
    plain = value.value if isinstance(value, enum.Enum) else value
    try:  # a round trip turns tuples into lists and refuses NaN, which is not JSON
        return True, json.loads(json.dumps(plain, allow_nan=False))
    except (TypeError, ValueError):
        return False, None


def _build(fn: Callable[..., Any], name: str | None, label: str) -> ToolDef:
    tool_name = name or getattr(fn, "__name__", None)
    if tool_name is None or tool_name == "<lambda>":
        raise ToolImportError(f"{label}: it has no name the model can call; define it with def or pass name=")
    if not _NAME_RE.fullmatch(tool_name):
        raise ToolImportError(
            f"{label}: {tool_name!r} is not a valid tool name (letters, digits, _ and -, up to 64)"
        )
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as e:
        raise ToolImportError(f"{label}: cannot read its parameters ({e}); wrap it in a def") from None
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            star = "*" if p.kind is p.VAR_POSITIONAL else "**"
            raise ToolImportError(
                f"{label}: parameter {star}{p.name} is not supported; a model sends named arguments, "
                "so list each parameter explicitly"
            )
    hints = _hints(fn, sig)
    target = _target(fn)
    # __doc__ rather than inspect.getdoc: getdoc gives an undocumented __call__ the text "Call self as a function."
    sources = (
        [fn, target]
        if isinstance(fn, type)
        else [target]
        if isinstance(fn, functools.partial)
        else [target, fn]
    )
    summary, param_docs = _parse_docstring(
        next(filter(None, (getattr(s, "__doc__", None) for s in sources)), None)
    )
    properties: dict[str, Any] = {}
    required: list[str] = []
    for p in sig.parameters.values():
        tp = hints.get(p.name, p.empty)
        prop = _schema(tp)
        notes = [m for m in getattr(tp, "__metadata__", ()) if isinstance(m, str)]  # Annotated[int, "..."]
        if description := param_docs.get(p.name) or " ".join(notes):
            prop["description"] = description
        if p.default is p.empty:
            required.append(p.name)
        elif (default := _jsonable(p.default))[0]:
            prop["default"] = default[1]
        properties[p.name] = prop
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    return ToolDef(tool_name, summary, schema, fn)


def tool_from_callable(fn: Callable[..., Any], *, name: str | None = None) -> ToolDef:
    """A tool for ``fn``; ``name`` overrides ``fn.__name__`` (required for lambdas)."""
    label = f"tool '{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', type(fn).__name__)}'"
    return _build(fn, name, label)


# ---- import by reference ------------------------------------------------------------------------


def _import_module(ref: str, module_name: str, search_path: str | None) -> Any:
    with _IMPORT_LOCK:
        if search_path is not None:
            sys.path.insert(0, search_path)
            importlib.invalidate_caches()  # files written since the last import (tests, generated tools)
        try:
            return importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name and (module_name == e.name or module_name.startswith(e.name + ".")):
                where = f"the team file's directory {search_path} and " if search_path is not None else ""
                raise ToolImportError(
                    f"tool {ref!r}: no module named {e.name!r} (looked in {where}the Python path); "
                    "install the package that provides it or fix the module name"
                ) from None
            raise ToolImportError(
                f"tool {ref!r}: module {module_name!r} needs {e.name!r}, which is not installed; install it"
            ) from e
        except (Exception, SystemExit) as e:
            detail = " ".join(str(e).split()) or "(no message)"
            raise ToolImportError(
                f"tool {ref!r}: importing module {module_name!r} raised {type(e).__name__}: {detail}; "
                "fix the module so it imports cleanly"
            ) from e
        finally:
            if search_path is not None and search_path in sys.path:
                sys.path.remove(search_path)  # the module is in sys.modules now; the entry is not needed


def _public_callables(obj: Any) -> list[str]:
    names = [n for n in dir(obj) if not n.startswith("_") and callable(getattr(obj, n, None))]
    if inspect.ismodule(obj):  # prefer what the module defines over what it imported
        own = [n for n in names if getattr(getattr(obj, n), "__module__", None) == obj.__name__]
        names = own or names
    return names


def import_tool(ref: str, *, search_path: str | os.PathLike[str] | None = None) -> ToolDef:
    """Import ``package.module:function`` and build its tool; ``search_path`` is searched first."""
    match = _REF_RE.fullmatch(ref.strip())
    if not match:
        module, dot, attr = ref.strip().rpartition(".")
        hint = f" (did you mean '{module}:{attr}'?)" if dot and ":" not in ref and module else ""
        raise ToolImportError(
            f"tool {ref!r}: a tool reference must look like 'package.module:function'{hint}"
        )
    module_name, attr_path = match.groups()
    obj = _import_module(ref, module_name, os.fspath(search_path) if search_path is not None else None)
    parts = attr_path.split(".")
    missing = object()
    for depth, part in enumerate(parts):
        found = getattr(obj, part, missing)
        if found is missing:
            owner = f"module {module_name!r}" if depth == 0 else repr(".".join(parts[:depth]))
            choices = _public_callables(obj)
            close = difflib.get_close_matches(part, choices, n=3, cutoff=0.6)
            if close:
                fix = f"did you mean {', '.join(close)}?"
            else:
                fix = f"it has: {', '.join(choices[:10])}" if choices else "it defines no public functions"
            raise ToolImportError(f"tool {ref!r}: {owner} has no attribute {part!r}; {fix}")
        obj = found
    if not callable(obj):
        raise ToolImportError(
            f"tool {ref!r}: {attr_path!r} is a {type(obj).__name__}, not a function; point the reference at a function"
        )
    name = None if isinstance(getattr(obj, "__name__", None), str) else attr_path.rpartition(".")[2]
    return _build(obj, name, f"tool {ref!r}")


# ---- calling ------------------------------------------------------------------------------------


class _Mismatch(Exception):
    """A value does not fit its type hint; the message names where and what was expected."""


def _json_kind(value: Any) -> str:
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
        return _Mismatch(f"{where} must be {_words(_schema(tp))}, got {_json_kind(value)}")

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


def _expected(schema: dict[str, Any]) -> str:
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


def call_tool(tool: ToolDef, arguments: str) -> str:
    """Run ``tool`` with the model's raw JSON ``arguments``; the result as text for the model."""
    fn = tool.function
    if fn is None:
        raise TypeError(f"tool {tool.name!r} is carried out by the run loop, not by call_tool")

    def bad(problem: str) -> ToolArgumentError:
        return ToolArgumentError(
            f"Invalid arguments for tool {tool.name!r}: {problem}. {_expected(tool.parameters)}"
        )

    try:  # some models send "" for a tool without parameters
        args = json.loads(arguments.strip() or "{}")
    except json.JSONDecodeError as e:
        raise bad(f"the arguments are not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    if not isinstance(args, dict):
        raise bad(f"the arguments must be a JSON object, got {_json_kind(args)}")
    sig = inspect.signature(fn)
    hints = _hints(fn, sig)
    params = sig.parameters
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
    if problems:
        raise bad("; ".join(problems))
    result = fn(*positional, **keyword)
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    if isinstance(result, str):
        return result
    if result is None:
        return ""
    try:
        return json.dumps(result, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(result)
