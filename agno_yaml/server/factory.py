"""The app built from the environment, for ``agno-run serve --processes N``: uvicorn starts N processes
that each import this module and call ``app()`` (an import string is how uvicorn spawns workers).

Each process has its own teams, thread pool and store handles; the store keeps every turn of every
process (its guarantees hold across processes). Turns on one session are serialised within a
process; two that reach different processes at the same moment both run and are both stored, the
later one not seeing the earlier in its history, as with two CLI processes.
"""

from __future__ import annotations

import json
import os
from typing import Any

CONFIG_ENV = "AGNO_RUN_SERVE_CONFIG"

__all__ = ["CONFIG_ENV", "app"]


def app() -> Any:
    from . import TeamRegistry, create_app

    config = json.loads(os.environ[CONFIG_ENV])
    registry = TeamRegistry(config["files"], db=config.get("db"), model=config.get("model"))
    registry.warm()
    return create_app(
        registry,
        api_key=os.environ.get("AGNO_RUN_API_KEY") or None,
        trust_user_header=config.get("trust_user_header"),
        threads=int(config.get("threads", 64)),
    )
