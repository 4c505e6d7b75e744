"""The session store: where every turn's runs go, behind one protocol with several backends.

    from agno_yaml.store import open_store
    store = open_store(None, "tmp/agno")               # a TinyDB directory; "memory:" for no files
    store.append_runs("s1", "alice", "my-team", [run])
    [r.content for r in store.runs("s1", "alice")]

A session belongs to the user who created it and to its team. The rules every backend keeps are
shared code, not the backends' own: ids (``rules.check_ids``), ownership checked inside the
backend's transaction (``rules.check_owner``: another user naming the session is refused and reads
nothing), the stored copy of a run (``rules.stored_run``: scrubbed by the ``StorePolicy``, stamped
with its session and owner). ``tests/test_store_contract.py`` runs the same tests on every backend.

Backends: ``memory`` (tests, library use) and ``tinydb`` (one directory of JSON files per session;
the default). ``open_store`` picks one from ``--db``, the team file's ``db:``, ``AGNO_RUN_DB``, or
the per-user default. Importing this package imports no backend.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import EllipsisType
from typing import Any, Protocol, runtime_checkable

from ..messages import RunRecord
from .exchange import export_document, read_document
from .location import default_store_path, open_store
from .policy import StorePolicy, scrub_run
from .rules import SCHEMA_VERSION, RepairReport, SearchHit, SessionInfo, check_id, new_session_id, not_found


@runtime_checkable
class SessionStore(Protocol):
    """What the runtime and the session commands need of a backend.

    Every method that names a session takes the user too, and raises SessionError when the session
    is another user's (naming nobody). Methods are safe to call from several threads and, for the
    file and database backends, from several processes.
    """

    location: str  # where the sessions are, for people: a directory, a URL, "memory"

    def get_session(self, session_id: str, user_id: str) -> SessionInfo | None:
        """The session's fields, or None when it does not exist."""
        ...

    def append_runs(
        self,
        session_id: str,
        user_id: str,
        team_id: str,
        runs: Sequence[RunRecord],
        *,
        policy: StorePolicy = ...,
        summary: dict[str, Any] | None = None,
        session_state: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        expected_summary: dict[str, Any] | None | EllipsisType = ...,
        expected_last_run: str | None | EllipsisType = ...,
    ) -> SessionInfo:
        """Append ``runs`` in order, all or none, creating the session (owned by ``user_id``) on
        first use; the given ``summary`` / ``session_state`` / ``metadata`` replace the stored ones.

        A summary built before the append is written with it only if it is still current: the
        stored summary is ``expected_summary`` and the newest stored run is ``expected_last_run``
        (its run id; None for a session without runs). The returned info shows what is stored.
        """
        ...

    def iter_runs_newest_first(self, session_id: str, user_id: str) -> Iterator[RunRecord]:
        """Runs from the newest back, read only as far as the caller consumes; ownership is checked
        when this is called, not on the first ``next()``."""
        ...

    def runs(self, session_id: str, user_id: str) -> list[RunRecord]:
        """Every run, oldest first."""
        ...

    def update_session(
        self,
        session_id: str,
        user_id: str,
        *,
        summary: dict[str, Any] | None | EllipsisType = ...,
        session_state: dict[str, Any] | EllipsisType = ...,
        metadata: dict[str, Any] | EllipsisType = ...,
        expected_summary: dict[str, Any] | None | EllipsisType = ...,
    ) -> SessionInfo:
        """Replace the given fields (``...`` leaves one unchanged; ``summary=None`` clears it).

        With ``expected_summary``, the summary is replaced only if the stored one is still that
        (checked under the session's lock); the returned info shows which summary is stored.
        """
        ...

    def list_sessions(
        self, user_id: str | None = None, team_id: str | None = None, *, limit: int | None = None
    ) -> list[SessionInfo]:
        """Sessions (of one user, of one team), most recently updated first; the first ``limit``."""
        ...

    def latest_session(self, user_id: str, team_id: str | None = None) -> str | None:
        """The id of the user's most recently updated session (of the team), or None."""
        ...

    def delete_session(self, session_id: str, user_id: str) -> None:
        """Remove the session and its runs; SessionError when there is no such session of the user."""
        ...

    def repair_session(self, session_id: str, user_id: str) -> RepairReport:
        """Rebuild a damaged session from what can still be read, keeping every damaged file."""
        ...

    def search_sessions(
        self,
        user_id: str,
        text: str,
        *,
        team_id: str | None = None,
        limit: int = 20,
        marks: tuple[str, str] = ("[", "]"),
    ) -> list[SearchHit]:
        """Where the user's sessions (of one team) said every word of ``text`` (case and accents
        ignored), best matches first; each hit's snippet has the words wrapped in ``marks``."""
        ...

    def export_session(self, session_id: str, user_id: str) -> dict[str, Any]:
        """The session as one self-contained document (``exchange``), for ``import_session``."""
        ...

    def import_session(
        self, document: dict[str, Any], user_id: str, *, new_id: str | None = None
    ) -> SessionInfo:
        """Store an exported session as it was (ids, times, runs); refused when its id is taken."""
        ...

    def rename_session(self, session_id: str, user_id: str, new_id: str) -> SessionInfo:
        """Give the session another id (refused when the new one is taken)."""
        ...

    def check_writable(self) -> None:
        """Raise StoreError when a turn could not be saved (checked before any model is paid for)."""
        ...

    def take_warnings(self) -> list[str]:
        """Damage worked around since the last call (a run skipped, a session rebuilt), each once."""
        ...


class StoreBase:
    """What every backend derives the same way from its own primitives, and the warnings channel:
    damage a backend works around (a damaged run skipped, a session rebuilt) is reported once per
    store object, for the caller to show (the CLI prints each as a ``warning:`` line)."""

    def __init__(self) -> None:
        self._warnings: list[str] = []
        self._warned: set[str] = set()

    def warn(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            self._warnings.append(message)

    def take_warnings(self) -> list[str]:
        """The warnings since the last call, each once."""
        taken, self._warnings = self._warnings, []
        return taken

    def check_writable(self) -> None:
        """Raise StoreError when a turn could not be saved (checked before any model is paid for)."""

    def repair_session(self, session_id: str, user_id: str) -> RepairReport:
        info = self.get_session(session_id, user_id)  # type: ignore[attr-defined]
        if info is None:
            raise not_found(session_id, user_id)
        return RepairReport(session_id, user_id, info.run_count)

    def export_session(self, session_id: str, user_id: str) -> dict[str, Any]:
        info = self.get_session(session_id, user_id)  # type: ignore[attr-defined]
        if info is None:
            raise not_found(session_id, user_id)
        return export_document(info, self.runs(session_id, user_id))

    def import_session(
        self, document: dict[str, Any], user_id: str, *, new_id: str | None = None
    ) -> SessionInfo:
        check_id(user_id, "user id")
        if new_id is not None:
            check_id(new_id, "session id")
        session, runs = read_document(document, user_id, new_id)
        return self._put_session(session, runs)

    def _put_session(self, session: dict[str, Any], runs: list[RunRecord]) -> SessionInfo:
        """Store a whole session at once, as it was; refuse (taken) when its id exists."""
        raise NotImplementedError

    def rename_session(self, session_id: str, user_id: str, new_id: str) -> SessionInfo:
        # Copy first, then delete: a failure in between leaves two copies, never none.
        info = self.import_session(self.export_session(session_id, user_id), user_id, new_id=new_id)
        self.delete_session(session_id, user_id)  # type: ignore[attr-defined]
        return info

    def iter_runs_newest_first(self, session_id: str, user_id: str) -> Iterator[RunRecord]:
        raise NotImplementedError

    def list_sessions(
        self, user_id: str | None = None, team_id: str | None = None, *, limit: int | None = None
    ) -> list[SessionInfo]:
        raise NotImplementedError

    def runs(self, session_id: str, user_id: str) -> list[RunRecord]:
        out = list(self.iter_runs_newest_first(session_id, user_id))
        out.reverse()
        return out

    def latest_session(self, user_id: str, team_id: str | None = None) -> str | None:
        found = self.list_sessions(user_id, team_id, limit=1)
        return found[0].session_id if found else None


__all__ = [
    "SCHEMA_VERSION",
    "RepairReport",
    "SearchHit",
    "SessionInfo",
    "SessionStore",
    "StoreBase",
    "StorePolicy",
    "default_store_path",
    "new_session_id",
    "open_store",
    "scrub_run",
]
