"""The conversation runner: every expectation passing and failing (at its line), sessions shared
or isolated, parallel runs, the judge, scripted replies out of step, -k and -x."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from convkit import ADD_TEA, line_of, run, write_conversations, write_team

from agno_yaml.conversations import load_conversations
from agno_yaml.conversations.runner import groups
from agno_yaml.conversations.select import Selector
from agno_yaml.errors import UsageError


def one_turn(expect: str, replies: str = ADD_TEA, say: str = "add tea") -> str:
    return f"""\
conversations:
  - name: c
    turns:
      - say: "{say}"
{replies}        expect:
{textwrap.indent(textwrap.dedent(expect), " " * 10)}"""


LEADER_SAYS_JSON = """\
        replies: ['{"a": 1, "b": "x"}']
"""
LEADER_ANSWERS = """\
        replies: [Hello]
"""

# (expectation that holds, one that does not, the key the failure names, the replies scripted for
# both or for each). With ADD_TEA the answer is "cart: tea".
CASES = [
    ('contains: "cart: tea"', "contains: coffee", "contains", ADD_TEA),
    ("contains: [cart, tea]", "contains: [cart, milk]", "contains.1", ADD_TEA),
    ("not_contains: coffee", "not_contains: tea", "not_contains", ADD_TEA),
    ("not_contains: [coffee, milk]", "not_contains: [coffee, tea]", "not_contains.1", ADD_TEA),
    ('regex: "^cart: \\\\w+$"', 'regex: "^coffee"', "regex", ADD_TEA),
    ('equals: "cart: tea"', 'equals: "cart: coffee"', "equals", ADD_TEA),
    ('{equals: "CART: TEA", ignore_case: true}', '{equals: "CART: TEA"}', "equals", ADD_TEA),
    ("{contains: TEA, ignore_case: true}", "contains: TEA", "contains", ADD_TEA),
    ("json: true", "json: true", "json", (LEADER_SAYS_JSON, ADD_TEA)),
    (
        "json: {json_schema: {type: object, required: [a]}}",
        "json: {json_schema: {type: object, required: [c]}}",
        "json.json_schema",
        LEADER_SAYS_JSON,
    ),
    ("member: seller", "member: helper", "member", ADD_TEA),
    ("delegated_to: [seller]", "delegated_to: [seller, helper]", "delegated_to", ADD_TEA),
    ("delegated_to: seller", "delegated_to: []", "delegated_to", ADD_TEA),
    (
        "tool_called: {name: add_to_cart, args: {item: tea}}",
        "tool_called: {name: add_to_cart, args: {item: milk}}",
        "tool_called",
        ADD_TEA,
    ),
    ("tool_called: add_to_cart", "tool_called: add_to_cart", "tool_called", (ADD_TEA, LEADER_ANSWERS)),
    (
        "tool_not_called: [add_to_cart]",
        "tool_not_called: add_to_cart",
        "tool_not_called",
        (LEADER_ANSWERS, ADD_TEA),
    ),
    ("history_runs: 0", "history_runs: 1", "history_runs", ADD_TEA),
    ("summary_contains: add tea", "summary_contains: coffee", "summary_contains", ADD_TEA),
    ("state: {cart: [tea]}", "state: {cart: [milk]}", "state", ADD_TEA),
    ("status: completed", "status: error", "status", ADD_TEA),
    ("max_tokens: 100000", "max_tokens: 1", "max_tokens", ADD_TEA),
    ("max_seconds: 600", "max_seconds: 0.0000001", "max_seconds", ADD_TEA),
]


@pytest.mark.parametrize(
    ("holds", "fails", "key", "replies"), CASES, ids=[f"{c[2]}-{i}" for i, c in enumerate(CASES)]
)
def test_each_expectation_passes_and_fails_at_its_line(
    tmp_path: Path, holds: str, fails: str, key: str, replies: str | tuple[str, str]
) -> None:
    good_replies, bad_replies = replies if isinstance(replies, tuple) else (replies, replies)
    passing = write_conversations(tmp_path, one_turn(holds, good_replies), "good.conv.yaml")
    [result] = run(passing)
    assert result.passed, [str(f) for f in result.failures]

    failing = write_conversations(tmp_path, one_turn(fails, bad_replies), "bad.conv.yaml")
    [result] = run(failing)
    assert not result.passed
    [failure] = result.failures
    assert failure.expectation == key
    assert failure.turn == 1
    assert failure.line == line_of(failing, key.split(".")[0] + ":", after=line_of(failing, "expect:"))
    assert str(failure).startswith(f"{failing}:{failure.line}:")


def test_a_failed_equals_shows_a_diff_and_the_answer(tmp_path: Path) -> None:
    path = write_conversations(tmp_path, one_turn('equals: "cart: coffee"'))
    [failure] = run(path)[0].failures
    assert "-cart: coffee" in failure.diff and "+cart: tea" in failure.diff
    assert '"cart: tea"' in failure.message


def test_a_turn_that_fails_is_a_failure_unless_an_error_is_expected(tmp_path: Path) -> None:
    write_team(tmp_path, "name: T\nmodel: scripted\n")  # no replies left: the model call fails
    path = write_conversations(
        tmp_path, "conversations:\n  - name: c\n    turns:\n      - say: hi\n      - say: again\n"
    )
    [result] = run(path)
    [failure] = result.failures
    assert failure.expectation == "status" and "no reply left" in failure.message
    assert len(result.turns) == 1  # later turns would only repeat it
    path = write_conversations(
        tmp_path, "conversations:\n  - name: c\n    turns:\n      - {say: hi, expect: {status: error}}\n"
    )
    assert run(path)[0].passed


def test_max_cost_fails_when_the_price_is_unknown_or_too_high(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agno_yaml import models
    from agno_yaml.messages import Completion, Message, Usage
    from agno_yaml.models import register_model

    monkeypatch.setattr(models, "_registry", dict(models._registry))  # registered only for this test

    class Priced:
        name = "priced"

        def __init__(self, cost: float | None) -> None:
            self.cost = cost

        def complete(
            self, messages: object, tools: object = None, stream: bool = False, on_text: object = None
        ) -> Completion:
            return Completion(Message("assistant", "ok"), Usage(10, 2, 12, self.cost), "priced")

    register_model("pricey", lambda spec: Priced(0.5))
    register_model("unpriced", lambda spec: Priced(None))
    body = "conversations:\n  - name: c\n    turns:\n      - {say: hi, expect: {max_cost: 0.1}}\n"
    write_team(tmp_path, "name: T\nmodel: pricey\n")
    [failure] = run(write_conversations(tmp_path, body))[0].failures
    assert failure.expectation == "max_cost" and "$0.500000" in failure.message
    write_team(tmp_path, "name: T\nmodel: unpriced\n")
    [failure] = run(write_conversations(tmp_path, body))[0].failures
    assert "price is unknown" in failure.message


@pytest.mark.parametrize(
    ("verdict", "passes", "shown"),
    [
        ("PASS: three bullets", True, ""),
        ("**FAIL** - no bullets", False, "no bullets"),
        ("Looks fine", False, "does not begin with PASS or FAIL"),
    ],
)
def test_the_judge_grades_the_answer(tmp_path: Path, verdict: str, passes: bool, shown: str) -> None:
    replies = f"        replies: {{judge: [{verdict!r}]}}\n"
    path = write_conversations(tmp_path, one_turn("judge: {rubric: Three bullet points.}", replies))
    [result] = run(path)
    assert result.passed is passes
    if not passes:
        [failure] = result.failures
        assert failure.expectation == "judge" and shown in failure.message
    assert result.judge_tokens > 0


def test_replies_the_team_did_not_ask_for_are_a_failure(tmp_path: Path) -> None:
    replies = "        replies:\n          leader: [Hello, Unused]\n"
    [failure] = run(write_conversations(tmp_path, one_turn("contains: Hello", replies)))[0].failures
    assert failure.expectation == "replies" and "1 scripted reply for leader not used" in failure.message


SESSION = """\
conversations:
  - name: c
    turns:
      - say: "add tea"
{replies}      - say: "thanks"
    expect_session:
{expect}
"""


@pytest.mark.parametrize(
    ("holds", "fails", "key"),
    [
        ("runs: 2", "runs: 3", "expect_session.runs"),
        ("summary: true", "summary: false", "expect_session.summary"),
        (
            "summary: {contains: [tea, thanks]}",
            "summary: {contains: [tea, coffee]}",
            "expect_session.summary.contains.1",
        ),
        ("state: {cart: [tea]}", "state: {cart: []}", "expect_session.state"),
    ],
)
def test_session_expectations(tmp_path: Path, holds: str, fails: str, key: str) -> None:
    replies = textwrap.indent(textwrap.dedent(ADD_TEA), "        ")
    good = write_conversations(
        tmp_path, SESSION.format(replies=replies, expect="      " + holds), "good.conv.yaml"
    )
    assert run(good)[0].passed, [str(f) for f in run(good)[0].failures]
    bad = write_conversations(
        tmp_path, SESSION.format(replies=replies, expect="      " + fails), "bad.conv.yaml"
    )
    [failure] = run(bad)[0].failures
    assert failure.expectation == key and failure.turn is None
    assert failure.line == line_of(bad, fails.split(":")[0] + ":", after=line_of(bad, "expect_session:"))


MANY = "conversations:\n" + "".join(
    f"""\
  - name: talker {i}
    turns:
      - {{say: "I am talker {i}", expect: {{history_runs: 0}}}}
      - {{say: "talker {i} again", expect: {{history_runs: 1, contains: "I am talker {i}", not_contains: "I am talker {(i + 1) % 8}"}}}}
    expect_session: {{runs: 2, state: {{cart: []}}}}
"""
    for i in range(8)
)


def test_parallel_conversations_share_nothing(tmp_path: Path) -> None:
    first = write_conversations(tmp_path, MANY, "a.conv.yaml")
    second = write_conversations(tmp_path, MANY.replace("talker", "speaker"), "b.conv.yaml")
    results = run(first, second, jobs=4)
    assert [r.conversation.name for r in results] == [f"talker {i}" for i in range(8)] + [
        f"speaker {i}" for i in range(8)
    ]
    assert all(r.passed for r in results), [str(f) for r in results for f in r.failures]


def test_conversations_naming_one_session_continue_it_in_file_order(tmp_path: Path) -> None:
    path = write_conversations(
        tmp_path,
        """\
        session: shared
        conversations:
          - name: first
            turns: [{say: "hello from one"}]
          - name: alone
            session: own
            turns: [{say: "elsewhere", expect: {history_runs: 0}}]
          - name: second
            user: default
            turns: [{say: "and again", expect: {history_runs: 1, contains: "hello from one"}}]
            expect_session: {runs: 2}
        """,
    )
    loaded = load_conversations(path)
    assert [[c.name for c in g] for g in groups(loaded)] == [["first", "second"], ["alone"]]
    results = run(path, jobs=3)
    assert all(r.passed for r in results), [str(f) for r in results for f in r.failures]
    # -k the second alone still runs the first before it (it sets up the session), reporting only it
    [only] = run(path, select="second")
    assert only.conversation.name == "second" and only.passed


def test_select_and_fail_fast(tmp_path: Path) -> None:
    body = "conversations:\n" + "".join(
        f"  - name: n{i} {'french' if i % 2 else 'joke'}\n    turns: [{{say: hi, expect: {{contains: {'nope' if i == 0 else 'hi'}}}}}]\n"
        for i in range(6)
    )
    path = write_conversations(tmp_path, body)
    assert [r.conversation.name for r in run(path, select="french")] == [
        "n1 french",
        "n3 french",
        "n5 french",
    ]
    assert [r.conversation.name for r in run(path, select="joke and not n2")] == ["n0 joke", "n4 joke"]
    assert len(run(path, select="(n1 or n2) and not joke")) == 1
    with pytest.raises(UsageError, match="no conversation matches"):
        run(path, select="nothing")
    with pytest.raises(UsageError, match="not an expression"):
        Selector("french and (joke")
    stopped = run(path, jobs=1, fail_fast=True)
    assert [r.passed for r in stopped] == [False]


def test_each_conversation_starts_a_fresh_session_with_its_initial_state(tmp_path: Path) -> None:
    body = one_turn('{state: {cart: [bread, tea]}, contains: "cart: bread, tea"}').replace(
        "  - name: c\n", "  - name: with state\n    state: {cart: [bread]}\n"
    )
    path = write_conversations(tmp_path, body + "\n    expect_session: {state: {cart: [bread, tea]}}\n")
    [result] = run(path)
    assert result.passed, [str(f) for f in result.failures]
    assert result.turns[0].session == "test-with-state"
