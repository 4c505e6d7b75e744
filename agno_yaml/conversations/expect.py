"""Expectations: what a turn (``expect``) or the stored session (``expect_session``) must show.

Each check reads facts of the finished turn (``TurnFacts``: the answer, who answered, who was asked,
every tool call of the leader and the members, the runs of history the leader saw, the summary and
the state after the turn, tokens, cost and time) and returns the ``Miss``es: what was expected and
what came back, named by the expectation's key so a report can point at its line. A turn that ends
in an error fails unless ``status: error`` (or ``cancelled``) is expected: never a silent pass.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..messages import ToolExecution
from ..runtime.turn import RunOutput

SHOWN = 300  # characters of an answer quoted in a failure


@dataclass(frozen=True)
class Miss:
    """One expectation that did not hold."""

    key: tuple[str | int, ...]  # its path under the turn's expect (or expect_session), for its line
    message: str  # one line: what was expected, what came back
    expected: Any = None
    got: Any = None
    diff: str = ""  # a short diff, for text


@dataclass
class TurnFacts:
    """What one turn showed, as expectations read it."""

    say: str
    output: RunOutput
    seconds: float
    history_runs: int = 0
    delegated: list[str] = field(default_factory=list)  # member ids asked, in order
    tool_calls: list[ToolExecution] = field(default_factory=list)  # the leader's and the members'

    @classmethod
    def of(cls, say: str, output: RunOutput, seconds: float) -> TurnFacts:
        run = output.run
        history = sum(1 for m in run.messages if m.role == "user" and m.from_history)
        calls = list(run.tool_calls)
        for member_run in output.member_runs:
            calls += member_run.tool_calls
        # The leader's own delegations: a team among the members asks its members in runs of its own.
        asked = [r.member or "" for r in output.member_runs if r.parent_run_id == run.run_id]
        return cls(say, output, seconds, history, asked, calls)

    @property
    def answer(self) -> str:
        return self.output.content or ""

    @property
    def member(self) -> str:
        """Who answered: the member whose answer was returned, else ``leader``."""
        return self.output.run.answered_by or "leader"


Judge = Callable[[str, str | None, str, str], tuple[bool, str]]  # rubric, model, said, answer -> (pass, why)


def short(text: str | None) -> str:
    text = text or ""
    return json.dumps(text if len(text) <= SHOWN else text[:SHOWN] + "...", ensure_ascii=False)


def texts(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or []]


def is_subset(expected: Any, got: Any) -> bool:
    """Mappings: every expected key present with a matching value (recursively); else equal."""
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(k in got and is_subset(v, got[k]) for k, v in expected.items())
    return bool(expected == got)


def text_diff(expected: str, got: str) -> str:
    lines = difflib.unified_diff(
        expected.splitlines(), got.splitlines(), "expected", "answer", n=1, lineterm=""
    )
    return "\n".join(list(lines)[:30])


def _arguments(call: ToolExecution) -> Any:
    try:
        return json.loads(call.arguments or "{}")
    except ValueError:
        return call.arguments


def _text_checks(expect: dict[str, Any], answer: str) -> list[Miss]:
    fold = bool(expect.get("ignore_case"))
    seen = answer.casefold() if fold else answer
    misses: list[Miss] = []
    for i, text in enumerate(texts(expect.get("contains"))):
        if (text.casefold() if fold else text) not in seen:
            key = ("contains", i) if isinstance(expect["contains"], list) else ("contains",)
            misses.append(
                Miss(key, f"expected the answer to contain {short(text)}; got {short(answer)}", text, answer)
            )
    for i, text in enumerate(texts(expect.get("not_contains"))):
        if (text.casefold() if fold else text) in seen:
            key = ("not_contains", i) if isinstance(expect["not_contains"], list) else ("not_contains",)
            misses.append(
                Miss(
                    key,
                    f"expected the answer not to contain {short(text)}; got {short(answer)}",
                    text,
                    answer,
                )
            )
    if "regex" in expect and not re.search(expect["regex"], answer, re.I if fold else 0):
        misses.append(
            Miss(
                ("regex",),
                f"expected the answer to match /{expect['regex']}/; got {short(answer)}",
                expect["regex"],
                answer,
            )
        )
    if "equals" in expect:
        want = str(expect["equals"]).strip()
        same = want.casefold() == answer.strip().casefold() if fold else want == answer.strip()
        if not same:
            misses.append(
                Miss(
                    ("equals",),
                    f"expected the answer {short(want)}; got {short(answer)}",
                    want,
                    answer,
                    text_diff(want, answer.strip()),
                )
            )
    return misses


def _json_check(expect: Any, answer: str) -> list[Miss]:
    text = answer.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*\n(.*?)\n?```", text, re.S)  # models often fence JSON
    try:
        value = json.loads(fenced.group(1) if fenced else text)
    except ValueError as exc:
        return [
            Miss(("json",), f"expected the answer to be JSON ({exc}); got {short(answer)}", "JSON", answer)
        ]
    schema = expect.get("json_schema") if isinstance(expect, dict) else None
    if schema is None:
        return []
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
    return [
        Miss(
            ("json", "json_schema"),
            f"the answer's JSON at {'/'.join(map(str, e.absolute_path)) or 'the top'}: {e.message}",
            schema,
            value,
        )
        for e in errors[:5]
    ]


def _output_check(want: Any, got: Any) -> list[Miss]:
    """The structured output (``output_schema``) holds ``want``: mappings as a subset, recursively."""
    if is_subset(want, got):
        return []

    def compact(value: Any) -> str:
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= SHOWN else text[:SHOWN] + "..."

    shown = "no structured output (the agent has no output_schema)" if got is None else compact(got)
    return [Miss(("output",), f"expected the output to hold {compact(want)}; got {shown}", want, got)]


def _team_checks(expect: dict[str, Any], facts: TurnFacts) -> list[Miss]:
    misses: list[Miss] = []
    if "member" in expect and expect["member"] not in (facts.member, *facts.delegated):
        who = f"{facts.member} answered" + (
            f", {', '.join(facts.delegated)} asked" if facts.delegated else ", no member asked"
        )
        misses.append(
            Miss(("member",), f"expected {expect['member']} to answer; {who}", expect["member"], facts.member)
        )
    if "delegated_to" in expect:
        want = sorted(set(texts(expect["delegated_to"])))
        if want != sorted(set(facts.delegated)):
            got = ", ".join(facts.delegated) or "no member"
            misses.append(
                Miss(
                    ("delegated_to",),
                    f"expected the leader to ask {', '.join(want) or 'no member'}; it asked {got}",
                    want,
                    facts.delegated,
                )
            )
    called = expect.get("tool_called")
    if called is not None:
        name = called if isinstance(called, str) else called["name"]
        args = {} if isinstance(called, str) else called.get("args") or {}
        same_name = [c for c in facts.tool_calls if c.name == name]
        if not any(is_subset(args, _arguments(c)) for c in same_name):
            if same_name:
                got_args = [_arguments(c) for c in same_name]
                text = f"expected {name} called with {json.dumps(args, ensure_ascii=False)}; it was called with {json.dumps(got_args, ensure_ascii=False)}"
            else:
                names = ", ".join(dict.fromkeys(c.name for c in facts.tool_calls)) or "none"
                text = f"expected a call of {name}; tools called: {names}"
            misses.append(Miss(("tool_called",), text, called, [c.name for c in facts.tool_calls]))
    for i, name in enumerate(texts(expect.get("tool_not_called"))):
        if any(c.name == name for c in facts.tool_calls):
            key = (
                ("tool_not_called", i)
                if isinstance(expect["tool_not_called"], list)
                else ("tool_not_called",)
            )
            misses.append(Miss(key, f"expected no call of {name}; it was called", name, name))
    if "history_runs" in expect and expect["history_runs"] != facts.history_runs:
        misses.append(
            Miss(
                ("history_runs",),
                f"expected the leader to see {expect['history_runs']} earlier run(s); it saw {facts.history_runs}",
                expect["history_runs"],
                facts.history_runs,
            )
        )
    return misses


def summary_text(summary: dict[str, Any] | None) -> str:
    if not summary:
        return ""
    return f"{summary.get('summary', '')} {' '.join(map(str, summary.get('topics') or []))}".strip()


def _session_checks(expect: dict[str, Any], facts: TurnFacts) -> list[Miss]:
    misses: list[Miss] = []
    text = summary_text(facts.output.summary)
    for i, want in enumerate(texts(expect.get("summary_contains"))):
        if want.casefold() not in text.casefold():
            key = (
                ("summary_contains", i)
                if isinstance(expect["summary_contains"], list)
                else ("summary_contains",)
            )
            got = short(text) if text else "no summary"
            misses.append(Miss(key, f"expected the summary to contain {short(want)}; got {got}", want, text))
    if "state" in expect and not is_subset(expect["state"], facts.output.state):
        misses.append(
            Miss(
                ("state",),
                f"expected the session state to hold {json.dumps(expect['state'], ensure_ascii=False)}; it is {json.dumps(facts.output.state, ensure_ascii=False)}",
                expect["state"],
                facts.output.state,
            )
        )
    return misses


def _budget_checks(expect: dict[str, Any], facts: TurnFacts) -> list[Miss]:
    misses: list[Miss] = []
    usage = facts.output.usage
    if "max_tokens" in expect and usage.total_tokens > expect["max_tokens"]:
        misses.append(
            Miss(
                ("max_tokens",),
                f"expected at most {expect['max_tokens']} tokens; the turn used {usage.total_tokens}",
                expect["max_tokens"],
                usage.total_tokens,
            )
        )
    if "max_cost" in expect:
        if usage.cost is None:
            misses.append(
                Miss(
                    ("max_cost",),
                    "expected a cost limit, but the model's price is unknown (no cost was reported)",
                    expect["max_cost"],
                    None,
                )
            )
        elif usage.cost > expect["max_cost"]:
            misses.append(
                Miss(
                    ("max_cost",),
                    f"expected at most ${expect['max_cost']}; the turn cost ${usage.cost:.6f}",
                    expect["max_cost"],
                    usage.cost,
                )
            )
    if "max_seconds" in expect and facts.seconds > expect["max_seconds"]:
        misses.append(
            Miss(
                ("max_seconds",),
                f"expected at most {expect['max_seconds']} s; the turn took {facts.seconds:.2f} s",
                expect["max_seconds"],
                round(facts.seconds, 3),
            )
        )
    return misses


def check_turn(expect: dict[str, Any], facts: TurnFacts, judge: Judge | None = None) -> list[Miss]:
    """Every expectation of one turn that did not hold, in the order the keys are written."""
    out = facts.output
    want_status = expect.get("status", "completed")
    if out.status != want_status:
        why = f" ({out.run.error})" if out.run.error else ""
        key = ("status",) if "status" in expect else ()
        return [
            Miss(
                key,
                f"expected the turn to end {want_status}; it ended {out.status}{why}",
                want_status,
                out.status,
            )
        ]
    misses = _text_checks(expect, facts.answer)
    if expect.get("json"):
        misses += _json_check(expect["json"], facts.answer)
    if "output" in expect:
        misses += _output_check(expect["output"], out.run.output)
    misses += _team_checks(expect, facts) + _session_checks(expect, facts) + _budget_checks(expect, facts)
    if "judge" in expect and judge is not None:
        passed, why = judge(expect["judge"]["rubric"], expect["judge"].get("model"), facts.say, facts.answer)
        if not passed:
            misses.append(
                Miss(
                    ("judge",),
                    f"the judge failed the answer: {why}; the answer: {short(facts.answer)}",
                    expect["judge"]["rubric"],
                    why,
                )
            )
    order = list(expect)
    return sorted(misses, key=lambda m: order.index(m.key[0]) if m.key and m.key[0] in order else -1)


def check_session(
    expect: dict[str, Any], runs: int, summary: dict[str, Any] | None, state: dict[str, Any]
) -> list[Miss]:
    """Every ``expect_session`` expectation that did not hold of the stored session."""
    misses: list[Miss] = []
    if "runs" in expect and expect["runs"] != runs:
        misses.append(
            Miss(
                ("runs",),
                f"expected the session to hold {expect['runs']} run(s); it holds {runs}",
                expect["runs"],
                runs,
            )
        )
    want = expect.get("summary")
    text = summary_text(summary)
    if want is True and not summary:
        misses.append(Miss(("summary",), "expected the session to have a summary; it has none", True, None))
    elif want is False and summary:
        misses.append(Miss(("summary",), f"expected no summary; the session has {short(text)}", False, text))
    elif isinstance(want, dict):
        for i, part in enumerate(texts(want.get("contains"))):
            if part.casefold() not in text.casefold():
                key = (
                    ("summary", "contains", i)
                    if isinstance(want["contains"], list)
                    else ("summary", "contains")
                )
                misses.append(
                    Miss(
                        key,
                        f"expected the summary to contain {short(part)}; got {short(text) if text else 'no summary'}",
                        part,
                        text,
                    )
                )
    if "state" in expect and not is_subset(expect["state"], state):
        misses.append(
            Miss(
                ("state",),
                f"expected the session state to hold {json.dumps(expect['state'], ensure_ascii=False)}; it is {json.dumps(state, ensure_ascii=False)}",
                expect["state"],
                state,
            )
        )
    return misses
