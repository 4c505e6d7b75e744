"""The HTTP API (agno_yaml/server): every route through Starlette's test client, and once through a
real uvicorn server on 127.0.0.1 with the official ``openai`` client as the caller.

Concurrency is proven with barriers, not clocks: a model that waits for N turns to be inside it at
once can only get there if the server does not serialise them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from agno_yaml import models
from agno_yaml.cli import cli
from agno_yaml.messages import Message
from agno_yaml.models.offline import FunctionModel
from agno_yaml.server import TeamRegistry, create_app
from agno_yaml.server.openapi import OPENAPI

ROOT = Path(__file__).resolve().parent.parent
MULTI = str(ROOT / "teams" / "multilingual.yaml")
TEAM = "multilingual-team"


def client(tmp_path: Path, *files: str, model: str | None = "echo", **options: Any) -> TestClient:
    registry = TeamRegistry(list(files) or [MULTI], db=str(tmp_path / "db"), model=model)
    return TestClient(create_app(registry, **options))


def events(raw: str) -> list[tuple[str, Any]]:
    """Server-Sent Events as (event, parsed data)."""
    found = []
    for block in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        found.append((lines["event"], json.loads(lines["data"])))
    return found


def run(c: TestClient, message: str, user: str = "u1", session: str | None = "s1", **extra: Any) -> Any:
    body = {"message": message, "user_id": user, **extra} | ({"session_id": session} if session else {})
    return c.post(f"/teams/{TEAM}/runs", json=body)


# -- turns ----------------------------------------------------------------------------------------------
def test_a_run_answers_the_clis_json_envelope(tmp_path: Path) -> None:
    with client(tmp_path) as c:
        response = run(c, "comment ça va?")
    assert response.status_code == 200 and response.headers["x-session-id"] == "s1"
    data = response.json()
    assert (
        data["status"] == "completed" and data["answer"] == "comment ça va?" and data["new_session"] is True
    )
    cli_json = CliRunner().invoke(
        cli, [MULTI, "hi", "--model", "echo", "--db", str(tmp_path / "cli"), "-s", "x", "--json"]
    )
    assert set(json.loads(cli_json.stdout)) == set(data)  # the same document, field for field


def test_a_streamed_run_sends_text_delegations_tool_calls_then_the_envelope(tmp_path: Path) -> None:
    with client(tmp_path) as c:
        run(c, "first")
        with c.stream("POST", f"/teams/{TEAM}/runs", json={"message": "second", "user_id": "u1", "session_id": "s1", "stream": True}) as r:  # fmt: skip
            assert r.headers["content-type"].startswith("text/event-stream")
            found = events(r.read().decode())
    kinds = [k for k, _ in found]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert (
        kinds.index("tool_call")
        < kinds.index("delegation")
        < kinds.index("member_done")
        < kinds.index("tool_result")
    )
    assert found[0][1] == {"team_id": TEAM, "user_id": "u1", "session_id": "s1", "new_session": False}
    done = found[-1][1]
    text = "".join(d["text"] for k, d in found if k == "text")
    assert text == done["answer"] and 'earlier in this session: "first"' in text
    delegation = next(d for k, d in found if k == "delegation")
    assert delegation["member_id"] == "agent-1"
    assert next(d for k, d in found if k == "member_done")["status"] == "completed"


def test_bad_requests_are_one_line_with_the_cli_exit_code(tmp_path: Path) -> None:
    with client(tmp_path) as c:
        missing = c.post(f"/teams/{TEAM}/runs", json={"user_id": "u1"})
        extra = c.post(f"/teams/{TEAM}/runs", json={"message": "hi", "sesion_id": "s"})
        not_json = c.post(
            f"/teams/{TEAM}/runs", content=b"{nope", headers={"content-type": "application/json"}
        )
        unknown = c.post("/teams/nope/runs", json={"message": "hi"})
    assert missing.status_code == 400 and missing.json() == {
        "version": 1, "status": "error", "answer": None, "exit_code": 2,
        "error": "body: 'message' is a required property",
    }  # fmt: skip
    assert extra.status_code == 400 and "'sesion_id' was unexpected" in extra.json()["error"]
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["error"]
    assert (
        unknown.status_code == 404
        and unknown.json()["error"] == f"no team 'nope' is served here (served: {TEAM})"
    )


# -- user scoping -----------------------------------------------------------------------------------------
def test_another_users_session_is_404_on_every_route_and_never_data(tmp_path: Path) -> None:
    with client(tmp_path) as c:
        assert run(c, "secret plans").status_code == 200
        answers = [
            c.get("/sessions", params={"user_id": "u2"}),
            c.get("/sessions/s1", params={"user_id": "u2"}),
            c.delete("/sessions/s1", params={"user_id": "u2"}),
            run(c, "let me in", user="u2"),
            c.post(
                "/v1/chat/completions",
                json={"model": TEAM, "user": "u2", "messages": [{"role": "user", "content": "let me in"}]},
                headers={"X-Session-Id": "s1"},
            ),
        ]
        assert answers[0].status_code == 200 and answers[0].json() == {"sessions": []}
        assert [a.status_code for a in answers[1:]] == [404, 404, 404, 404]
        for answer in answers:
            assert "secret plans" not in answer.text
        mine = c.get("/sessions/s1", params={"user_id": "u1"}).json()
    assert [r["input"] for r in mine["runs"] if r["parent_run_id"] is None] == [
        "secret plans"
    ]  # nothing added


def test_sessions_list_show_and_delete(tmp_path: Path) -> None:
    with client(tmp_path) as c:
        run(c, "one", session="a")
        run(c, "two", session="b")
        listed = c.get("/sessions", params={"user_id": "u1"}).json()["sessions"]
        assert [s["session_id"] for s in listed] == ["b", "a"] and listed[0]["first_message"] == "two"
        assert [
            s["session_id"]
            for s in c.get("/sessions", params={"user_id": "u1", "limit": 1}).json()["sessions"]
        ] == ["b"]
        shown = c.get("/sessions/a", params={"user_id": "u1"}).json()
        assert shown["session"]["session_id"] == "a" and len(shown["runs"]) == 2  # the turn and its member
        assert c.delete("/sessions/a", params={"user_id": "u1"}).json() == {"deleted": "a"}
        assert c.get("/sessions/a", params={"user_id": "u1"}).status_code == 404
        assert c.get("/sessions", params={"user_id": "u1", "limit": "x"}).status_code == 400


# -- auth ---------------------------------------------------------------------------------------------------
def test_a_bearer_token_guards_every_route_but_health_and_the_viewer(tmp_path: Path) -> None:
    with client(tmp_path, api_key="s3cret") as c:
        guarded = [
            c.get("/teams"), c.get("/sessions"), c.get("/sessions/s1"), c.delete("/sessions/s1"),
            run(c, "hi"), c.get("/openapi.json"), c.get("/v1/models"),
            c.post("/v1/chat/completions", json={"model": TEAM, "messages": [{"role": "user", "content": "x"}]}),
        ]  # fmt: skip
        assert {r.status_code for r in guarded} == {401}
        assert "missing bearer token" in guarded[0].json()["error"]["message"]
        assert c.get("/teams", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/health").status_code == 200 and c.get("/ui/").status_code == 200
        ok = c.get("/teams", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200 and ok.json()["teams"][0]["id"] == TEAM


def test_a_trusted_user_header_names_the_user(tmp_path: Path) -> None:
    with client(tmp_path, trust_user_header="X-Forwarded-User") as c:
        assert run(c, "hi", user="u1").status_code == 401  # no header: the proxy is not in front
        mine = c.post(
            f"/teams/{TEAM}/runs",
            json={"message": "hi", "session_id": "s1"},
            headers={"X-Forwarded-User": "ann"},
        )
        assert mine.json()["user_id"] == "ann"
        other = c.post(
            f"/teams/{TEAM}/runs",
            json={"message": "hi", "user_id": "bob"},
            headers={"X-Forwarded-User": "ann"},
        )
        assert other.status_code == 403
        assert (
            c.get("/sessions", params={"user_id": "bob"}, headers={"X-Forwarded-User": "ann"}).status_code
            == 403
        )


def test_serve_refuses_a_public_address_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGNO_RUN_API_KEY", raising=False)
    result = CliRunner().invoke(cli, ["serve", MULTI, "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "refusing to listen on 0.0.0.0 without an API key" in result.stderr


# -- concurrency ------------------------------------------------------------------------------------------
@pytest.fixture
def gated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A team whose model replies only once ``gate`` lets it: a barrier, or a record of overlaps."""
    state: dict[str, Any] = {"gate": None, "inside": 0, "most": 0, "systems": []}
    lock = threading.Lock()

    def reply(messages: list[Message], tools: list[dict[str, Any]]) -> str:
        with lock:
            state["inside"] += 1
            state["most"] = max(state["most"], state["inside"])
            state["systems"].append(messages[0].content)
        try:
            if state["gate"] is not None:
                state["gate"]()
            return f"answer to {messages[-1].content}"
        finally:
            with lock:
                state["inside"] -= 1

    monkeypatch.setattr(models, "_registry", dict(models._registry))
    models.register_model("gated", lambda spec: FunctionModel(reply, name="gated"))
    team = tmp_path / "team.yaml"
    team.write_text("name: Gated\nmodel: gated\ninstructions: version one\n", encoding="utf-8")
    state["file"] = team
    yield state


def _parallel(c: TestClient, bodies: list[dict[str, Any]]) -> list[Any]:
    results: list[Any] = [None] * len(bodies)

    def one(i: int) -> None:
        results[i] = c.post("/teams/gated/runs", json=bodies[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_turns_on_different_sessions_run_at_once(tmp_path: Path, gated: dict[str, Any]) -> None:
    barrier = threading.Barrier(8, timeout=20)  # broken (an error) unless 8 model calls wait at once
    gated["gate"] = barrier.wait
    with client(tmp_path, str(gated["file"]), model=None) as c:
        results = _parallel(
            c, [{"message": f"m{i}", "user_id": "u", "session_id": f"s{i}"} for i in range(8)]
        )
    assert [r.json()["status"] for r in results] == ["completed"] * 8, results[0].json()
    assert gated["most"] == 8


def test_turns_on_one_session_are_serialised_and_see_each_other(
    tmp_path: Path, gated: dict[str, Any]
) -> None:
    with client(tmp_path, str(gated["file"]), model=None) as c:
        results = _parallel(c, [{"message": f"m{i}", "user_id": "u", "session_id": "same"} for i in range(6)])
        shown = c.get("/sessions/same", params={"user_id": "u"}).json()
    assert all(r.json()["status"] == "completed" for r in results)
    assert gated["most"] == 1 and len(shown["runs"]) == 6


def test_a_changed_team_file_is_served_as_it_is_now(tmp_path: Path, gated: dict[str, Any]) -> None:
    team: Path = gated["file"]
    with client(tmp_path, str(team), model=None) as c:
        body = {"message": "hi", "user_id": "u"}
        assert c.post("/teams/gated/runs", json=body).json()["status"] == "completed"
        team.write_text("name: Gated\nmodel: gated\ninstructions: version two, longer\n", encoding="utf-8")
        assert c.post("/teams/gated/runs", json=body).json()["status"] == "completed"
        team.write_text("name: Gated\nmodel: gated\nnum_history_runs: many\n", encoding="utf-8")
        broken = c.post("/teams/gated/runs", json=body)
        team.write_text(
            "name: Gated\nmodel: gated\ninstructions: version three, fixed again\n", encoding="utf-8"
        )
        fixed = c.post("/teams/gated/runs", json=body)
    assert "version one" in gated["systems"][0] and "version two" in gated["systems"][1]
    assert broken.status_code == 503 and "num_history_runs" in broken.json()["error"]
    assert fixed.json()["status"] == "completed" and "version three" in gated["systems"][-1]


def test_the_openapi_description_names_every_route(tmp_path: Path) -> None:
    with client(tmp_path) as c:
        described = c.get("/openapi.json").json()
        paths = {getattr(r, "path", "") for r in c.app.routes}  # type: ignore[attr-defined]
    assert described == OPENAPI
    assert paths - {"/ui"} <= set(described["paths"]) | {"/openapi.json"}


def test_sessions_of_every_served_team_are_found_in_memory_stores(tmp_path: Path) -> None:
    second = tmp_path / "second.yaml"
    second.write_text("name: Second\nmodel: echo\n", encoding="utf-8")
    registry = TeamRegistry([MULTI, str(second)], db="memory:", model="echo")
    with TestClient(create_app(registry)) as c:
        run(c, "to the first", session="a")
        c.post("/teams/second/runs", json={"message": "to the second", "user_id": "u1", "session_id": "b"})
        listed = {
            s["session_id"]: s["team_id"]
            for s in c.get("/sessions", params={"user_id": "u1"}).json()["sessions"]
        }
        assert listed == {"a": TEAM, "b": "second"}
        assert c.get("/sessions/b", params={"user_id": "u1"}).status_code == 200


def test_serve_refuses_a_team_file_that_does_not_load_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: X\nmodel: echo\nnum_history_runs: lots\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["serve", str(bad)])
    assert result.exit_code == 2 and result.stderr.startswith(f"{bad}:3:19: $.num_history_runs:")
    missing = CliRunner().invoke(cli, ["serve", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "cannot read the team file" in missing.stderr
    assert "internal error" not in result.stderr + missing.stderr
