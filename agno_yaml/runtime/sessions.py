"""A team's sessions, from Python: read, search, move and delete them, scoped to one user.

``Team`` has these methods (this is its mixin); each goes through the team's store, so it works on
every backend, and names the user it acts for: another user's session is refused, never read.

    team.get_chat_history("session_101", "user_101")       # [Message("user", ...), Message("assistant", ...)]
    team.list_sessions("user_101")                          # this team's sessions, newest first
    team.search_sessions("user_101", "blague")              # hits: session, turn, who, the line marked
    team.resolve_session("user_101", "last")                # "last", "-1", "-2" ... -> a session id

Semantics, where Agno's are muddled: the chat history is what the user saw (their messages and
the answers, route answers included; failed turns show only the message); the session's messages
are what the leader exchanged with its model (tool calls and results included; the system prompt
and replayed history are not stored messages of the session and are left out).
"""

from __future__ import annotations

import re
import time
from typing import Any

from ..errors import SessionError, UsageError
from ..messages import Message, RunRecord
from ..store import RepairReport, SearchHit, SessionInfo, SessionStore

_RELATIVE = re.compile(r"-(\d+)")


def chat_history(runs: list[RunRecord]) -> list[Message]:
    """The conversation as the user saw it: each turn's message, then its answer when there is one."""
    out: list[Message] = []
    for run in runs:
        if run.parent_run_id is not None:
            continue
        out.append(Message("user", run.input))
        if run.content:
            out.append(Message("assistant", run.content))
    return out


def leader_messages(runs: list[RunRecord]) -> list[Message]:
    """Every message the leader exchanged in the session, oldest first (no system prompt, no replay)."""
    return [
        m
        for run in runs
        if run.parent_run_id is None
        for m in run.messages
        if m.role != "system" and not m.from_history
    ]


class SessionAPI:
    """The session methods of ``Team`` (``store`` and ``id`` are the team's) and of ``SessionView``."""

    store: SessionStore | None

    @property
    def id(self) -> str | None:
        raise NotImplementedError

    def _sessions(self) -> SessionStore:
        if self.store is None:
            raise UsageError("this team was compiled without a session store (store=False)")
        return self.store

    def get_session(self, session_id: str, user_id: str) -> SessionInfo | None:
        return self._sessions().get_session(session_id, user_id)

    def _existing(self, session_id: str, user_id: str) -> SessionInfo:
        info = self._sessions().get_session(session_id, user_id)
        if info is None:
            raise SessionError(f"session {session_id!r} not found for user {user_id!r}")
        return info

    def get_session_summary(self, session_id: str, user_id: str) -> dict[str, Any] | None:
        return self._existing(session_id, user_id).summary

    def get_session_state(self, session_id: str, user_id: str) -> dict[str, Any]:
        return self._existing(session_id, user_id).session_state

    def get_chat_history(self, session_id: str, user_id: str) -> list[Message]:
        self._existing(session_id, user_id)
        return chat_history(self._sessions().runs(session_id, user_id))

    def get_messages_for_session(self, session_id: str, user_id: str) -> list[Message]:
        self._existing(session_id, user_id)
        return leader_messages(self._sessions().runs(session_id, user_id))

    def get_runs(self, session_id: str, user_id: str) -> list[RunRecord]:
        """Every stored run, oldest first: the leader's turns and their members' runs."""
        self._existing(session_id, user_id)
        return self._sessions().runs(session_id, user_id)

    def list_sessions(
        self, user_id: str, team_id: str | None | bool = True, *, limit: int | None = None
    ) -> list[SessionInfo]:
        """The user's sessions, newest first: of this team (default), of ``team_id``, or all (None)."""
        return self._sessions().list_sessions(
            user_id, self.id if team_id is True else team_id or None, limit=limit
        )

    def search_sessions(
        self, user_id: str, text: str, *, team_id: str | None | bool = True, limit: int = 20,
        marks: tuple[str, str] = ("[", "]"),
    ) -> list[SearchHit]:  # fmt: skip
        """Where the user's sessions (of this team by default) said every word of ``text``."""
        team = self.id if team_id is True else team_id or None
        return self._sessions().search_sessions(user_id, text, team_id=team, limit=limit, marks=marks)

    def refresh_summary(self, session_id: str, user_id: str) -> dict[str, Any] | None:
        """Compute the session's summary again from all its runs (with the team's summary model)."""
        raise UsageError("refreshing a summary needs the team (its summary model): give the team file")

    def resolve_session(self, user_id: str, ref: str) -> str:
        """A session id from what a person typed: ``last`` (or ``-1``), ``-2`` ... count back through
        the user's sessions of this team, newest first; anything else is taken as an id."""
        match = _RELATIVE.fullmatch(ref.strip())
        if ref.strip() != "last" and match is None:
            return ref
        back = 1 if match is None else int(match.group(1))
        found = self.list_sessions(user_id)
        if back < 1 or back > len(found):
            have = f"only {len(found)}" if found else "none"
            raise UsageError(
                f"{ref!r} asks for your session number {back} from the newest, and you have {have} with this team"
            )
        return found[back - 1].session_id

    def delete_session(self, session_id: str, user_id: str) -> None:
        self._sessions().delete_session(session_id, user_id)

    def prune_sessions(
        self, user_id: str, older_than: float, *, team_id: str | None | bool = True
    ) -> list[str]:
        """Delete the user's sessions not updated for ``older_than`` seconds; the ids deleted."""
        cutoff = time.time() - older_than
        old = [s.session_id for s in self.list_sessions(user_id, team_id) if s.updated_at < cutoff]
        for session_id in old:
            self._sessions().delete_session(session_id, user_id)
        return old

    def export_session(self, session_id: str, user_id: str) -> dict[str, Any]:
        return self._sessions().export_session(session_id, user_id)

    def import_session(
        self, document: dict[str, Any], user_id: str, *, new_id: str | None = None
    ) -> SessionInfo:
        return self._sessions().import_session(document, user_id, new_id=new_id)

    def rename_session(self, session_id: str, user_id: str, new_id: str) -> SessionInfo:
        return self._sessions().rename_session(session_id, user_id, new_id)

    def repair_session(self, session_id: str, user_id: str) -> RepairReport:
        return self._sessions().repair_session(session_id, user_id)


class SessionView(SessionAPI):
    """The session methods without a compiled team: a store, and the team whose sessions are meant
    (None: every team's). What the ``agno-run sessions`` commands use, so none of them imports a
    team's tools or a model."""

    def __init__(self, store: SessionStore, team_id: str | None = None) -> None:
        self.store = store
        self._team_id = team_id

    @property
    def id(self) -> str | None:
        return self._team_id
