"""What ``agno-run TEAM.yaml MESSAGE`` does around ``Team.run``: pick the user and session, print.

Contract with the terminal: the answer (or, with ``--json``, one JSON object) is the only thing on
stdout; the session id, who answered, tokens, cost and time go to stderr. Whatever else a turn
writes to stdout (a tool's print, a subprocess) is sent to stderr while the turn runs.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

import click

from ..config import load_team
from ..errors import Interrupted, UsageError
from ..runtime.compile import compile_team
from ..runtime.team import Team
from ..runtime.turn import RunOutput
from ..store import new_session_id
from .app import error_envelope

DEFAULT_USER = "default"


@dataclass(frozen=True)
class RunRequest:
    team_file: str
    user_id: str | None = None
    session_id: str | None = None
    continue_latest: bool = False
    db: str | None = None
    model_override: tuple[str, ...] = ()
    stream: bool = False
    as_json: bool = False
    strict: bool = False
    allow_unsafe_tools: bool = False
    quiet: bool = False
    state: dict[str, Any] = field(default_factory=dict)  # --state key=value
    show_context: bool = False  # --show-context / --dry-run: print what the model would get, run nothing
    member: str | None = None  # with show_context: a member's context instead of the leader's


@dataclass(frozen=True)
class SessionChoice:
    session_id: str
    is_new: bool
    note: str | None = None  # something the user should know about the choice


def choose_session(team: Team, user_id: str, session_id: str | None, continue_latest: bool) -> SessionChoice:
    """The session a turn goes to: the one named (``last``, ``-1``, ``-2``... count back from the
    user's newest of this team), the user's latest of this team, or a new one."""
    store = team.store
    if session_id is not None:
        if not session_id.strip():
            raise UsageError("--session needs a non-empty id; omit it to start a new session")
        session_id = team.resolve_session(user_id, session_id) if store is not None else session_id
        exists = store is not None and store.get_session(session_id, user_id) is not None
        return SessionChoice(session_id, not exists)
    if continue_latest:
        latest = store.latest_session(user_id, team.id) if store is not None else None
        if latest is not None:
            return SessionChoice(latest, False)
        fresh = new_session_id()
        return SessionChoice(
            fresh, True, f"no earlier session of user {user_id!r} with this team; starting {fresh}"
        )
    return SessionChoice(new_session_id(), True)


class _Answer:
    """Writes streamed text straight through and remembers whether any arrived."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.written = ""

    def write(self, text: str) -> None:
        self.written += text
        self.stream.write(text)
        self.stream.flush()


def _duration(seconds: float) -> str:
    if seconds < 0.001:
        return "<1 ms"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def continue_hint(team_file: str, user_id: str, session_id: str) -> str:
    quoted = [shlex.quote(word) for word in ("--user", user_id, "--session", session_id)]
    # The message placeholder in quotes, as the user will type the message.
    return f'continue with: agno-run {shlex.quote(team_file)} "..." ' + " ".join(quoted)


def _footer(out: RunOutput, choice: SessionChoice, team_file: str, store: str | None, hint: bool) -> str:
    run = out.run
    usage = out.usage
    parts = [f"session {run.session_id}", f"user {run.user_id}"]
    if run.answered_by:
        parts.append(f"answered by {run.answered_by}")
    elif out.route == "leader":
        parts.append("answered by the leader")
    if usage.estimated:  # no usage from the provider (or an offline model): our count, marked as such
        parts.append(
            f"~{usage.total_tokens} tokens ({usage.input_tokens} in, {usage.output_tokens} out, estimated)"
        )
    else:
        parts.append(f"{usage.total_tokens} tokens ({usage.input_tokens} in, {usage.output_tokens} out)")
    if usage.cost:
        parts.append(f"${usage.cost:.6f}")
    parts.append(_duration(run.duration))
    line = "[" + " · ".join(parts) + "]"
    if choice.is_new and out.save_error is None:
        if store is not None:
            line += f"\nsaved in {store}"
        if hint:
            line += "\n" + continue_hint(team_file, run.user_id, run.session_id)
    return line


@contextlib.contextmanager
def answer_stream() -> Iterator[TextIO]:
    """The stream the answer goes to. While it is open, anything else written to stdout (``print``,
    ``os.write(1, ...)``, a subprocess a tool starts) goes to stderr, so stdout stays parseable."""
    out = sys.stdout
    try:
        fd = out.fileno()
        err_fd = sys.stderr.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):  # not a real file (tests, embedding)
        fd = err_fd = -1
    if fd != 1 or err_fd < 0:
        sys.stdout = sys.stderr
        try:
            yield out
        finally:
            sys.stdout = out
        return
    out.flush()
    saved = os.dup(1)
    os.dup2(err_fd, 1)
    answer = os.fdopen(os.dup(saved), "w", encoding=out.encoding, errors=out.errors)
    sys.stdout = sys.stderr
    try:
        yield answer
    finally:
        sys.stdout = out
        with contextlib.suppress(OSError, ValueError):
            answer.flush()
        answer.close()
        os.dup2(saved, 1)
        os.close(saved)


def one_turn(
    team: Team, request: RunRequest, message: str, user_id: str, choice: SessionChoice, state: dict[str, Any],
    *, hint: bool = True,
) -> bool:  # fmt: skip
    """Run one turn and print it: the answer (or the --json document) on stdout, the rest on stderr."""
    stderr = sys.stderr
    with answer_stream() as stdout:
        answer = _Answer(stdout)
        try:
            out = team.run(
                message, user_id=user_id, session_id=choice.session_id, stream=request.stream,
                on_text=answer.write if request.stream else None, state=state,
            )  # fmt: skip
        except Interrupted as stop:
            if answer.written and not answer.written.endswith("\n"):
                stdout.write("\n")
            if request.as_json:
                document = error_envelope(str(stop), stop.exit_code) | {
                    "status": "cancelled", "run_id": stop.run_id, "session_id": stop.session_id,
                }  # fmt: skip
                stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
                _json_written()
            stdout.flush()
            stderr.write(
                f"cancelled: {stop}; your message is saved as cancelled run {stop.run_id} "
                f"in session {stop.session_id}\n"
            )
            raise
        if request.as_json:
            stdout.write(
                json.dumps(out.envelope(team.id, new_session=choice.is_new), ensure_ascii=False) + "\n"
            )
            _json_written()
        elif out.ok:
            if not answer.written:
                stdout.write((out.content or "") + "\n")
            elif not answer.written.endswith("\n"):
                stdout.write("\n")
        stdout.flush()
    if not out.ok:
        stderr.write(
            f"error: the run failed: {out.run.error}\n"
            f"(your message is saved as failed run {out.run.run_id} in session {choice.session_id})\n"
        )
    if out.run.summary_error:
        stderr.write(f"warning: the session summary was not updated: {out.run.summary_error}\n")
    for warning in out.warnings:
        stderr.write(f"warning: {warning}\n")
    if out.save_error:
        stderr.write(
            f"error: the answer could not be saved to session {choice.session_id}: {out.save_error}\n"
        )
    if not request.quiet:
        store = team.store.location if team.store is not None else None
        stderr.write(_footer(out, choice, request.team_file, store, hint) + "\n")
    return out.ok and out.save_error is None


def _json_written() -> None:
    """Tell the error funnel stdout has its document already, so a later error adds no second one."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.find_root().meta["json_written"] = True


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP stop a turn the way Ctrl-C does: the turn is stored as cancelled (with
    the user's message and what was shown), then the process ends with 128 + the signal."""

    def stop(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    wanted = [s for s in ("SIGTERM", "SIGHUP") if hasattr(signal, s)]
    try:
        previous = {name: signal.signal(getattr(signal, name), stop) for name in wanted}
    except ValueError:  # not the main thread: leave the process's signals alone
        yield
        return
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


def run_turns(request: RunRequest, messages: list[str] | None) -> bool:
    """Run the given messages (or an interactive chat when None) in one session; True if all succeeded."""
    with stop_signals():
        return _run_turns(request, messages)


def _run_turns(request: RunRequest, messages: list[str] | None) -> bool:
    loaded = load_team(
        request.team_file,
        model_override=request.model_override,
        allow_unsafe_tools=request.allow_unsafe_tools,
    )
    spec = loaded.spec
    team = compile_team(loaded, model_override=request.model_override, db=request.db, strict=request.strict)
    if not request.quiet:
        for problem in (*loaded.notes, *team.warnings):
            sys.stderr.write(f"{problem}\n")
    user_id = request.user_id or spec.user_id or DEFAULT_USER
    if request.show_context:
        show_context(team, request, user_id, messages)
        return True
    choice = choose_session(team, user_id, request.session_id, request.continue_latest)
    if choice.note and not request.quiet:
        sys.stderr.write(choice.note + "\n")
    if messages is None:
        from .chat import chat

        return chat(team, request, user_id, choice)
    ok = True
    for message in messages:
        ok = one_turn(team, request, message, user_id, choice, request.state) and ok
        choice = SessionChoice(choice.session_id, False)
    return ok


def show_context(team: Team, request: RunRequest, user_id: str, messages: list[str] | None) -> None:
    """--show-context: exactly what the model would be sent first for this turn; no model, no write."""
    from .render import context_text

    if not messages:
        raise UsageError("--show-context needs the MESSAGE the turn would send")
    if request.session_id is not None:
        session_id = team.resolve_session(user_id, request.session_id)
    elif request.continue_latest:
        session_id = (team.store.latest_session(user_id, team.id) if team.store else None) or new_session_id()
    else:
        session_id = new_session_id()
    sent, tools = team.context_for(
        messages[0], user_id=user_id, session_id=session_id, member=request.member, state=request.state
    )
    if request.as_json:
        document = {"session_id": session_id, "messages": [m.to_openai() for m in sent], "tools": tools}
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=1) + "\n")
    else:
        sys.stdout.write(context_text(sent, tools))
