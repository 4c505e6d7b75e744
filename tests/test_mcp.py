"""MCP servers in the team file, against real servers: tests/mcp_servers/calc_server.py (written with
the mcp package's own server API) over stdio and over streamable HTTP, and the npm registry's
@modelcontextprotocol/server-filesystem (installed by .ci/run into .ci/node)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agno_yaml import models
from agno_yaml.cli import cli
from agno_yaml.config import load_team
from agno_yaml.messages import Message
from agno_yaml.models import register_model
from agno_yaml.models.offline import FunctionModel
from agno_yaml.runtime.compile import compile_team
from agno_yaml.runtime.team import Team
from agno_yaml.tools import mcp_servers

ROOT = Path(__file__).resolve().parent.parent
CALC = ROOT / "tests" / "mcp_servers" / "calc_server.py"
FILESYSTEM = (
    ROOT
    / ".ci"
    / "node"
    / "node_modules"
    / "@modelcontextprotocol"
    / "server-filesystem"
    / "dist"
    / "index.js"
)


@pytest.fixture(autouse=True)
def fresh_servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test registers its own models and leaves no server running."""
    monkeypatch.setattr(models, "_registry", dict(models._registry))
    yield
    mcp_servers.stop_all()


def wait_for(condition: Callable[[], bool], seconds: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.05)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    status = Path(f"/proc/{pid}/stat")
    try:  # a zombie is dead, only not yet reaped by its (former) parent
        return status.read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True


def calls_then_answer(*calls: tuple[str, dict[str, Any]]) -> tuple[FunctionModel, list[list[str]]]:
    """A model that makes ``calls`` (one per reply), then answers with every tool result it read."""
    offered: list[list[str]] = []

    def reply(messages: list[Message], tools: list[dict[str, Any]]) -> Any:
        offered.append([t["function"]["name"] for t in tools])
        done = sum(1 for m in messages if m.role == "tool")
        if done < len(calls):
            name, args = calls[done]
            return {"tool_calls": [{"name": name, "arguments": args}]}
        return " / ".join(m.content or "" for m in messages if m.role == "tool")

    return FunctionModel(reply, name="mcp-test"), offered


def team_from(tmp_path: Path, body: str, model: FunctionModel | None = None) -> Team:
    if model is not None:
        register_model("mcp-test", lambda spec: model)
    path = tmp_path / "team.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return compile_team(load_team(path), db=tmp_path / "db")


def calc_entry(tmp_path: Path, extra: str = "") -> str:
    return (
        f"  - name: calc\n    command: [python, {json.dumps(str(CALC))}]\n"
        f"    env: {{CALC_SERVER_LOG: {json.dumps(str(tmp_path / 'calls.jsonl'))}, "
        f"CALC_SERVER_PID: {json.dumps(str(tmp_path / 'pids'))}}}\n" + extra
    )


def received(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_tools_are_offered_with_the_servers_schemas_and_calls_reach_the_server(tmp_path: Path) -> None:
    model, offered = calls_then_answer(("calc__add", {"a": 2, "b": 3}))
    team = team_from(
        tmp_path,
        "model: mcp-test\nmcp_servers:\n"
        + calc_entry(tmp_path, "    include_tools: [add, echo, pixel]\n    exclude_tools: [echo]\n"),
        model,
    )
    out = team.run("two plus three", user_id="u", session_id="s")
    assert out.ok, out.run.error
    assert offered[0] == ["calc__add", "calc__pixel"]
    add = next(t for t in model.requests[0]["tools"] if t["function"]["name"] == "calc__add")["function"]
    assert add["description"] == "Add two integers."
    assert add["parameters"]["properties"] == {
        "a": {"title": "A", "type": "integer"},
        "b": {"title": "B", "type": "integer"},
    }
    assert add["parameters"]["required"] == ["a", "b"]
    assert [(c["tool"], c["args"]) for c in received(tmp_path)] == [("add", {"a": 2, "b": 3})]
    assert out.content == "5"
    stored = team.store.runs("s", "u") if team.store else []
    assert [(t.name, t.result) for t in stored[0].tool_calls] == [("calc__add", "5")]


def test_one_server_process_serves_every_turn_and_member(tmp_path: Path) -> None:
    model, _ = calls_then_answer(("calc__echo", {"text": "hi"}))
    body = (
        "model: mcp-test\nmcp_servers:\n" + calc_entry(tmp_path)
        + "members:\n  - name: A\n    mcp_servers:\n" + textwrap.indent(calc_entry(tmp_path), "    ")
    )  # fmt: skip
    team = team_from(tmp_path, body, model)
    team.run("one", user_id="u", session_id="s")
    team_from(tmp_path, body, model).run("two", user_id="u", session_id="s")  # compiled again: reused
    pids = (tmp_path / "pids").read_text().split()
    assert len(pids) == 1
    assert {c["pid"] for c in received(tmp_path)} == {int(pids[0])}
    mcp_servers.stop_all()
    wait_for(lambda: gone(int(pids[0])), what="the server to exit")


def test_a_crash_mid_turn_is_an_error_result_and_the_next_call_restarts_the_server(tmp_path: Path) -> None:
    model, _ = calls_then_answer(("calc__crash", {}), ("calc__add", {"a": 1, "b": 1}))
    team = team_from(tmp_path, "model: mcp-test\nmcp_servers:\n" + calc_entry(tmp_path), model)
    out = team.run("crash", user_id="u", session_id="s")
    assert out.ok, out.run.error
    crash, add = out.run.tool_calls
    assert crash.error is not None and "Connection closed" in crash.error
    assert "calc server: crashing on purpose" in crash.error  # its stderr, quoted
    assert add.result == "2"
    assert len((tmp_path / "pids").read_text().split()) == 2


def test_a_call_that_outlasts_the_timeout_is_an_error_result(tmp_path: Path) -> None:
    model, _ = calls_then_answer(("calc__sleep", {"seconds": 30}), ("calc__echo", {"text": "still here"}))
    team = team_from(
        tmp_path, "model: mcp-test\nmcp_servers:\n" + calc_entry(tmp_path, "    timeout: 1\n"), model
    )
    started = time.monotonic()
    out = team.run("sleep", user_id="u", session_id="s")
    assert time.monotonic() - started < 25  # the sleep asked for is 30 s
    assert out.ok, out.run.error
    sleep, echo = out.run.tool_calls
    assert sleep.error is not None and "timed out" in sleep.error
    assert echo.result == "still here"


@pytest.mark.parametrize("store_media", [True, False])
def test_images_follow_store_media(tmp_path: Path, store_media: bool) -> None:
    model, _ = calls_then_answer(("calc__pixel", {}))
    body = f"model: mcp-test\nstore_media: {str(store_media).lower()}\nmcp_servers:\n" + calc_entry(tmp_path)
    team = team_from(tmp_path, body, model)
    out = team.run("a picture", user_id="u", session_id="s")
    stored = team.store.runs("s", "u")[0].tool_calls[0].result if team.store else None
    assert stored is not None and stored.startswith("[image image/png, 70 bytes")
    if store_media:
        assert "data:image/png;base64,iVBOR" in stored
    else:
        assert stored == "[image image/png, 70 bytes, not stored (store_media: false)]"
        assert "base64" not in json.dumps(out.run.to_dict())


def test_env_secrets_are_masked_in_results_and_inspect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALC_SECRET", "s3cret-value-42")
    model, _ = calls_then_answer(("calc__secret_env", {}))
    body = "model: mcp-test\nmcp_servers:\n" + calc_entry(tmp_path, "    timeout: 20\n").replace(
        "env: {", "env: {CALC_SECRET: '${CALC_SECRET}', "
    )
    team = team_from(tmp_path, body, model)
    out = team.run("secret", user_id="u", session_id="s")
    assert out.run.tool_calls[0].result == "***"
    assert "s3cret" not in json.dumps([r.to_dict() for r in team.store.runs("s", "u")] if team.store else [])
    shown = CliRunner().invoke(cli, ["inspect", str(tmp_path / "team.yaml"), "--json"])
    assert shown.exit_code == 0, shown.output
    assert "s3cret" not in shown.output and "${CALC_SECRET}" in shown.output
    assert "calc__secret_env" in shown.output


def test_inspect_lists_tools_with_schemas_or_says_which_server_failed(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(f"model: echo\nmcp_servers:\n{calc_entry(tmp_path)}", encoding="utf-8")
    shown = CliRunner().invoke(cli, ["inspect", str(team), "--json"])
    assert shown.exit_code == 0, shown.output
    tools = {t["function"]["name"]: t["function"] for t in json.loads(shown.stdout)["leader"]["tools"]}
    assert set(tools) >= {"calc__add", "calc__echo", "calc__sleep", "calc__crash", "calc__pixel"}
    assert tools["calc__echo"]["parameters"]["required"] == ["text"]
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "model: echo\nmcp_servers:\n"
        + calc_entry(tmp_path).replace("env: {", "env: {CALC_SERVER_FAIL: '1', "),
        encoding="utf-8",
    )
    failed = CliRunner().invoke(cli, ["inspect", str(broken)])
    assert failed.exit_code == 2
    assert (
        f"{broken}:3:5: $.mcp_servers[0]: MCP server 'calc' (python {CALC}) failed to start" in failed.stderr
    )
    assert "calc server: refusing to start (CALC_SERVER_FAIL is set)" in failed.stderr


def test_validate_starts_nothing_and_reports_bad_entries(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    team = tmp_path / "team.yaml"
    team.write_text(
        textwrap.dedent(
            f"""\
            model: echo
            mcp_servers:
              - name: starter
                command: [python, -c, "open({str(marker)!r}, 'w')"]
              - name: both
                command: [x]
                url: http://127.0.0.1:1/mcp
              - name: neither
              - name: "has space"
                url: ftp://x
            """
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["validate", str(team)])
    assert not marker.exists()
    lines = result.stderr.splitlines()
    assert result.exit_code == 2
    assert lines == [
        f"{team}:5:5: $.mcp_servers[1]: both command and url are given; give one of: command: [PROGRAM, ARG...]"
        " (started over stdio) or url: http://HOST:PORT/mcp",
        f"{team}:8:5: $.mcp_servers[2]: neither command nor url is given; give one of: command: [PROGRAM, ARG...]"
        " (started over stdio) or url: http://HOST:PORT/mcp",
        f'{team}:9:11: $.mcp_servers[3].name: "has space" is not an MCP server name; use letters, digits, _ and -'
        " (a letter first, at most 32): it prefixes the tool names",
        f'{team}:10:10: $.mcp_servers[3].url: "ftp://x" is not an HTTP URL; write http://HOST:PORT/mcp (or https://)',
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_streamable_http_server_with_headers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    env = {**os.environ, "CALC_SERVER_LOG": str(tmp_path / "calls.jsonl")}
    server = subprocess.Popen(
        [sys.executable, str(CALC), "--http", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    try:

        def listening() -> bool:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        wait_for(listening, 20, "the HTTP server to listen")
        monkeypatch.setenv("CALC_TOKEN", "tok-123456")
        model, offered = calls_then_answer(("web__echo", {"text": "over http"}))
        body = f"""\
            model: mcp-test
            mcp_servers:
              - name: web
                url: http://127.0.0.1:{port}/mcp
                headers: {{Authorization: "Bearer ${{CALC_TOKEN}}"}}
                include_tools: [echo]
            """
        team = team_from(tmp_path, body, model)
        out = team.run("echo", user_id="u", session_id="s")
        assert out.ok, out.run.error
        assert offered[0] == ["web__echo"]
        assert out.content == "over http"
        assert received(tmp_path) == [{"tool": "echo", "args": {"text": "over http"}, "pid": server.pid}]
        assert "tok-123456" in team.secrets
    finally:
        server.terminate()
        server.wait(10)


def scripted_team(tmp_path: Path, calls: list[dict[str, Any]]) -> Path:
    replies = [{"tool_calls": [c]} for c in calls] + ["done"]
    team = tmp_path / "team.yaml"
    team.write_text(
        f"model: {{id: scripted, replies: {json.dumps(replies)}}}\ndb: {{path: db}}\nmcp_servers:\n"
        + calc_entry(tmp_path),
        encoding="utf-8",
    )
    return team


@pytest.mark.slow
def test_no_server_outlives_a_cli_run(tmp_path: Path) -> None:
    team = scripted_team(tmp_path, [{"name": "calc__add", "arguments": {"a": 1, "b": 2}}])
    agno_run = [sys.executable, "-m", "agno_yaml"]
    done = subprocess.run(
        [*agno_run, str(team), "add", "-s", "s1"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"
    (pid,) = (tmp_path / "pids").read_text().split()
    wait_for(lambda: gone(int(pid)), 10, "the server to exit with the run")


@pytest.mark.slow
def test_no_server_outlives_sigterm_mid_call(tmp_path: Path) -> None:
    team = scripted_team(tmp_path, [{"name": "calc__sleep", "arguments": {"seconds": 25}}])
    run = subprocess.Popen(
        [sys.executable, "-m", "agno_yaml", str(team), "sleep", "-s", "s1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(lambda: bool(received(tmp_path)), 30, "the server to get the call")
        (pid,) = (tmp_path / "pids").read_text().split()
        run.send_signal(signal.SIGTERM)
        assert run.wait(20) == 128 + signal.SIGTERM
        wait_for(lambda: gone(int(pid)), 10, "the server to exit after SIGTERM")
    finally:
        if run.poll() is None:
            run.kill()


def test_npm_filesystem_server(tmp_path: Path) -> None:
    if not FILESYSTEM.is_file():
        if os.environ.get("CI_REQUIRE_MCP_NPM"):
            pytest.fail(
                f"CI_REQUIRE_MCP_NPM is set but {FILESYSTEM} is missing (.ci/run installs it with npm)"
            )
        pytest.skip(
            f"@modelcontextprotocol/server-filesystem is not installed ({FILESYSTEM}); .ci/run installs it"
        )
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "tea.md").write_text("Green tea: 80 C\n", encoding="utf-8")
    model, offered = calls_then_answer(
        ("fs__list_directory", {"path": str(notes)}),
        ("fs__read_text_file", {"path": str(notes / "tea.md")}),
    )
    body = f"""\
        model: mcp-test
        mcp_servers:
          - name: fs
            command: [node, {json.dumps(str(FILESYSTEM))}, {json.dumps(str(notes))}]
            include_tools: [list_directory, read_text_file, write_file]
            exclude_tools: [write_file]
        """
    team = team_from(tmp_path, body, model)
    out = team.run("what is in my notes?", user_id="u", session_id="s")
    assert out.ok, out.run.error
    assert sorted(offered[0]) == ["fs__list_directory", "fs__read_text_file"]
    schema = next(t for t in model.requests[0]["tools"] if t["function"]["name"] == "fs__read_text_file")
    assert "path" in schema["function"]["parameters"]["properties"]
    listing, text = out.run.tool_calls
    assert listing.result == "[FILE] tea.md"
    assert text.result == "Green tea: 80 C\n"


@pytest.mark.slow
def test_validate_schema_help_and_sessions_never_import_mcp(tmp_path: Path) -> None:
    team = ROOT / "teams" / "mcp-tools.yaml"
    probe = textwrap.dedent(
        f"""
        import sys
        from click.testing import CliRunner
        from agno_yaml.cli import cli
        for args in (["--help"], ["validate", {str(team)!r}], ["schema"],
                     ["sessions", "list", "--db", {str(tmp_path / "db")!r}]):
            result = CliRunner().invoke(cli, args)
            assert result.exit_code == 0, (args, result.output)
            assert not [m for m in sys.modules if m == "mcp" or m.startswith("mcp.")], args
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_show_context_lists_the_mcp_tools(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(f"model: echo\nmcp_servers:\n{calc_entry(tmp_path)}", encoding="utf-8")
    shown = CliRunner().invoke(cli, [str(team), "hello", "--show-context", "--json"])
    assert shown.exit_code == 0, shown.output
    assert '"calc__add"' in shown.stdout


def test_result_text_joins_text_and_places_media() -> None:
    from mcp import types

    result = types.CallToolResult(
        content=[
            types.TextContent(type="text", text="one"),
            types.EmbeddedResource(
                type="resource", resource=types.TextResourceContents(uri="file:///a.txt", text="two")
            ),
            types.EmbeddedResource(
                type="resource",
                resource=types.BlobResourceContents(
                    uri="file:///b.bin", mime_type="application/zip", blob="AAAA"
                ),
            ),
            types.AudioContent(type="audio", data="AAAA", mime_type="audio/wav"),
        ]
    )
    assert mcp_servers.result_text(result, store_media=False).splitlines() == [
        "one",
        "two",
        "[resource file:///b.bin application/zip, 3 bytes, not stored (store_media: false)]",
        "[audio audio/wav, 3 bytes, not stored (store_media: false)]",
    ]
    assert "data:audio/wav;base64,AAAA" in mcp_servers.result_text(result, store_media=True)
