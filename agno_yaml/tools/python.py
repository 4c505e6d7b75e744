"""Python callables as tools: a JSON schema from type hints and docstring, import by ``module:function``.

Docstring parsing lives in ``docstrings`` and the type-hint schema in ``args``; this module ties
them to callables: finding, naming, importing, and saying what about a function will leave the
model guessing (a parameter without a type hint or a description, a class instead of a function).
Calling is the same for every tool (``base.call_tool``).
"""

from __future__ import annotations

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
from collections.abc import Callable
from typing import Any

from ..errors import ToolImportError
from .args import hint_schema, hint_target, is_unconstrained, type_hints
from .base import STATE_PARAMETER, ToolDef
from .docstrings import parse_docstring

_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what OpenAI-compatible APIs accept as a function name
_REF_RE = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")
_IMPORT_LOCK = threading.Lock()  # sys.path is process-wide: two imports must not see each other's entry


# ---- building a tool from a callable -------------------------------------------------------------


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
    hints = type_hints(fn, sig)
    target = hint_target(fn)
    # __doc__ rather than inspect.getdoc: getdoc gives an undocumented __call__ the text "Call self as a function."
    sources = (
        [fn, target]
        if isinstance(fn, type)
        else [target]
        if isinstance(fn, functools.partial)
        else [target, fn]
    )
    summary, param_docs = parse_docstring(
        next(filter(None, (getattr(s, "__doc__", None) for s in sources)), None)
    )
    properties: dict[str, Any] = {}
    required: list[str] = []
    warnings = _kind_warnings(fn)
    wants_state = STATE_PARAMETER in sig.parameters
    for p in sig.parameters.values():
        if p.name == STATE_PARAMETER:
            continue  # given by the run loop (the session's state), never by the model
        tp = hints.get(p.name, p.empty)
        prop = hint_schema(tp)
        notes = [m for m in getattr(tp, "__metadata__", ()) if isinstance(m, str)]  # Annotated[int, "..."]
        if description := param_docs.get(p.name) or " ".join(notes):
            prop["description"] = description
        else:
            warnings.append(
                f"parameter {p.name!r} has no description, so the model must guess what to send; "
                "describe it in the docstring (an Args: section)"
            )
        if is_unconstrained(tp) and p.annotation is p.empty:
            warnings.append(
                f"parameter {p.name!r} has no type hint, so the model may send any JSON value; "
                "add one (str, int, list[str], ...)"
            )
        if p.default is p.empty:
            required.append(p.name)
        elif (default := _jsonable(p.default))[0]:
            prop["default"] = default[1]
        properties[p.name] = prop
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    return ToolDef(tool_name, summary, schema, fn, warnings=tuple(warnings), wants_state=wants_state)


def _kind_warnings(fn: Callable[..., Any]) -> list[str]:
    """A warning when ``fn`` is callable but not a plain function (its schema is then a guess)."""
    plain = inspect.unwrap(fn) if not isinstance(fn, functools.partial) else None
    if inspect.isfunction(plain) or inspect.ismethod(plain):
        return []
    if isinstance(fn, type):
        kind = f"the class {fn.__name__} (calling it makes an instance)"
    elif isinstance(fn, functools.partial):
        kind = "a functools.partial"
    elif inspect.isbuiltin(fn):
        kind = "a built-in function"
    else:
        kind = f"a callable {type(fn).__name__} object"
    return [f"it is {kind}, not a function; point the reference at a def with type hints and a docstring"]


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
