"""``${VAR}`` references in YAML string values, resolved from the environment.

Forms: ``${VAR}`` (must be set), ``${VAR:-default}`` (default when unset or empty), ``${VAR:?message}``
(the message is the error when unset or empty), and ``$$`` for a literal ``$``. A ``$`` followed by
anything else is kept as written.

Values that came from the environment are often secrets, so every path whose value was built from a
reference is recorded with the text as written in the file; error messages name that text
(``the value of ${OPENAI_KEY}``) and never the value itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from ..errors import Problem
from .yamlload import STR_TAG, JsonPath, YamlDoc, construct_scalar, is_plain, json_path

_REF = re.compile(
    r"\$(?:(?P<dollar>\$)"
    r"|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}"
    r"|(?P<bad>\{[^}]*\}?))"
)
_RESOLVER = Resolver()


class BadReference(Exception):
    """One bad reference inside a string: where it starts (offset in the value), what, and the fix."""

    def __init__(self, offset: int, text: str, message: str, fix: str) -> None:
        self.offset = offset
        self.text = text  # the reference as written, to find it in the source
        self.message = message
        self.fix = fix
        super().__init__(message)


def substitute(value: str, env: Mapping[str, str]) -> str:
    """Replace every reference in ``value``; raise BadReference for the first bad one."""
    out: list[str] = []
    last = 0
    for m in _REF.finditer(value):
        out.append(value[last : m.start()])
        last = m.end()
        if m.group("dollar"):
            out.append("$")
        elif m.group("bad") is not None:
            raise BadReference(
                m.start(),
                m.group(0),
                f"malformed reference {m.group(0)!r}",
                "write ${NAME}, ${NAME:-default} or ${NAME:?message} (NAME: letters, digits, _), or $$ for a literal $",
            )
        else:
            out.append(_lookup(m, env))
    out.append(value[last:])
    return "".join(out)


def _lookup(m: re.Match[str], env: Mapping[str, str]) -> str:
    name, op, arg = m.group("name"), m.group("op"), m.group("arg")
    current = env.get(name)
    if op == ":-":
        return current if current else (arg or "")
    if op == ":?":
        if current:
            return current
        raise BadReference(
            m.start(),
            m.group(0),
            f"environment variable {name} is not set: {arg}"
            if arg
            else f"environment variable {name} is not set",
            f"export {name}=...",
        )
    if current is None:
        raise BadReference(
            m.start(),
            m.group(0),
            f"environment variable {name} is not set",
            f"export {name}=... or write ${{{name}:-default}}",
        )
    return current


def referenced_names(value: str) -> list[str]:
    """The variable names ``value`` refers to (``${A} and ${B:-x}`` -> ["A", "B"])."""
    return [m.group("name") for m in _REF.finditer(value) if m.group("name")]


def has_reference(value: str) -> bool:
    """``value`` uses at least one ``${NAME...}`` (not counting ``$$`` escapes)."""
    return any(m.group("name") for m in _REF.finditer(value))


def is_single_reference(value: str) -> bool:
    """The whole value is one ``${...}`` reference (so a plain scalar takes the substituted type)."""
    m = _REF.fullmatch(value)
    return m is not None and m.group("name") is not None


def typed_value(text: str) -> Any:
    """What ``text`` would mean written as a plain YAML scalar: 0.2 -> float, true -> bool ..."""
    tag = _RESOLVER.resolve(ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return construct_scalar(ScalarNode(tag, text))


@dataclass
class Interpolated:
    """The data with references resolved, which paths came from references, and what went wrong."""

    data: Any
    sources: dict[JsonPath, str] = field(default_factory=dict)  # path -> the value as written in the file
    failed: dict[JsonPath, Problem] = field(default_factory=dict)  # unresolved references, by path
    excused: set[JsonPath] = field(default_factory=set)  # failed, but the value will not be used

    @property
    def problems(self) -> list[Problem]:
        return [p for path, p in self.failed.items() if path not in self.excused]

    def describe(self, path: JsonPath) -> str | None:
        """How to name the value at ``path`` without showing it, or None when it is not interpolated."""
        return redacted_name(self.sources[path]) if path in self.sources else None


def redacted_name(template: str) -> str:
    """``the value of ${OPENAI_KEY}`` for a single reference, else the whole template as written."""
    if is_single_reference(template):
        return f"the value of {template}"
    return f'the value of "{template}"'


def interpolate(doc: YamlDoc, env: Mapping[str, str] | None = None) -> Interpolated:
    """Resolve references in every string value of ``doc`` (keys are left alone)."""
    environ: Mapping[str, str] = os.environ if env is None else env
    result = Interpolated(data=None)

    def scalar(node: ScalarNode, path: JsonPath) -> Any:
        if node.tag != STR_TAG or "$" not in node.value:
            return construct_scalar(node)
        template = node.value
        try:
            text = substitute(template, environ)
        except BadReference as err:
            line, col = _reference_position(doc, node, err)
            result.failed[path] = Problem(doc.file, line, col, json_path(path), err.message, err.fix)
            return template
        if not has_reference(template):
            return text  # only $$ escapes: nothing came from the environment
        result.sources[path] = template
        if is_plain(node) and is_single_reference(template):
            return typed_value(text)
        return text

    result.data = doc.construct(scalar)
    return result


def _reference_position(doc: YamlDoc, node: ScalarNode, err: BadReference) -> tuple[int, int]:
    """Line and column of the bad reference itself, found in the raw source of the scalar."""
    start, end = node.start_mark.index, node.end_mark.index
    raw = doc.text[start:end]
    # The n-th occurrence in the value is the n-th in the source: escapes and folding never
    # create or remove a "${", so counting earlier copies finds the right one.
    nth = node.value.count(err.text, 0, err.offset)
    at = -1
    for _ in range(nth + 1):
        at = raw.find(err.text, at + 1)
        if at < 0:
            return node.start_mark.line + 1, node.start_mark.column + 1
    return doc.position(start + at)
