"""Who may call the server, and who the caller is.

A bearer token (``AGNO_RUN_API_KEY``, or ``create_app(api_key=...)``) guards every route but the ones
that hold no data (``/health`` and the viewer's static files). The user id comes from the request
(``user_id`` in the body or the query, ``user`` for the OpenAI route), so a deployment whose users
are not trusted must put its own authentication in front; with ``--trust-user-header NAME`` the
user id is the value of a header that such a proxy sets, and a request naming another user is
refused.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .turns import Refused

__all__ = ["Access", "BearerAuth"]


class BearerAuth:
    """ASGI middleware: ``Authorization: Bearer <api_key>`` on every path not under ``open_paths``."""

    def __init__(self, app: ASGIApp, api_key: str | None, open_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.expected = f"Bearer {api_key}".encode() if api_key else None
        self.open_paths = open_paths

    def _open(self, path: str) -> bool:
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.expected is None or scope["type"] != "http" or self._open(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        if hmac.compare_digest(given, self.expected):
            await self.app(scope, receive, send)
            return
        message = (
            "missing bearer token: send Authorization: Bearer <the server's AGNO_RUN_API_KEY>"
            if not given
            else "wrong bearer token: send the server's AGNO_RUN_API_KEY"
        )
        response = JSONResponse(
            {"error": {"message": message, "type": "unauthorized"}},
            401,
            headers={"WWW-Authenticate": "Bearer"},
        )
        await response(scope, receive, send)


@dataclass(frozen=True)
class Access:
    """The user a request acts for."""

    trust_user_header: str | None = None
    default_user: str = "default"

    def user(self, request: Request, given: str | None, team_default: str | None) -> str:
        if self.trust_user_header is None:
            return given or team_default or self.default_user
        trusted = request.headers.get(self.trust_user_header, "").strip()
        if not trusted:
            raise Refused(401, f"the {self.trust_user_header} header is missing: the proxy in front sets it")
        if given and given != trusted:
            raise Refused(403, f"user_id {given!r} is not the user the {self.trust_user_header} header names")
        return trusted
