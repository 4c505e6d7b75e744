"""The team files a server serves, each compiled once and compiled again when its file changes.

A file is looked at on every request (one ``stat``); when its modification time or size moved, its
bytes are hashed and, if they changed, it is loaded and compiled again, so nobody talks to a stale
team. A file that no longer loads is reported on every request (``TeamUnavailable``) until it is
fixed, rather than served as it was.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UsageError
from ..runtime.team import Team
from ..store import SessionStore

__all__ = ["ServedTeam", "TeamRegistry", "TeamUnavailable"]


class TeamUnavailable(Exception):
    """The team's file changed and no longer loads: the one-line reason is the message."""


@dataclass
class ServedTeam:
    """One team file: its compiled team, rebuilt when the file's bytes change."""

    path: Path
    db: str | None = None
    model_override: str | None = None
    team: Team | None = None
    error: str | None = None
    cause: ConfigError | None = None  # why the file does not load, as the CLI reports it
    _seen: tuple[int, int] = (0, -1)  # (mtime_ns, size) when last looked at
    _digest: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self) -> Team:
        """The team as the file says now (raises TeamUnavailable when the file does not load)."""
        try:
            stat = self.path.stat()
        except OSError as exc:
            raise TeamUnavailable(f"{self.path}: cannot read the team file: {exc.strerror or exc}") from None
        seen = (stat.st_mtime_ns, stat.st_size)
        if seen != self._seen:
            with self._lock:
                if seen != self._seen:
                    self._refresh(seen)
        if self.team is None:
            raise TeamUnavailable(self.error or f"{self.path}: the team could not be loaded")
        return self.team

    def _refresh(self, seen: tuple[int, int]) -> None:
        from ..config import load_team
        from ..runtime.compile import compile_team

        data = self.path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != self._digest:
            try:
                loaded = load_team(self.path, model_override=self.model_override)
                team = compile_team(loaded, model_override=self.model_override, db=self.db)
            except ConfigError as exc:
                self.team, self.error, self.cause = None, str(exc), exc
            else:
                self.team, self.error, self.cause = team, None, None
            self._digest = digest
        self._seen = seen


class TeamRegistry:
    """Every served team by id. Ids must be unique across the files."""

    def __init__(
        self, files: list[str | os.PathLike[str]], *, db: str | None = None, model: str | None = None
    ):
        self.served: dict[str, ServedTeam] = {}
        for file in files:
            served = ServedTeam(Path(file).resolve(), db=db, model_override=model)
            try:
                team = served.current()
            except TeamUnavailable as exc:  # a file that does not load stops the server at start
                raise served.cause or UsageError(str(exc)) from None
            if team.id in self.served:
                raise UsageError(
                    f"{file}: team id {team.id!r} is also the id of {self.served[team.id].path}; "
                    "give one of them another id: in its file"
                )
            self.served[team.id] = served

    def warm(self) -> None:
        """Import litellm now if a served team calls a model through it, so the first request does
        not wait ~3 s for it."""
        for served in self.served.values():
            team = served.team
            agents = [team.leader, *team.members.values()] if team is not None else []
            if any(type(a.model).__module__.endswith(".litellm") for a in agents):
                from ..models.providers import load_litellm

                load_litellm()
                return

    def get(self, team_id: str) -> Team | None:
        served = self.served.get(team_id)
        return served.current() if served is not None else None

    def describe(self) -> list[dict[str, Any]]:
        """What ``GET /teams`` shows of each team."""
        found = []
        for team_id, served in self.served.items():
            entry: dict[str, Any] = {"id": team_id, "file": str(served.path)}
            try:
                team = served.current()
            except TeamUnavailable as exc:
                found.append(entry | {"error": str(exc)})
                continue
            spec = team.spec
            found.append(
                entry
                | {
                    "name": spec.name,
                    "mode": spec.mode,
                    "members": [{"id": m.id, "name": m.name, "role": m.role} for m in spec.members],
                    "summaries": team.summarizer is not None,
                }
            )
        return found

    def stores(self) -> list[tuple[SessionStore, str]]:
        """Each distinct store the teams use, with one team id that uses it."""
        seen: dict[str, tuple[SessionStore, str]] = {}
        for team_id, served in self.served.items():
            try:
                team = served.current()
            except TeamUnavailable:
                continue
            if team.store is not None:  # every memory store is "memory": those are told apart by object
                key = (
                    team.store.location
                    if not team.store.location.startswith("memory")
                    else f"memory:{id(team.store)}"
                )
                seen.setdefault(key, (team.store, team_id))
        return list(seen.values())
