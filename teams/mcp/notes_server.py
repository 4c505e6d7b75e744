"""A small MCP server of notes, for teams/mcp-tools.yaml: started over stdio by the team file.

    python teams/mcp/notes_server.py      # speaks MCP on stdin/stdout

The notes are the Markdown files of the directory NOTES_DIR (default: teams/mcp/notes next to
this file); add_note writes one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from mcp.server.mcpserver import MCPServer

NOTES = Path(os.environ.get("NOTES_DIR") or Path(__file__).resolve().parent / "notes")

server = MCPServer("notes")


def _path(title: str) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "note"
    return NOTES / f"{slug}.md"


@server.tool()
def list_notes() -> list[str]:
    """The titles of every note, sorted."""
    return sorted(p.stem for p in NOTES.glob("*.md"))


@server.tool()
def read_note(title: str) -> str:
    """The text of one note.

    Args:
        title: the note's title, as list_notes gives it
    """
    path = _path(title)
    if not path.is_file():
        raise ValueError(f"there is no note {title!r}; call list_notes for the titles")
    return path.read_text(encoding="utf-8")


@server.tool()
def add_note(title: str, text: str) -> str:
    """Write a note (replacing one of the same title).

    Args:
        title: a short title
        text: the note's text, Markdown
    """
    NOTES.mkdir(parents=True, exist_ok=True)
    _path(title).write_text(text, encoding="utf-8")
    return f"saved {_path(title).stem}"


if __name__ == "__main__":
    server.run()
