"""The ``agno-run`` click group: the hidden default command, and the one place errors become lines.

Every error a person sees is one line on stderr and an exit code (2: bad input, 1: a failed run);
a traceback only with ``--debug``. With ``--json`` anywhere on the command line, stdout also gets a
one-object error envelope, so a ``jq`` pipeline always reads a document.
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any

import click

from .. import __version__
from ..errors import EXIT_BAD_INPUT, EXIT_RUN_FAILED, AgnoYamlError, ConfigError, Interrupted

JSON_FORMAT_VERSION = 1


def error_envelope(error: str, exit_code: int) -> dict[str, Any]:
    """The ``--json`` document of a turn that produced no run: refused, or failed before starting."""
    return {
        "version": JSON_FORMAT_VERSION,
        "status": "error",
        "answer": None,
        "error": error,
        "exit_code": exit_code,
    }


def err(text: str) -> None:
    click.echo(text, err=True)


_MISSING = {
    "TEAM.yaml": 'name a team file, e.g. agno-run teams/multilingual.yaml "hello"',
    "FILE...": "name at least one team file, e.g. agno-run validate teams/*.yaml",
}


class DefaultCommandGroup(click.Group):
    """A group whose unknown first word is a team file for the hidden ``run`` command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = next((a for a in args if not a.startswith("-") or a == "-"), None)
        # `test --json FILE` writes its report to a file: stdout is not a JSON document there.
        ctx.meta["json_errors"] = "--json" in args and first != "test"
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
            self._fail(
                ctx, str(exc) if isinstance(exc, ConfigError) else f"error: {exc}", str(exc), exc.exit_code
            )
        except click.UsageError as exc:  # one line, never naming the hidden `run` command
            text = _usage_text(exc)
            self._fail(ctx, f"error: {text} (see agno-run --help)", text, EXIT_BAD_INPUT)
        except Interrupted as stop:  # already reported where the turn was stored
            if not ctx.params.get("debug"):
                # A signal can land inside a library's half-built object (an event loop litellm was
                # creating); its finaliser then complains at exit. The turn is stored: keep stderr clean.
                sys.unraisablehook = lambda unraisable: None
            ctx.exit(stop.exit_code)
        except KeyboardInterrupt:  # Ctrl-C outside a turn (loading, the chat prompt)
            err("cancelled")
            ctx.exit(128 + 2)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:  # a bug: one line, and the traceback for --debug
            if ctx.params.get("debug"):
                traceback.print_exc()
            text = f"internal error: {type(exc).__name__}: {exc}"
            self._fail(ctx, f"{text} (run again with --debug for the traceback)", text, EXIT_RUN_FAILED)

    @staticmethod
    def _fail(ctx: click.Context, line: str, error: str, code: int) -> None:
        if ctx.meta.get("json_errors") and not ctx.meta.get("json_written"):
            sys.stdout.write(json.dumps(error_envelope(error, code), ensure_ascii=False) + "\n")
            sys.stdout.flush()
        err(line)
        ctx.exit(code)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "TEAM.yaml [MESSAGE] [OPTIONS]")
        formatter.write_usage(ctx.command_path, "COMMAND [ARGS]...", prefix="   or: ")


def _usage_text(exc: click.UsageError) -> str:
    if isinstance(exc, click.MissingParameter) and exc.param is not None:
        name = exc.param.make_metavar(exc.ctx) if exc.ctx is not None else exc.param.name or ""
        fix = _MISSING.get(name, "see the command's --help")
        return f"missing {name}: {fix}"
    text = exc.format_message()
    if "extra argument" in text:
        text += "; put the message in quotes"
    return " ".join(text.split())


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
