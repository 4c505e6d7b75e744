"""``agno-run TEAM.yaml [MESSAGE]``: the default command. Parses options only; ``turns`` does the work."""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

import click

from ..errors import EXIT_RUN_FAILED, UsageError
from .app import RunCommand, cli

RUN_EPILOG = """\b
Examples:
  agno-run teams/multilingual.yaml "comment ça va?" --user user_101 --session session_101
  echo "hello" | agno-run teams/coordinate.yaml --model echo
  agno-run teams/session-history.yaml --continue "What was my first message?"
"""


def complete_session(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of session ids: the user's sessions of the team being run, newest first."""
    from click.shell_completion import CompletionItem

    try:
        from ..config import load_team
        from ..store import open_store

        # While the option's value is being typed click has not filled in the arguments yet: find the
        # team file among the words typed so far.
        words = os.environ.get("COMP_WORDS", "").split()
        team_file = ctx.params.get("team_file") or next(w for w in words if w.endswith((".yaml", ".yml")))
        spec = load_team(team_file, model_override="echo").spec
        store = open_store(spec.db, ctx.params.get("db"))
        user = ctx.params.get("user_id") or spec.user_id or "default"
        found = store.list_sessions(user, spec.id)
    except Exception:  # completion must never print an error into the user's command line
        return []
    return [
        CompletionItem(s.session_id, help=s.first_message or "")
        for s in found
        if s.session_id.startswith(incomplete)
    ]


@cli.command("run", cls=RunCommand, epilog=RUN_EPILOG, hidden=True)
@click.argument("team_file", metavar="TEAM.yaml", type=click.Path(dir_okay=False))
@click.argument("message", required=False)
@click.option(
    "-u",
    "--user",
    "user_id",
    metavar="USER",
    help="Who is talking (default: the file's user_id, else 'default').",
)
@click.option(
    "-s",
    "--session",
    "session_id",
    metavar="ID",
    help="Continue (or start) this session; last, -1, -2 ... count back from your newest.",
    shell_complete=complete_session,
)
@click.option(
    "-c", "--continue", "continue_", is_flag=True, help="Continue your latest session of this team."
)
@click.option(
    "--db",
    metavar="PATH",
    help="Session store directory (default: the file's db.path, else $AGNO_RUN_DB, else your user data directory).",
)
@click.option(
    "--model",
    "model_override",
    metavar="MODEL",
    multiple=True,
    help="Replace every model, e.g. echo or ollama/llama3.2; or one: agent-2=MODEL, leader=MODEL, summary=MODEL.",
)
@click.option(
    "--state", "state", metavar="KEY=VALUE", multiple=True, help="Set a value of the session's state."
)
@click.option(
    "--show-context",
    "--dry-run",
    "show_context",
    is_flag=True,
    help="Print exactly what the model would be sent for this turn (system message, history, message, "
    "tools) and stop: no model is called, nothing is written.",
)
@click.option("--member", metavar="ID", help="With --show-context: a member's context (MESSAGE as its task).")
@click.option(
    "--stream/--no-stream",
    default=None,
    help="Print the answer as it arrives (default: when stdout is a terminal).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object (answer, session, usage, status) instead of the answer.",
)
@click.option(
    "--strict", is_flag=True, help="Treat warnings about the team file (e.g. undocumented tools) as errors."
)
@click.option(
    "--allow-unsafe-tools", is_flag=True, help="Accept standard-library functions (os:system ...) as tools."
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on stderr but errors.")
@click.option(
    "--no-worker",
    is_flag=True,
    help="Run in this process even when a warm worker is running (agno-run worker start); "
    "also AGNO_RUN_NO_WORKER=1.",
)
def run_command(
    team_file: str,
    message: str | None,
    user_id: str | None,
    session_id: str | None,
    continue_: bool,
    db: str | None,
    model_override: tuple[str, ...],
    state: tuple[str, ...],
    show_context: bool,
    member: str | None,
    stream: bool | None,
    as_json: bool,
    strict: bool,
    allow_unsafe_tools: bool,
    quiet: bool,
    no_worker: bool,
) -> None:
    """Run one turn of a team: agno-run TEAM.yaml "MESSAGE"."""
    from .turns import RunRequest, run_turns

    if session_id and continue_:
        raise UsageError("--session and --continue both choose a session; give only one of them")
    if user_id is not None and not user_id.strip():
        raise UsageError("--user is empty; give a user id, or leave the option out to use the file's user_id")
    if any(not m.strip() for m in model_override):
        raise UsageError("--model is empty; give a model such as echo or openai/gpt-5-mini, or leave it out")
    if member is not None and not show_context:
        raise UsageError("--member goes with --show-context (a turn is always the leader's)")
    if db is not None and not db.strip():
        raise UsageError("--db is empty; give a directory, or leave the option out")
    if message is not None and message != "-" and not message.strip():
        raise UsageError("the message is empty; write something to say, or pipe it in")
    for what, value in (
        ("the message", message),
        ("--user", user_id),
        ("--session", session_id),
        ("--db", db),
    ):
        _check_utf8(what, value)
    stdin = sys.stdin
    messages: list[str] | None
    if message == "-" or (message is None and not stdin.isatty()):
        messages = [_read_stdin(stdin).strip()]
        if not messages[0]:
            raise UsageError("no message: stdin was empty; pass MESSAGE as an argument or pipe text in")
    elif message is None:
        messages = None  # interactive chat
    else:
        messages = [message]
    stdout = sys.stdout
    request = RunRequest(
        team_file=team_file,
        user_id=user_id,
        session_id=session_id,
        continue_latest=continue_,
        db=db,
        model_override=model_override,
        state=_state(state),
        show_context=show_context,
        member=member,
        stream=(stdout.isatty() and not as_json) if stream is None else (stream and not as_json),
        as_json=as_json,
        strict=strict,
        allow_unsafe_tools=allow_unsafe_tools,
        quiet=quiet,
    )
    if not run_turns(request, messages):
        sys.exit(EXIT_RUN_FAILED)


def _check_utf8(what: str, value: str | None) -> None:
    """Refuse bytes that are not UTF-8 (Python keeps them as lone surrogates) before any request."""
    if value is None:
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise UsageError(
            f"{what} is not valid UTF-8 text (a byte that is not UTF-8 at position {e.start}); "
            "check the terminal's encoding or pass the text through iconv"
        ) from None


def _read_stdin(stdin: TextIO) -> str:
    """Stdin as text; bytes that are not UTF-8 are refused (they arrive as an error, or, when Python
    runs with surrogateescape as in a C locale, as lone surrogates)."""
    try:
        text = stdin.read()
        position = next((i for i, ch in enumerate(text) if "\udc80" <= ch <= "\udcff"), None)
        if position is None:
            return text
        reason = f"invalid byte 0x{ord(text[position]) - 0xDC00:02x}"
    except UnicodeDecodeError as e:
        reason, position = e.reason, e.start
    raise UsageError(
        f"stdin is not UTF-8 text ({reason} at byte {position}); pipe UTF-8 text in, e.g. through iconv"
    )


def _state(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``--state key=value`` pairs; a value is read as YAML (42, true, [a, b]) and is text otherwise."""
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            raise UsageError(f"--state {pair!r}: write KEY=VALUE with a name as KEY, e.g. --state city=Paris")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        out[key.strip()] = (
            value if isinstance(value, (str, int, float, bool, list, dict, type(None))) else raw
        )
    return out
