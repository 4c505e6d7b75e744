"""Rebuild an assistant message from streamed chat-completion deltas.

We do this ourselves instead of ``litellm.stream_chunk_builder`` because that merges parallel tool
calls into one call with invalid JSON when the server leaves ``index`` out of its deltas (old Ollama
did; litellm then fills in ``index=0`` for every call). Here a delta whose ``id`` is new starts a new
call even when its index collides, a delta without an id continues the call at its index, and one with
neither continues the last call.

Nothing in here imports litellm: deltas are read by attribute or key, so plain dicts work in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..messages import ToolCall


def _get(obj: Any, name: str) -> Any:
    """Read a field from a litellm/openai object or a plain dict."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


@dataclass
class _PartialCall:
    id: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class ToolCallAccumulator:
    """Collects tool-call deltas into complete calls, in the order they started."""

    _calls: list[_PartialCall] = field(default_factory=list)
    _by_index: dict[int, _PartialCall] = field(default_factory=dict)
    _by_id: dict[str, _PartialCall] = field(default_factory=dict)

    def add(self, delta: Any) -> None:
        call_id = _get(delta, "id") or None
        index = _get(delta, "index")
        call = self._find(call_id, index)
        if call_id and call.id is None:
            call.id = call_id
            self._by_id[call_id] = call
        function = _get(delta, "function")
        name = _get(function, "name")
        if name:
            # Names arrive whole in the first delta; a few providers repeat them, so don't append.
            call.name = name if not call.name or call.name == name else call.name + name
        arguments = _get(function, "arguments")
        if arguments:
            call.arguments.append(arguments)

    def _find(self, call_id: str | None, index: Any) -> _PartialCall:
        if call_id and call_id in self._by_id:
            return self._by_id[call_id]
        current = (
            self._by_index.get(index)
            if isinstance(index, int)
            else (self._calls[-1] if self._calls else None)
        )
        if current is not None and (not call_id or current.id is None):
            return current
        # A new id (even at an index already in use, see the module doc), or the first delta.
        call = _PartialCall()
        self._calls.append(call)
        if isinstance(index, int):
            self._by_index[index] = call
        return call

    def calls(self) -> list[ToolCall]:
        """The finished calls. Empty arguments become ``{}`` (no-argument tools); arguments that are not
        valid JSON are kept as written, so the run loop can tell the model instead of crashing here."""
        out = []
        for number, call in enumerate(self._calls, start=1):
            text = "".join(call.arguments)
            text = text if text.strip() else "{}"
            out.append(ToolCall(call.id or f"call_{number}", call.name, text))
        return out


@dataclass
class StreamState:
    """Everything gathered from one stream: text, tool calls, usage, finish reason, model."""

    text: list[str] = field(default_factory=list)
    tools: ToolCallAccumulator = field(default_factory=ToolCallAccumulator)
    usage: Any = None
    finish_reason: str | None = None
    model: str | None = None
    delivered: int = 0  # characters already handed to on_text: after that a retry would repeat them

    def add_chunk(self, chunk: Any) -> str | None:
        """Take one chunk; returns its text delta (if any) for the caller to deliver."""
        usage = _get(chunk, "usage")
        if usage is not None:
            self.usage = usage
        self.model = _get(chunk, "model") or self.model
        piece: str | None = None
        for choice in _get(chunk, "choices") or []:
            if (_get(choice, "index") or 0) != 0:
                continue  # n > 1 is not something we ask for
            delta = _get(choice, "delta")
            content = _get(delta, "content")
            if content:
                self.text.append(content)
                piece = content if piece is None else piece + content
            for tool_delta in _get(delta, "tool_calls") or []:
                self.tools.add(tool_delta)
            self.finish_reason = _get(choice, "finish_reason") or self.finish_reason
        return piece

    @property
    def content(self) -> str | None:
        return "".join(self.text) if self.text else None
