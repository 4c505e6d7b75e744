"""The OpenAPI description served at ``/openapi.json``: every route, its parameters and bodies."""

from __future__ import annotations

from typing import Any

__all__ = ["OPENAPI"]

_USER = {
    "name": "user_id",
    "in": "query",
    "schema": {"type": "string"},
    "description": "the user (default: default)",
}
_SESSION = {"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}}
_ERROR = {
    "description": "an error: {error: {message, type}}",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_ENVELOPE = {"$ref": "#/components/schemas/Envelope"}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "agno-yaml team server",
        "version": "1",
        "description": (
            "Teams declared in YAML, served over HTTP. When the server has an API key (AGNO_RUN_API_KEY), "
            "every route but /health and /ui needs Authorization: Bearer <key>. Sessions are scoped by "
            "user: another user's session answers 404, as a missing one does."
        ),
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {"message": {"type": "string"}, "type": {"type": "string"}},
                    }
                },
            },
            "RunRequest": {
                "type": "object",
                "required": ["message"],
                "additionalProperties": False,
                "properties": {
                    "message": {"type": "string", "minLength": 1},
                    "user_id": {"type": "string"},
                    "session_id": {"type": "string", "description": "omit to start a new session"},
                    "stream": {"type": "boolean", "description": "answer with Server-Sent Events"},
                    "state": {"type": "object", "description": "session state values for this turn on"},
                },
            },
            "Envelope": {
                "type": "object",
                "description": "the CLI's --json document (README, JSON output); fields are only ever added",
                "properties": {
                    "version": {"type": "integer"},
                    "status": {"enum": ["completed", "error", "cancelled"]},
                    "answer": {"type": ["string", "null"]},
                    "error": {"type": ["string", "null"]},
                    "team_id": {"type": "string"},
                    "session_id": {"type": "string"},
                    "new_session": {"type": "boolean"},
                    "user_id": {"type": "string"},
                    "run_id": {"type": "string"},
                    "member": {"type": ["string", "null"]},
                    "route": {"type": ["string", "null"]},
                    "truncated": {"type": "boolean"},
                    "usage": {"type": "object"},
                    "duration_s": {"type": "number"},
                    "summary": {"type": ["object", "null"]},
                    "summary_error": {"type": ["string", "null"]},
                    "session_state": {"type": "object"},
                    "saved": {"type": "boolean"},
                    "save_error": {"type": ["string", "null"]},
                    "warnings": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
    "security": [{"bearer": []}],
    "paths": {
        "/health": {
            "get": {"summary": "liveness", "security": [], "responses": {"200": {"description": "ok"}}}
        },
        "/teams": {
            "get": {
                "summary": "the served teams: id, name, mode, members",
                "responses": {"200": {"description": "{teams: [...]}"}},
            }
        },
        "/teams/{team_id}/runs": {
            "post": {
                "summary": "run one turn",
                "description": (
                    "Answers the envelope; with stream: true, Server-Sent Events: start, text, delegation, "
                    "member_done, tool_call, tool_result, then done (the envelope) or error."
                ),
                "parameters": [
                    {"name": "team_id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RunRequest"}}},
                },
                "responses": {
                    "200": {
                        "description": "the turn ran (status completed or error); the session id is also in X-Session-Id",
                        "content": {"application/json": {"schema": _ENVELOPE}, "text/event-stream": {}},
                    },
                    "400": {"description": "a bad request: the envelope with exit_code 2"},
                    "404": {"description": "no such team, or no such session for this user"},
                },
            }
        },
        "/sessions": {
            "get": {
                "summary": "the user's sessions, newest first",
                "parameters": [
                    _USER,
                    {"name": "team_id", "in": "query", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {"200": {"description": "{sessions: [...]}"}},
            }
        },
        "/sessions/{session_id}": {
            "get": {
                "summary": "the stored session and its runs (the sessions export format)",
                "parameters": [_SESSION, _USER],
                "responses": {"200": {"description": "{format, version, session, runs}"}, "404": _ERROR},
            },
            "delete": {
                "summary": "delete the session",
                "parameters": [_SESSION, _USER],
                "responses": {"200": {"description": "{deleted: id}"}, "404": _ERROR},
            },
        },
        "/v1/models": {
            "get": {
                "summary": "the served teams as OpenAI models",
                "responses": {"200": {"description": "a model list"}},
            }
        },
        "/v1/chat/completions": {
            "post": {
                "summary": "OpenAI-compatible: model is a team id, user the user id",
                "description": (
                    "Only the last user message is the new turn (the session holds the history). The "
                    "session comes from the X-Session-Id header, or is created and returned in it."
                ),
                "parameters": [{"name": "X-Session-Id", "in": "header", "schema": {"type": "string"}}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "responses": {"200": {"description": "a chat.completion, or chat.completion.chunk events"}},
            }
        },
        "/ui/": {
            "get": {
                "summary": "the session viewer page",
                "security": [],
                "responses": {"200": {"description": "HTML"}},
            }
        },
    },
}
