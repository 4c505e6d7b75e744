"""``agno-run``: a thin click shell over the library.

``agno-run TEAM.yaml "MESSAGE"`` runs a turn (the hidden default command ``run``); ``validate``,
``schema`` and ``inspect`` look at files without running a model. Every error is one line on stderr;
the answer alone goes to stdout. Imports happen inside commands so ``--help`` and ``validate``
stay fast and never load litellm.
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any

import click

from . import __version__
from .errors import EXIT_BAD_INPUT, EXIT_RUN_FAILED, AgnoYamlError, ConfigError, UsageError

RUN_EPILOG = """\b
Examples:
  agno-run teams/multilingual.yaml "comment ça va?" --user user_101 --session session_101
  echo "hello" | agno-run teams/coordinate.yaml --model echo
  agno-run teams/session-history.yaml --continue "What was my first message?"
"""


class DefaultCommandGroup(click.Group):
    """A group whose unknown first word is a team file for the hidden ``run`` command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = next((a for a in args if not a.startswith("-") or a == "-"), None)
        if first is not None and first not in self.commands:
            # Options before the file belong to run too (e.g. `agno-run --user bob team.yaml hi`).
            head = [a for a in args if a in ("--debug",)]
            rest = [a for a in args if a not in ("--debug",)]
            args = [*head, "run", *rest]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        """Library errors become one line on stderr and their exit code; a traceback only with --debug."""
        try:
            return super().invoke(ctx)
        except AgnoYamlError as exc:
            if ctx.params.get("debug"):
                traceback.print_exc()
            # Located problems already start with FILE:LINE:COL; anything else gets a plain prefix.
            _err(str(exc) if isinstance(exc, ConfigError) else f"error: {exc}")
            ctx.exit(exc.exit_code)
        except click.UsageError as exc:  # one line, never naming the hidden `run` command
            hint = "; put the message in quotes" if "extra argument" in exc.message else ""
            _err(f"error: {exc.message}{hint} (see agno-run --help)")
            ctx.exit(EXIT_BAD_INPUT)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, KeyboardInterrupt):
            raise
        except Exception as exc:  # a bug: one line, and the traceback for --debug
            if ctx.params.get("debug"):
                traceback.print_exc()
            _err(f"internal error: {type(exc).__name__}: {exc} (run again with --debug for the traceback)")
            ctx.exit(EXIT_RUN_FAILED)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "TEAM.yaml [MESSAGE] [OPTIONS]")
        formatter.write_usage(ctx.command_path, "COMMAND [ARGS]...", prefix="   or: ")


class RunCommand(click.Command):
    """The hidden default command: its usage shows the form people type, without `run`."""

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        program = ctx.parent.command_path if ctx.parent is not None else "agno-run"
        formatter.write_usage(program, "TEAM.yaml [MESSAGE] [OPTIONS]")


@click.group(cls=DefaultCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="agno-run")
@click.option("--debug", is_flag=True, help="Show a traceback when something fails.")
def cli(debug: bool) -> None:
    """Run Agno-style LLM teams declared in YAML; sessions are saved and continued by id.

    Run a turn:  agno-run TEAM.yaml "MESSAGE" [--user U] [--session S | --continue]
    """
    # --debug is read from the group context when an error is reported (DefaultCommandGroup.invoke).


def _err(text: str) -> None:
    click.echo(text, err=True)


# -- run ------------------------------------------------------------------------------------------


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
@click.option("-s", "--session", "session_id", metavar="ID", help="Continue (or start) this session.")
@click.option(
    "-c", "--continue", "continue_", is_flag=True, help="Continue your latest session of this team."
)
@click.option(
    "--db",
    "db_path",
    metavar="PATH",
    help="Session store directory (default: the file's db.path, else .agno).",
)
@click.option(
    "--model",
    "model_override",
    metavar="MODEL",
    help="Replace every model of the team, e.g. echo or ollama/llama3.2.",
)
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
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on stderr but errors.")
def run_command(
    team_file: str,
    message: str | None,
    user_id: str | None,
    session_id: str | None,
    continue_: bool,
    db_path: str | None,
    model_override: str | None,
    stream: bool | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Run one turn of a team: agno-run TEAM.yaml "MESSAGE"."""
    from .cli_run import RunRequest, run_turns

    if session_id and continue_:
        raise UsageError("--session and --continue both choose a session; give only one of them")
    if user_id is not None and not user_id.strip():
        raise UsageError("--user is empty; give a user id, or leave the option out to use the file's user_id")
    if model_override is not None and not model_override.strip():
        raise UsageError("--model is empty; give a model such as echo or openai/gpt-5-mini, or leave it out")
    if message is not None and message != "-" and not message.strip():
        raise UsageError("the message is empty; write something to say, or pipe it in")
    stdin = click.get_text_stream("stdin")
    messages: list[str] | None
    if message == "-" or (message is None and not stdin.isatty()):
        messages = [stdin.read().strip()]
        if not messages[0]:
            raise UsageError("no message: stdin was empty; pass MESSAGE as an argument or pipe text in")
    elif message is None:
        messages = None  # interactive chat
    else:
        messages = [message]
    stdout = click.get_text_stream("stdout")
    request = RunRequest(
        team_file=team_file,
        user_id=user_id,
        session_id=session_id,
        continue_latest=continue_,
        db_path=db_path,
        model_override=model_override,
        stream=(stdout.isatty() and not as_json) if stream is None else (stream and not as_json),
        as_json=as_json,
        quiet=quiet,
    )
    ok = run_turns(request, messages)
    if not ok:
        sys.exit(EXIT_RUN_FAILED)


# -- validate / schema / inspect ------------------------------------------------------------------


@cli.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report instead of lines.")
@click.option(
    "--strict-env", is_flag=True, help="Treat an unset ${VAR} as an error (by default it is a note)."
)
def validate(files: tuple[str, ...], as_json: bool, strict_env: bool) -> None:
    """Check team files against the schema. Never imports tool code, so untrusted files are safe.

    A ${VAR} that is unset here is only noted: the file can be checked without its secrets.
    """
    from .config import check_team_file, is_unset_env_problem

    report = []
    failed = False
    for path in files:
        found = check_team_file(path)
        notes = [] if strict_env else [p for p in found if is_unset_env_problem(p)]
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
                _err(str(problem))
            for note in notes:
                _err(
                    f"{note.file}:{note.line}:{note.col}: note: {note.message}; it must be set to run the team"
                )
            if not problems:
                click.echo(f"{path}: ok")
    if as_json:
        click.echo(json.dumps({"ok": not failed, "files": report}, indent=2, ensure_ascii=False))
    if failed:
        sys.exit(EXIT_BAD_INPUT)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of team files."""
    from .config import schema_text

    click.echo(schema_text(), nl=False)


@cli.command()
@click.argument("team_file", metavar="TEAM.yaml", type=click.Path(dir_okay=False))
@click.option(
    "--model", "model_override", metavar="MODEL", help="Show the team as it runs with this model everywhere."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of YAML.")
def inspect(team_file: str, model_override: str | None, as_json: bool) -> None:
    """Show the effective team: every default, member ids, each model's tools and system message."""
    from .config import load_team
    from .describe import describe_team, render_yaml

    view = describe_team(load_team(team_file), model_override=model_override)
    click.echo(json.dumps(view, indent=2, ensure_ascii=False) if as_json else render_yaml(view))


# -- entry point ----------------------------------------------------------------------------------


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="agno-run")
