"""Markers the run loop writes into requests so the offline models can answer them.

A session-summary request is an ordinary chat request to a real model; the ``echo`` model must
still recognise one and write an extractive summary from it. The layout of that request is
therefore defined here, below both the summary code that writes it and the offline model that
reads it, so neither reads the other's private layout.
"""

from __future__ import annotations

SUMMARY_REQUEST_TAG = "summary_output_format"  # wraps the output format of every summary request
PREVIOUS_SUMMARY_TAG = "previous_summary"  # the summary so far, then "\nTopics: a, b"
CONVERSATION_TAG = "conversation"  # the new messages, one "User: ..." / "Assistant: ..." per line
TOPICS_PREFIX = "\nTopics: "
USER_PREFIX = "User: "
ASSISTANT_PREFIX = "Assistant: "


def block(tag: str, body: str) -> str:
    return f"<{tag}>\n{body}\n</{tag}>"


def read_block(text: str, tag: str) -> str | None:
    """The body of the first ``block(tag, ...)`` in ``text``, or None when there is none."""
    start, end = text.find(f"<{tag}>\n"), text.find(f"\n</{tag}>")
    return text[start + len(tag) + 3 : end] if 0 <= start < end else None
