"""agno-yaml: Agno-style multi-agent LLM teams declared in YAML, with sessions stored in TinyDB.

Library use mirrors the CLI::

    from agno_yaml import load_team, compile_team
    team = compile_team(load_team("teams/multilingual.yaml"), model_override="echo")
    out = team.run("comment ça va?", user_id="user_101", session_id="session_101")
    print(out.content)

Names are imported lazily so ``import agno_yaml`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_team": "config",
    "check_team_file": "config",
    "compile_team": "compile",
    "Team": "team",
    "RunOutput": "turn",
    "SessionStore": "store",
    "TeamSpec": "spec",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agno_yaml' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
