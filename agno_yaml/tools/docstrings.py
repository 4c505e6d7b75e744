"""A tool's description and per-parameter notes from its docstring (Google ``Args:``, Sphinx
``:param``, NumPy ``Parameters``).

Separate from ``tools`` because it is plain text parsing: it knows nothing about callables, type
hints or JSON schema, and the three docstring styles are enough rules to be a subject of their own.
"""

from __future__ import annotations

import inspect
import re

_ARGS_RE = re.compile(r"args|arguments|parameters|params|keyword arg(ument)?s|other parameters", re.I)
_SECTION_RE = re.compile(  # headers that end a docstring's summary (Google with ":", NumPy without)
    rf"({_ARGS_RE.pattern}|returns?|yields?|raises|warns|examples?|notes?|attributes|methods|warnings?"
    r"|see also|references|todo):",
    re.IGNORECASE,
)
_RULE_RE = re.compile(r"\s*-{3,}\s*")  # the underline of a NumPy section header
_SPHINX_RE = re.compile(r"\s*:param\s+(?:[^:]+\s+)?(\w+)\s*:\s*(.*)")


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


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
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
