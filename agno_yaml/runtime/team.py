"""The run loop: one user message in, one answer out, every step recorded.

A run builds the leader's context (system message, history, the new message), calls the model,
carries out the tool calls it asks for (delegating to members, Python tools), and repeats until the
model answers or the round limit is hit. Modes follow Agno's Team: coordinate (the leader writes the
final answer), route (the member's answer is the answer, recorded as the leader's final message),
broadcast (one task to every member). Whatever happens, the run is saved: a failure is stored as a
failed run with the user's message and the error.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..config.spec import TeamSpec
from ..errors import MissingKeyError, ModelError, Problem, SessionError, StoreError
from ..messages import Message, RunRecord, ToolCall, ToolExecution, new_id
from ..models import OnText, is_offline
from ..models.providers import missing_key
from ..store import SessionStore, StorePolicy
from ..tools import DELEGATION_CONTEXT, SESSION_CONTEXT, ToolArgumentError, call_tool
from ..tools.session import SessionContext
from .history import history_messages
from .prompts import with_session_summary
from .summary import Summarizer, update_summary
from .turn import PARAGRAPH, Agent, Output, RunOutput, StoredRuns, Turn

DEFAULT_MAX_ROUNDS = 10
__all__ = ["DEFAULT_MAX_ROUNDS", "Team"]


class _RoundLimit(Exception):
    pass


class _ToolError(Exception):
    """A tool call the model got wrong; its text goes back to the model as the tool result."""


class Team:
    """A compiled team. ``run`` is the whole public behaviour; ``compile_team`` builds one."""

    def __init__(
        self,
        spec: TeamSpec,
        leader: Agent,
        members: dict[str, Agent],
        store: SessionStore | None,
        *,
        max_rounds: int = DEFAULT_MAX_ROUNDS,
        summarizer: Summarizer | None = None,
        warnings: tuple[Problem, ...] = (),
    ) -> None:
        self.spec = spec
        self.warnings = warnings  # located problems that do not stop the team (tools described badly)
        self.leader = leader
        self.members = members
        self.store = store
        self.max_rounds = max_rounds
        self.summarizer = summarizer  # None: summaries are off
        self.policy = StorePolicy(
            store_tool_results=spec.store_tool_results,
            store_history_messages=spec.store_history_messages,
            store_media=spec.store_media,
        )

    @property
    def id(self) -> str:
        return self.spec.id

    def run(
        self,
        message: str,
        *,
        user_id: str,
        session_id: str,
        stream: bool = False,
        on_text: OnText | None = None,
    ) -> RunOutput:
        """Run one turn of ``session_id`` for ``user_id`` and save it (completed or failed).

        A turn that could never start (a model's API key is missing, the session is another
        user's or another team's) raises before anything is stored.
        """
        self.check_keys()
        exists = self.store.get_session(session_id, user_id) if self.store else None  # refuses other users
        if exists is not None and exists.team_id != self.spec.id:
            raise SessionError(
                f"session {session_id!r} belongs to another team ({exists.team_id!r}); continue it with that "
                f"team's file, choose another --session id, or, if this is the same team renamed, add "
                f"'id: {exists.team_id}' to this file"
            )
        past: Iterable[RunRecord] = ()
        if exists is not None and self.store is not None:
            past = StoredRuns(self.store, session_id, user_id)
        output = Output(on_text if stream else None)
        turn = Turn(session_id, user_id, message, stream, output, past)
        turn.summary = exists.summary if exists is not None else None
        run = RunRecord(new_id(), session_id, user_id, message, model=self.leader.model.name)
        started = time.perf_counter()
        summary: dict[str, Any] | None = None
        try:
            self._run_agent(self.leader, run, turn, message)
            summary = self._summarize(run, turn)
        except KeyboardInterrupt:
            if run.content is None:  # stopped before the answer
                self._fail(run, "cancelled", "cancelled by the user")
            else:  # stopped while summarising: the answer stands, the summary is skipped
                run.summary_error = "interrupted by the user"
            self._save(run, turn, started)
            raise
        except (ModelError, _RoundLimit) as exc:
            self._fail(run, "error", str(exc))
        except Exception as exc:  # a bug or an unexpected library error: keep the user's message anyway
            self._fail(run, "error", f"{type(exc).__name__}: {exc}")
            self._save(run, turn, started)
            raise
        try:
            self._save(run, turn, started, summary)
        except (
            StoreError,
            SessionError,
        ) as exc:  # the answer exists: hand it over, with why it is not stored
            return RunOutput(run, turn.member_runs, turn.summary, save_error=str(exc))
        return RunOutput(run, turn.member_runs, summary or turn.summary)

    def check_keys(self) -> None:
        """Refuse (MissingKeyError, exit 2) when a model of the team is a provider known to need an
        API key and none is set: found in microseconds, before litellm is imported or a run stored."""
        models = [self.spec.model, *(m.model for m in self.spec.members)]
        if self.summarizer is not None and self.spec.session_summary_manager is not None:
            models.append(self.spec.session_summary_manager.model)
        for spec in models:
            names = None if is_offline(spec.id) else missing_key(spec.id, spec.api_key, spec.api_base)
            if names:
                raise MissingKeyError(
                    f"model {spec.id}: no API key: set {names} in the environment (or api_key: in the "
                    f"model mapping), or run offline with --model echo"
                )

    @staticmethod
    def _fail(run: RunRecord, status: str, error: str) -> None:
        run.status = status  # type: ignore[assignment]
        run.error = error
        run.content = None

    def _summarize(self, run: RunRecord, turn: Turn) -> dict[str, Any] | None:
        """The updated session summary after a completed run, or None to keep the stored one.

        Runs before the save, so the run and its summary are written together. A problem is kept on
        the run (``summary_error``), never raised; the summary call's tokens count in the run's usage.
        """
        if self.summarizer is None or self.store is None:
            return None
        outcome = update_summary(self.summarizer, turn.summary, turn.past_runs, run)
        run.usage = run.usage + outcome.usage
        run.summary_error = outcome.error
        return outcome.summary

    def _save(
        self, run: RunRecord, turn: Turn, started: float, summary: dict[str, Any] | None = None
    ) -> None:
        run.duration = time.perf_counter() - started
        if self.store is not None:
            runs = [run, *turn.member_runs]
            self.store.append_runs(
                turn.session_id, turn.user_id, self.spec.id, runs, policy=self.policy, summary=summary
            )

    # -- the model loop ---------------------------------------------------------------------------

    def _context(self, agent: Agent, turn: Turn, user_text: str) -> list[Message]:
        system = agent.system_message
        stored = (turn.summary or {}).get("summary") if agent.member_id is None else None
        if stored and self.spec.add_session_summary_to_context:
            system = with_session_summary(system, str(stored))  # per turn: the summary changes every run
        messages = [Message("system", system)] if system else []
        if agent.add_history_to_context:
            messages += history_messages(
                iter(turn.past_runs),
                num_runs=agent.num_history_runs,
                num_messages=agent.num_history_messages,
                member=agent.member_id,
            )
        messages.append(Message("user", user_text))
        return messages

    def _run_agent(self, agent: Agent, run: RunRecord, turn: Turn, user_text: str) -> None:
        messages = self._context(agent, turn, user_text)
        run.messages = messages
        is_leader = agent.member_id is None
        # The user sees the leader's words, and in route mode the member's, which are the answer.
        streams = turn.stream and (is_leader or self.spec.mode == "route")
        on_text = turn.output.write if streams else None
        schemas = agent.tool_schemas()
        said: list[str] = []  # text written in rounds that also called tools: it is part of the answer
        for _ in range(self.max_rounds):
            completion = agent.model.complete(messages, schemas or None, stream=streams, on_text=on_text)
            run.usage = run.usage + completion.usage
            reply = completion.message
            messages.append(reply)
            if not reply.tool_calls:
                run.content = PARAGRAPH.join([*said, reply.content or ""]) if said else (reply.content or "")
                return
            if reply.content:
                said.append(reply.content)
                if streams:
                    turn.output.paragraph()
            answers: list[tuple[str, str]] = []  # (member id, answer) of successful delegations
            for call in reply.tool_calls:
                result = self._execute(agent, call, run, turn, answers)
                messages.append(Message("tool", result, tool_call_id=call.id, name=call.name))
            if is_leader and self.spec.mode == "route" and answers:
                self._finish_route(run, said, answers)
                return
        raise _RoundLimit(
            f"stopped after {self.max_rounds} model rounds without a final answer; "
            "the model kept calling tools (check the instructions, or the tools' results)"
        )

    @staticmethod
    def _finish_route(run: RunRecord, said: list[str], answers: list[tuple[str, str]]) -> None:
        """Return the member's answer as written, and record it as the leader's final message.

        Agno leaves the answer only inside a tool message, so history and summaries miss it.
        """
        run.content = PARAGRAPH.join([*said, *(answer for _, answer in answers)])
        run.answered_by = ",".join(dict.fromkeys(member for member, _ in answers))
        run.messages.append(Message("assistant", run.content))

    def _execute(
        self, agent: Agent, call: ToolCall, run: RunRecord, turn: Turn, answers: list[tuple[str, str]]
    ) -> str:
        execution = ToolExecution(call.id, call.name, call.arguments)
        started = time.perf_counter()
        try:
            tool = agent.tools.get(call.name)
            if tool is None:
                names = list(agent.tools)
                raise _ToolError(
                    f"there is no tool named {call.name!r}; "
                    + (
                        f"call one of: {', '.join(names)}"
                        if names
                        else "no tools are available, answer directly"
                    )
                )
            context: Any = None
            if tool.context == SESSION_CONTEXT:
                context = self._session(agent, turn)
            elif tool.context == DELEGATION_CONTEXT:
                context = _Delegation(self, run, turn, execution, answers)
            result = call_tool(tool, call.arguments, context)
            execution.result = result
        except (_ToolError, ToolArgumentError) as exc:
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
        run.tool_calls.append(execution)
        return result

    def _session(self, agent: Agent, turn: Turn) -> SessionContext:
        return SessionContext(
            self.store, turn.session_id, turn.user_id, agent.member_id, turn.past_runs,
            self.spec.num_history_sessions,
        )  # fmt: skip

    def _run_member(self, agent: Agent, task: str, parent: RunRecord, turn: Turn) -> RunRecord:
        text = task if self.spec.determine_input_for_members else turn.message
        member_run = RunRecord(
            new_id(), turn.session_id, turn.user_id, text, parent_run_id=parent.run_id,
            member=agent.member_id, model=agent.model.name,
        )  # fmt: skip
        if self.spec.mode == "route":
            turn.output.paragraph()  # a route answer streams as its own paragraph, as in the final content
        started = time.perf_counter()
        try:
            self._run_agent(agent, member_run, turn, text)
        except (ModelError, _RoundLimit) as exc:
            self._fail(member_run, "error", str(exc))
        member_run.duration = time.perf_counter() - started
        turn.member_runs.append(member_run)
        return member_run


@dataclass
class _Delegation:
    """What the delegation tools reach during one leader tool call (``tools.delegation.Delegator``)."""

    team: Team
    run: RunRecord
    turn: Turn
    execution: ToolExecution
    answers: list[tuple[str, str]] = field(default_factory=list)  # (member id, answer), route mode reads them

    def delegate(self, member_id: str, task: str) -> str:
        agent = self.team.members[member_id]  # the id was checked against the schema's enum
        member_run = self.team._run_member(agent, task, self.run, self.turn)
        self.execution.child_run_ids.append(member_run.run_id)
        if member_run.status != "completed":
            raise _ToolError(f"member {member_id} failed: {member_run.error}")
        answer = (member_run.content or "").strip() or "The member gave no answer."
        self.answers.append((member_id, answer))
        return answer

    def delegate_all(self, task: str) -> str:
        parts = []
        for agent in self.team.members.values():
            member_run = self.team._run_member(agent, task, self.run, self.turn)
            self.execution.child_run_ids.append(member_run.run_id)
            if member_run.status == "completed":
                parts.append(f"{agent.name}: {(member_run.content or '').strip() or 'No answer.'}")
            else:
                parts.append(f"{agent.name}: Error - {member_run.error}")
        return "\n\n".join(parts)
