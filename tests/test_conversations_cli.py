"""``agno-run test``: exit codes, broken files at their lines, JUnit XML read back, the JSON report,
record and replay (a changed prompt shows as a diff; no secret in a cassette), the pytest plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from convkit import ADD_TEA, line_of, write_conversations, write_team

from agno_yaml.cli import cli

REPO = Path(__file__).resolve().parent.parent

PASSING = f"""\
conversations:
  - name: adds tea
    turns:
      - say: "add tea"
{ADD_TEA}        expect: {{contains: "cart: tea", member: seller}}
"""
FAILING = """\
conversations:
  - name: wants coffee
    turns:
      - say: "hello <there> & \\x1b[1m"
        expect:
          contains: coffee
          history_runs: 2
"""


def agno(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_exit_codes_and_the_report(tmp_path: Path) -> None:
    good = write_conversations(tmp_path, PASSING, "good.conv.yaml")
    bad = write_conversations(tmp_path, FAILING, "bad.conv.yaml")
    result = agno("test", str(good))
    assert result.exit_code == 0, result.output
    assert f"PASS {good}::adds tea (1 turn," in result.output
    assert "1 passed, 0 failed" in result.output

    result = agno("test", str(tmp_path))  # a directory: both files, the team file skipped
    assert result.exit_code == 1
    assert "1 passed, 1 failed" in result.output
    contains_line = line_of(bad, "contains: coffee")
    assert (
        f'{bad}:{contains_line}:21: turn 1: contains: expected the answer to contain "coffee"'
        in result.output
    )
    assert (
        f"{bad}:{contains_line + 1}:25: turn 1: history_runs: expected the leader to see 2" in result.output
    )


def test_broken_files_are_exit_2_with_every_problem_at_its_line(tmp_path: Path) -> None:
    write_team(tmp_path)
    (tmp_path / "typo.conv.yaml").write_text(
        "team: team.yaml\nconversations:\n  - name: c\n    turns:\n      - say: hi\n        expect: {contain: hi}\n",
        encoding="utf-8",
    )
    (tmp_path / "refs.conv.yaml").write_text(
        "team: team.yaml\nconversations:\n  - name: c\n    turns:\n"
        "      - say: there\n        expect: {member: seler, tool_called: add_to_kart}\n",
        encoding="utf-8",
    )
    (tmp_path / "lost.conv.yaml").write_text(
        "team: nowhere.yaml\nconversations: [{name: c, turns: [{say: hi}]}]\n"
    )
    result = agno("test", *(str(tmp_path / f"{n}.conv.yaml") for n in ("typo", "refs", "lost")))
    assert result.exit_code == 2
    assert (
        "typo.conv.yaml:6:18: $.conversations[0].turns[0].expect.contain: unknown key 'contain'; did you mean 'contains'?"
        in result.output
    )
    assert (
        "refs.conv.yaml:6:26: $.conversations[0].turns[0].expect.member: the team has no member 'seler'; did you mean seller?"
        in result.output
    )
    assert (
        "refs.conv.yaml:6:46: $.conversations[0].turns[0].expect.tool_called: the team has no tool 'add_to_kart'; did you mean add_to_cart?"
        in result.output
    )
    assert "lost.conv.yaml:1:7: $.team: no team file at" in result.output
    assert "PASS" not in result.output and "FAIL" not in result.output  # nothing ran

    assert agno("test", str(tmp_path / "missing.conv.yaml")).exit_code == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    result = agno("test", str(empty))
    assert result.exit_code == 2 and "no conversation files" in result.output
    assert agno("test", str(tmp_path / "typo.conv.yaml"), "--record", "a", "--replay", "b").exit_code == 2


def test_junit_xml_reads_back_with_the_attributes_ci_needs(tmp_path: Path) -> None:
    good = write_conversations(tmp_path, PASSING, "good.conv.yaml")
    bad = write_conversations(tmp_path, FAILING, "bad.conv.yaml")
    report = tmp_path / "junit.xml"
    result = agno("test", str(good), str(bad), "--junit", str(report))
    assert result.exit_code == 1
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "2" and root.get("failures") == "1"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [str(good), str(bad)]
    for suite in suites:
        for attribute in (
            "name",
            "tests",
            "failures",
            "errors",
            "skipped",
            "time",
            "timestamp",
            "hostname",
            "id",
            "package",
        ):
            assert suite.get(attribute) is not None, attribute
        [case] = suite.findall("testcase")
        for attribute in ("name", "classname", "time"):
            assert case.get(attribute) is not None, attribute
        float(case.get("time") or "x")
    [passed] = suites[0].findall("testcase")
    assert passed.get("name") == "adds tea" and passed.find("failure") is None
    assert "cart: tea" in (passed.findtext("system-out") or "")
    [failed] = suites[1].findall("testcase")
    failures = failed.findall("failure")
    assert [f.get("type") for f in failures] == ["contains", "history_runs"]
    assert all(f.get("message") for f in failures)
    assert "hello <there> &" in (failed.findtext("system-out") or "")  # escaped, control codes replaced


def test_json_report(tmp_path: Path) -> None:
    bad = write_conversations(tmp_path, FAILING, "bad.conv.yaml")
    out = tmp_path / "report.json"
    assert agno("test", str(bad), "--json", str(out)).exit_code == 1
    report = json.loads(out.read_text())
    assert report["version"] == 1 and report["passed"] is False
    assert report["counts"] == {"conversations": 1, "passed": 0, "failed": 1, "turns": 1}
    [conversation] = report["conversations"]
    assert conversation["id"] == f"{bad}::wants coffee"
    assert [f["expectation"] for f in conversation["failures"]] == ["contains", "history_runs"]
    assert conversation["failures"][0]["line"] == line_of(bad, "contains: coffee")
    assert conversation["turns"][0]["status"] == "completed"


SECRET = "sk-live-4242-very-secret"


def test_record_then_replay_with_no_key_and_no_secret_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_TOKEN", SECRET)
    team = tmp_path / "team.yaml"
    write_team(tmp_path)
    team.write_text(team.read_text() + "instructions: Use the token ${SHOP_TOKEN} politely.\n")
    path = write_conversations(tmp_path, PASSING + "      - {say: thanks, expect: {history_runs: 1}}\n")
    cassettes = tmp_path / "cassettes"
    result = agno("test", str(path), "--record", str(cassettes))
    assert result.exit_code == 0, result.output
    [cassette] = list(cassettes.rglob("*.json"))
    assert cassette.relative_to(cassettes).as_posix() == "test_shop/adds-tea.json"
    text = cassette.read_text()
    assert SECRET not in text and "Use the token *** politely" in text
    recorded = json.loads(text)
    assert {i["agent"] for i in recorded["interactions"]} == {"leader", "seller", "summary"}

    # Replay: a provider model with no key set, and no network (the suite blocks it): answered from the cassette.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = agno("test", str(path), "--replay", str(cassettes), "--model", "openai/gpt-5-mini")
    assert result.exit_code == 0, result.output
    result = agno("test", str(path), "--model", "openai/gpt-5-mini")  # without the cassette: refused, exit 2
    assert result.exit_code == 2 and "OPENAI_API_KEY" in result.output


def test_a_changed_prompt_fails_the_replay_with_a_diff(tmp_path: Path) -> None:
    path = write_conversations(tmp_path, PASSING)
    cassettes = tmp_path / "cassettes"
    assert agno("test", str(path), "--record", str(cassettes)).exit_code == 0
    team = tmp_path / "team.yaml"
    team.write_text(team.read_text().replace("role: Sells things", "role: Sells things, politely"))
    result = agno("test", str(path), "--replay", str(cassettes))
    assert result.exit_code == 1
    assert "replay: request 1 of seller differs from the recording" in result.output
    assert "-    Sells things" in result.output and "+    Sells things, politely" in result.output

    result = agno("test", str(path), "--replay", str(tmp_path / "none"))
    assert result.exit_code == 1 and "no recording at" in result.output and "--record" in result.output


def test_keep_store_leaves_each_conversations_sessions_to_look_at(tmp_path: Path) -> None:
    path = write_conversations(tmp_path, PASSING)
    kept = tmp_path / "kept"
    assert agno("test", str(path), "--keep-store", str(kept)).exit_code == 0
    store = kept / "test_shop" / "adds-tea"
    listed = agno("sessions", "list", "--db", str(store), "--json")
    assert [s["session_id"] for s in json.loads(listed.output)] == ["test-adds-tea"]
    result = agno("test", str(path), "--keep-store", str(kept))  # never writes over an earlier run
    assert result.exit_code == 2 and "already holds a store" in result.output


def _pytest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=cwd, capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


def test_the_pytest_plugin_makes_each_conversation_an_item(tmp_path: Path) -> None:
    write_conversations(tmp_path, PASSING, "test_good.conv.yaml")
    bad = write_conversations(tmp_path, FAILING, "test_bad.conv.yaml")
    write_conversations(tmp_path, FAILING, "other.conv.yaml")  # not test_*: never collected
    done = _pytest(str(tmp_path), cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 1 passed" in done.stdout
    assert f"{bad}:{line_of(bad, 'contains: coffee')}:21: turn 1: contains:" in done.stdout
    assert "test_bad.conv.yaml::wants coffee" in done.stdout

    done = _pytest(str(tmp_path), "-k", "tea", cwd=tmp_path)
    assert done.returncode == 0 and "1 passed, 1 deselected" in done.stdout

    (tmp_path / "test_broken.conv.yaml").write_text(
        "team: team.yaml\nconversations: [{name: c, turns: [{sey: hi}]}]\n"
    )
    done = _pytest(str(tmp_path / "test_broken.conv.yaml"), cwd=tmp_path)
    assert (
        done.returncode != 0
        and "test_broken.conv.yaml:2:" in done.stdout
        and "unknown key 'sey'" in done.stdout
    )


def test_the_examples_conversations_pass() -> None:
    result = agno("test", str(REPO / "tests" / "conversations"), "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output


def test_the_conversation_schema_is_printed_and_checks_the_examples() -> None:
    from jsonschema import Draft202012Validator

    from agno_yaml.config.yamlload import load_yaml

    schema = json.loads(agno("schema", "conversation").output)
    assert schema["title"] == "agno-yaml conversation file"
    Draft202012Validator.check_schema(schema)
    for path in sorted((REPO / "tests" / "conversations").glob("*.conv.yaml")):
        assert not list(Draft202012Validator(schema).iter_errors(load_yaml(path).data)), path
    assert json.loads(agno("schema").output)["title"] != schema["title"]  # the team schema by default
