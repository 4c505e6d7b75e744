"""``validate``, ``schema`` and ``inspect``: look at team files without running a model."""

from __future__ import annotations

import json
import sys

import click

from ..errors import EXIT_BAD_INPUT, UsageError
from .app import cli, err

VALIDATE_EPILOG = """\b
Examples:
  agno-run validate teams/*.yaml
  agno-run validate team.yaml --json | jq '.files[].problems'
"""
UNSAFE_HELP = "Accept standard-library and built-in functions (os:system ...) as tools."
INSPECT_EPILOG = """\b
Examples:
  agno-run inspect teams/multilingual.yaml
  agno-run inspect teams/tools-team.yaml --model echo --json | jq '.members[0].tools'
"""


@cli.command(epilog=VALIDATE_EPILOG)
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report instead of lines.")
@click.option(
    "--strict-env", is_flag=True, help="Treat an unset ${VAR} as an error (by default it is a note)."
)
@click.option("--allow-unsafe-tools", is_flag=True, help=UNSAFE_HELP)
def validate(files: tuple[str, ...], as_json: bool, strict_env: bool, allow_unsafe_tools: bool) -> None:
    """Check team files against the schema, without importing or running anything from them.

    A ${VAR} that is unset here is only noted: the file can be checked without its secrets.
    Standard-library functions as tools (os:system ...) are refused. What validate cannot tell is
    whether your own tool modules are safe: running or inspecting a team imports them.
    """
    from ..config import check_team_file, is_unset_env_problem

    report = []
    failed = False
    for path in files:
        found = check_team_file(path, allow_unsafe_tools=allow_unsafe_tools)
        unset = [] if strict_env else [p for p in found if is_unset_env_problem(p)]
        notes = [p for p in found if p.severity != "error" or p in unset]
        problems = [p for p in found if p not in notes]
        failed = failed or bool(problems)
        report.append(
            {
                "file": path,
                "ok": not problems,
                "problems": [p.to_dict() for p in problems],
                "notes": [p.to_dict() for p in notes],
            }
        )
        if not as_json:
            for problem in problems:
                err(str(problem))
            for note in notes:
                if note in unset:
                    err(
                        f"{note.file}:{note.line}:{note.col}: note: {note.message}; it must be set to run the team"
                    )
                else:
                    err(str(note))
            if not problems:
                click.echo(f"{path}: ok")
    if as_json:
        click.echo(json.dumps({"ok": not failed, "files": report}, indent=2, ensure_ascii=False))
    if failed:
        sys.exit(EXIT_BAD_INPUT)


@cli.command()
@click.argument("kind", type=click.Choice(["team", "conversation"]), default="team")
def schema(kind: str) -> None:
    """Print the JSON Schema of team files, or (schema conversation) of conversation files."""
    from ..config import schema_text

    click.echo(schema_text(f"{kind}.schema.json"), nl=False)


@cli.command(epilog=INSPECT_EPILOG)
@click.argument("team_file", metavar="TEAM.yaml", type=click.Path(dir_okay=False))
@click.option(
    "--model",
    "model_override",
    metavar="MODEL",
    multiple=True,
    help="Show the team as it runs with this model everywhere, or for one: agent-2=MODEL, leader=, summary=.",
)
@click.option("--db", metavar="PATH", help="Show the team as it runs with this session store.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of YAML.")
@click.option("--strict", is_flag=True, help="Treat warnings (e.g. undocumented tools) as errors.")
@click.option("--allow-unsafe-tools", is_flag=True, help=UNSAFE_HELP)
def inspect(
    team_file: str,
    model_override: tuple[str, ...],
    db: str | None,
    as_json: bool,
    strict: bool,
    allow_unsafe_tools: bool,
) -> None:
    """Show the effective team: every default, member ids, the store, each model's tools and system message."""
    from ..config import load_team
    from ..runtime.describe import describe_team, render_yaml

    view = describe_team(
        load_team(team_file, model_override=model_override, allow_unsafe_tools=allow_unsafe_tools),
        model_override=model_override,
        db=db,
        strict=strict,
    )
    for warning in view["warnings"]:
        err(warning)
    click.echo(json.dumps(view, indent=2, ensure_ascii=False) if as_json else render_yaml(view))


STARTER = """\
# yaml-language-server: $schema={schema}
#
# A team of two members, as config you can review like code. Try it offline first:
#   agno-run {name} "Hello!" --model echo
# then with a real model (export OPENAI_API_KEY=..., or change model: to any litellm model string):
#   agno-run {name} "Hello!"
# `agno-run inspect {name}` shows every default and the exact system messages; `agno-run schema`
# describes every key. Errors name the file, the line and the fix: `agno-run validate {name}`.
name: My Team
model: openai/gpt-5-mini            # a litellm model string: provider/model
instructions: Answer briefly and kindly.
members:                            # no members: a single agent
  - name: Researcher                # id derived from the name: researcher
    role: You find the facts the question needs and say where they come from
  - name: Writer
    role: You write the final answer, clearly
add_history_to_context: true        # earlier turns of the session are in context ...
num_history_runs: 3                 # ... the last 3
enable_session_summaries: false     # true: a running summary of each session, in context
# db: {{path: sessions}}            # where sessions are stored, relative to this file; without it,
#                                   # your per-user store (AGNO_RUN_DB, else ~/.local/share/agno-run)
"""


@cli.command()
@click.argument("file", default="team.yaml", required=False, type=click.Path(dir_okay=False))
def init(file: str) -> None:
    """Write a commented starter team file (default team.yaml); an existing file is never overwritten.

    Its first line points editors at the schema, so keys complete as you type.
    """
    import os

    from ..config.schema import schema_path

    if os.path.exists(file):
        raise UsageError(f"{file} exists already; name another file (agno-run init my-team.yaml)")
    with open(file, "x", encoding="utf-8") as f:
        f.write(STARTER.format(schema=schema_path(), name=file))
    click.echo(f'wrote {file}; try: agno-run {file} "Hello!" --model echo')
