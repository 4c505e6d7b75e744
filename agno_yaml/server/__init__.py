"""Serving teams over HTTP: ``create_app(TeamRegistry([...]))`` is an ASGI app (Starlette), run by
``agno-run serve`` on uvicorn. Importing this package is cheap; Starlette is imported with ``app``.

    from agno_yaml.server import TeamRegistry, create_app
    app = create_app(TeamRegistry(["teams/multilingual.yaml"], model="echo"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .teams import TeamRegistry

__all__ = ["TeamRegistry", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "TeamRegistry":
        from .teams import TeamRegistry

        return TeamRegistry
    raise AttributeError(name)
