"""Carrying out the tool calls of one model reply: Python tools, the session tools, and delegation
to members (which runs a member's own turn through the team's run loop).

Whatever a tool does wrong (an unknown name, bad arguments, an exception, a member that fails or
says nothing) becomes an ``Error: ...`` result the model can act on; only a failure of the model
itself (``ModelError``) ends the run.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..config.spec import TeamSpec
from ..errors import ModelError
from ..messages import RunRecord, ToolCall, ToolExecution
from ..store import SessionStore
from ..store.policy import redact
from ..tools import DELEGATION_CONTEXT, SESSION_CONTEXT, ToolArgumentError, call_tool
from ..tools.session import SessionContext
from .turn import Agent, Turn

__all__ = ["Crew", "ToolError", "execute"]


class Crew(Protocol):
    """What carrying out a tool call needs of the team (``team.Team``): its members, to run one
    for a delegated task, and what masks and stores the results."""

    @property
    def spec(self) -> TeamSpec: ...
    @property
    def members(self) -> Mapping[str, Agent]: ...
    @property
    def store(self) -> SessionStore | None: ...
    @property
    def secrets(self) -> frozenset[str]: ...

    def run_member(self, agent: Agent, task: str, parent: RunRecord, turn: Turn) -> RunRecord: ...


class ToolError(Exception):
    """A tool call the model got wrong; its text goes back to the model as the tool result."""


def execute(
    team: Crew, agent: Agent, call: ToolCall, run: RunRecord, turn: Turn, answers: list[tuple[str, str]]
) -> str:
    """Carry out one tool call of ``agent``'s reply and record it on ``run``; the text returned is
    the tool result the model reads (an ``Error: ...`` it can act on when the call failed)."""
    execution = ToolExecution(call.id, call.name, call.arguments)
    who = agent.member_id or "leader"
    turn.emit("tool_call", {"agent": who, "call_id": call.id, "name": call.name, "arguments": call.arguments})
    started = time.perf_counter()
    try:
        tool = agent.tools.get(call.name)
        if tool is None:
            names = list(agent.tools)
            raise ToolError(
                f"there is no tool named {call.name!r}; "
                + (f"call one of: {', '.join(names)}" if names else "no tools are available, answer directly")
            )
        context: Any = None
        if tool.context == SESSION_CONTEXT:
            context = _session_context(team, agent, turn)
        elif tool.context == DELEGATION_CONTEXT:
            context = _Delegation(team, run, turn, execution, answers)
        result = call_tool(tool, call.arguments, context, turn.state)
        execution.result = result
    except (ToolError, ToolArgumentError) as exc:
        execution.error = str(exc)
        result = f"Error: {exc}"
    except ModelError:
        raise
    except (
        Exception,
        SystemExit,
    ) as exc:  # the tool's own failure is reported to the model, which may recover
        execution.error = f"{type(exc).__name__}: {exc}"
        result = f"Error: the tool {call.name} raised {type(exc).__name__}: {exc}"
    execution.duration = time.perf_counter() - started
    if team.secrets:  # a tool's result or error may carry a key (a member's provider echoing it)
        result = redact(result, team.secrets)
        execution.result = redact(execution.result, team.secrets) if execution.result is not None else None
        execution.error = redact(execution.error, team.secrets) if execution.error is not None else None
    run.tool_calls.append(execution)
    turn.emit(
        "tool_result",
        {
            "agent": who, "call_id": call.id, "name": call.name, "result": execution.result,
            "error": execution.error, "duration_s": round(execution.duration, 3),
        },
    )  # fmt: skip
    return result


def _session_context(team: Crew, agent: Agent, turn: Turn) -> SessionContext:
    return SessionContext(
        team.store, turn.session_id, turn.user_id, agent.member_id, turn.past_runs,
        team.spec.num_history_sessions,
    )  # fmt: skip


@dataclass
class _Delegation:
    """What the delegation tools reach during one leader tool call (``tools.delegation.Delegator``)."""

    team: Crew
    run: RunRecord
    turn: Turn
    execution: ToolExecution
    answers: list[tuple[str, str]] = field(default_factory=list)  # (member id, answer), route mode reads them

    def _member(self, member_id: str, task: str) -> RunRecord:
        """Run one member for ``task``, telling the turn's listener when it starts and ends."""
        self.turn.emit("delegation", {"member_id": member_id, "task": task})
        member_run = self.team.run_member(self.team.members[member_id], task, self.run, self.turn)
        self.execution.child_run_ids.append(member_run.run_id)
        self.turn.emit(
            "member_done",
            {
                "member_id": member_id, "run_id": member_run.run_id, "status": member_run.status,
                "answer": member_run.content, "error": member_run.error,
            },
        )  # fmt: skip
        return member_run

    def delegate(self, member_id: str, task: str) -> str:
        member_run = self._member(member_id, task)  # the id was checked against the schema's enum
        if member_run.status != "completed":
            raise ToolError(f"member {member_id} failed: {member_run.error}")
        answer = (member_run.content or "").strip()
        if not answer:
            raise ToolError(f"member {member_id} gave no answer; ask it again, or another member")
        self.answers.append((member_id, answer))
        return answer

    def delegate_all(self, task: str) -> str:
        parts = []
        for member_id, agent in self.team.members.items():
            member_run = self._member(member_id, task)
            if member_run.status == "completed":
                answer = (member_run.content or "").strip()
                parts.append(f"{agent.name}: {answer}" if answer else f"{agent.name}: Error - gave no answer")
            else:
                parts.append(f"{agent.name}: Error - {member_run.error}")
        return "\n\n".join(parts)
