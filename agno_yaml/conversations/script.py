"""The models of a conversation under test: scripted per turn, recorded, or replayed.

Every agent of the team (``leader``, each member id, ``summary``, and the ``judge``) gets its own
model object, built by ``Models.model_for`` (the ``model_for`` hook of ``compile_team``):

- a turn's ``replies`` for that agent come first, in order; once they are used up the agent
  answers from its own model (echo, scripted, or a provider);
- ``--record DIR``: every request an agent's own model answers, and the answer, go into the
  conversation's cassette, a readable JSON file; secrets are masked before anything is written;
- ``--replay DIR``: the cassette answers instead of the model, with no network and no key. Each
  agent's requests must come in the recorded order and match the recorded ones; the first that
  does not stops the conversation with a diff of what changed (``ReplayMismatch``).

Ids and clock times in requests (session ids, dates of earlier sessions) are compared as
placeholders, so a replay does not fail on the day it runs.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config.spec import ModelSpec
from ..errors import ModelError
from ..messages import Completion, Message, ToolCall, Usage
from ..models import Model, OnText
from ..models.offline import completion_for, parse_reply
from ..runtime.compile import ModelCache
from ..store.policy import redact

CASSETTE_VERSION = 1
_VOLATILE = [
    (re.compile(r"\b[0-9a-f]{32}\b"), "<id>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?"), "<time>"),
]


class ReplayMismatch(ModelError):
    """A request that is not the recorded one (or one the recording does not have). A model error,
    so it ends the turn wherever it happens (in a member, under a delegation tool); the cassette
    keeps it (``Cassette.mismatch``) for the report."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="replay")


class TurnScript:
    """The replies scripted for the turn being run, by agent key; used up as the agents ask."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Any]] = {}
        self._given: dict[str, int] = {}
        self._lock = threading.Lock()

    def start(self, replies: dict[str, list[Any]]) -> None:
        with self._lock:
            self._queues = {key: deque(values) for key, values in replies.items()}
            self._given = {key: len(values) for key, values in replies.items()}

    def take(self, key: str) -> tuple[int, Any] | None:
        """(its number, the next reply) for ``key``, or None when its replies are used up."""
        with self._lock:
            queue = self._queues.get(key)
            if not queue:
                return None
            return self._given[key] - len(queue) + 1, queue.popleft()

    def unused(self) -> dict[str, int]:
        """How many replies each agent left unused this turn (a script out of step with the team)."""
        with self._lock:
            return {key: len(queue) for key, queue in self._queues.items() if queue}


def as_reply(raw: Any) -> Any:
    """A reply as a conversation file writes it (text, or {tool, args}) in ``parse_reply``'s shape."""
    if isinstance(raw, dict) and "tool" in raw:
        return {"content": None, "tool_calls": [{"name": raw["tool"], "arguments": raw.get("args") or {}}]}
    return raw


def normalised(value: Any) -> Any:
    """``value`` with ids and clock times as placeholders, for comparing requests across runs."""
    if isinstance(value, str):
        for pattern, placeholder in _VOLATILE:
            value = pattern.sub(placeholder, value)
        return value
    if isinstance(value, list):
        return [normalised(v) for v in value]
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items()}
    return value


def _masked(value: Any, secrets: frozenset[str]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, list):
        return [_masked(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v, secrets) for k, v in value.items()}
    return value


def _request(messages: Sequence[Message], tools: Sequence[dict[str, Any]] | None) -> dict[str, Any]:
    return {"messages": [m.to_openai() for m in messages], "tools": list(tools or [])}


def _lines(request: dict[str, Any]) -> list[str]:
    """A request as lines a person can diff: one block per message, then the tools offered."""
    out: list[str] = []
    for i, message in enumerate(request.get("messages") or []):
        role = message.get("role", "?")
        content = message.get("content")
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        out.append(f"[{i}] {role}:")
        out += [f"    {line}" for line in (text or "").splitlines() or [""]]
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            out.append(f"    calls {function.get('name')}({function.get('arguments')})")
    for tool in request.get("tools") or []:
        function = tool.get("function") or {}
        params = json.dumps(function.get("parameters"), sort_keys=True, ensure_ascii=False)
        out.append(f"tool {function.get('name')}: {function.get('description', '')} {params}")
    return out


def request_diff(recorded: dict[str, Any], now: dict[str, Any], limit: int = 40) -> str:
    """A unified diff, recorded -> now, of two requests (normalised), at most ``limit`` lines."""
    lines = list(
        difflib.unified_diff(
            _lines(normalised(recorded)), _lines(normalised(now)), "recorded", "now", n=1, lineterm=""
        )
    )
    if len(lines) > limit:
        lines = [*lines[:limit], f"... {len(lines) - limit} more lines"]
    return "\n".join(lines)


@dataclass
class Cassette:
    """The recorded exchanges of one conversation: what each agent's model was asked and answered."""

    path: str
    file: str
    conversation: str
    interactions: list[dict[str, Any]] = field(default_factory=list)
    secrets: frozenset[str] = frozenset()
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _replayed: dict[str, int] = field(default_factory=dict)
    mismatch: ReplayMismatch | None = None  # the first request that did not match

    @classmethod
    def load(cls, path: str, file: str, conversation: str) -> Cassette:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            raise ReplayMismatch(f"no recording at {path}; record it first with --record") from None
        except (OSError, ValueError) as exc:
            raise ReplayMismatch(f"the recording {path} cannot be read ({exc}); record it again") from None
        if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
            raise ReplayMismatch(f"{path} is not a recording (no interactions list); record it again")
        return cls(path, file, conversation, data["interactions"])

    def add(self, agent: str, model: str, request: dict[str, Any], completion: Completion) -> None:
        reply = completion.message
        response = {
            "content": reply.content,
            "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in reply.tool_calls],
            "finish_reason": completion.finish_reason,
            "usage": completion.usage.to_dict() | {"cost": completion.usage.cost},
        }
        entry = {"agent": agent, "model": model, "request": request, "response": response}
        with self._lock:
            self.interactions.append(_masked(entry, self.secrets))

    def next_for(self, agent: str, request: dict[str, Any]) -> dict[str, Any]:
        """The recorded response to ``agent``'s next request, which must match the recorded one."""
        with self._lock:
            done = self._replayed.get(agent, 0)
            recorded = [i for i in self.interactions if i.get("agent") == agent]
            if done >= len(recorded):
                raise self._mismatch(
                    f"{agent} sent request {done + 1}, but the recording in {self.path} has {len(recorded)} "
                    f"from {agent}; record the conversation again if the change is intended"
                )
            self._replayed[agent] = done + 1
        entry = recorded[done]
        now = _masked(request, self.secrets)
        if normalised(entry.get("request")) != normalised(now):
            raise self._mismatch(
                f"request {done + 1} of {agent} differs from the recording in {self.path}; record the "
                f"conversation again if the change is intended\n"
                + request_diff(entry.get("request") or {}, now)
            )
        response: dict[str, Any] = entry.get("response") or {}
        return response

    def _mismatch(self, text: str) -> ReplayMismatch:
        found = ReplayMismatch(text)
        self.mismatch = self.mismatch or found
        return found

    def save(self) -> None:
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        document = {
            "version": CASSETTE_VERSION,
            "file": self.file,
            "conversation": self.conversation,
            "interactions": self.interactions,
        }
        tmp = f"{self.path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(document, f, indent=2, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, self.path)


def _completion(response: dict[str, Any], model: str) -> Completion:
    calls = [ToolCall(c["id"], c["name"], c["arguments"]) for c in response.get("tool_calls") or []]
    usage = response.get("usage") or {}
    return Completion(
        Message("assistant", response.get("content"), calls),
        Usage(
            int(usage.get("input_tokens", 0)),
            int(usage.get("output_tokens", 0)),
            int(usage.get("total_tokens", 0)),
            usage.get("cost"),
        ),
        model,
        response.get("finish_reason") or ("tool_calls" if calls else "stop"),
    )


@dataclass
class AgentModel:
    """One agent's model in a conversation: its scripted replies for the turn, then its own model
    (``base``), recorded to or replayed from the cassette."""

    agent: str
    name: str
    script: TurnScript
    base: Model | None  # None when replaying
    cassette: Cassette | None = None
    replay: bool = False
    calls: int = 0

    def complete(
        self, messages: Sequence[Message], tools: Sequence[dict[str, Any]] | None = None,
        stream: bool = False, on_text: OnText | None = None, *,
        response_format: dict[str, Any] | None = None,
    ) -> Completion:  # fmt: skip
        self.calls += 1
        scripted = self.script.take(self.agent)
        if scripted is not None:
            number, raw = scripted
            reply = parse_reply(as_reply(raw), number, f"{self.agent}'s scripted")
            return completion_for("scripted", messages, reply, stream, on_text)
        request = _request(messages, tools)
        if self.replay:
            assert self.cassette is not None
            completion = _completion(self.cassette.next_for(self.agent, request), self.name)
            if stream and on_text and completion.message.content:
                on_text(completion.message.content)
            return completion
        if self.base is None:
            raise ModelError(f"{self.agent} has no model")
        if response_format is not None:
            completion = self.base.complete(messages, tools, stream, on_text, response_format=response_format)
        else:  # a model of the user's own may not know the keyword
            completion = self.base.complete(messages, tools, stream, on_text)
        if self.cassette is not None:
            self.cassette.add(self.agent, self.name, request, completion)
        return completion


class Models:
    """Builds the model of every agent of one conversation (``compile_team``'s ``model_for``)."""

    def __init__(self, script: TurnScript, cassette: Cassette | None = None, *, replay: bool = False) -> None:
        self.script = script
        self.cassette = cassette
        self.replay = replay
        self._bases = ModelCache()  # one object per distinct spec, as a run shares them
        self.agents: dict[str, AgentModel] = {}

    def model_for(self, agent: str, spec: ModelSpec) -> Model:
        if agent not in self.agents:
            base = None if self.replay else self._bases.get(spec)
            self.agents[agent] = AgentModel(agent, spec.id, self.script, base, self.cassette, self.replay)
        return self.agents[agent]
