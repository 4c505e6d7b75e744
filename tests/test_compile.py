"""Compiling a team: every tool that cannot be imported is reported at once, at its line and column."""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from agno_yaml.cli import cli
from agno_yaml.config import load_team, yamlload
from agno_yaml.errors import EXIT_BAD_INPUT, ConfigError
from agno_yaml.runtime.compile import compile_team


def write_team(tmp_path: Path, body: str) -> tuple[Path, str]:
    """A team file whose tools live in a module unique to this test (sys.modules outlives a test)."""
    module = f"compile_tools_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(
        'def lookup_price(item: str) -> float:\n    """Look up a price."""\n    return 2.5\n'
    )
    path = tmp_path / "team.yaml"
    path.write_text(textwrap.dedent(body).replace("MOD", module), encoding="utf-8")
    return path, module


TWO_BAD = """\
    model: echo
    tools:
      - MOD:lookup_price
      - no_such_module_xyz:run
    members:
      - name: Agent 1
        tools: ["MOD:lookup_prize"]
"""


def test_every_bad_tool_is_one_located_problem(tmp_path: Path) -> None:
    path, module = write_team(tmp_path, TWO_BAD)
    with pytest.raises(ConfigError) as info:
        compile_team(load_team(path), store=False)
    first, second = info.value.problems
    assert (first.file, first.line, first.col, first.path) == (str(path), 4, 5, "$.tools[1]")
    assert first.message.startswith("tool 'no_such_module_xyz:run': no module named 'no_such_module_xyz'")
    assert first.fix == "install the package that provides it or fix the module name"
    assert (second.line, second.col, second.path) == (7, 13, "$.members[0].tools[0]")
    assert (
        second.message == f"tool '{module}:lookup_prize': module '{module}' has no attribute 'lookup_prize'"
    )
    assert second.fix == "did you mean lookup_price?"
    assert info.value.exit_code == EXIT_BAD_INPUT
    assert str(info.value).splitlines() == [str(first), str(second)]


def test_two_tools_with_one_name_are_located_at_the_second(tmp_path: Path) -> None:
    path, module = write_team(
        tmp_path,
        """\
        model: echo
        tools: [MOD:lookup_price, MOD:lookup_price]
        """,
    )
    with pytest.raises(ConfigError) as info:
        compile_team(load_team(path), store=False)
    (problem,) = info.value.problems
    second_col = len(f"tools: [{module}:lookup_price, ") + 1
    assert (problem.line, problem.col, problem.path) == (2, second_col, "$.tools[1]")
    assert problem.message == (
        f"tool '{module}:lookup_price' is a second tool named 'lookup_price' (the first is $.tools[0])"
    )
    assert problem.fix == "remove one of them (a model calls tools by name)"


def test_the_file_is_never_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loaded document carries every line mark: a failing tool is located without a second read."""
    path, _ = write_team(tmp_path, TWO_BAD)
    loaded = load_team(path)
    reads: list[str] = []
    original = yamlload.read_text
    monkeypatch.setattr(yamlload, "read_text", lambda p, f=None: reads.append(str(p)) or original(p, f))
    with pytest.raises(ConfigError) as info:
        compile_team(loaded, store=False)
    assert len(info.value.problems) == 2 and reads == []


def test_cli_reports_every_bad_tool_and_exits_2(tmp_path: Path) -> None:
    path, module = write_team(tmp_path, TWO_BAD)
    result = CliRunner().invoke(
        cli, [str(path), "hello", "--model", "echo", "--db", str(tmp_path / "db")], prog_name="agno-run"
    )
    assert result.exit_code == EXIT_BAD_INPUT
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith(f"{path}:4:5: $.tools[1]: tool 'no_such_module_xyz:run': no module named")
    assert lines[1] == (
        f"{path}:7:13: $.members[0].tools[0]: tool '{module}:lookup_prize': module '{module}' has no "
        "attribute 'lookup_prize'; did you mean lookup_price?"
    )
    assert result.stdout == ""


VAGUE_TOOLS = '''\
import functools


def documented(city: str) -> str:
    """Weather for a city.

    Args:
        city: The city.
    """
    return city


def undocumented(city, days: int = 1):
    """Weather, somewhere."""
    return city


class Forecaster:
    """A class, not a function."""

    def __init__(self, city: str) -> None:
        self.city = city
'''


def vague_team(tmp_path: Path) -> Path:
    module = f"vague_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(VAGUE_TOOLS)
    path = tmp_path / "team.yaml"
    path.write_text(
        f"model: echo\ntools:\n  - {module}:documented\n  - {module}:undocumented\n"
        f"members:\n  - name: A\n    tools: [{module}:Forecaster]\n",
        encoding="utf-8",
    )
    return path


def test_tools_that_leave_the_model_guessing_are_located_warnings(tmp_path: Path) -> None:
    path = vague_team(tmp_path)
    team = compile_team(load_team(path), store=False)
    found = [(w.line, w.col, w.path, w.severity, w.message.split(": ", 1)[1]) for w in team.warnings]
    assert found == [
        (
            4,
            5,
            "$.tools[1]",
            "warning",
            "parameter 'city' has no description, so the model must guess what to send",
        ),
        (
            4,
            5,
            "$.tools[1]",
            "warning",
            "parameter 'city' has no type hint, so the model may send any JSON value",
        ),
        (
            4,
            5,
            "$.tools[1]",
            "warning",
            "parameter 'days' has no description, so the model must guess what to send",
        ),
        (
            7,
            13,
            "$.members[0].tools[0]",
            "warning",
            "it is the class Forecaster (calling it makes an instance), not a function",
        ),
        # The class's own docstring describes it, and says nothing of __init__'s parameter.
        (
            7,
            13,
            "$.members[0].tools[0]",
            "warning",
            "parameter 'city' has no description, so the model must guess what to send",
        ),
    ]
    assert team.warnings[1].fix == "add one (str, int, list[str], ...)"
    assert str(team.warnings[0]).startswith(f"{path}:4:5: warning: $.tools[1]: tool ")


def test_strict_makes_tool_warnings_errors(tmp_path: Path) -> None:
    path = vague_team(tmp_path)
    with pytest.raises(ConfigError) as info:
        compile_team(load_team(path), store=False, strict=True)
    assert len(info.value.problems) == 5 and all(p.severity == "error" for p in info.value.problems)


def test_cli_shows_tool_warnings_and_strict_refuses(tmp_path: Path) -> None:
    path = vague_team(tmp_path)
    args = [str(path), "hello", "--model", "echo", "--db", str(tmp_path / "db")]
    ok = CliRunner().invoke(cli, args, prog_name="agno-run")
    assert ok.exit_code == 0 and ok.stdout == "hello\n"
    assert sum(": warning: " in line for line in ok.stderr.splitlines()) == 5
    strict_args = [str(path), "hello", "--model", "echo", "--db", str(tmp_path / "db2"), "--strict"]
    strict = CliRunner().invoke(cli, strict_args, prog_name="agno-run")
    assert strict.exit_code == EXIT_BAD_INPUT and strict.stdout == ""
    assert not (tmp_path / "db2").exists()  # refused before anything ran or was stored
    inspected = CliRunner().invoke(cli, ["inspect", str(path), "--json"], prog_name="agno-run")
    assert inspected.exit_code == 0 and len(json.loads(inspected.stdout)["warnings"]) == 5
