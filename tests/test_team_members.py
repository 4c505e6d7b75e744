"""Teams as members: a member may be a team, by reference (a file, relative to the parent) or inline.
It runs its own mode and members; its runs are stored in the parent session with their parents.
``validate`` follows references without importing anything, refuses cycles, and reports a problem
in a referenced file at that file's own line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from agno_yaml.cli import cli
from agno_yaml.config import load_team
from agno_yaml.runtime.compile import compile_team
from agno_yaml.store.tinydb import TinyDBStore

RESEARCH = """\
name: Research Team
description: Finds facts
respond_directly: true
tools: [no_such_module:never_imported]
members:
  - {name: Searcher, role: Searches}
  - {name: Reader, role: Reads}
"""


def agno(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def parent(folder: Path, members: str, model: str = "echo") -> Path:
    return write(folder, "parent.yaml", f"name: Parent\nmodel: {model}\nmembers:\n{members}")


def test_validate_follows_references_without_importing_anything(tmp_path: Path) -> None:
    write(tmp_path, "research.yaml", RESEARCH)
    path = parent(tmp_path, "  - team: research.yaml\n  - {name: Writer, role: Writes}\n")
    result = agno("validate", str(path))
    assert result.exit_code == 0, result.stderr  # the referenced file's tool module is never imported


def test_a_problem_in_a_referenced_file_is_reported_at_its_own_line(tmp_path: Path) -> None:
    write(tmp_path, "broken.yaml", "name: Broken\nnum_history_runs: lots\n")
    path = parent(tmp_path, "  - team: broken.yaml\n  - team: missing.yaml\n")
    result = agno("validate", str(path))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert f"{tmp_path / 'broken.yaml'}:2:19: $.num_history_runs: expected a whole number" in lines[0]
    assert f"{path}:5:11: $.members[1].team: no team file at missing.yaml" in lines[1]


def test_teams_that_include_each_other_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "model: echo\nmembers:\n  - team: b.yaml\n")
    write(tmp_path, "b.yaml", "model: echo\nmembers:\n  - team: ./a.yaml\n")
    result = agno("validate", str(tmp_path / "a.yaml"))
    assert result.exit_code == 2
    assert (
        "b.yaml:3:11: $.members[0].team: team files include each other in a cycle: a.yaml -> b.yaml -> a.yaml"
        in result.stderr
    )


def test_an_inline_team_is_checked_where_it_is_written(tmp_path: Path) -> None:
    path = parent(
        tmp_path, "  - team: {name: Crew, members: [{name: Helper, role: helps}], bogus: 1}\n  - team: 12\n"
    )
    result = agno("validate", str(path))
    assert result.exit_code == 2
    assert ":4:64: $.members[0].team.bogus: unknown key 'bogus'" in result.stderr
    assert ":5:11: $.members[1].team: 12 is not a team; write a team file's path" in result.stderr


def test_a_nested_team_runs_its_own_members_and_its_runs_are_stored_with_their_parents(
    tmp_path: Path,
) -> None:
    write(tmp_path, "research.yaml", RESEARCH.replace("tools: [no_such_module:never_imported]\n", ""))
    path = parent(tmp_path, "  - team: research.yaml\n  - {name: Writer, role: Writes}\n")
    db = tmp_path / "db"
    result = agno(str(path), "capital of France?", "-s", "s1", "--db", str(db))
    assert result.exit_code == 0 and result.stdout == "capital of France?\n", result.stderr
    runs = {r.member: r for r in TinyDBStore(db).runs("s1", "default")}
    top, nested, searcher = runs[None], runs["research-team"], runs["searcher"]
    assert nested.parent_run_id == top.run_id and searcher.parent_run_id == nested.run_id
    assert nested.answered_by == "searcher" and nested.content == "capital of France?"  # it ran in route mode
    shown = agno("sessions", "show", "s1", "--db", str(db)).stdout
    assert "  → research-team was asked: capital of France?" in shown
    assert "      → searcher was asked: capital of France?" in shown  # indented under its team


def test_a_nested_team_uses_the_parents_model_unless_it_names_one(tmp_path: Path) -> None:
    path = parent(
        tmp_path, "  - team: {name: Crew, members: [{name: Helper, role: helps}]}\n", model="scripted"
    )
    spec = load_team(path).spec
    (crew,) = spec.members
    assert crew.team is not None and crew.team.model.id == "scripted" and crew.id == "crew"


def test_a_missing_key_in_a_nested_team_is_refused_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    write(tmp_path, "research.yaml", "name: R\nmodel: openai/gpt-5-mini\nmembers: [{name: A, role: a}]\n")
    path = parent(tmp_path, "  - team: research.yaml\n")
    result = agno(str(path), "hi", "--db", str(tmp_path / "db"))
    assert result.exit_code == 2 and "OPENAI_API_KEY" in result.stderr
    assert not (tmp_path / "db").exists() or not TinyDBStore(tmp_path / "db").list_sessions()


def test_a_failing_nested_team_is_an_error_result_for_the_leader(tmp_path: Path) -> None:
    # The inline team's model has no scripted replies left: it fails; the leader is told and answers.
    path = parent(
        tmp_path,
        "  - team: {name: Crew, model: {id: scripted, replies: []}, members: [{name: Helper, role: helps}]}\n",
    )
    team = compile_team(load_team(path), db=str(tmp_path / "db"))
    out = team.run("hi", user_id="u", session_id="s")
    assert out.ok, out.run.error
    crew = next(r for r in out.member_runs if r.member == "crew")
    assert crew.status == "error"
    (call,) = out.run.tool_calls
    assert call.error is not None and call.error.startswith("member crew failed:")
