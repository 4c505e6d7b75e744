"""The chat loop (``agno-run TEAM.yaml`` with no message on a terminal): a session client.

Line editing and input history come from ``readline`` where the platform has it. Lines starting
with ``/`` are commands, built on the same library calls as ``agno-run sessions``; an unknown one
is refused, never sent to the model or stored. Ctrl-C during an answer cancels that turn (stored as
cancelled) and returns to the prompt; Ctrl-C at the prompt or Ctrl-D leaves, with exit 0.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from typing import Any

from ..errors import AgnoYamlError, Interrupted
from ..runtime.team import Team
from ..store import new_session_id
from ..store.location import default_store_path
from .turns import RunRequest, SessionChoice, continue_hint, one_turn

HELP = """\
/history   the conversation so far          /summary   the session's summary
/state     the session's state              /sessions  your latest sessions with this team
/new       start a new session              /exit      leave (so do Ctrl-D and Ctrl-C at the prompt)
"""


def _readline() -> None:
    """Line editing and a history kept across chats, where readline exists (not on plain Windows)."""
    try:
        import readline
    except ImportError:
        return
    path = os.path.join(default_store_path(), "chat_history")
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(1000)

    def save() -> None:
        with contextlib.suppress(OSError):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            readline.write_history_file(path)

    import atexit

    atexit.register(save)


def _say(text: str) -> None:
    sys.stderr.write(text if text.endswith("\n") else text + "\n")


class _Chat:
    def __init__(self, team: Team, request: RunRequest, user_id: str, choice: SessionChoice) -> None:
        self.team = team
        self.request = request
        self.user_id = user_id
        self.choice = choice
        self.state: dict[str, Any] = dict(request.state)  # --state applies to the first turn
        self.sessions_used: list[str] = []
        self.ok = True

    def command(self, line: str) -> bool:
        """Carry out a /command; False when it means leaving."""
        name = line.split()[0]
        session_id, user = self.choice.session_id, self.user_id
        exists = self.team.store is not None and self.team.get_session(session_id, user) is not None
        if name in ("/exit", "/quit"):
            return False
        if name == "/help":
            _say(HELP)
        elif name == "/new":
            self.choice = SessionChoice(new_session_id(), True)
            _say(f"new session {self.choice.session_id}")
        elif name in ("/history", "/summary", "/state") and not exists:
            _say(f"session {session_id} has no turns yet")
        elif name == "/history":
            for m in self.team.get_chat_history(session_id, user):
                _say(f"{m.role}: {m.content}")
        elif name == "/summary":
            summary = self.team.get_session_summary(session_id, user)
            _say(
                summary.get("summary", "")
                if summary
                else "no summary yet (summaries are off, or come after a turn)"
            )
        elif name == "/state":
            _say(json.dumps(self.team.get_session_state(session_id, user), ensure_ascii=False, indent=1))
        elif name == "/sessions":
            for info in self.team.list_sessions(user, limit=10):
                mark = "*" if info.session_id == session_id else " "
                _say(f"{mark} {info.session_id}  {info.turn_count} turns  {info.first_message or ''}")
        else:
            _say(f"unknown command {name}: it was not sent to the model; /help lists the commands")
        return True

    def run(self) -> bool:
        _readline()
        _say(
            f"chatting with {self.team.spec.name} in session {self.choice.session_id}; /help for commands, /exit or Ctrl-D to leave"
        )
        while True:
            try:
                line = input("you> ").strip()
            except (EOFError, KeyboardInterrupt):  # Ctrl-D or Ctrl-C at the prompt: leave, exit 0
                _say("")
                break
            if not line:
                continue
            if line.startswith("/"):
                try:
                    if not self.command(line):
                        break
                except AgnoYamlError as e:
                    _say(f"error: {e}")
                continue
            self.turn(line)
        if self.sessions_used and not self.request.quiet:
            _say(continue_hint(self.request.team_file, self.user_id, self.sessions_used[-1]))
        return self.ok

    def turn(self, line: str) -> None:
        try:
            self.ok = (
                one_turn(self.team, self.request, line, self.user_id, self.choice, self.state, hint=False)
                and self.ok
            )
        except Interrupted as stop:
            if stop.signum != signal.SIGINT:
                raise  # SIGTERM / SIGHUP end the chat; Ctrl-C only ends the turn
        except AgnoYamlError as e:  # a refused turn (a missing key, a damaged session): say so, keep chatting
            _say(f"error: {e}")
            self.ok = False
            return
        self.state = {}  # stored with the session now
        if self.choice.session_id not in self.sessions_used:
            self.sessions_used.append(self.choice.session_id)
        self.choice = SessionChoice(self.choice.session_id, False)


def chat(team: Team, request: RunRequest, user_id: str, choice: SessionChoice) -> bool:
    return _Chat(team, request, user_id, choice).run()
