"""``POST /v1/chat/completions``: any OpenAI client (the ``openai`` package, litellm, a chat UI) talks
to a team as if it were a model.

``model`` is a team id and ``user`` the user id. The session comes from the ``X-Session-Id`` header,
or is created and returned in that header of the response. Only the LAST user message of
``messages`` is taken as the new turn: the session already holds the conversation, and a client
that resends the whole history each time would otherwise have every message answered again.
Sampling options (temperature, max_tokens...) are the team file's, not the request's.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from ..store.rules import new_session_id
from .auth import Access
from .teams import TeamRegistry, TeamUnavailable
from .turns import Finished, Refused, TurnRequest, TurnRunner

__all__ = ["ChatCompletions"]

SESSION_HEADER = "X-Session-Id"


def _error(status: int, message: str, kind: str, code: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": code}}, status)


def last_user_text(messages: Any) -> str | None:
    """The text of the last user message (string content, or the text parts of a list)."""
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            parts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]
            return "\n".join(p for p in parts if p) or None
        return None
    return None


def _usage(finished: Finished) -> dict[str, int]:
    usage = finished.output.usage
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }


def _finish_reason(finished: Finished) -> str:
    return "length" if finished.output.run.truncated else "stop"


class ChatCompletions:
    def __init__(self, registry: TeamRegistry, access: Access, runner: TurnRunner) -> None:
        self.registry = registry
        self.access = access
        self.runner = runner

    async def models(self, request: Request) -> Response:
        created = int(time.time())
        data = [
            {"id": t, "object": "model", "created": created, "owned_by": "agno-yaml"}
            for t in self.registry.served
        ]
        return JSONResponse({"object": "list", "data": data})

    async def complete(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "the body is not JSON", "invalid_request_error")
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            return _error(
                400, "model is required: the id of a served team (GET /v1/models)", "invalid_request_error"
            )
        team_id = body["model"]
        try:
            team = self.registry.get(team_id)
        except TeamUnavailable as exc:
            return _error(503, str(exc), "server_error")
        if team is None:
            served = ", ".join(self.registry.served) or "none"
            return _error(
                404,
                f"no team {team_id!r} is served here (served: {served})",
                "invalid_request_error",
                "model_not_found",
            )
        text = last_user_text(body.get("messages"))
        if not text or not text.strip():
            return _error(400, "messages must end with a user message that has text", "invalid_request_error")
        try:
            given = body.get("user") if isinstance(body.get("user"), str) else None
            user = self.access.user(request, given, team.spec.user_id)
        except Refused as refused:
            return _error(refused.status, str(refused), "invalid_request_error")
        session = request.headers.get(SESSION_HEADER) or new_session_id()  # known before any streaming
        turn = TurnRequest(team, text, user, session)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(
                self._chunks(turn, team_id, include_usage),
                media_type="text/event-stream",
                headers={SESSION_HEADER: session},
            )
        try:
            finished = await self.runner.run(turn)
        except Refused as refused:
            return _error(refused.status, str(refused), "invalid_request_error")
        headers = {SESSION_HEADER: finished.session_id, "X-Run-Id": finished.output.run.run_id}
        if not finished.output.ok:
            message = f"the run failed: {finished.output.run.error} (stored as failed run {finished.output.run.run_id})"
            response = _error(500, message, "run_failed")
            response.headers.update(headers)
            return response
        created = int(time.time())
        document = {
            "id": f"chatcmpl-{finished.output.run.run_id}",
            "object": "chat.completion",
            "created": created,
            "model": team_id,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": finished.output.content or ""},
                    "finish_reason": _finish_reason(finished),
                }
            ],
            "usage": _usage(finished),
        }
        return JSONResponse(document, headers=headers)

    async def _chunks(self, turn: TurnRequest, team_id: str, include_usage: bool) -> AsyncIterator[bytes]:
        created = int(time.time())
        ident = "chatcmpl-pending"
        shown = 0

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            body = {
                "id": ident, "object": "chat.completion.chunk", "created": created, "model": team_id,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }  # fmt: skip
            return b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n"

        async for kind, data in self.runner.stream(turn):
            if kind == "start":
                ident = f"chatcmpl-{data['session_id']}-{created}"
                yield chunk({"role": "assistant", "content": ""})
            elif kind == "text":
                shown += len(data)
                yield chunk({"content": data})
            elif kind == "done":
                output = data.output
                if not output.ok:
                    message = f"the run failed: {output.run.error} (stored as failed run {output.run.run_id})"
                    error = {"error": {"message": message, "type": "run_failed", "param": None, "code": None}}
                    yield b"data: " + json.dumps(error, ensure_ascii=False).encode() + b"\n\n"
                    break
                if not shown and output.content:
                    yield chunk({"content": output.content})
                yield chunk({}, _finish_reason(data))
                if include_usage:
                    usage = {
                        "id": ident, "object": "chat.completion.chunk", "created": created, "model": team_id,
                        "choices": [], "usage": _usage(data),
                    }  # fmt: skip
                    yield b"data: " + json.dumps(usage).encode() + b"\n\n"
            elif kind == "refused":
                error = {
                    "error": {
                        "message": str(data),
                        "type": "invalid_request_error",
                        "param": None,
                        "code": None,
                    }
                }
                yield b"data: " + json.dumps(error, ensure_ascii=False).encode() + b"\n\n"
                break
        yield b"data: [DONE]\n\n"
