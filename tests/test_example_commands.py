"""Every command an example team file shows in its comments runs as shown (offline, with --model echo)."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from agno_yaml.cli import cli

TEAMS = Path(__file__).resolve().parent.parent / "teams"
FILES = sorted(TEAMS.glob("*.yaml"))
_COMMAND = re.compile(r"#\s+(agno-run\s.*|rm -rf\s.*)")


def shown_commands(path: Path) -> list[str]:
    """The commands in the file's leading comment, continuation lines joined, trailing comments cut."""
    commands: list[str] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines) and lines[i].startswith("#"):
        if match := _COMMAND.match(lines[i]):
            command = match.group(1)
            while command.rstrip().endswith("\\"):
                i += 1
                command = command.rstrip()[:-1] + " " + lines[i].lstrip("#").strip()
            commands.append(command.split("  #")[0].strip())
        i += 1
    return commands


def test_the_examples_show_commands() -> None:
    assert sum(len(shown_commands(p)) for p in FILES) >= 15


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_shown_command_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A scratch copy: the commands write their stores relative to the working directory.
    shutil.copytree(TEAMS, tmp_path / "teams", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(tmp_path)
    for command in shown_commands(path):
        words = shlex.split(command)
        if words[0] == "rm":
            shutil.rmtree(tmp_path / words[-1], ignore_errors=True)
            continue
        if "--model" not in words:
            words += ["--model", "echo"]  # the real-model variant of a command: offline here
        result = CliRunner().invoke(cli, words[1:], prog_name="agno-run")
        assert result.exit_code == 0, f"{command}\n{result.output}"
        assert result.stdout.strip(), command
