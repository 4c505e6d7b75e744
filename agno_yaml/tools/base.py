"""A tool the model can call, and the one path every call takes.

Every tool, whatever it is (a Python function from the team file, a delegation to a member, a
session tool), is a ``ToolDef``: a name, a description and a JSON Schema of its arguments, which is
what the model is offered, plus the function that carries it out. ``call_tool`` is the only code
that runs a tool for a model: it reads the arguments the model wrote, checks them against the same
schema the model was offered (jsonschema), converts them to the Python types the function's hints
name, and calls the function. A tool that needs the turn it runs in (the session, the team) names
a ``context`` and gets it as its first argument; the model never sees that parameter.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import type_name
from .args import Mismatch, expected_arguments, to_python
from .check import check_arguments

STATE_PARAMETER = "session_state"  # a Python tool's parameter of this name gets the session's state
# The contexts a tool may ask for; the run loop provides them (see runtime.team).
SESSION_CONTEXT = "session"  # tools.session.SessionContext: one session of one user, read only
DELEGATION_CONTEXT = "delegation"  # tools.delegation.Delegator: the team, to run a member


class ToolArgumentError(ValueError):
    """The model's arguments do not fit the tool. ``str(e)`` is written for the model to correct itself."""


@dataclass(frozen=True)
class ToolDef:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON Schema of the arguments object, as the model is offered it
    function: Callable[..., Any] | None = None
    context: str | None = None  # SESSION_CONTEXT / DELEGATION_CONTEXT: passed as the first argument
    warnings: tuple[str, ...] = ()  # how the tool is described to the model could be better
    wants_state: bool = False  # a Python tool with a ``session_state`` parameter: gets the live state
    takes_arguments: bool = False  # the function gets the checked arguments as one dict (MCP tools)

    def to_openai(self) -> dict[str, Any]:
        spec = {"name": self.name, "description": self.description, "parameters": self.parameters}
        return {"type": "function", "function": spec}


def parse_arguments(tool: ToolDef, arguments: str) -> dict[str, Any]:
    """The model's argument text as a JSON object (empty text was made ``{}`` by ``ToolCall``)."""
    try:
        args = json.loads(arguments)
    except json.JSONDecodeError as e:
        raise _invalid(
            tool, f"the arguments are not valid JSON ({e.msg} at line {e.lineno} column {e.colno})"
        ) from None
    if not isinstance(args, dict):
        raise _invalid(
            tool, f"the arguments must be a JSON object, got {type_name(args)} {json.dumps(args)[:60]}"
        )
    return args


def _invalid(tool: ToolDef, problem: str) -> ToolArgumentError:
    return ToolArgumentError(
        f"Invalid arguments for tool {tool.name!r}: {problem}. {expected_arguments(tool.parameters)}"
    )


def call_tool(tool: ToolDef, arguments: str, context: Any = None, state: dict[str, Any] | None = None) -> str:
    """Run ``tool`` with the model's raw JSON ``arguments``; the result as text for the model.

    A tool that ``wants_state`` gets ``state`` (the session's live state, which it may change) as
    its ``session_state`` argument; the model never sees that parameter.

    Raises ToolArgumentError (worded for the model) when the arguments do not fit; anything the
    function itself raises propagates, for the run loop to report to the model.
    """
    fn = tool.function
    if fn is None:
        raise TypeError(f"tool {tool.name!r} has no function to call")
    args = parse_arguments(tool, arguments)
    # null for an argument the tool does not require means "not given": its default applies.
    required = set(tool.parameters.get("required") or ())
    args = {k: v for k, v in args.items() if v is not None or k in required}
    problems = check_arguments(tool.parameters, args)
    if problems:
        raise _invalid(tool, "; ".join(problems))
    if tool.takes_arguments:
        return _as_text(fn(args))
    try:
        positional, keyword = to_python(fn, args, skip_first=tool.context is not None)
    except Mismatch as e:
        raise _invalid(tool, str(e)) from None
    if tool.context is not None:
        positional.insert(0, context)
    if tool.wants_state:
        keyword[STATE_PARAMETER] = state if state is not None else {}
    result = fn(*positional, **keyword)
    if inspect.iscoroutine(result):
        import asyncio  # only async tools need it, and it costs ~40 ms to import

        result = asyncio.run(result)
    return _as_text(result)


def _as_text(result: Any) -> str:
    if isinstance(result, str):
        return result
    if result is None:
        return ""
    try:
        return json.dumps(result, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(result)
