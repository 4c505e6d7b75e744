"""Blocking library calls made on a worker thread, while the caller waits where a signal is safe.

Ctrl-C, SIGTERM and SIGHUP raise their exception (``KeyboardInterrupt``, ``Interrupted``) in the main
thread, in the middle of whatever it is running. Inside litellm, httpx or pydantic that is not safe:
pydantic turns one raised while it builds a validator into a ``SchemaError``, litellm logs it and
carries on, or maps it to a connection error that is then retried, and the turn goes on instead of
stopping. So the model call runs on a worker thread and the caller only waits on a queue: the
signal's exception is raised in ``off_caller_thread`` itself, and none of it reaches the library.

The worker (and every thread the library starts from it) blocks the stop signals, so the kernel
delivers them to the main thread and wakes its wait at once; the wait is also cut into short
slices, so a signal handled on another thread is acted on within one slice.

The wait also enforces a deadline on the call as a whole. A stream's own timeout (httpx's) bounds
only the silence between two chunks, so a server that trickles tokens, or sends its headers and then
thinks, could otherwise hold a call far past ``timeout``.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

__all__ = ["Abandoned", "DeadlinePassed", "Emit", "off_caller_thread"]

T = TypeVar("T")
Emit = Callable[[str], None]

# Signals that stop a turn; blocked on the worker threads so the kernel delivers them to the main thread.
_STOP_SIGNALS = {getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)}
# The longest the caller waits without looking at its signals, should one reach another thread anyway.
_WAIT_SLICE = 0.1


class Abandoned(Exception):
    """Raised on a worker thread whose caller stopped waiting (a signal, a failed callback, the
    deadline): the worker makes no request and hands over no more text."""


class DeadlinePassed(Exception):
    """The call as a whole took longer than its deadline; raised to the caller."""

    def __init__(self, seconds: float, pieces: int) -> None:
        super().__init__(f"the call timed out: still unfinished after {seconds:g} s")
        self.seconds = seconds
        self.pieces = pieces  # text pieces handed over before the deadline


def off_caller_thread(
    work: Callable[[Emit], T], on_piece: Emit | None = None, *, timeout: float | None = None
) -> T:
    """Run ``work`` on a daemon worker thread and return its result (or raise its exception) here.

    Each text piece ``work`` passes to its ``emit`` argument is handed to ``on_piece`` on this
    thread, in order, before the result or the exception. With ``timeout``, a call still unfinished
    that many seconds after it started raises ``DeadlinePassed``. Once the caller stops waiting, for
    any reason, ``emit`` raises ``Abandoned`` on the worker, which closes a stream (and so tells the
    server to stop generating); a worker still blocked on the network ends with its own read timeout,
    or with the process.
    """
    events: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
    abandoned = threading.Event()

    def emit(piece: str) -> None:
        if abandoned.is_set():
            raise Abandoned
        events.put(("text", piece))

    def run() -> None:
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            if abandoned.is_set():
                raise Abandoned
            result = work(emit)
        except BaseException as exc:  # handed to the caller, never left to the thread's excepthook
            events.put(("error", exc))
        else:
            events.put(("done", result))

    deadline = None if timeout is None else time.monotonic() + timeout
    pieces = 0
    try:
        threading.Thread(target=run, name="agno-yaml-model", daemon=True).start()
        while True:
            wait = _WAIT_SLICE
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DeadlinePassed(cast(float, timeout), pieces)
                wait = min(wait, left)
            try:
                kind, value = events.get(timeout=wait)
            except queue.Empty:
                continue  # back in the interpreter loop: a pending signal's handler runs here
            if kind == "text":
                pieces += 1
                if on_piece is not None:
                    on_piece(value)
            elif kind == "done":
                return cast(T, value)
            else:
                raise value
    finally:
        abandoned.set()
