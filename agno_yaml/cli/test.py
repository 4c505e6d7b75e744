"""``agno-run test``: run conversation files against their teams, as CI does.

Every file is loaded and checked before anything runs: one bad file (a missing team, a member or
tool the team does not have, a misspelt expectation) is exit 2 with every problem at its line.
Exit 0: every conversation passed; 1: an expectation failed; 2: a bad file or usage.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import TYPE_CHECKING

import click

from ..errors import EXIT_BAD_INPUT, EXIT_RUN_FAILED, ConfigError, Problem, UsageError
from .app import cli, err

if TYPE_CHECKING:
    from ..conversations.runner import ConversationResult, RunOptions
    from ..conversations.spec import ConversationFile

TEST_EPILOG = """\b
Examples:
  agno-run test tests/conversations/
  agno-run test tests/conversations/ --junit report.xml -k "french and not joke"
  agno-run test chat.conv.yaml --model openai/gpt-5-mini --record cassettes/
  agno-run test chat.conv.yaml --replay cassettes/        # no network, no key
"""


def _load(paths: tuple[str, ...], model: str | None) -> list[ConversationFile]:
    from ..conversations.spec import conversation_files, load_conversations

    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise UsageError(f"no such file or directory: {missing[0]}")
    found = conversation_files(list(paths))
    if not found:
        raise UsageError(
            f"no conversation files in {', '.join(paths)}: a conversation file is YAML with team: and "
            "conversations: keys (see agno-run schema conversation)"
        )
    files: list[ConversationFile] = []
    problems: list[Problem] = []
    for path in found:
        try:
            files.append(load_conversations(path, model=model))
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return files


@cli.command("test", epilog=TEST_EPILOG)
@click.argument("paths", nargs=-1, required=True, metavar="FILE_OR_DIR...")
@click.option("--model", "-m", metavar="MODEL", help="Replace every model of every team (echo: offline).")
@click.option("--junit", "junit", metavar="FILE", help="Write a JUnit XML report (GitLab, GitHub, Jenkins).")
@click.option(
    "--json", "json_file", metavar="FILE", help="Write a JSON report (README: 'Test your team in CI')."
)
@click.option(
    "-k",
    "select",
    metavar="EXPRESSION",
    help='Only conversations whose FILE::NAME matches, e.g. -k "french and not joke".',
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    metavar="N",
    help="Conversations run at once (default: the number of cores).",
)
@click.option(
    "--record", metavar="DIR", help="Save every model request and answer in a cassette per conversation."
)
@click.option("--replay", metavar="DIR", help="Answer from the cassettes in DIR: no network, no key.")
@click.option(
    "--keep-store",
    metavar="DIR",
    help="Keep each conversation's session store under DIR (an empty directory).",
)
@click.option(
    "-x",
    "--exitfirst",
    "fail_fast",
    is_flag=True,
    help="Start no more conversations after the first failure.",
)
def test(
    paths: tuple[str, ...], model: str | None, junit: str | None, json_file: str | None, select: str | None,
    jobs: int | None, record: str | None, replay: str | None, keep_store: str | None, fail_fast: bool,
) -> None:  # fmt: skip
    """Run the conversations in FILE_OR_DIR... and check what every turn is expected to show.

    Each conversation runs in its own store (conversations that name one session share it), in
    parallel. Prints a line per conversation (a progress line on a terminal), a table, and every
    failure at the line of its expectation, with what was expected and what came back.
    """
    if record and replay:
        raise UsageError("--record and --replay cannot be used together: record once, then replay")
    from ..conversations.report import failures_text, json_report, junit_xml, table, totals
    from ..conversations.runner import RunOptions

    files = _load(paths, model)
    options = RunOptions(jobs, select, record, replay, keep_store, fail_fast)
    started = time.perf_counter()
    results = _with_progress(files, options) if sys.stdout.isatty() else _with_lines(files, options)
    seconds = time.perf_counter() - started
    from rich.console import Console

    # A CI log has no width: give the table room rather than rich's default of 80 columns.
    Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160).print(table(results))
    failed = failures_text(results)
    if failed:
        click.echo(failed)
    click.echo(totals(results, seconds))
    if junit:
        _write(junit, junit_xml(results, seconds))
    if json_file:
        _write(json_file, json.dumps(json_report(results, seconds), indent=2, ensure_ascii=False) + "\n")
    sys.exit(EXIT_RUN_FAILED if failed else 0)


def _with_lines(files: list[ConversationFile], options: RunOptions) -> list[ConversationResult]:
    """Piped (a CI log): one line per conversation as it finishes."""
    from ..conversations.report import line
    from ..conversations.runner import run_conversations

    return run_conversations(files, options, on_result=lambda r: click.echo(line(r)))


def _with_progress(files: list[ConversationFile], options: RunOptions) -> list[ConversationResult]:
    """On a terminal: one live line with the counts, gone when the table is printed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..conversations.runner import run_conversations, selected

    counts = {"passed": 0, "failed": 0}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("running", total=len(selected(files, options.select)))

        def done(result: ConversationResult) -> None:
            counts["passed" if result.passed else "failed"] += 1
            progress.update(
                task, advance=1, description=f"{counts['passed']} passed, {counts['failed']} failed"
            )

        return run_conversations(files, options, on_result=done)


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        err(f"error: cannot write {path}: {exc.strerror}")
        sys.exit(EXIT_BAD_INPUT)
