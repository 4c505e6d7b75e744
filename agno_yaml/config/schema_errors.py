"""jsonschema's errors rewritten as Problems a person can act on.

jsonschema's own messages print the offending value and say nothing about YAML, so each error kind
is rewritten here: located at the right node (the *key* for unknown keys), naming the expected type,
the allowed range or the key meant, and naming ``${VAR}`` instead of any value that came from the
environment. The rules the schema cannot express are in ``validate``.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from yaml.nodes import ScalarNode

from ..errors import Problem, type_name
from .interpolate import Interpolated, typed_value
from .yamlload import JsonPath, YamlDoc, json_path

# Agno 3.x renamed some keys of the docs this project follows; point people to ours.
RENAMES = {
    "search_past_sessions": "search_session_history",
    "num_past_sessions_to_search": "num_history_sessions",
    "store_tool_messages": "store_tool_results",
    "delegate_to_all_members": "delegate_task_to_all_members",
}
MODE_FIX = (
    "Agno 3.x `mode` is not a key here: write respond_directly: true for route mode, "
    "delegate_task_to_all_members: true for broadcast mode, or nothing for coordinate mode (the default)"
)
_TYPE_WORDS = {
    "string": "a string",
    "object": "a mapping",
    "array": "a list",
    "boolean": "true or false",
    "integer": "a whole number",
    "number": "a number",
    "null": "null",
}
# Mappings people tend to write as a bare value: the key that value belongs under.
_SHORTHAND = {"db": "path", "session_summary_manager": "model"}
_TOOL_EXAMPLE = "example_tools:get_exchange_rate"
_MODEL_EXAMPLE = "openai/gpt-5-mini"

_validators: dict[int, tuple[dict[str, Any], Any]] = {}


def validator_for(schema: dict[str, Any]) -> Any:
    """The Draft 2020-12 validator for ``schema``, built once per schema object."""
    cached = _validators.get(id(schema))
    if cached is None or cached[0] is not schema:
        # Imported here: jsonschema costs ~100 ms and commands such as `agno-run schema` never need it.
        from jsonschema import Draft202012Validator

        cached = (schema, Draft202012Validator(schema))
        _validators[id(schema)] = cached
    return cached[1]


class Checker:
    """Collects Problems for one document; ``schema_error`` translates one jsonschema error."""

    def __init__(self, doc: YamlDoc, interp: Interpolated, schema: dict[str, Any]) -> None:
        self.doc = doc
        self.interp = interp
        self.schema = schema
        self.problems: list[Problem] = []

    # -- helpers ---------------------------------------------------------------------------------

    def show(self, path: JsonPath, value: Any) -> str:
        """The value as it may appear in a message: redacted when it came from ``${VAR}``."""
        hidden = self.interp.describe(path)
        if hidden is not None:
            return hidden
        text = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else _yaml_word(value)
        return text if len(text) <= 60 else text[:57] + '..."'

    def add(self, path: JsonPath, message: str, fix: str = "", at_key: Any = None) -> None:
        self.problems.append(self.doc.problem(path, message, fix, at_key=at_key))

    def raw(self, path: JsonPath) -> ScalarNode | None:
        node = self.doc.node_at(path)
        return node if isinstance(node, ScalarNode) else None

    def failed(self, path: JsonPath) -> bool:
        return any(path[: i + 1] in self.interp.failed for i in range(len(path)))

    # -- schema errors ---------------------------------------------------------------------------

    def schema_error(self, err: Any) -> None:
        path: JsonPath = tuple(err.absolute_path)
        if self.failed(path):
            return  # already reported as an unresolved ${VAR}
        kind = err.validator
        handler = getattr(self, f"on_{kind}", None)
        if handler is not None:
            handler(err, path)
            return
        shown = self.show(path, err.instance)
        if path in self.interp.sources:
            self.add(path, f"{shown} is not valid here ({kind})", "check the environment variable")
        else:
            self.add(path, err.message, "see `agno-run schema` for what this key accepts")

    def on_additionalProperties(self, err: Any, path: JsonPath) -> None:
        allowed = list(err.schema.get("properties", {}))
        for key in err.instance:
            if key in allowed:
                continue
            key_node = self.doc.key_node(path, key)
            written = key_node.value if isinstance(key_node, ScalarNode) else str(key)
            model_keys = list(self.schema["$defs"].get("model", {}).get("properties", {}))
            message, fix = unknown_key_advice(written, key, allowed, err.instance.get(key), model_keys)
            line, col = self.doc.key_mark(path, key)
            # The key as written: an unquoted `on:` must read as on, not as the boolean YAML made of it.
            self.problems.append(Problem(self.doc.file, line, col, json_path([*path, written]), message, fix))

    def on_required(self, err: Any, path: JsonPath) -> None:
        for key in err.validator_value:
            if key in err.instance:
                continue
            what = err.schema.get("properties", {}).get(key, {}).get("description", "")
            example = {"id": f"id: {_MODEL_EXAMPLE}", "name": "name: Agent 1"}.get(key, f"{key}: ...")
            fix = f"add `{example}`" + (f" ({what[:1].lower()}{what[1:].rstrip('.')})" if what else "")
            self.add(path, f"missing required key '{key}'", fix)

    def on_type(self, err: Any, path: JsonPath) -> None:
        expected = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        want = " or ".join(_TYPE_WORDS.get(t, str(t)) for t in expected)
        value = err.instance
        shown = self.show(path, value)
        node = self.raw(path)
        redacted = path in self.interp.sources
        got = shown if redacted or isinstance(value, (dict, list)) else f"{type_name(value)} ({shown})"
        message = f"expected {want}, got {got}"
        fix = ""
        if "string" in expected and node is not None and not node.style:
            word = node.value
            if isinstance(value, bool):
                message += f"; YAML reads an unquoted {word} as {str(value).lower()}"
            fix = f'quote it: "{word}"' if not redacted else f'quote it: "{word}" to keep it as text'
        elif (
            redacted
            and node is not None
            and node.style
            and isinstance(value, str)
            and _fits(typed_value(value), expected)
        ):
            fix = f"remove the quotes around {node.value} so the value is read as {want}"
        elif redacted:
            fix = f"check what the environment variable is set to; it must be {want}"
        elif expected[0] in ("integer", "number") and isinstance(value, str) and _is_number(value):
            fix = f"remove the quotes: {value}"
        elif expected[0] == "integer" and isinstance(value, float):
            fix = "write a whole number"
        elif expected == ["boolean"] and isinstance(value, str) and not redacted:
            fix = "write true or false, without quotes"
        elif "array" in expected:
            fix = "write one item per line, each starting with '- '"
        elif "object" in expected and isinstance(value, str) and path and path[-1] in _SHORTHAND:
            key = _SHORTHAND[str(path[-1])]
            fix = f"write {path[-1]}: {{{key}: {shown.strip(chr(34))}}}"
        elif "object" in expected:
            fix = "write `key: value` lines indented under it"
        self.add(path, message, fix)

    def _range(self, err: Any, path: JsonPath) -> None:
        s = err.schema
        lo = s.get("minimum", s.get("exclusiveMinimum"))
        hi = s.get("maximum", s.get("exclusiveMaximum"))
        shown = self.show(path, err.instance)
        if lo is not None and hi is not None:
            rule, fix = f"between {lo} and {hi}", f"use a number from {lo} to {hi}"
        elif "exclusiveMinimum" in s:
            rule, fix = f"greater than {lo}", f"use a number above {lo}"
        elif lo is not None:
            rule, fix = f"at least {lo}", f"use {lo} or more"
        else:
            rule, fix = f"at most {hi}", f"use {hi} or less"
        self.add(path, f"{shown} is out of range: it must be {rule}", fix)

    on_minimum = on_maximum = on_exclusiveMinimum = on_exclusiveMaximum = _range

    def on_minLength(self, err: Any, path: JsonPath) -> None:
        if err.schema is self.schema["$defs"].get("model") or (path and path[-1] == "id" and "model" in path):
            self.add(
                path,
                "the model is empty",
                f"write a litellm model string such as {_MODEL_EXAMPLE}, or echo to run offline",
            )
        else:
            self.add(path, "must not be empty", "write a value or remove the key")

    def on_pattern(self, err: Any, path: JsonPath) -> None:
        shown = self.show(path, err.instance)
        if err.schema is self.schema["$defs"].get("tool"):
            value = err.instance
            fix = f"write module:function, for example {_TOOL_EXAMPLE} (a dotted module path, a colon, a function name)"
            if path not in self.interp.sources and ":" not in value and "." in value:
                module, _, func = value.rpartition(".")
                fix = f"did you mean {module}:{func}? A tool is module:function"
            self.add(path, f"{shown} is not a tool reference", fix)
        elif path and path[-1] == "url" and "db" in path:
            self.add(path, f"{shown} is not a PostgreSQL URL", "write postgresql://USER@HOST:PORT/DBNAME")
        elif len(path) >= 2 and path[-1] == "name" and path[-3:-2] == ("mcp_servers",):
            fix = "use letters, digits, _ and - (a letter first, at most 32): it prefixes the tool names"
            self.add(path, f"{shown} is not an MCP server name", fix)
        elif len(path) >= 2 and path[-1] == "url" and path[-3:-2] == ("mcp_servers",):
            self.add(path, f"{shown} is not an HTTP URL", "write http://HOST:PORT/mcp (or https://)")
        else:
            self.add(path, f"{shown} does not have the expected form", f"it must match {err.validator_value}")

    def on_enum(self, err: Any, path: JsonPath) -> None:
        options = [str(v) for v in err.validator_value]
        shown = self.show(path, err.instance)
        close = difflib.get_close_matches(str(err.instance), options, n=1)
        fix = f"did you mean {close[0]}?" if close else f"write one of: {', '.join(options)}"
        self.add(path, f"{shown} is not one of {', '.join(options)}", fix)

    def on_not(self, err: Any, path: JsonPath) -> None:
        if err.schema is self.schema["$defs"].get("mcpServer"):  # both command and url
            self.add(path, "both command and url are given", _MCP_FIX)
            return
        self.add(path, err.message, "see `agno-run schema` for what this key accepts")

    def on_anyOf(self, err: Any, path: JsonPath) -> None:
        if err.schema is self.schema["$defs"].get("mcpServer"):  # neither command nor url
            self.add(path, "neither command nor url is given", _MCP_FIX)
            return
        if path and path[-1] == "team" and "members" in path:  # a team as a member: a file or a mapping
            if isinstance(err.instance, dict):  # an inline team: what is wrong inside it, where it is
                inline = [e for e in err.context if e.schema_path and e.schema_path[0] == 1]
                for inner in inline:
                    self.schema_error(inner)
                if inline:
                    return
            self.add(
                path,
                f"{self.show(path, err.instance)} is not a team",
                "write a team file's path (relative to this file) or the team inline as a mapping",
            )
            return
        self.add(path, err.message, "see `agno-run schema` for what this key accepts")

    def on_minProperties(self, err: Any, path: JsonPath) -> None:
        if err.schema is self.schema["$defs"].get("db"):
            self.add(path, "the mapping is empty", _DB_FIX)
        else:
            self.add(path, "the mapping is empty", "give content and/or tool_calls")

    def on_maxProperties(self, err: Any, path: JsonPath) -> None:
        if err.schema is self.schema["$defs"].get("db"):
            self.add(path, "both path and url are given", _DB_FIX)
        else:
            self.add(path, "has too many keys", "see `agno-run schema` for what this key accepts")

    def sorted(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: (p.line, p.col, p.path, p.message))


_MCP_FIX = "give one of: command: [PROGRAM, ARG...] (started over stdio) or url: http://HOST:PORT/mcp"
_DB_FIX = "give one of: path: DIRECTORY (TinyDB files) or url: postgresql://USER@HOST/DBNAME"


def unknown_key_advice(
    written: str, key: Any, allowed: list[str], value: Any = None, model_keys: list[str] | None = None
) -> tuple[str, str]:
    """The message and fix for an unknown key: an Agno 3.x name, a typo, or neither."""
    message = f"unknown key {written!r}"
    if isinstance(key, bool):
        return (
            message + f" (YAML reads an unquoted {written} as {str(key).lower()})",
            f'quote it: "{written}"',
        )
    target = RENAMES.get(written)
    if target in allowed:
        return (
            message,
            f"did you mean '{target}'? (that is the Agno 3.x name; this format uses the 2.x name {target})",
        )
    if written == "mode" and "respond_directly" in allowed:
        if value == "route":
            return message, "write respond_directly: true for route mode (Agno 3.x `mode` is not a key here)"
        if value == "broadcast":
            return (
                message,
                "write delegate_task_to_all_members: true for broadcast mode (Agno 3.x `mode` is not a key here)",
            )
        return message, MODE_FIX
    close = difflib.get_close_matches(written, allowed, n=1, cutoff=0.6)
    if close:
        return message, f"did you mean '{close[0]}'?"
    elsewhere = difflib.get_close_matches(written, model_keys or [], n=1, cutoff=0.75)
    if elsewhere and "model" in allowed:
        option = elsewhere[0]
        return message, f"{option} is a model option: write model: {{id: {_MODEL_EXAMPLE}, {option}: ...}}"
    if "extra" in allowed:
        return message, f"put provider options under extra: (allowed keys here: {', '.join(allowed)})"
    return message, f"allowed keys here: {', '.join(allowed)}"


def _yaml_word(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return type_name(value)
    return str(value)


def _fits(value: Any, expected: list[str]) -> bool:
    if isinstance(value, bool):
        return "boolean" in expected
    if isinstance(value, int):
        return "integer" in expected or "number" in expected
    return isinstance(value, float) and "number" in expected


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
