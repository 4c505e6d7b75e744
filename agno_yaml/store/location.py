"""Which store a run uses, and where the default one lives.

Precedence: ``--db`` (``override``), then the team file's ``db:`` (a relative path there is
relative to the file, resolved when the file is built), then the ``AGNO_RUN_DB`` environment
variable, then one store per user account in the platform's user data directory. So
``--session X`` finds X from any working directory. ``memory:`` is a store that keeps nothing
after the process ends (tests, library use, a quick try).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    from ..config.spec import StoreSpec
    from . import SessionStore

ENV_VAR = "AGNO_RUN_DB"
APP_DIR = "agno-run"
MEMORY = "memory:"


def default_store_path() -> str:
    """The per-user default store: ``$XDG_DATA_HOME/agno-run`` (``~/.local/share/agno-run``) on Linux
    and BSD, ``~/Library/Application Support/agno-run`` on macOS, ``%LOCALAPPDATA%\\agno-run`` on
    Windows."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Application Support")
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return os.path.join(base, APP_DIR)


def store_target(db: StoreSpec | None = None, override: str | os.PathLike[str] | None = None) -> str:
    """Where sessions go, as text: a directory path or ``memory:``, by the precedence above."""
    if override is not None and os.fspath(override).strip():
        return os.fspath(override)
    if db is not None and (db.url or db.path):
        return db.url or db.path  # type: ignore[return-value]
    return os.environ.get(ENV_VAR, "").strip() or default_store_path()


def open_store(db: StoreSpec | None = None, override: str | os.PathLike[str] | None = None) -> SessionStore:
    """The session store for a team's ``db:`` setting and an optional ``--db`` override."""
    target = store_target(db, override)
    if target == MEMORY:
        from .memory import MemoryStore

        return MemoryStore()
    if "://" in target:
        scheme = target.split("://", 1)[0]
        if scheme in ("postgresql", "postgres"):
            from .postgres import PostgresStore

            return PostgresStore(target)
        raise UsageError(
            f"the session store {scheme}://... is not supported; give a directory (--db, db: {{path: ...}} "
            f"or {ENV_VAR}), a postgresql://USER@HOST/DBNAME URL, or {MEMORY}"
        )
    from .tinydb import TinyDBStore

    return TinyDBStore(os.path.expanduser(target))
