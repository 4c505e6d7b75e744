"""The JSON Schemas of the files this project reads, found once and parsed once.

``schemas/`` at the top of the repository is the one source of truth; the wheel carries a copy
inside the package, and a source checkout has only the top one.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

TEAM_SCHEMA = "team.schema.json"
_HERE = Path(__file__).resolve().parent.parent  # the agno_yaml package


def schema_path(name: str = TEAM_SCHEMA) -> Path:
    """Where the schema ``name`` was found (the packaged copy first)."""
    candidates = (_HERE / "schemas" / name, _HERE.parent / "schemas" / name)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{name} is missing from the installation (looked in {', '.join(map(str, candidates))})"
    )


@lru_cache(maxsize=4)
def schema_text(name: str = TEAM_SCHEMA) -> str:
    """A schema as JSON text (what `agno-run schema` prints)."""
    return schema_path(name).read_text(encoding="utf-8")


@lru_cache(maxsize=4)
def load_schema(name: str = TEAM_SCHEMA) -> dict[str, Any]:
    """A schema, parsed once. Treat it as read-only: it is shared."""
    schema: dict[str, Any] = json.loads(schema_text(name))
    return schema


def properties(section: str | None = None) -> dict[str, Any]:
    """The properties of the team schema's top level (None) or of one of its ``$defs``."""
    schema = load_schema()
    node = schema if section is None else schema["$defs"][section]
    props: dict[str, Any] = node["properties"]
    return props
