"""The turn: one user message in, one answer out, every step recorded.

``Team.run`` checks the session the turn continues (owner, team, writable store), runs the leader's
model loop (``loop.py``: context, model calls, tool calls, members, until an answer), updates the
session summary, and saves the turn's runs together. Modes follow Agno's Team: coordinate (the
leader writes the final answer), route (the member's answer is the answer, recorded as the leader's
final message), broadcast (one task to every member). Whatever happens, the run is saved: a failure
is stored as a failed run with the user's message and the error.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Mapping
from typing import Any

from ..config.spec import TeamSpec
from ..errors import Interrupted, MissingKeyError, ModelError, Problem, SessionError, StoreError, UsageError
from ..messages import Message, RunRecord, completed_runs, new_id
from ..models import OnText, is_offline
from ..models.providers import missing_key
from ..store import SessionInfo, SessionStore, StorePolicy
from ..store.policy import redact
from .loop import AgentLoop, RoundLimit
from .replies import answer_warnings, route_of
from .sessions import SessionAPI
from .summary import Summarizer, SummaryOutcome, should_try, update_summary
from .turn import Agent, OnEvent, Output, RunOutput, StoredRuns, Turn

DEFAULT_MAX_ROUNDS = 10
DEFAULT_MAX_TOOL_CALLS = 16
SUMMARY_ATTEMPTS = 5
__all__ = ["DEFAULT_MAX_ROUNDS", "DEFAULT_MAX_TOOL_CALLS", "Team"]


class Team(AgentLoop, SessionAPI):
    """A compiled team: ``run`` is one turn; the session methods (``runtime.sessions``) read, search,
    move and delete its sessions. ``compile_team`` builds one."""

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
        secrets: frozenset[str] = frozenset(),
        max_tool_calls: int = DEFAULT_MAX_TOOL_CALLS,
    ) -> None:
        self.spec = spec
        self.warnings = warnings  # located problems that do not stop the team (tools described badly)
        self.secrets = secrets  # masked in errors, tool results and everything stored
        self.max_tool_calls = max_tool_calls  # per model round; the rest are answered with an error
        self.leader = leader
        self.members = members
        self.store = store
        self.max_rounds = max_rounds
        self.summarizer = summarizer  # None: summaries are off
        self.keys_required = True  # False when no model reaches a provider (replayed from recordings)
        self.as_member: str | None = None  # the member id when this team runs as a parent's member
        self.policy = StorePolicy(
            store_tool_results=spec.store_tool_results,
            store_history_messages=spec.store_history_messages,
            store_media=spec.store_media,
            secrets=secrets,
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
        state: Mapping[str, Any] | None = None,
        on_event: OnEvent | None = None,
    ) -> RunOutput:
        """Run one turn of ``session_id`` for ``user_id`` and save it (completed, failed or cancelled).

        A turn that could never start (a model's API key is missing, the session is another user's
        or another team's, the store cannot be written) raises before any model is called or
        anything is stored. Once it has started, the user's message is stored whatever happens:
        a failure as a failed run, an interruption (Ctrl-C, or a signal the caller turns into
        KeyboardInterrupt) as a cancelled run with the text shown so far. ``state`` sets values of
        the session's state for this turn and the ones after it. ``on_event`` hears each tool call,
        its result, and each delegation as it happens (``turn.OnEvent``).
        """
        self.check_keys()
        turn = self._turn(message, user_id, session_id, stream, on_text, state)
        turn.on_event = on_event
        run = RunRecord(new_id(), session_id, user_id, message, model=self.leader.model.name)
        started = time.perf_counter()
        candidate: SummaryOutcome | None = None
        answered = False
        try:
            self._run_agent(self.leader, run, turn, message)
            answered = True
            candidate = self._summary_candidate(run, turn)
        except KeyboardInterrupt as stop:
            signum = stop.signum if isinstance(stop, Interrupted) else 2
            if answered:  # stopped while summarising: the answer stands, the summary is skipped
                run.summary_error = "interrupted before the summary was updated"
            else:
                self._fail(run, "cancelled", str(Interrupted(signum)), partial=turn.output.shown)
            self._save(run, turn, started)
            raise Interrupted(signum, run_id=run.run_id, session_id=session_id) from None
        except (ModelError, RoundLimit) as exc:
            self._fail(run, "error", str(exc))
        except Exception as exc:  # a bug or an unexpected library error: keep the user's message anyway
            self._fail(run, "error", f"{type(exc).__name__}: {exc}")
            self._save(run, turn, started)
            raise
        try:
            stored = self._save(run, turn, started, candidate)
        except (
            StoreError,
            SessionError,
        ) as exc:  # the answer exists: hand it over, with why it is not stored
            return RunOutput(
                run,
                turn.member_runs,
                turn.summary,
                turn.state,
                save_error=str(exc),
                warnings=self._warnings(run),
                route=route_of(self.spec.mode, run),
            )
        summary = stored.summary if stored is not None else None
        if candidate is not None and candidate.summary is not None and summary != candidate.summary:
            summary = self._summary_again(run, turn)  # another turn was stored meanwhile
        return RunOutput(
            run,
            turn.member_runs,
            summary,
            turn.state,
            warnings=self._warnings(run),
            route=route_of(self.spec.mode, run),
        )

    def _turn(
        self, message: str, user_id: str, session_id: str, stream: bool, on_text: OnText | None,
        state: Mapping[str, Any] | None,
    ) -> Turn:  # fmt: skip
        """The turn's starting point: the session it continues (checked), its past runs, summary and state."""
        exists = self._continued(session_id, user_id)
        past: Iterable[RunRecord] = ()
        if exists is not None and self.store is not None:
            past = StoredRuns(self.store, session_id, user_id)
        turn = Turn(session_id, user_id, message, stream, Output(on_text if stream else None), past)
        turn.summary = exists.summary if exists is not None else None
        turn.state = copy.deepcopy(
            exists.session_state if exists is not None else dict(self.spec.session_state)
        )
        turn.state.update(state or {})
        return turn

    def context_for(
        self, message: str, *, user_id: str, session_id: str, member: str | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> tuple[list[Message], list[dict[str, Any]]]:  # fmt: skip
        """Exactly what the leader's model (or ``member``'s, given ``message`` as its task) would be
        sent first for this turn: the messages and the tools offered. Calls no model, writes nothing."""
        agent = self.leader
        if member is not None:
            if member not in self.members:
                raise UsageError(
                    f"no member has the id {member!r}; the members are {', '.join(self.members) or 'none'}"
                )
            agent = self.members[member]
        turn = self._turn(message, user_id, session_id, False, None, state)
        return self._context(agent, turn, message), agent.tool_schemas()

    def _continued(self, session_id: str, user_id: str) -> SessionInfo | None:
        """The stored session this turn continues (None: a new one), refusing what cannot be used."""
        if self.store is None:
            return None
        exists = self.store.get_session(session_id, user_id)  # refuses another user's session
        if exists is not None and exists.team_id and exists.team_id != self.spec.id:
            raise SessionError(
                f"session {session_id!r} belongs to another team ({exists.team_id!r}); continue it with that "
                f"team's file, choose another --session id, or, if this is the same team renamed, add "
                f"'id: {exists.team_id}' to this file"
            )
        self.store.check_writable()
        return exists

    def _warnings(self, run: RunRecord) -> list[str]:
        """The answer's own warnings (``replies``), then damage the store worked around."""
        found = answer_warnings(self.spec.mode, run, self.leader, self.members)
        if self.store is not None:
            found += [redact(w, self.secrets) for w in self.store.take_warnings()]
        return found

    def check_keys(self) -> None:
        """Refuse (MissingKeyError, exit 2) when a model of the team is a provider known to need an
        API key and none is set: found in microseconds, before litellm is imported or a run stored."""
        if not self.keys_required:
            return
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
        for agent in self.members.values():  # the teams among the members, and theirs
            if agent.team is not None:
                agent.team.check_keys()

    def refresh_summary(self, session_id: str, user_id: str) -> dict[str, Any] | None:
        """The session's summary computed again from all its runs with the team's summary model,
        and stored (if no turn changed it meanwhile). ModelError when the model fails."""
        if self.summarizer is None:
            raise UsageError("this team has no session summaries; set enable_session_summaries: true")
        info = self._existing(session_id, user_id)
        store = self._sessions()
        outcome = update_summary(self.summarizer, None, store.iter_runs_newest_first(session_id, user_id))
        if outcome.error is not None:
            raise ModelError(redact(outcome.error, self.secrets))
        if outcome.summary is None:
            return info.summary
        return store.update_session(
            session_id, user_id, summary=outcome.summary, expected_summary=info.summary
        ).summary

    def _summary_candidate(self, run: RunRecord, turn: Turn) -> SummaryOutcome | None:
        """The session summary with this turn folded in, built before the save so that the run and
        its summary are written together. A problem is kept on the run (``summary_error``), never
        raised; the summary call's tokens count in the run's usage."""
        if self.summarizer is None or self.store is None:
            return None
        failures = next((r.summary_failures for r in completed_runs(turn.past_runs)), 0)
        if not should_try(failures):
            run.summary_failures = failures + 1
            run.summary_error = (
                f"not tried: the summary model failed {failures} turns in a row, so it is tried only now and "
                "then; agno-run sessions summary --refresh tries it now"
            )
            return None
        outcome = update_summary(self.summarizer, turn.summary, turn.past_runs, run)
        run.usage = run.usage + outcome.usage
        if outcome.error is not None:
            run.summary_error = redact(outcome.error, self.secrets)
            run.summary_failures = failures + 1
        return outcome

    def _summary_again(self, run: RunRecord, turn: Turn) -> dict[str, Any] | None:
        """The summary built before the save missed a turn stored meanwhile by another process, so it
        was not written: fold every run the stored summary does not cover into it, and write it only
        if the stored one is still the one it was built on (checked under the session's lock)."""
        assert self.summarizer is not None and self.store is not None
        store = self.store
        for _ in range(SUMMARY_ATTEMPTS):
            info = store.get_session(turn.session_id, turn.user_id)
            base = info.summary if info is not None else None
            outcome = update_summary(
                self.summarizer, base, store.iter_runs_newest_first(turn.session_id, turn.user_id)
            )
            run.usage = run.usage + outcome.usage
            if outcome.error is not None:
                run.summary_error = redact(outcome.error, self.secrets)
                return base
            if outcome.summary is None:
                return base  # another turn already folded this one in
            stored = store.update_session(
                turn.session_id, turn.user_id, summary=outcome.summary, expected_summary=base
            )
            if stored.summary == outcome.summary:
                return outcome.summary
        run.summary_error = (
            f"other turns kept updating the summary at the same time; tried {SUMMARY_ATTEMPTS} times"
        )
        return None

    def _save(
        self, run: RunRecord, turn: Turn, started: float, candidate: SummaryOutcome | None = None
    ) -> SessionInfo | None:
        run.duration = time.perf_counter() - started
        if self.store is None:
            return None
        runs = [run, *turn.member_runs]
        summary = candidate.summary if candidate is not None and run.status == "completed" else None
        if summary is None:
            return self.store.append_runs(
                turn.session_id,
                turn.user_id,
                self.spec.id,
                runs,
                policy=self.policy,
                session_state=turn.state,
            )
        return self.store.append_runs(
            turn.session_id, turn.user_id, self.spec.id, runs, policy=self.policy, summary=summary,
            expected_summary=turn.summary, expected_last_run=candidate.built_on if candidate else None,
            session_state=turn.state,
        )  # fmt: skip
