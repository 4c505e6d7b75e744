"""The runtime: a loaded team file compiled into a ``Team`` whose ``run`` is one turn.

    from agno_yaml.config import load_team
    from agno_yaml.runtime import compile_team
    team = compile_team(load_team("teams/multilingual.yaml"), model_override="echo", db="memory:")
    out = team.run("comment ça va?", user_id="user_101", session_id="session_101")
    out.content, out.run.answered_by, out.usage.total_tokens

``compile`` (models, tools, system messages, store) -> ``team`` (the run loop: context, model
rounds, tool calls, delegation, saving) with ``turn`` (its values), ``prompts``, ``history`` (which
earlier messages a model sees) and ``summary`` (incremental session summaries); ``describe`` is
the view `agno-run inspect` prints. Names are imported lazily: importing this package is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .compile import compile_team
    from .describe import describe_team
    from .team import Team
    from .turn import RunOutput

_EXPORTS = {"compile_team": "compile", "describe_team": "describe", "Team": "team", "RunOutput": "turn"}
__all__ = ["RunOutput", "Team", "compile_team", "describe_team"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
