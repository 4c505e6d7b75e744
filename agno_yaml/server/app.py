"""The HTTP API over served teams (Starlette; ``agno-run serve`` runs it on uvicorn).

    POST   /teams/{team_id}/runs       {message, user_id?, session_id?, stream?, state?}
    GET    /teams                      the served teams
    GET    /sessions?user_id=&team_id=&limit=
    GET    /sessions/{id}?user_id=     the stored documents, as ``sessions export`` writes them
    DELETE /sessions/{id}?user_id=
    POST   /v1/chat/completions        OpenAI-compatible (``openai_api.py``); GET /v1/models
    GET    /health, GET /openapi.json, GET /ui (the session viewer)

A turn answers with the CLI's ``--json`` envelope; with ``stream: true`` with Server-Sent Events:
``start``, ``text``, ``delegation``, ``member_done``, ``tool_call``, ``tool_result``, then ``done``
(the envelope) or ``error``. Every session route is scoped by the user: another user's session is a
404, the same as a session that does not exist.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

import jsonschema
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import SessionError
from ..runtime.sessions import SessionView
from . import openai_api
from .auth import Access, BearerAuth
from .openapi import OPENAPI
from .teams import TeamRegistry, TeamUnavailable
from .turns import DEFAULT_USER, Refused, TurnRequest, TurnRunner

__all__ = ["create_app"]

RUN_BODY = {
    "type": "object",
    "properties": {
        "message": {"type": "string", "minLength": 1},
        "user_id": {"type": "string", "minLength": 1},
        "session_id": {"type": "string", "minLength": 1},
        "stream": {"type": "boolean"},
        "state": {"type": "object"},
    },
    "required": ["message"],
    "additionalProperties": False,
}


def error(status: int, message: str, kind: str = "bad_request") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind}}, status)


def refused_envelope(message: str, exit_code: int) -> dict[str, Any]:
    """The CLI's ``--json`` document of a turn that produced no run."""
    return {"version": 1, "status": "error", "answer": None, "error": message, "exit_code": exit_code}


def sse(kind: str, data: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n".encode()


async def json_body(request: Request, schema: dict[str, Any]) -> dict[str, Any]:
    """The request's JSON body, checked against ``schema``; Refused(400) names what is wrong."""
    try:
        body = await request.json()
    except ValueError:
        raise Refused(400, "the body is not JSON; send a JSON object") from None
    problem = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(body))
    if problem is not None:
        where = "body" + "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in problem.absolute_path)
        raise Refused(400, f"{where}: {problem.message}")
    return dict(body)


class Api:
    """The routes, over one registry of teams and one pool of turn threads."""

    def __init__(self, registry: TeamRegistry, access: Access, runner: TurnRunner) -> None:
        self.registry = registry
        self.access = access
        self.runner = runner

    # -- teams and turns ----------------------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "teams": len(self.registry.served)})

    async def teams(self, request: Request) -> Response:
        return JSONResponse({"teams": self.registry.describe()})

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(OPENAPI)

    async def run(self, request: Request) -> Response:
        team_id = request.path_params["team_id"]
        try:
            body = await json_body(request, RUN_BODY)
            team = self._team(team_id)
            user = self.access.user(request, body.get("user_id"), team.spec.user_id)
        except Refused as refused:
            return JSONResponse(refused_envelope(str(refused), refused.exit_code), refused.status)
        turn = TurnRequest(team, body["message"], user, body.get("session_id"), body.get("state"))
        if body.get("stream"):
            return StreamingResponse(self._events(turn, team_id), media_type="text/event-stream")
        try:
            finished = await self.runner.run(turn)
        except Refused as refused:
            return JSONResponse(refused_envelope(str(refused), refused.exit_code), refused.status)
        return JSONResponse(finished.envelope(team_id), headers={"X-Session-Id": finished.session_id})

    async def _events(self, turn: TurnRequest, team_id: str) -> AsyncIterator[bytes]:
        async for kind, data in self.runner.stream(turn):
            if kind == "start":
                yield sse("start", {"team_id": team_id, "user_id": turn.user_id, **data})
            elif kind == "text":
                yield sse("text", {"text": data})
            elif kind == "done":
                yield sse("done", data.envelope(team_id))
            elif kind == "refused":
                yield sse("error", refused_envelope(str(data), data.exit_code) | {"http_status": data.status})
            else:
                yield sse(kind, data)

    def _team(self, team_id: str) -> Any:
        try:
            team = self.registry.get(team_id)
        except TeamUnavailable as exc:
            raise Refused(503, str(exc)) from None
        if team is None:
            served = ", ".join(self.registry.served) or "none"
            raise Refused(404, f"no team {team_id!r} is served here (served: {served})")
        return team

    # -- sessions ---------------------------------------------------------------------------------------
    def _views(self, team_id: str | None) -> list[SessionView]:
        return [SessionView(store, team_id) for store, _ in self.registry.stores()]

    async def sessions(self, request: Request) -> Response:
        query = request.query_params
        try:
            user = self.access.user(request, query.get("user_id"), None)
            limit = int(query["limit"]) if query.get("limit") else None
        except Refused as refused:
            return error(refused.status, str(refused))
        except ValueError:
            return error(400, "limit must be a whole number")
        team_id = query.get("team_id") or None
        found = []
        for view in self._views(team_id):
            found += view.list_sessions(user, team_id)
        found.sort(key=lambda s: s.updated_at, reverse=True)
        return JSONResponse({"sessions": [s.public() for s in found[:limit]]})

    async def session(self, request: Request) -> Response:
        return await self._one(request, delete=False)

    async def delete_session(self, request: Request) -> Response:
        return await self._one(request, delete=True)

    async def _one(self, request: Request, *, delete: bool) -> Response:
        session_id = request.path_params["session_id"]
        try:
            user = self.access.user(request, request.query_params.get("user_id"), None)
        except Refused as refused:
            return error(refused.status, str(refused))
        for view in self._views(None):
            try:
                if view.get_session(session_id, user) is None:
                    continue
                if delete:
                    view.delete_session(session_id, user)
                    return JSONResponse({"deleted": session_id})
                return JSONResponse(view.export_session(session_id, user))
            except SessionError:  # another user's: the same answer as no session at all
                continue
        return error(404, f"no session {session_id!r} for user {user!r}", "not_found")


def create_app(
    registry: TeamRegistry,
    *,
    api_key: str | None = None,
    trust_user_header: str | None = None,
    threads: int = 64,
) -> Starlette:
    """The ASGI app serving ``registry``'s teams. With ``api_key`` every route but ``/health`` and
    the viewer's static files (which hold no data) needs ``Authorization: Bearer <api_key>``; with
    ``trust_user_header`` the user id is the value of that header (set by a trusted proxy)."""
    access = Access(trust_user_header, DEFAULT_USER)
    api = Api(registry, access, TurnRunner(threads))
    chat = openai_api.ChatCompletions(registry, access, api.runner)
    static = resources.files("agno_yaml.server") / "static"
    routes = [
        Route("/health", api.health),
        Route("/openapi.json", api.openapi),
        Route("/teams", api.teams),
        Route("/teams/{team_id}/runs", api.run, methods=["POST"]),
        Route("/sessions", api.sessions),
        Route("/sessions/{session_id}", api.session, methods=["GET"]),
        Route("/sessions/{session_id}", api.delete_session, methods=["DELETE"]),
        Route("/v1/chat/completions", chat.complete, methods=["POST"]),
        Route("/v1/models", chat.models),
        Route("/ui", lambda request: RedirectResponse("/ui/")),
        Mount("/ui", StaticFiles(directory=str(static), html=True), name="ui"),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(BearerAuth, api_key=api_key, open_paths=("/health", "/ui"))
    app.state.registry = registry
    return app
