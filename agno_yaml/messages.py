"""The values that flow between the run loop, the models and the store.

These dataclasses are the stored format too: ``to_dict`` is what lands in a session file and
``from_dict`` reads it back. Fields that are None or empty are left out of the stored form so
documents stay small and readable.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]
RunStatus = Literal["completed", "error", "cancelled"]


def new_id() -> str:
    return uuid.uuid4().hex


def now() -> float:
    return time.time()


@dataclass
class ToolCall:
    """A call the model asked for. ``arguments`` is the raw JSON text the model wrote.

    Empty arguments become ``{}`` here, once, for every source (a provider, a stream, a script):
    some models send "" for a tool without parameters. Anything else is kept as written, even
    when it is not JSON, so the model can be told what was wrong with it.
    """

    id: str
    name: str
    arguments: str = "{}"

    def __post_init__(self) -> None:
        if not (self.arguments or "").strip():
            self.arguments = "{}"

    def to_openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }

    @classmethod
    def from_openai(cls, data: dict[str, Any]) -> ToolCall:
        fn = data.get("function") or {}
        return cls(id=data.get("id") or "", name=fn.get("name") or "", arguments=fn.get("arguments") or "{}")


@dataclass
class Message:
    role: Role
    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None  # on role=tool: the call this answers
    name: str | None = None  # on role=tool: the tool's name
    from_history: bool = False  # a copy replayed from an earlier run

    def to_openai(self) -> dict[str, Any]:
        """The chat-completions shape a provider receives."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [tc.to_openai() for tc in self.tool_calls]
        if self.role == "tool":
            out["tool_call_id"] = self.tool_call_id
            if self.name:
                out["name"] = self.name
        return out

    def to_dict(self) -> dict[str, Any]:
        out = self.to_openai()
        if self.from_history:
            out["from_history"] = True
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        return cls(
            role=data["role"],
            content=data.get("content"),
            tool_calls=[ToolCall.from_openai(tc) for tc in data.get("tool_calls") or []],
            tool_call_id=data.get("tool_call_id"),
            name=data.get("name"),
            from_history=bool(data.get("from_history", False)),
        )

    def as_history(self) -> Message:
        return Message(self.role, self.content, list(self.tool_calls), self.tool_call_id, self.name, True)


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cost: float | None = None  # USD, only when the provider's price is known
    # The counts are our estimate (about 4 characters a token), not the provider's: an offline model,
    # or a stream that carried no usage. A sum with an estimated part is estimated.
    estimated: bool = False

    def __add__(self, other: Usage) -> Usage:
        cost = None if self.cost is None and other.cost is None else (self.cost or 0.0) + (other.cost or 0.0)
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.total_tokens + other.total_tokens,
            cost,
            self.estimated or other.estimated,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
        }
        if self.cost is not None:
            out["cost"] = self.cost
        if self.estimated:
            out["estimated"] = True
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Usage:
        return cls(
            int(data.get("input_tokens", 0)),
            int(data.get("output_tokens", 0)),
            int(data.get("total_tokens", 0)),
            data.get("cost"),
            bool(data.get("estimated", False)),
        )


@dataclass
class Completion:
    """One model answer: an assistant message (text and/or tool calls) and what it cost."""

    message: Message
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    finish_reason: str | None = None


@dataclass
class ToolExecution:
    """A tool call as it was carried out: arguments, result or error, and the member run it started."""

    id: str
    name: str
    arguments: str
    result: str | None = None
    error: str | None = None
    child_run_ids: list[str] = field(default_factory=list)
    duration: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name, "arguments": self.arguments}
        if self.result is not None:
            out["result"] = self.result
        if self.error is not None:
            out["error"] = self.error
        if self.child_run_ids:
            out["child_run_ids"] = list(self.child_run_ids)
        out["duration"] = round(self.duration, 6)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolExecution:
        return cls(
            id=data["id"],
            name=data["name"],
            arguments=data.get("arguments", "{}"),
            result=data.get("result"),
            error=data.get("error"),
            child_run_ids=list(data.get("child_run_ids") or []),
            duration=float(data.get("duration", 0.0)),
        )


@dataclass
class RunRecord:
    """One run: a leader turn (``parent_run_id`` None) or a member's work inside it."""

    run_id: str
    session_id: str
    user_id: str
    input: str
    parent_run_id: str | None = None
    member: str | None = None  # member id for member runs; None for the leader
    content: str | None = None
    messages: list[Message] = field(default_factory=list)
    tool_calls: list[ToolExecution] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    duration: float = 0.0
    status: RunStatus = "completed"
    error: str | None = None
    created_at: float = field(default_factory=now)
    model: str = ""
    answered_by: str | None = None  # leader runs: the member whose answer was returned (route mode)
    summary_error: str | None = None  # leader runs: why the session summary was not updated after it
    summary_failures: int = 0  # leader runs: turns in a row, this one included, whose summary update failed
    truncated: bool = False  # the answer was cut by the model's max_tokens (finish_reason "length")
    output: Any = None  # the answer parsed as JSON and checked against the agent's output_schema

    @property
    def is_top_level(self) -> bool:
        return self.parent_run_id is None

    def to_dict(self) -> dict[str, Any]:
        metrics = self.usage.to_dict()
        metrics["duration"] = round(self.duration, 6)
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "session_id": self.session_id,
            "user_id": self.user_id,
            "parent_run_id": self.parent_run_id,
            "member": self.member,
            "input": self.input,
            "content": self.content,
            "messages": [m.to_dict() for m in self.messages],
            "tool_calls": [t.to_dict() for t in self.tool_calls],
            "metrics": metrics,
            "status": self.status,
            "created_at": self.created_at,
            "model": self.model,
        }
        if self.error is not None:
            out["error"] = self.error
        if self.answered_by is not None:
            out["answered_by"] = self.answered_by
        if self.summary_error is not None:
            out["summary_error"] = self.summary_error
        if self.summary_failures:
            out["summary_failures"] = self.summary_failures
        if self.truncated:
            out["truncated"] = True
        if self.output is not None:
            out["output"] = self.output
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        metrics = data.get("metrics") or {}
        return cls(
            run_id=data["run_id"],
            session_id=data.get("session_id", ""),
            user_id=data.get("user_id", ""),
            input=data.get("input", ""),
            parent_run_id=data.get("parent_run_id"),
            member=data.get("member"),
            content=data.get("content"),
            messages=[Message.from_dict(m) for m in data.get("messages") or []],
            tool_calls=[ToolExecution.from_dict(t) for t in data.get("tool_calls") or []],
            usage=Usage.from_dict(metrics),
            duration=float(metrics.get("duration", 0.0)),
            status=data.get("status", "completed"),
            error=data.get("error"),
            created_at=float(data.get("created_at", 0.0)),
            model=data.get("model", ""),
            answered_by=data.get("answered_by"),
            summary_error=data.get("summary_error"),
            summary_failures=int(data.get("summary_failures") or 0),
            truncated=bool(data.get("truncated", False)),
            output=data.get("output"),
        )


# ---- what a stored run means to a reader (history, summaries, session tools) -------------------


def completed_runs(runs_newest_first: Iterable[RunRecord], member: str | None = None) -> Iterator[RunRecord]:
    """Completed runs of the leader (member None: top-level runs) or of one member, newest first, lazily."""
    for run in runs_newest_first:
        if run.status != "completed":
            continue
        if member is None and not run.is_top_level:
            continue
        if member is not None and run.member != member:
            continue
        yield run


def conversation(run: RunRecord) -> list[Message]:
    """What was said in a run: its user message(s) and every assistant message with text.

    System and tool messages, history copies and tool-call-only assistant messages (no text) are
    left out. A route-mode run ends with the member's answer as an assistant message, so it is kept.
    """
    return [
        m
        for m in run.messages
        if not m.from_history and (m.role == "user" or (m.role == "assistant" and (m.content or "").strip()))
    ]
