"""The model loop of one agent: its context (system message, history, the new message), the model
call, the tool calls it asks for (``calls.py``), again until it answers or the round limit is hit;
and a member's run, a team among the members included. ``Team`` (``team.py``) is the turn around
it: the session it belongs to, the summary, what is saved.

The lines for replies that are not what they seem (empty, cut, too long) come from ``replies.py``;
structured answers are checked in ``structured.py``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from ..config.spec import TeamSpec
from ..errors import ModelError
from ..messages import Message, RunRecord, ToolExecution, new_id
from ..store import SessionStore
from ..store.policy import redact
from .calls import execute
from .history import history_messages
from .prompts import fill_placeholders, with_session_state, with_session_summary
from .replies import empty_reply, overflow
from .structured import check as check_structured
from .structured import failure_line as structured_failure
from .structured import repair_request
from .structured import response_format as structured_format
from .turn import PARAGRAPH, Agent, Output, Turn

__all__ = ["AgentLoop", "RoundLimit", "agent_response_format"]


class RoundLimit(Exception):
    """The model kept calling tools past the round limit."""


def agent_response_format(agent: Agent) -> dict[str, Any]:
    """The ``response_format`` an agent with an ``output_schema`` sends with each request."""
    assert agent.output_schema is not None
    return structured_format(agent.member_id or agent.name, agent.output_schema)


class AgentLoop:
    """The model loop, for ``Team``: what it reads of the team is declared here."""

    spec: TeamSpec
    leader: Agent
    members: dict[str, Agent]
    store: SessionStore | None
    secrets: frozenset[str]
    max_rounds: int
    max_tool_calls: int
    as_member: str | None

    def _fail(self, run: RunRecord, status: str, error: str, *, partial: str = "") -> None:
        run.status = status  # type: ignore[assignment]
        run.error = redact(error, self.secrets)  # a provider may echo a key in its error
        run.content = partial or None  # what the user already saw of an interrupted answer

    def _context(self, agent: Agent, turn: Turn, user_text: str) -> list[Message]:
        system = agent.system_message
        if self.spec.resolve_in_context:
            system = fill_placeholders(system, turn.state)
        top = agent.member_id is None and self.as_member is None  # the leader of the top team
        stored = (turn.summary or {}).get("summary") if top else None
        if stored and self.spec.add_session_summary_to_context:
            system = with_session_summary(system, str(stored))  # per turn: the summary changes every run
        if top and self.spec.add_session_state_to_context:
            system = with_session_state(system, turn.state)
        messages = [Message("system", system)] if system else []
        if agent.add_history_to_context:
            messages += history_messages(
                iter(turn.past_runs),
                num_runs=agent.num_history_runs,
                num_messages=agent.num_history_messages,
                member=agent.member_id if agent.member_id is not None else self.as_member,
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
        empty = 0  # empty replies so far: the first is asked again, the second fails the run
        # Off after an empty streamed reply: the text is then written at once. A structured answer
        # (output_schema) is never streamed: it is shown once checked, so stdout holds only valid JSON.
        streaming = streams and agent.output_schema is None
        # output_schema: JSON against it is asked for on every round (providers take it beside tools)
        wanted = {} if agent.output_schema is None else {"response_format": agent_response_format(agent)}
        repaired = False  # a wrong structured answer is sent back once
        for _ in range(self.max_rounds):
            try:
                completion = agent.model.complete(
                    messages, schemas or None, stream=streaming, on_text=on_text if streaming else None,
                    **wanted,
                )  # fmt: skip
            except ModelError as exc:
                if exc.kind != "context_overflow":
                    raise
                raise ModelError(overflow(exc, agent, messages), kind=exc.kind) from exc
            run.usage = run.usage + completion.usage
            reply = completion.message
            if not reply.tool_calls and not (reply.content or "").strip() and not said:
                empty += 1
                if empty == 1 and completion.finish_reason != "length":
                    # A server that failed mid-way sends nothing with HTTP 200: ask once more, and not
                    # streamed, since some servers cannot stream what was asked (llama-cpp-python
                    # cannot stream a reply that may call a tool: "Automatic streaming tool choice").
                    streaming = False
                    continue
                raise ModelError(empty_reply(agent, completion.finish_reason, empty))
            if streams and not streaming and reply.content and agent.output_schema is None:
                turn.output.write(reply.content)
            messages.append(reply)
            if not reply.tool_calls:
                if agent.output_schema is not None:
                    checked = check_structured(reply.content, agent.output_schema)
                    if not checked.ok:
                        if repaired:
                            raise ModelError(structured_failure(checked))
                        repaired = True
                        messages.append(Message("user", repair_request(checked)))
                        continue
                    run.output, run.content = checked.value, checked.text  # the answer is the JSON alone
                    if streams:
                        turn.output.write(checked.text)
                    run.truncated = completion.finish_reason == "length"
                    return
                run.content = PARAGRAPH.join([*said, reply.content or ""]) if said else (reply.content or "")
                run.truncated = completion.finish_reason == "length"
                return
            if reply.content:
                said.append(reply.content)
                if streams:
                    turn.output.paragraph()
            answers: list[tuple[str, str]] = []  # (member id, answer) of successful delegations
            for n, call in enumerate(reply.tool_calls):
                if n < self.max_tool_calls:
                    result = execute(self, agent, call, run, turn, answers)
                else:  # every call needs an answer, or the provider rejects the next request
                    result = (
                        f"Error: not carried out: at most {self.max_tool_calls} tool calls are carried out "
                        "per turn of yours; call the rest again after reading these results"
                    )
                    run.tool_calls.append(ToolExecution(call.id, call.name, call.arguments, error=result[7:]))
                messages.append(Message("tool", result, tool_call_id=call.id, name=call.name))
            if is_leader and self.spec.mode == "route" and answers:
                self._finish_route(run, turn, said, answers)
                return
        raise RoundLimit(
            f"stopped after {self.max_rounds} model rounds without a final answer; "
            "the model kept calling tools (check the instructions, or the tools' results)"
        )

    @staticmethod
    def _finish_route(run: RunRecord, turn: Turn, said: list[str], answers: list[tuple[str, str]]) -> None:
        """Return the member's answer as written, and record it as the leader's final message.

        Agno leaves the answer only inside a tool message, so history and summaries miss it.
        """
        run.content = PARAGRAPH.join([*said, *(answer for _, answer in answers)])
        run.answered_by = ",".join(dict.fromkeys(member for member, _ in answers))
        run.messages.append(Message("assistant", run.content))
        answering = {member for member, _ in answers}
        run.truncated = any(
            r.truncated for r in turn.member_runs if r.parent_run_id == run.run_id and r.member in answering
        )

    def run_as_member(self, run: RunRecord, turn: Turn, task: str) -> None:
        """Run this team's leader loop for a parent's delegated ``task`` into ``run``: its own mode and
        members, its members' runs stored with the parent's turn (children of ``run``). Not streamed:
        its answer goes back to the parent's leader (or, in a route parent, is the answer)."""
        inner = dataclasses.replace(turn, stream=False, output=Output(None))
        self._run_agent(self.leader, run, inner, task)

    def run_member(self, agent: Agent, task: str, parent: RunRecord, turn: Turn) -> RunRecord:
        """A member's own run for ``task``, delegated from ``parent``; a failure is recorded on it."""
        text = task if self.spec.determine_input_for_members else turn.message
        member_run = RunRecord(
            new_id(), turn.session_id, turn.user_id, text, parent_run_id=parent.run_id,
            member=agent.member_id, model=agent.model.name,
        )  # fmt: skip
        if self.spec.mode == "route":
            turn.output.paragraph()  # a route answer streams as its own paragraph, as in the final content
        started = time.perf_counter()
        try:
            if agent.team is not None:
                agent.team.run_as_member(member_run, turn, text)
            else:
                self._run_agent(agent, member_run, turn, text)
        except (ModelError, RoundLimit) as exc:
            self._fail(member_run, "error", str(exc))
        member_run.duration = time.perf_counter() - started
        turn.member_runs.append(member_run)
        return member_run
