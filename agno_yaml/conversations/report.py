"""What a test run reports: a line per conversation, a table, each failure at its line, JUnit XML
and a JSON document.

The JSON document (``--json FILE``; version 1, fields only ever added)::

    {"version": 1, "passed": false, "seconds": 0.41,
     "counts": {"conversations": 12, "passed": 11, "failed": 1, "turns": 31},
     "conversations": [{"id": "FILE::NAME", "file": ..., "name": ..., "passed": ...,
                        "tokens": ..., "cost": ..., "seconds": ...,
                        "turns": [{"number", "say", "user", "session", "answer", "status", "error",
                                   "member", "delegated", "tools", "tokens", "cost", "seconds"}],
                        "failures": [{"file", "line", "col", "turn", "expectation", "message",
                                      "expected", "got", "diff"}]}]}

JUnit XML: one ``testsuite`` per conversation file, one ``testcase`` per conversation (``classname``
the file, ``name`` the conversation), a ``failure`` per expectation that did not hold, and the
transcript in ``system-out``: what GitLab, GitHub test reporters and Jenkins read.
"""

from __future__ import annotations

import json
import os
import re
import socket
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from typing import Any

from .runner import ConversationResult

JSON_VERSION = 1
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def line(result: ConversationResult) -> str:
    """``PASS FILE::NAME (3 turns, 0.12 s)``: one line per conversation, for logs."""
    verdict = "PASS" if result.passed else "FAIL"
    turns = len(result.conversation.turns)
    return f"{verdict} {result.conversation.id} ({turns} turn{'s' if turns != 1 else ''}, {result.seconds:.2f} s)"


def cost_text(cost: float | None) -> str:
    return "?" if cost is None else f"${cost:.4f}"


def failures_text(results: list[ConversationResult]) -> str:
    """Each failure at its line, with what was expected and what came back (and a diff for text)."""
    out: list[str] = []
    for result in results:
        if result.passed:
            continue
        out.append(f"FAILED {result.conversation.id}")
        for failure in result.failures:
            out.append(f"  {failure}")
            out += [f"    {d}" for d in failure.diff.splitlines()]
    return "\n".join(out)


def totals(results: list[ConversationResult], seconds: float) -> str:
    passed = sum(r.passed for r in results)
    return f"{passed} passed, {len(results) - passed} failed in {seconds:.2f} s"


def table(results: list[ConversationResult]) -> Any:
    """A rich Table of the conversations."""
    from rich.table import Table

    grid = Table()
    for name, justify in (
        ("", "left"),
        ("file", "left"),
        ("conversation", "left"),
        ("turns", "right"),
        ("tokens", "right"),
        ("cost", "right"),
        ("time", "right"),
    ):
        grid.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in results:
        mark = "[green]pass[/]" if r.passed else "[red]FAIL[/]"
        grid.add_row(
            mark,
            os.path.basename(r.conversation.file),
            r.conversation.name,
            str(len(r.turns)),
            str(r.tokens),
            cost_text(r.cost),
            f"{r.seconds:.2f} s",
        )
    return grid


def json_report(results: list[ConversationResult], seconds: float) -> dict[str, Any]:
    passed = sum(r.passed for r in results)
    return {
        "version": JSON_VERSION,
        "passed": passed == len(results),
        "seconds": round(seconds, 3),
        "counts": {
            "conversations": len(results),
            "passed": passed,
            "failed": len(results) - passed,
            "turns": sum(len(r.turns) for r in results),
        },
        "conversations": [r.to_dict() for r in results],
    }


def _xml(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (a model may answer with control codes)."""
    return _NOT_XML.sub("\ufffd", text)


def junit_xml(results: list[ConversationResult], seconds: float) -> str:
    """The run as JUnit XML (see the module doc)."""
    root = ET.Element("testsuites", name="agno-run test", tests=str(len(results)))
    root.set("failures", str(sum(not r.passed for r in results)))
    root.set("errors", "0")
    root.set("time", f"{seconds:.3f}")
    by_file: dict[str, list[ConversationResult]] = {}
    for r in results:
        by_file.setdefault(r.conversation.file, []).append(r)
    stamp = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    for index, (file, group) in enumerate(by_file.items()):
        suite = ET.SubElement(
            root, "testsuite", id=str(index), name=file, package="agno-run", hostname=socket.gethostname()
        )
        suite.set("tests", str(len(group)))
        suite.set("failures", str(sum(not r.passed for r in group)))
        suite.set("errors", "0")
        suite.set("skipped", "0")
        suite.set("time", f"{sum(r.seconds for r in group):.3f}")
        suite.set("timestamp", stamp)
        ET.SubElement(suite, "properties")
        for r in group:
            case = ET.SubElement(suite, "testcase", name=r.conversation.name, classname=file, file=file)
            case.set("time", f"{r.seconds:.3f}")
            case.set("line", str(r.failures[0].line if r.failures else r.conversation.line))
            for failure in r.failures:
                element = ET.SubElement(case, "failure", message=_xml(str(failure)), type=failure.expectation)
                details = [
                    f"expected: {json.dumps(failure.expected, ensure_ascii=False, default=str)}",
                    f"got: {json.dumps(failure.got, ensure_ascii=False, default=str)}",
                ]
                element.text = _xml(
                    "\n".join([str(failure), *details, *([failure.diff] if failure.diff else [])])
                )
            ET.SubElement(case, "system-out").text = _xml(r.transcript())
        ET.SubElement(suite, "system-out")
        ET.SubElement(suite, "system-err")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
