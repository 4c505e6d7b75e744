"""Running turns for HTTP requests: the synchronous run loop on worker threads, its text and events
carried to the event loop, one turn at a time per session.

The run loop (``Team.run``) blocks on the model; it runs on a thread of a bounded pool, so the event
loop keeps serving while models think: 32 turns waiting 200 ms each take about 200 ms together,
not 6.4 s. Turns on one session are serialised here (the second sees the first in its history);
turns on different sessions run at once. Nothing redirects the process's streams: streamed text
and events are handed to the request that asked for them.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio

from ..errors import AgnoYamlError, MissingKeyError, SessionError, StoreError, UsageError
from ..runtime.team import Team
from ..runtime.turn import RunOutput
from ..store.rules import new_session_id

__all__ = ["Refused", "TurnRequest", "TurnRunner"]

DEFAULT_USER = "default"


class Refused(Exception):
    """A turn that could not start: ``status`` is the HTTP status, ``exit_code`` the CLI's."""

    def __init__(self, status: int, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.status = status
        self.exit_code = exit_code


@dataclass
class TurnRequest:
    team: Team
    message: str
    user_id: str
    session_id: str | None = None
    state: dict[str, Any] | None = None


@dataclass
class Finished:
    """A turn that ran (completed, failed or not stored): its output and the envelope of it."""

    output: RunOutput
    new_session: bool
    session_id: str

    def envelope(self, team_id: str) -> dict[str, Any]:
        return self.output.envelope(team_id, new_session=self.new_session)


class TurnRunner:
    """Runs turns on a bounded thread pool, one at a time per session."""

    def __init__(self, threads: int = 64) -> None:
        self.limiter = anyio.CapacityLimiter(threads)
        self._locks: weakref.WeakValueDictionary[tuple[int, str], threading.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._guard = threading.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()  # streams whose client left: kept until the turn ends

    def _lock_for(self, team: Team, session_id: str) -> threading.Lock:
        key = (id(team.store), session_id)
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = threading.Lock()
                self._locks[key] = lock
            return lock

    def _run(
        self,
        request: TurnRequest,
        on_text: Callable[[str], None] | None,
        on_event: Callable[[str, dict[str, Any]], None] | None,
        on_start: Callable[[str, bool], None] | None = None,
    ) -> Finished:
        team = request.team
        session_id = request.session_id or new_session_id()
        lock = self._lock_for(team, session_id)
        with lock:
            try:
                known = team.store.get_session(session_id, request.user_id) if team.store else None
                if on_start is not None:
                    on_start(session_id, known is None)
                output = team.run(
                    request.message, user_id=request.user_id, session_id=session_id,
                    stream=on_text is not None, on_text=on_text, state=request.state, on_event=on_event,
                )  # fmt: skip
            except SessionError as exc:
                if "another user" in str(exc):  # never any data, nor that the session exists
                    raise Refused(404, f"no session {session_id!r} for user {request.user_id!r}") from None
                raise Refused(409 if "another team" in str(exc) else 400, str(exc)) from None
            except MissingKeyError as exc:
                raise Refused(500, str(exc)) from None
            except UsageError as exc:
                raise Refused(400, str(exc)) from None
            except StoreError as exc:
                raise Refused(500, str(exc), exc.exit_code) from None
            except AgnoYamlError as exc:
                raise Refused(500, str(exc), exc.exit_code) from None
        return Finished(output, known is None, session_id)

    async def run(self, request: TurnRequest) -> Finished:
        """Run a turn to its end (not streamed)."""
        return await anyio.to_thread.run_sync(lambda: self._run(request, None, None), limiter=self.limiter)

    async def stream(self, request: TurnRequest) -> AsyncIterator[tuple[str, Any]]:
        """Run a turn, yielding ``("start", {session_id, new_session})``, then ``("text", str)`` and
        ``(event kind, data)`` as they happen, and last ``("done", Finished)`` or ``("refused",
        Refused)``. A client that leaves does not stop the turn: it runs to its end and is stored."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any] | None] = asyncio.Queue()

        def put(kind: str, data: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, data))

        def on_start(session_id: str, new: bool) -> None:
            put("start", {"session_id": session_id, "new_session": new})

        async def work() -> None:
            try:
                finished = await anyio.to_thread.run_sync(
                    lambda: self._run(request, lambda text: put("text", text), put, on_start),
                    limiter=self.limiter,
                )
                queue.put_nowait(("done", finished))
            except Refused as refused:
                queue.put_nowait(("refused", refused))
            except Exception as exc:  # a bug: said to the client, not left in a dead task
                queue.put_nowait(("refused", Refused(500, f"internal error: {type(exc).__name__}: {exc}", 1)))
            finally:
                queue.put_nowait(None)

        task = asyncio.create_task(work())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        while (item := await queue.get()) is not None:
            yield item
