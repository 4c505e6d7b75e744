"""Models that need no provider, so every team runs with no key and every test is deterministic.

- ``echo``: a leader delegates the user's message to the first member (to all in broadcast mode),
  members and single agents echo what they were asked, and a summary request gets an extractive
  summary.
- ``scripted``: replays listed replies, in order, whatever it is asked.
- ``FunctionModel``: a Python function decides each reply from the request: the way a test or a
  user scripts behaviour that depends on what the model was sent (register it with
  ``register_model`` to use it from a team file).

Each keeps the requests it received (``requests``), in provider shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config.spec import ModelSpec
from ..errors import ModelError, type_name
from ..messages import Completion, Message, ToolCall, Usage
from ..tools.delegation import DELEGATE_ALL, DELEGATE_ONE
from . import OnText
from .conventions import (
    CONVERSATION_TAG,
    PREVIOUS_SUMMARY_TAG,
    SUMMARY_REQUEST_TAG,
    TOPICS_PREFIX,
    USER_PREFIX,
    read_block,
)

Tools = Sequence[dict[str, Any]] | None
# A reply as a script or a function gives it: text, or {"content": ..., "tool_calls": [...]}.
Reply = str | dict[str, Any] | Message


def _rough_tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0


def completion_for(
    name: str, messages: Sequence[Message], reply: Message, stream: bool, on_text: OnText | None
) -> Completion:
    """The completion for ``reply``, its text streamed when asked, its tokens estimated (as offline
    models and scripted replies report them)."""
    if stream and on_text and reply.content:
        on_text(reply.content)
    prompt = sum(_rough_tokens(m.content or "") for m in messages)
    out = _rough_tokens(reply.content or "") + sum(_rough_tokens(tc.arguments) for tc in reply.tool_calls)
    usage = Usage(prompt, out, prompt + out, 0.0, estimated=True)
    return Completion(reply, usage, name, "tool_calls" if reply.tool_calls else "stop")


def _record(
    requests: list[dict[str, Any]], messages: Sequence[Message], tools: Tools,
    response_format: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    request: dict[str, Any] = {"messages": [m.to_openai() for m in messages], "tools": list(tools or [])}
    if response_format is not None:
        request["response_format"] = response_format
    requests.append(request)


def shaped(schema: Any, text: str, depth: int = 0) -> Any:
    """A value of ``schema``'s shape built from ``text`` (echo's structured answer): every string is
    ``text``, numbers their minimum or 0, objects their required properties (all when none are
    required), arrays their minItems. Good enough for the schemas answers use; not a full generator."""
    if not isinstance(schema, dict) or depth > 8:
        return text
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return shaped(schema[key][0], text, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "object":
        props: Any = schema.get("properties")
        props = props if isinstance(props, dict) else {}
        required: Any = schema.get("required")
        required = required if isinstance(required, list) else list(props)
        return {name: shaped(props.get(name, {}), text, depth + 1) for name in required}
    if kind == "array":
        count: Any = schema.get("minItems", 1)
        return [shaped(schema.get("items", {}), text, depth + 1) for _ in range(int(count))]
    if kind in ("integer", "number"):
        low: Any = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        value = low + 1 if "exclusiveMinimum" in schema and "minimum" not in schema else low
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return text


def parse_reply(raw: Reply, number: int, who: str) -> Message:
    """A scripted reply as an assistant message; ``who`` and ``number`` name it in errors.

    A tool call is ``{"name": ..., "arguments": {...} or "raw json"}``; an ``id`` is made up when
    missing.
    """
    if isinstance(raw, Message):
        return raw
    if isinstance(raw, str):
        return Message("assistant", raw)
    if not isinstance(raw, dict):
        raise ModelError(f"{who} reply {number} must be text or a mapping, not {type_name(raw)}")
    calls = []
    for i, call in enumerate(raw.get("tool_calls") or [], start=1):
        args = call.get("arguments", {})
        text = args if isinstance(args, str) else json.dumps(args)
        calls.append(ToolCall(call.get("id") or f"call_{number}_{i}", call["name"], text))
    return Message("assistant", raw.get("content"), calls)


class EchoModel:
    """Deterministic stand-in for any model (see the module doc)."""

    name = "echo"

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> EchoModel:
        return cls()

    def complete(
        self, messages: Sequence[Message], tools: Tools = None, stream: bool = False,
        on_text: OnText | None = None, *, response_format: dict[str, Any] | None = None,
    ) -> Completion:  # fmt: skip
        _record(self.requests, messages, tools, response_format)
        offered = {t["function"]["name"]: t["function"] for t in tools or []}
        reply = self._reply(list(messages), offered)
        schema = ((response_format or {}).get("json_schema") or {}).get("schema")
        if isinstance(schema, dict) and not reply.tool_calls:  # output_schema: the echo, shaped as asked
            reply = Message("assistant", json.dumps(shaped(schema, reply.content or ""), ensure_ascii=False))
        return completion_for(self.name, messages, reply, stream, on_text)

    def _reply(self, messages: list[Message], tools: dict[str, dict[str, Any]]) -> Message:
        system = (messages[0].content or "") if messages and messages[0].role == "system" else ""
        if read_block(system, SUMMARY_REQUEST_TAG) is not None:
            return Message("assistant", _echo_summary(system))
        current = next((m for m in reversed(messages) if m.role == "user" and not m.from_history), None)
        text = (current.content or "") if current else ""
        earlier = [m.content or "" for m in messages if m.role == "user" and m.from_history]
        if messages and messages[-1].role == "tool":
            # Members have answered: the final answer is their answers, in order.
            start = messages.index(current) + 1 if current else 0
            answers = [m.content for m in messages[start:] if m.role == "tool" and m.content]
            return Message("assistant", "\n".join(answers) or "(no answer)")
        task = text if not earlier else f'{text} (earlier in this session: "{earlier[-1]}")'
        if DELEGATE_ALL in tools:
            return _call(DELEGATE_ALL, {"task": task})
        delegate = tools.get(DELEGATE_ONE)
        ids = delegate["parameters"]["properties"]["member_id"].get("enum") if delegate else None
        if ids:
            return _call(DELEGATE_ONE, {"member_id": ids[0], "task": task})
        seen = (
            f" [{len(earlier)} earlier turn{'s' if len(earlier) != 1 else ''} in context]" if earlier else ""
        )
        return Message("assistant", f"{text}{seen}")


def _call(name: str, args: dict[str, Any]) -> Message:
    return Message("assistant", None, [ToolCall("echo_call_1", name, json.dumps(args, ensure_ascii=False))])


def _echo_summary(system: str) -> str:
    """The previous summary, then the new user messages quoted, as the JSON a summary must be."""
    old_summary, _, old_topics = (read_block(system, PREVIOUS_SUMMARY_TAG) or "").partition(TOPICS_PREFIX)
    lines = (read_block(system, CONVERSATION_TAG) or "").splitlines()
    said = [line[len(USER_PREFIX) :] for line in lines if line.startswith(USER_PREFIX)]
    parts = [old_summary] if old_summary else []
    if said:
        parts.append("The user said: " + "; ".join(f'"{q}"' for q in said) + ".")
    topics = [t for t in old_topics.split(", ") if t] + [" ".join(q.split()[:4]) for q in said]
    summary = {"summary": " ".join(parts) or "Nothing was said yet.", "topics": topics}
    return json.dumps(summary, ensure_ascii=False)


@dataclass
class ScriptedModel:
    """Replays ``replies`` in order (see ``parse_reply``); fails clearly when they run out."""

    replies: list[Reply]
    name: str = "scripted"
    requests: list[dict[str, Any]] = field(default_factory=list)
    _next: int = 0

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> ScriptedModel:
        return cls(list(spec.replies or ()))

    def complete(
        self, messages: Sequence[Message], tools: Tools = None, stream: bool = False,
        on_text: OnText | None = None, *, response_format: dict[str, Any] | None = None,
    ) -> Completion:  # fmt: skip
        _record(self.requests, messages, tools, response_format)
        if self._next >= len(self.replies):
            raise ModelError(
                f"the scripted model has no reply left (it had {len(self.replies)}); add one to its replies list",
                kind="bad_request",
            )
        raw = self.replies[self._next]
        self._next += 1
        return completion_for(self.name, messages, parse_reply(raw, self._next, "scripted"), stream, on_text)


@dataclass
class FunctionModel:
    """Each reply is ``fn(messages, tools)``: text, a mapping as in ``parse_reply``, or a Message.

    ``tools`` are the tool definitions offered, in provider shape. An exception from ``fn`` is a
    failed model call, as a provider error would be.
    """

    fn: Callable[[list[Message], list[dict[str, Any]]], Reply]
    name: str = "function"
    requests: list[dict[str, Any]] = field(default_factory=list)

    def complete(
        self, messages: Sequence[Message], tools: Tools = None, stream: bool = False,
        on_text: OnText | None = None, *, response_format: dict[str, Any] | None = None,
    ) -> Completion:  # fmt: skip
        _record(self.requests, messages, tools, response_format)
        try:
            raw = self.fn(list(messages), list(tools or []))
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"model {self.name}: the function raised {type(exc).__name__}: {exc}") from exc
        reply = parse_reply(raw, len(self.requests), f"model {self.name}:")
        return completion_for(self.name, messages, reply, stream, on_text)
