"""Session summaries: after each successful run, fold the new exchanges into the session's summary.

Better than Agno, on purpose: the summary is **incremental**. The stored summary records the last
run it covers (``last_run_id``); the next request sends that summary plus only the runs after it
(normally just the run that finished), never the whole session again, so the cost of a summary does
not grow with the session. Only what was said is rendered: user messages and assistant messages
with text, so a tool-call-only message never shows up as ``Assistant: None``; a route-mode answer
is the run's final assistant message, so it is included.

A summary is a convenience: a model failure or an unusable reply never fails or loses the run.
The previous summary is kept and the problem is returned for the run to record.

Bounded, whatever happens: one update reads the previous summary and at most ``max_runs`` runs (the
newest; the prompt says how many earlier ones are left out), so a summary model that keeps failing
cannot make the request grow until it overflows the context. A model that will not write JSON but
answers in plain text gets its text taken as the summary. After ``FAILURES_BEFORE_BACKOFF`` failed
updates in a row, updates are tried only every so often (``should_try``) instead of paying for a
doomed call every turn.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..messages import Message, RunRecord, Usage, completed_runs, conversation
from ..models import Model
from ..models.conventions import (
    ASSISTANT_PREFIX,
    CONVERSATION_TAG,
    PREVIOUS_SUMMARY_TAG,
    SUMMARY_REQUEST_TAG,
    TOPICS_PREFIX,
    USER_PREFIX,
    block,
)

# Our paraphrase of Agno's default: what to extract, how short, and not to invent anything.
DEFAULT_INSTRUCTIONS = """\
You keep a running summary of a conversation between a user and an assistant, to be used as \
context in later conversations with the same user.
Write:
- summary: a short summary of what matters for future interactions: who the user is, what they \
asked for, what they were told, decisions and open questions. Leave out small talk.
- topics: a few short labels for the subjects discussed.
Be concise. Use only what the conversation says; do not make anything up."""

REQUEST = "Write the updated summary of the conversation now."
DEFAULT_MAX_RUNS = 10
FAILURES_BEFORE_BACKOFF = 3
PLAIN_TEXT_LIMIT = 2000  # characters of a plain-text reply kept as the summary
OUTPUT_FORMAT = (
    'Reply with one JSON object and nothing else: {"summary": "<text>", "topics": ["<topic>", ...]}'
)


@dataclass(frozen=True)
class Summarizer:
    """The summary manager of a team: its model and, when the file gives one, its own instructions."""

    model: Model
    prompt: str | None = None  # replaces DEFAULT_INSTRUCTIONS; the conversation is still appended
    max_runs: int = DEFAULT_MAX_RUNS  # runs sent in one update at most


@dataclass
class SummaryOutcome:
    summary: dict[str, Any] | None  # the new summary to store; None keeps the stored one
    usage: Usage = field(default_factory=Usage)
    error: str | None = None
    built_on: str | None = None  # the newest stored run when the summary was built


def should_try(failures: int) -> bool:
    """Whether to attempt an update after ``failures`` failed (or skipped) updates in a row: always
    at first, then after 4, 8 and 16 turns, then every 32nd, so a model that cannot write summaries
    costs a call now and then, not every turn."""
    return failures < FAILURES_BEFORE_BACKOFF or failures in (4, 8, 16) or failures % 32 == 0


def runs_since(
    runs_newest_first: Iterable[RunRecord], previous: dict[str, Any] | None, limit: int | None = None
) -> tuple[list[RunRecord], int]:
    """Completed top-level runs after the one the previous summary covers, oldest first: the newest
    ``limit`` of them, and how many earlier ones were left out.

    Reading stops at that run, so normally only the last segment of the session is parsed. Runs
    stored after a failed summary attempt are picked up here, up to the limit.
    """
    last = (previous or {}).get("last_run_id")
    newer: list[RunRecord] = []
    left_out = 0
    for run in completed_runs(runs_newest_first):
        if last is not None and run.run_id == last:
            break
        if limit is None or len(newer) < limit:
            newer.append(run)
        else:
            left_out += 1
    newer.reverse()
    return newer, left_out


def render_conversation(runs: Iterable[RunRecord]) -> str:
    lines = []
    for run in runs:
        for m in conversation(run):
            speaker = USER_PREFIX if m.role == "user" else ASSISTANT_PREFIX
            lines.append(f"{speaker}{(m.content or '').strip()}")
    return "\n".join(lines)


def summary_messages(
    prompt: str | None, previous: dict[str, Any] | None, runs: Iterable[RunRecord], left_out: int = 0
) -> list[Message]:
    """The request: [system(instructions, previous summary, new messages, output format), user(ask)]."""
    parts = [prompt if prompt is not None else DEFAULT_INSTRUCTIONS]
    if previous and previous.get("summary"):
        body = str(previous["summary"])
        if previous.get("topics"):
            body += TOPICS_PREFIX + ", ".join(str(t) for t in previous["topics"])
        parts.append(
            "The summary so far, covering the earlier part of the conversation. Merge the new messages "
            "below into it and return one updated summary (and topics):\n" + block(PREVIOUS_SUMMARY_TAG, body)
        )
    if left_out:
        parts.append(
            f"{left_out} earlier exchange{'s' if left_out != 1 else ''} since the summary was last updated "
            f"{'are' if left_out != 1 else 'is'} not shown (too many to send at once); the messages below "
            "are the most recent ones."
        )
    parts.append(block(CONVERSATION_TAG, render_conversation(runs)))
    # The tag lets the offline echo model recognise a summary request whatever the instructions are.
    parts.append(block(SUMMARY_REQUEST_TAG, OUTPUT_FORMAT))
    return [Message("system", "\n\n".join(parts)), Message("user", REQUEST)]


_REFUSAL = re.compile(r"(i can ?not|i can't|i'm sorry|i am sorry|sorry|as an ai)\b", re.IGNORECASE)
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


def parse_summary(text: str | None) -> tuple[str, list[str]] | None:
    """(summary, topics) from a reply: bare JSON, JSON in a code fence, or JSON inside other text."""
    if not text:
        return None
    candidates = [text.strip(), *(m.group(1).strip() for m in _FENCE.finditer(text))]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if not isinstance(data, dict):
            continue
        summary = data.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            continue
        topics = data.get("topics") or []
        if isinstance(topics, str):
            topics = [topics]
        if not isinstance(topics, list):
            topics = []
        return summary.strip(), [str(t).strip() for t in topics if str(t).strip()]
    return None


def plain_summary(text: str | None) -> str | None:
    """A reply in plain text (no JSON in sight), as the summary: a small model that will not write
    JSON still summarises. Text that tries to be JSON and fails is not taken."""
    text = (text or "").strip()
    if not text or text[0] in "{[`" or '"summary"' in text or _REFUSAL.match(text):
        return None
    return text if len(text) <= PLAIN_TEXT_LIMIT else text[: PLAIN_TEXT_LIMIT - 3].rstrip() + "..."


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class _Newest:
    """Iterates stored runs, newest first, remembering the newest one's id (what the summary is built on)."""

    def __init__(self, runs: Iterable[RunRecord]) -> None:
        self.runs = runs
        self.run_id: str | None = None
        self.seen = False

    def __iter__(self) -> Iterator[RunRecord]:
        for run in self.runs:
            if not self.seen:
                self.seen, self.run_id = True, run.run_id
            yield run


def update_summary(
    summarizer: Summarizer,
    previous: dict[str, Any] | None,
    stored_runs_newest_first: Iterable[RunRecord],
    current: RunRecord | None = None,
) -> SummaryOutcome:
    """Ask the summary model to fold every run ``previous`` does not cover into it: the stored ones
    after its ``last_run_id``, then ``current`` (a run not stored yet), if given.

    ``built_on`` in the outcome is the newest stored run read: the summary is valid only while that
    is still the newest stored run (a run stored meanwhile by another turn would be missed). Never
    raises for a model or parsing problem: the outcome carries the error. Nothing new to fold in:
    no summary, no error.
    """
    newest = _Newest(stored_runs_newest_first)
    limit = max(1, summarizer.max_runs)
    try:
        new_runs, left_out = runs_since(newest, previous, limit - (1 if current is not None else 0))
    except Exception as exc:  # the stored runs could not be read: do not guess which ones are covered
        return SummaryOutcome(
            None, error=f"the session's runs could not be read: {type(exc).__name__}: {exc}"
        )
    new_runs += [current] if current is not None else []
    if not new_runs:
        return SummaryOutcome(None, built_on=newest.run_id)
    messages = summary_messages(summarizer.prompt, previous, new_runs, left_out)
    try:
        completion = summarizer.model.complete(messages, None)
    except Exception as exc:  # any provider failure: the run itself succeeded and must be kept
        return SummaryOutcome(None, error=f"the summary model failed: {type(exc).__name__}: {exc}")
    parsed = parse_summary(completion.message.content)
    plain = plain_summary(completion.message.content) if parsed is None else None
    if plain is not None:
        parsed = plain, list((previous or {}).get("topics") or [])
    if parsed is None:
        reply = " ".join((completion.message.content or "").split())[:200]
        return SummaryOutcome(
            None,
            completion.usage,
            f'the summary model did not reply with {{"summary": ..., "topics": [...]}}; it said: {reply!r}',
        )
    text, topics = parsed
    summary = {
        "summary": text,
        "topics": topics,
        "updated_at": _now_iso(),
        "last_run_id": new_runs[-1].run_id,
        "run_count": int((previous or {}).get("run_count", 0)) + len(new_runs) + left_out,
    }
    return SummaryOutcome(summary, completion.usage, built_on=newest.run_id)
