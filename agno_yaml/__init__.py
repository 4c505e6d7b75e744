"""agno-yaml: Agno-style multi-agent LLM teams declared in YAML, with sessions that persist.

Library use mirrors the CLI::

    from agno_yaml import compile_team, load_team
    team = compile_team(load_team("teams/multilingual.yaml"), model_override="echo")
    out = team.run("comment ça va?", user_id="user_101", session_id="session_101")
    print(out.content)

Layers, one way: ``config`` (file -> spec) -> ``runtime`` (spec -> Team, the run loop) -> ``store``
(sessions), with ``models`` (the seam to LLMs) and ``tools`` (everything a model can call) beside
the runtime; ``cli`` is a thin shell over them. Names are imported lazily so ``import agno_yaml``
stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_team": "config",
    "load_team_text": "config",
    "check_team_file": "config",
    "LoadedTeam": "config",
    "TeamSpec": "config",
    "compile_team": "runtime",
    "Team": "runtime",
    "RunOutput": "runtime",
    "SessionStore": "store",
    "open_store": "store",
    "get_model": "models",
    "register_model": "models",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agno_yaml' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
