"""The one seam to LLMs: ``Model.complete(messages, tools, stream)``.

Two offline models live here so every team runs with no key: ``echo`` (deterministic: a leader
delegates, members echo their task) and ``scripted`` (replays listed replies). The litellm model is
in ``litellm_model.py`` and is imported only when a real model is asked for, because
``import litellm`` costs about three seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import ModelError
from .messages import Completion, Message, ToolCall, Usage
from .spec import ModelSpec

OnText = Callable[[str], None]
OFFLINE_MODELS = ("echo", "scripted")
# ``summary.py`` puts this tag around the output format of every summary request, whatever the
# instructions are, so the echo model can tell a summary request from a chat turn.
SUMMARY_REQUEST_TAG = "summary_output_format"


class Model(Protocol):
    """What the run loop needs of a model. Implementations are stateless between calls."""

    name: str

    def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]] | None = None,
        stream: bool = False,
        on_text: OnText | None = None,
    ) -> Completion:
        """Answer ``messages``. With ``stream``, text deltas go to ``on_text`` as they arrive."""
        ...


def _rough_tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0


def _usage_for(messages: Sequence[Message], reply: Message) -> Usage:
    prompt = sum(_rough_tokens(m.content or "") for m in messages)
    out = _rough_tokens(reply.content or "") + sum(_rough_tokens(tc.arguments) for tc in reply.tool_calls)
    return Usage(prompt, out, prompt + out, 0.0)


def _emit(reply: Message, stream: bool, on_text: OnText | None) -> None:
    if stream and on_text and reply.content:
        on_text(reply.content)


def _tool_names(tools: Sequence[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    return {t["function"]["name"]: t["function"] for t in tools or []}


class EchoModel:
    """Deterministic stand-in for any model.

    Asked for a session summary, it writes an extractive one: the previous summary, then the new
    user messages quoted, as the JSON a summary model must return.
    As a team leader it delegates the user's message to the first member (or to all members in
    broadcast mode), mentioning the previous user message of the session when history is in
    context; once member answers are back it writes them up. As a member or single agent it echoes
    what it was asked, noting how many earlier turns it can see.
    """

    name = "echo"

    def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]] | None = None,
        stream: bool = False,
        on_text: OnText | None = None,
    ) -> Completion:
        reply = self._reply(list(messages), _tool_names(tools))
        _emit(reply, stream, on_text)
        return Completion(
            reply, _usage_for(messages, reply), self.name, "tool_calls" if reply.tool_calls else "stop"
        )

    def _reply(self, messages: list[Message], tools: dict[str, dict[str, Any]]) -> Message:
        system = (messages[0].content or "") if messages and messages[0].role == "system" else ""
        if f"<{SUMMARY_REQUEST_TAG}>" in system:
            return Message("assistant", _echo_summary(system))
        current = next((m for m in reversed(messages) if m.role == "user" and not m.from_history), None)
        text = (current.content or "") if current else ""
        earlier = [m.content or "" for m in messages if m.role == "user" and m.from_history]
        last = messages[-1] if messages else None
        if last is not None and last.role == "tool":
            # Members have answered: the final answer is their answers, in order.
            start = messages.index(current) + 1 if current else 0
            answers = [m.content for m in messages[start:] if m.role == "tool" and m.content]
            return Message("assistant", "\n".join(answers) or "(no answer)")
        task = text if not earlier else f'{text} (earlier in this session: "{earlier[-1]}")'
        if "delegate_task_to_members" in tools:
            return Message(
                "assistant",
                None,
                [ToolCall("echo_call_1", "delegate_task_to_members", json.dumps({"task": task}))],
            )
        delegate = tools.get("delegate_task_to_member")
        if delegate is not None:
            ids = delegate["parameters"]["properties"]["member_id"].get("enum") or []
            if ids:
                args = {"member_id": ids[0], "task": task}
                return Message(
                    "assistant", None, [ToolCall("echo_call_1", "delegate_task_to_member", json.dumps(args))]
                )
        seen = (
            f" [{len(earlier)} earlier turn{'s' if len(earlier) != 1 else ''} in context]" if earlier else ""
        )
        return Message("assistant", f"{text}{seen}")


def _between(text: str, tag: str) -> str:
    start, end = text.find(f"<{tag}>\n"), text.find(f"\n</{tag}>")
    return text[start + len(tag) + 3 : end] if 0 <= start < end else ""


def _echo_summary(system: str) -> str:
    previous = _between(system, "previous_summary")
    old_summary, _, old_topics = previous.partition("\nTopics: ")
    said = [
        line[len("User: ") :]
        for line in _between(system, "conversation").splitlines()
        if line.startswith("User: ")
    ]
    parts = [old_summary] if old_summary else []
    if said:
        parts.append("The user said: " + "; ".join(f'"{q}"' for q in said) + ".")
    topics = [t for t in old_topics.split(", ") if t] + [" ".join(q.split()[:4]) for q in said]
    return json.dumps(
        {"summary": " ".join(parts) or "Nothing was said yet.", "topics": topics}, ensure_ascii=False
    )


@dataclass
class ScriptedModel:
    """Replays ``replies`` in order; each is text, or a mapping with ``content`` and/or ``tool_calls``.

    A tool call is ``{"name": ..., "arguments": {...} or "raw json"}``; an ``id`` is made up when missing.
    Every request it received is kept in ``requests`` (messages and tools, in provider shape).
    """

    replies: list[Any]
    name: str = "scripted"
    requests: list[dict[str, Any]] = field(default_factory=list)
    _next: int = 0

    def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]] | None = None,
        stream: bool = False,
        on_text: OnText | None = None,
    ) -> Completion:
        self.requests.append({"messages": [m.to_openai() for m in messages], "tools": list(tools or [])})
        if self._next >= len(self.replies):
            raise ModelError(
                f"the scripted model has no reply left (it had {len(self.replies)}); add one to its replies list",
                kind="bad_request",
            )
        raw = self.replies[self._next]
        self._next += 1
        reply = self._parse(raw, self._next)
        _emit(reply, stream, on_text)
        return Completion(
            reply, _usage_for(messages, reply), self.name, "tool_calls" if reply.tool_calls else "stop"
        )

    @staticmethod
    def _parse(raw: Any, number: int) -> Message:
        if isinstance(raw, str):
            return Message("assistant", raw)
        if not isinstance(raw, dict):
            raise ModelError(f"scripted reply {number} must be text or a mapping, not {type(raw).__name__}")
        calls = []
        for i, call in enumerate(raw.get("tool_calls") or [], start=1):
            args = call.get("arguments", {})
            text = args if isinstance(args, str) else json.dumps(args)
            calls.append(ToolCall(call.get("id") or f"call_{number}_{i}", call["name"], text))
        return Message("assistant", raw.get("content"), calls)


def get_model(spec: ModelSpec) -> Model:
    """Build the model a spec names. Real providers go through litellm, imported only here."""
    if spec.id == "echo":
        return EchoModel()
    if spec.id == "scripted":
        return ScriptedModel(list(spec.replies or ()))
    from .litellm_model import LiteLLMModel  # deferred: importing litellm costs ~3 s

    return LiteLLMModel(spec)
