"""``agno-run sessions ...``: see and look after stored sessions without running a model.

Every command is scoped to one user (``--user``, default as for a run: the team file's user_id,
else "default") and finds the store the way a run does: ``--db``, else the team file's ``db:``
(``--team FILE``, which also limits it to that team), else ``AGNO_RUN_DB``, else the per-user
default store. A session may be named ``last`` or ``-1``, ``-2``... counting back from the user's
newest. None of these commands imports litellm (``summary --refresh`` does, to call the model).
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import asdict
from typing import Any

import click

from ..errors import UsageError
from .app import cli, err

DEFAULT_USER = "default"
SESSIONS_EPILOG = """\b
Examples:
  agno-run sessions list --team teams/multilingual.yaml -u user_101
  agno-run sessions show last -u user_101 --markdown > session.md
  agno-run sessions search "blague" -u user_101 --json | jq '.[0].session_id'
  agno-run sessions export session_101 -u user_101 -o s101.json
  agno-run sessions import s101.json --db other-store -u user_101
  agno-run sessions prune --older-than 30d -u user_101 --yes
  agno-run sessions copy --from ~/.local/share/agno-run --to postgresql://me@127.0.0.1/agno
"""


class _RefCommand(click.Command):
    """A command whose session ID may be ``-1``, ``-2``...: click would take those for options, so
    the positional words are moved after a ``--`` (in their order) before click parses them."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args or not any(_BACK.fullmatch(a) for a in args):
            return super().parse_args(ctx, args)
        valued = {o for p in self.params if isinstance(p, click.Option) and not p.is_flag for o in p.opts}
        options: list[str] = []
        positional: list[str] = []
        previous = None
        for arg in args:
            if previous in valued or (arg.startswith("-") and not _BACK.fullmatch(arg)):
                options.append(arg)
            else:
                positional.append(arg)
            previous = arg if previous not in valued else None
        return super().parse_args(ctx, [*options, "--", *positional])


_BACK = re.compile(r"-\d+")


def _store_options(fn: Any) -> Any:
    fn = click.option(
        "--team", "team_file", metavar="TEAM.yaml", help="Use this team's store and only its sessions."
    )(fn)
    fn = click.option("--db", metavar="PATH", help="The session store (default: as for a run).")(fn)
    fn = click.option(
        "-u", "--user", "user_id", metavar="USER", help="Whose sessions (default: as for a run)."
    )(fn)
    return fn


class _Scope:
    """What a sessions command works on: the user, the store, the team (if one was named)."""

    def __init__(self, team_file: str | None, db: str | None, user_id: str | None) -> None:
        from ..runtime.sessions import SessionView
        from ..store import open_store

        self.loaded = None
        if team_file is not None:
            from ..config import load_team

            self.loaded = load_team(team_file, model_override="echo")  # no model is called here
        spec = self.loaded.spec if self.loaded is not None else None
        self.store = open_store(spec.db if spec else None, db)
        self.user = user_id or (spec.user_id if spec else None) or DEFAULT_USER
        self.view = SessionView(self.store, spec.id if spec else None)

    def session(self, ref: str) -> str:
        return self.view.resolve_session(self.user, ref)

    def done(self) -> None:
        for warning in self.store.take_warnings():
            err(f"warning: {warning}")


def _out(text: str) -> None:
    click.echo(text, nl=False)


def _json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=1, default=str))


@cli.group(epilog=SESSIONS_EPILOG)
def sessions() -> None:
    """See and look after stored sessions: list, show, search, export, import, copy, delete, repair."""


@sessions.command("list")
@_store_options
@click.option("--limit", type=click.IntRange(min=1), help="Show only the newest N.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(
    team_file: str | None, db: str | None, user_id: str | None, limit: int | None, as_json: bool
) -> None:
    """The user's sessions, newest first: id, team, created, updated, turns, first message, summary."""
    from .render import session_rows, table

    scope = _Scope(team_file, db, user_id)
    found = scope.view.list_sessions(scope.user, limit=limit)
    if as_json:
        _json([s.public() for s in found])
    else:
        headers = ["ID", "TEAM", "CREATED", "UPDATED", "TURNS", "FIRST MESSAGE", "SUMMARY"]
        _out(table(headers, session_rows(found), sys.stdout.isatty()))
    scope.done()


@sessions.command(cls=_RefCommand)
@click.argument("ref", metavar="ID")
@_store_options
@click.option(
    "--json", "as_json", is_flag=True, help="Print the stored documents (the session and its runs)."
)
@click.option("--markdown", is_flag=True, help="Print the transcript as Markdown.")
def show(
    ref: str, team_file: str | None, db: str | None, user_id: str | None, as_json: bool, markdown: bool
) -> None:
    """A session's transcript: each turn's message, the members asked and their answers, tool calls
    with arguments and results, the answer, tokens, cost and time; failed and cancelled turns marked."""
    from .render import transcript

    scope = _Scope(team_file, db, user_id)
    session_id = scope.session(ref)
    if as_json:
        _json(scope.view.export_session(session_id, scope.user))
    else:
        info = scope.view._existing(session_id, scope.user)
        _out(transcript(info, scope.view.get_runs(session_id, scope.user), markdown=markdown))
    scope.done()


@sessions.command(cls=_RefCommand)
@click.argument("ref", metavar="ID")
@_store_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON, as the get_chat_history tool returns it.")
def history(ref: str, team_file: str | None, db: str | None, user_id: str | None, as_json: bool) -> None:
    """The chat history the way the model's get_chat_history tool sees it: the user's messages and
    the answers of completed turns, oldest first."""
    from ..messages import completed_runs, conversation

    scope = _Scope(team_file, db, user_id)
    session_id = scope.session(ref)
    runs = scope.view.get_runs(session_id, scope.user)
    said = [{"role": m.role, "content": m.content} for r in completed_runs(runs) for m in conversation(r)]
    if as_json:
        _json(said)
    else:
        _out("".join(f"{m['role']}: {m['content']}\n" for m in said))
    scope.done()


@sessions.command(cls=_RefCommand)
@click.argument("ref", metavar="ID")
@_store_options
@click.option(
    "--refresh", is_flag=True, help="Compute it again from every run with the team's summary model."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def summary(
    ref: str, team_file: str | None, db: str | None, user_id: str | None, refresh: bool, as_json: bool
) -> None:
    """The session's stored summary (and topics)."""
    scope = _Scope(team_file, db, user_id)
    session_id = scope.session(ref)
    if refresh:
        if scope.loaded is None:
            raise UsageError("--refresh needs the team, for its summary model: add --team TEAM.yaml")
        from ..runtime.compile import compile_team

        team = compile_team(scope.loaded, db=scope.store.location)
        found = team.refresh_summary(session_id, scope.user)
    else:
        found = scope.view.get_session_summary(session_id, scope.user)
    if as_json:
        _json(found)
    elif found is None:
        err(f"session {session_id!r} has no summary yet (summaries are written when the team has them on)")
    else:
        topics = ", ".join(found.get("topics") or [])
        _out(f"{found.get('summary')}\n" + (f"topics: {topics}\n" if topics else ""))
    scope.done()


@sessions.command()
@click.argument("text")
@_store_options
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most this many hits."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def search(
    text: str, team_file: str | None, db: str | None, user_id: str | None, limit: int, as_json: bool
) -> None:
    """Where the user's sessions said every word of TEXT (case and accents ignored), best first:
    session, turn, when, and the line with the words marked."""
    from .render import BOLD, RESET, hit_line, table

    scope = _Scope(team_file, db, user_id)
    terminal = sys.stdout.isatty() and not as_json
    marks = (BOLD, RESET) if terminal else ("[", "]")
    hits = scope.view.search_sessions(scope.user, text, limit=limit, marks=marks)
    if as_json:
        _json([asdict(h) for h in hits])
    else:
        _out(table(["ID", "TURN", "WHEN", "WHAT WAS SAID"], [hit_line(h) for h in hits], False))
    scope.done()


@sessions.command(cls=_RefCommand)
@click.argument("ref", metavar="ID")
@_store_options
@click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of stdout.")
def export(ref: str, team_file: str | None, db: str | None, user_id: str | None, output: str | None) -> None:
    """The session as one self-contained JSON document (for `sessions import`)."""
    scope = _Scope(team_file, db, user_id)
    document = scope.view.export_session(scope.session(ref), scope.user)
    text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    if output is None:
        _out(text)
    else:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    scope.done()


@sessions.command("import")
@click.argument("file", metavar="FILE")
@_store_options
@click.option("--as", "new_id", metavar="ID", help="Store it under this id instead of its own.")
def import_(
    file: str, team_file: str | None, db: str | None, user_id: str | None, new_id: str | None
) -> None:
    """Store an exported session (FILE, or - for stdin) in this store, as it was. An id that is taken
    is refused, whoever owns it: give another with --as."""
    scope = _Scope(team_file, db, user_id)
    try:
        text = sys.stdin.read() if file == "-" else open(file, encoding="utf-8").read()  # noqa: SIM115
        document = json.loads(text)
    except OSError as e:
        raise UsageError(f"cannot read {file}: {e.strerror or e}") from None
    except ValueError as e:
        raise UsageError(
            f"{file} is not JSON ({e}); give a file made by `agno-run sessions export`"
        ) from None
    info = scope.view.import_session(document, scope.user, new_id=new_id)
    click.echo(f"imported session {info.session_id} ({info.turn_count} turns) into {scope.store.location}")
    scope.done()


def _confirm(what: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{what}: add --yes to confirm (there is no terminal to ask)")
    if not click.confirm(f"{what}?", default=False, err=True):
        raise UsageError("nothing was deleted")


@sessions.command(cls=_RefCommand)
@click.argument("ref", metavar="ID")
@_store_options
@click.option("-y", "--yes", is_flag=True, help="Do not ask.")
def delete(ref: str, team_file: str | None, db: str | None, user_id: str | None, yes: bool) -> None:
    """Delete a session and its runs (asks first on a terminal)."""
    scope = _Scope(team_file, db, user_id)
    session_id = scope.session(ref)
    info = scope.view._existing(session_id, scope.user)
    _confirm(f"delete session {session_id} ({info.turn_count} turns) of user {scope.user}", yes)
    scope.view.delete_session(session_id, scope.user)
    click.echo(f"deleted session {session_id}")
    scope.done()


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _duration(text: str) -> float:
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise UsageError(f"--older-than {text!r} is not a duration; write e.g. 30d, 12h, 2w or 90m")
    return float(match.group(1)) * _SECONDS[match.group(2)]


@sessions.command()
@click.option("--older-than", "older_than", required=True, metavar="AGE", help="30d, 12h, 2w, 90m ...")
@_store_options
@click.option("-y", "--yes", is_flag=True, help="Do not ask.")
def prune(older_than: str, team_file: str | None, db: str | None, user_id: str | None, yes: bool) -> None:
    """Delete the user's sessions (of --team, else all) not updated for AGE."""
    import time

    seconds = _duration(older_than)
    scope = _Scope(team_file, db, user_id)
    old = [s for s in scope.view.list_sessions(scope.user) if s.updated_at < time.time() - seconds]
    if not old:
        click.echo(f"no session of user {scope.user} is older than {older_than}")
        return
    _confirm(f"delete {len(old)} sessions of user {scope.user} not updated for {older_than}", yes)
    for info in old:
        scope.view.delete_session(info.session_id, scope.user)
    click.echo(f"deleted {len(old)} sessions")
    scope.done()


@sessions.command(cls=_RefCommand)
@click.argument("ref", metavar="ID")
@click.argument("new_id", metavar="NEW_ID")
@_store_options
def rename(ref: str, new_id: str, team_file: str | None, db: str | None, user_id: str | None) -> None:
    """Give a session another id."""
    scope = _Scope(team_file, db, user_id)
    session_id = scope.session(ref)
    scope.view.rename_session(session_id, scope.user, new_id)
    click.echo(f"renamed session {session_id} to {new_id}")
    scope.done()


@sessions.command(cls=_RefCommand)
@click.argument("ref", metavar="ID")
@_store_options
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
def repair(ref: str, team_file: str | None, db: str | None, user_id: str | None, as_json: bool) -> None:
    """Rebuild a damaged session from its runs; damaged files are set aside in the session's damaged/
    directory, never deleted, and run numbers that are lost are recorded."""
    scope = _Scope(team_file, db, user_id)
    report = scope.view.repair_session(ref, scope.user)
    if as_json:
        _json(asdict(report))
    else:
        click.echo(report.summary())
    scope.done()


@sessions.command()
@click.option("--from", "source", required=True, metavar="STORE", help="Copy from this store (as for --db).")
@click.option("--to", "target", required=True, metavar="STORE", help="Copy into this store (as for --db).")
@click.option(
    "-u", "--user", "user_id", metavar="USER", help="Only this user's sessions (default: every user's)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def copy(source: str, target: str, user_id: str | None, as_json: bool) -> None:
    """Copy every session of one store into another (a directory, or a postgresql:// URL), each
    whole, keeping its owner, ids, times and runs. Sessions already there are skipped, so running it
    again finishes a copy that was cut short; one held there differently is a conflict, left as it
    is. Exit status 1 when anything conflicted or failed (one line each on stderr)."""
    from ..errors import EXIT_RUN_FAILED
    from ..store import open_store
    from ..store.copy import SessionCopy, copy_sessions

    def reported(result: SessionCopy) -> None:
        if result.outcome in ("conflict", "failed"):
            err(result.line())

    if "://" not in source and source != "memory:" and not os.path.isdir(os.path.expanduser(source)):
        raise UsageError(f"--from {source}: there is no session store there (no such directory)")
    stores = [open_store(None, source)]
    try:
        stores.append(open_store(None, target))
        if stores[0].location == stores[1].location and stores[0].location != "memory:":
            raise UsageError(f"--from and --to are the same store ({stores[0].location}); name two stores")
        report = copy_sessions(stores[0], stores[1], user_id, on_session=reported)
        for store in stores:
            for warning in store.take_warnings():
                err(f"warning: {warning}")
    finally:
        for store in stores:  # a database store holds a connection pool
            close = getattr(store, "close", None)
            if close is not None:
                close()
    if as_json:
        _json(report.to_dict())
    else:
        click.echo(report.summary())
    if not report.ok:
        sys.exit(EXIT_RUN_FAILED)
