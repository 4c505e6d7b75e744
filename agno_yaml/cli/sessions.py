"""``agno-run sessions ...``: look after stored sessions without running a model.

Every command is scoped to one user (``--user``, default as for a run) and finds the store the way
a run does: ``--db``, else the team file's ``db:`` (``--team FILE``), else ``AGNO_RUN_DB``, else
the per-user default store. None of them imports litellm.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import click

from .app import cli, err

DEFAULT_USER = "default"


def _store_options(fn: Any) -> Any:
    fn = click.option(
        "--team", "team_file", metavar="TEAM.yaml", help="Use this team file's store (and user_id)."
    )(fn)
    fn = click.option("--db", metavar="PATH", help="The session store (default: as for a run).")(fn)
    fn = click.option(
        "-u", "--user", "user_id", metavar="USER", help="Whose sessions (default: as for a run)."
    )(fn)
    return fn


def open_for(team_file: str | None, db: str | None, user_id: str | None) -> tuple[Any, str]:
    """The store and the user a sessions command works on, found the way a run finds them."""
    from ..store import open_store

    spec = None
    if team_file is not None:
        from ..config import load_team

        spec = load_team(team_file, model_override="echo").spec  # models are not used here
    store = open_store(spec.db if spec else None, db)
    return store, user_id or (spec.user_id if spec else None) or DEFAULT_USER


def _warnings(store: Any) -> None:
    for warning in store.take_warnings():
        err(f"warning: {warning}")


@cli.group()
def sessions() -> None:
    """Look after stored sessions: repair a damaged one."""


@sessions.command()
@click.argument("session_id", metavar="ID")
@_store_options
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
def repair(
    session_id: str, team_file: str | None, db: str | None, user_id: str | None, as_json: bool
) -> None:
    """Rebuild a damaged session from its runs; damaged files are set aside in the session's damaged/
    directory, never deleted, and run numbers that are lost are recorded."""
    store, user = open_for(team_file, db, user_id)
    report = store.repair_session(session_id, user)
    _warnings(store)
    if as_json:
        click.echo(json.dumps(asdict(report), ensure_ascii=False))
    else:
        click.echo(report.summary())
