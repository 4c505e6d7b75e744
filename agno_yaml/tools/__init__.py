"""Every tool a model can call, and the one path every call takes.

    from agno_yaml.tools import call_tool, import_tool
    tool = import_tool("example_tools:get_exchange_rate", search_path="teams")
    tool.to_openai()                                   # what the model is offered
    call_tool(tool, '{"base": "USD", "quote": "EUR"}') # "0.92"

``base``: ``ToolDef`` and ``call_tool`` (arguments checked against the tool's JSON Schema with
jsonschema, converted to the function's types, then the call). Kinds of tools: ``python``
(``module:function`` references, schema from type hints and docstring), ``delegation`` (the
leader's tools to reach members) and ``session`` (chat history, tool-call history, previous
sessions). Importing this package imports no tool code and no jsonschema.
"""

from __future__ import annotations

from .base import DELEGATION_CONTEXT, SESSION_CONTEXT, ToolArgumentError, ToolDef, call_tool
from .python import import_tool, tool_from_callable

__all__ = [
    "DELEGATION_CONTEXT",
    "SESSION_CONTEXT",
    "ToolArgumentError",
    "ToolDef",
    "call_tool",
    "import_tool",
    "tool_from_callable",
]
