"""The run loop: one user message in, one answer out, every step recorded.

A run builds the leader's context (system message, history, the new message), calls the model,
carries out the tool calls it asks for (delegating to members, Python tools), and repeats until the
model answers or the round limit is hit. Modes follow Agno's Team: coordinate (the leader writes the
final answer), route (the member's answer is the answer, recorded as the leader's final message),
broadcast (one task to every member). Whatever happens, the run is saved: a failure is stored as a
failed run with the user's message and the error.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterable
from typing import Any

from .errors import ModelError, SessionError, StoreError
from .history import history_messages
from .messages import Message, RunRecord, ToolCall, ToolExecution, new_id
from .models import OnText
from .prompts import DELEGATE_ALL, DELEGATE_ONE, with_session_summary
from .session_tools import SessionContext, bind
from .spec import TeamSpec
from .store import SessionStore, StorePolicy
from .summary import Summarizer, update_summary
from .tools import ToolArgumentError, call_tool
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
    ) -> None:
        self.spec = spec
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
        """Run one turn of ``session_id`` for ``user_id`` and save it (completed or failed)."""
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
            if agent.member_id is None and call.name == DELEGATE_ONE and self.members:
                result = self._delegate_one(call, run, turn, execution, answers)
            elif agent.member_id is None and call.name == DELEGATE_ALL and self.members:
                result = self._delegate_all(call, run, turn, execution)
            elif call.name in agent.tools:
                with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the answer
                    result = call_tool(agent.tools[call.name], call.arguments)
            elif call.name in agent.session_tools:
                result = call_tool(
                    bind(agent.session_tools[call.name], self._session(agent, turn)), call.arguments
                )
            else:
                names = [s["function"]["name"] for s in agent.tool_schemas()]
                raise _ToolError(
                    f"there is no tool named {call.name!r}; "
                    + (
                        f"call one of: {', '.join(names)}"
                        if names
                        else "no tools are available, answer directly"
                    )
                )
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

    # -- delegation -------------------------------------------------------------------------------

    def _arguments(self, call: ToolCall, required: tuple[str, ...]) -> dict[str, Any]:
        try:
            args = json.loads(call.arguments or "{}")
        except json.JSONDecodeError as exc:
            raise _ToolError(
                f"the arguments are not valid JSON ({exc.msg}); send a JSON object with {', '.join(required)}"
            ) from None
        if not isinstance(args, dict):
            raise _ToolError(f"the arguments must be a JSON object with {', '.join(required)}")
        missing = [name for name in required if not isinstance(args.get(name), str) or not args.get(name)]
        if missing:
            raise _ToolError(f"missing or empty argument(s): {', '.join(missing)}")
        return args

    def _roster(self) -> str:
        return ", ".join(f"{member_id} ({agent.name})" for member_id, agent in self.members.items())

    def _delegate_one(
        self,
        call: ToolCall,
        run: RunRecord,
        turn: Turn,
        execution: ToolExecution,
        answers: list[tuple[str, str]],
    ) -> str:
        args = self._arguments(call, ("member_id", "task"))
        member_id = args["member_id"]
        agent = self.members.get(member_id)
        if agent is None:
            raise _ToolError(f"no member has the id {member_id!r}; choose one of: {self._roster()}")
        member_run = self._run_member(agent, args["task"], run, turn)
        execution.child_run_ids.append(member_run.run_id)
        if member_run.status != "completed":
            raise _ToolError(f"member {member_id} failed: {member_run.error}")
        answer = (member_run.content or "").strip() or "The member gave no answer."
        answers.append((member_id, answer))
        return answer

    def _delegate_all(self, call: ToolCall, run: RunRecord, turn: Turn, execution: ToolExecution) -> str:
        task = self._arguments(call, ("task",))["task"]
        parts = []
        for agent in self.members.values():
            member_run = self._run_member(agent, task, run, turn)
            execution.child_run_ids.append(member_run.run_id)
            if member_run.status == "completed":
                parts.append(f"{agent.name}: {(member_run.content or '').strip() or 'No answer.'}")
            else:
                parts.append(f"{agent.name}: Error - {member_run.error}")
        return "\n\n".join(parts)

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
