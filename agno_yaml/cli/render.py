"""How sessions look on a terminal and in a pipe: tables, transcripts, search hits.

On a terminal, ``rich`` draws tables (imported only then); piped, every row is one line of
tab-separated fields, for ``cut`` and ``awk``. Nothing here reads a store: callers pass what to show.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from ..messages import RunRecord
from ..store import SearchHit, SessionInfo

BOLD, RESET = "\x1b[1m", "\x1b[0m"


def when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch)) if epoch else "-"


def _one_line(text: str | None, width: int = 60) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def session_rows(sessions: Sequence[SessionInfo]) -> list[list[str]]:
    return [
        [s.session_id, s.team_id, when(s.created_at), when(s.updated_at), str(s.turn_count),
         _one_line(s.first_message), _one_line(s.summary_line)]
        for s in sessions
    ]  # fmt: skip


def table(headers: list[str], rows: list[list[str]], terminal: bool) -> str:
    """A rich table on a terminal; tab-separated lines (no header) when piped."""
    if not terminal:
        return "".join("\t".join(cell.replace("\t", " ") for cell in row) + "\n" for row in rows)
    from rich.console import Console
    from rich.table import Table

    grid = Table(*headers, show_edge=False, pad_edge=False, header_style="bold")
    for row in rows:
        grid.add_row(*row)
    console = Console(record=True, soft_wrap=False)
    with console.capture() as captured:
        console.print(grid)
    return captured.get()


def _usage(run: RunRecord) -> str:
    cost = f", ${run.usage.cost:.6f}" if run.usage.cost else ""
    return f"{run.usage.total_tokens} tokens{cost}, {run.duration:.2f} s"


def transcript(info: SessionInfo, runs: list[RunRecord], *, markdown: bool = False) -> str:
    """Each turn: the user's message, the members asked and what they answered (indented under it),
    the tool calls with their arguments and results, the answer, and what it cost; failed and
    cancelled turns marked."""
    members: dict[str, RunRecord] = {r.run_id: r for r in runs if r.parent_run_id is not None}
    turns = [r for r in runs if r.parent_run_id is None]
    head = "# " if markdown else ""
    lines = [
        f"{head}session {info.session_id} · user {info.user_id} · team {info.team_id} · {info.turn_count} turns"
    ]
    if info.summary:
        lines.append(f"summary: {info.summary.get('summary')}")
    if info.session_state:
        lines.append(f"state: {json.dumps(info.session_state, ensure_ascii=False)}")
    for number, run in enumerate(turns, start=1):
        mark = "" if run.status == "completed" else f" [{run.status.upper()}]"
        lines += [
            "",
            f"{'## ' if markdown else ''}turn {number} · {when(run.created_at)} · {_usage(run)}{mark}",
        ]
        lines.append(f"{'**user**: ' if markdown else 'user: '}{run.input}")
        for call in run.tool_calls:
            _tool_lines(lines, call, members, "  ", markdown)
        if run.content:
            lines.append(
                f"{'**answer**' if markdown else 'answer'}{f' (by {run.answered_by})' if run.answered_by else ''}: {run.content}"
            )
        if run.error:
            lines.append(f"error: {run.error}")
    return "\n".join(lines) + "\n"


def _tool_lines(
    lines: list[str], call: Any, members: dict[str, RunRecord], indent: str, markdown: bool
) -> None:
    bullet = f"{indent}- " if markdown else indent
    children = [members[i] for i in call.child_run_ids if i in members]
    if children:
        for child in children:
            mark = "" if child.status == "completed" else f" [{child.status.upper()}]"
            lines.append(f"{bullet}→ {child.member} was asked: {child.input}{mark}")
            for inner in child.tool_calls:
                _tool_lines(lines, inner, members, indent + "    ", markdown)
            lines.append(f"{indent}    {child.member} answered: {child.content or child.error or ''}")
        return
    outcome = f"error: {call.error}" if call.error else call.result
    lines.append(f"{bullet}⚙ {call.name}({call.arguments}) → {_one_line(outcome, 200)}")


def hit_line(hit: SearchHit) -> list[str]:
    return [
        hit.session_id,
        f"turn {hit.turn}",
        when(hit.created_at),
        f"{hit.role}: {' '.join(hit.snippet.split())}",
    ]


def context_text(sent: Sequence[Any], tools: Sequence[dict[str, Any]]) -> str:
    """What a model is sent, for people: each message under its role (history marked), then the tools."""
    out: list[str] = []
    for m in sent:
        label = m.role + (" (from history)" if m.from_history else "")
        out.append(f"--- {label}")
        if m.content:
            out.append(m.content)
        for call in m.tool_calls:
            out.append(f"calls {call.name}({call.arguments})")
        if m.role == "tool":
            out.append(f"(result of {m.name or 'a tool'} call {m.tool_call_id})")
    out.append(f"--- tools offered ({len(tools)})")
    for tool in tools:
        fn = tool["function"]
        params = ", ".join(fn.get("parameters", {}).get("properties", {}))
        out.append(f"{fn['name']}({params}): {fn.get('description', '')}")
    return "\n".join(out) + "\n"
