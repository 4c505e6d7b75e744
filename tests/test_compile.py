"""Compiling a team: every tool that cannot be imported is reported at once, at its line and column."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from agno_yaml import yamlload
from agno_yaml.cli import cli
from agno_yaml.compile import compile_team
from agno_yaml.config import load_team
from agno_yaml.errors import EXIT_BAD_INPUT, ConfigError


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


def test_the_file_is_read_again_only_when_a_tool_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = write_team(tmp_path, "model: echo\ntools: [MOD:lookup_price]\n")
    spec = load_team(path)
    reads: list[str] = []
    original = yamlload.read_text
    monkeypatch.setattr(yamlload, "read_text", lambda p, f=None: reads.append(str(p)) or original(p, f))
    team = compile_team(spec, store=False)
    assert list(team.leader.tools) == ["lookup_price"] and reads == []


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
