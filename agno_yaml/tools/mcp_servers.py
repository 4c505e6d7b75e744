"""MCP servers as tools: a process-wide registry of running servers and their tools as ToolDefs.

The ``mcp`` client is asyncio, the run loop is not: one event loop runs in a background thread
and owns every session (each server's transport and ``ClientSession`` live in one task of that
loop, entered and left there). A tool call is a blocking call from the run loop's thread, bounded
by the server's ``timeout``; a server that fails, crashes or times out raises ``McpError``, which
the run loop gives the model as an ``Error: ...`` result.

Servers are keyed by their configuration (``McpServerSpec.key``): compiling the same team again
(the chat loop, ``agno-run test``, the HTTP server after a file change) reuses the running server.
Every server is stopped at exit (``atexit``, which the CLI's signal path and ``leave`` run too).
Importing this module imports nothing of ``mcp``: that happens when the first server starts.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from ..config.spec import McpServerSpec
from .base import ToolDef

__all__ = ["McpError", "McpServer", "mcp_tools", "running_servers", "server_for", "stop_all"]

SEPARATOR = "__"  # files + read_file -> files__read_file
STDERR_LINES = 10  # how much of a failed server's stderr a problem quotes
STOP_GRACE_S = 5.0
STARTUP_MIN_S = 30.0  # start-up waits the server's timeout, and at least this long


class McpError(Exception):
    """A server could not be started, or a call to it failed; worded for the model or the user."""


class _Loop:
    """The one event loop thread of this process, started on first use."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="agno-mcp", daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float | None) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise


class McpServer:
    """One running server: its tools as listed, and calls to them."""

    def __init__(self, spec: McpServerSpec, loop: _Loop) -> None:
        self.spec = spec
        self._loop = loop
        self._session: Any = None
        self._stop: asyncio.Event | None = None
        self._done: Future[None] | None = None
        self.tools: list[Any] = []  # mcp.types.Tool, as the server listed them
        self._restart = threading.Lock()
        # The server's stderr, for the last lines of a failure; closed when the process ends.
        self._stderr = None
        if spec.command:
            self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115

    @property
    def startup_timeout(self) -> float:
        """Starting may take longer than a call (a package manager fetching the server first)."""
        return max(self.spec.timeout, STARTUP_MIN_S)

    @property
    def alive(self) -> bool:
        return self._done is not None and not self._done.done()

    def stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.flush()
            self._stderr.seek(0)
            lines = self._stderr.read().splitlines()
            self._stderr.seek(0, os.SEEK_END)
        except (OSError, ValueError):
            return ""
        return " | ".join(line.strip() for line in lines[-STDERR_LINES:] if line.strip())

    def start(self) -> None:
        """Start (or restart) the server and list its tools; McpError says why it could not."""
        ready: Future[None] = Future()
        self._done = asyncio.run_coroutine_threadsafe(self._serve(ready), self._loop.loop)
        try:
            ready.result(self.startup_timeout + 5)
        except FutureTimeout:
            self.stop()
            raise McpError(self._why(f"it did not answer within {self.startup_timeout:g} s")) from None
        except McpError as exc:
            raise McpError(self._why(str(exc))) from None
        except BaseException as exc:  # noqa: BLE001 - whatever the transport raised, said plainly
            raise McpError(self._why(_describe(exc))) from None

    def _why(self, what: str) -> str:
        target = " ".join(self.spec.command) if self.spec.command else self.spec.url
        tail = self.stderr_tail()
        text = f"MCP server {self.spec.name!r} ({target}) failed to start: {what}"
        return text + (f" (last lines of its stderr: {tail})" if tail else "")

    async def _serve(self, ready: Future[None]) -> None:
        """The task that owns the server's transport and session until ``stop``."""
        from contextlib import AsyncExitStack

        from mcp import ClientSession

        self._stop = asyncio.Event()
        try:
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport())
                session = await stack.enter_async_context(
                    ClientSession(read, write, read_timeout_seconds=self.startup_timeout)
                )
                try:
                    await asyncio.wait_for(session.initialize(), self.startup_timeout)
                    listed = await asyncio.wait_for(session.list_tools(), self.startup_timeout)
                except asyncio.TimeoutError:
                    raise McpError(f"it did not answer within {self.startup_timeout:g} s") from None
                tools = list(listed.tools)
                while getattr(listed, "next_cursor", None):
                    from mcp.types import PaginatedRequestParams

                    listed = await session.list_tools(
                        params=PaginatedRequestParams(cursor=listed.next_cursor)
                    )
                    tools += listed.tools
                self.tools = tools
                self._session = session
                ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else McpError(_describe(exc)))
            if not isinstance(exc, Exception):
                raise
        finally:
            self._session = None

    def _transport(self) -> Any:
        spec = self.spec
        if spec.command:
            from mcp.client.stdio import StdioServerParameters, stdio_client

            program, *args = spec.command
            if program in ("python", "python3"):
                program = sys.executable
            params = StdioServerParameters(
                command=program, args=args, env=dict(spec.env) or None, cwd=spec.cwd
            )
            return stdio_client(params, errlog=self._stderr or sys.stderr)
        assert spec.url is not None
        if spec.transport == "sse":
            from mcp.client.sse import sse_client

            return sse_client(spec.url, headers=dict(spec.headers), timeout=spec.timeout)
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        client = create_mcp_http_client(headers=dict(spec.headers))
        return streamable_http_client(spec.url, http_client=client)

    def call(self, tool: str, arguments: dict[str, Any], store_media: bool) -> str:
        """Call ``tool``; its result as text. A dead server is started again once."""
        with self._restart:  # two threads meeting a crashed server start it once
            if not self.alive or self._session is None:
                self.start()
            session = self._session
        timeout = self.spec.timeout
        try:
            result = self._loop.run(
                session.call_tool(tool, arguments, read_timeout_seconds=timeout), timeout + 2
            )
        except FutureTimeout:
            raise McpError(
                f"MCP server {self.spec.name!r} did not answer {tool} within {timeout:g} s"
            ) from None
        except Exception as exc:
            tail = ""
            if "timed out" not in str(exc):  # the connection is gone: the next call starts it again
                self.stop()
                tail = self.stderr_tail()
            raise McpError(
                f"MCP server {self.spec.name!r} failed on {tool}: {_describe(exc)}"
                + (f" (the server stopped; last lines of its stderr: {tail})" if tail else "")
            ) from None
        text = result_text(result, store_media)
        if getattr(result, "is_error", False):
            raise McpError(f"{tool} failed: {text}")
        return text

    def stop(self) -> None:
        stop, done = self._stop, self._done
        if done is not None and not done.done():
            if stop is None:
                done.cancel()
                return
            self._loop.loop.call_soon_threadsafe(stop.set)
            try:
                done.result(STOP_GRACE_S)
            except BaseException:  # noqa: BLE001 - stopping is best effort; the transport kills the process
                done.cancel()


def _describe(exc: BaseException) -> str:
    """An exception in one line; a task group's group of errors by its first inner error."""
    while getattr(exc, "exceptions", None):  # an ExceptionGroup (3.11+, or the exceptiongroup backport)
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    text = str(exc).strip() or type(exc).__name__
    return text if type(exc).__name__ in text else f"{type(exc).__name__}: {text}"


def result_text(result: Any, store_media: bool) -> str:
    """A CallToolResult as the model reads it: text parts joined; an image, audio or binary
    resource as a placeholder (with its data as a data: URI when ``store_media``)."""
    parts: list[str] = []
    for item in getattr(result, "content", None) or ():
        kind = getattr(item, "type", "")
        if kind == "text":
            parts.append(item.text)
        elif kind in ("image", "audio"):
            parts.append(_media(kind, item.mime_type, item.data, store_media))
        elif kind == "resource":
            res = item.resource
            if getattr(res, "text", None) is not None:
                parts.append(res.text)
            else:
                parts.append(_media(f"resource {res.uri}", res.mime_type or "", res.blob, store_media))
        elif kind == "resource_link":
            parts.append(
                f"[resource link: {item.uri}" + (f" ({item.description})" if item.description else "") + "]"
            )
        else:
            parts.append(f"[{kind or 'unknown'} content]")
    if not parts and getattr(result, "structured_content", None) is not None:
        import json

        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)


def _media(kind: str, mime: str, data: str, store_media: bool) -> str:
    try:
        size = len(base64.b64decode(data, validate=False))
    except (ValueError, TypeError):
        size = len(data)
    label = f"[{kind} {mime}, {size} bytes"
    if not store_media:
        return label + ", not stored (store_media: false)]"
    return label + f": data:{mime};base64,{data}]"


class _Registry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid = os.getpid()
        self.loop: _Loop | None = None
        self.servers: dict[str, McpServer] = {}


_registry = _Registry()


def _current() -> _Registry:
    """The registry of this process (a forked worker child starts afresh: threads do not survive fork)."""
    global _registry
    if _registry.pid != os.getpid():
        _registry = _Registry()
    return _registry


def server_for(spec: McpServerSpec) -> McpServer:
    """The running server of ``spec``'s configuration, started on first use; McpError if it cannot."""
    registry = _current()
    with registry.lock:
        server = registry.servers.get(spec.key())
        if server is not None and server.alive:
            return server
        if registry.loop is None:
            registry.loop = _Loop()
            atexit.register(stop_all)
        server = McpServer(spec, registry.loop)
        server.start()  # raises: a server that did not start is not kept
        registry.servers[spec.key()] = server
        return server


def running_servers() -> list[McpServer]:
    return [s for s in _current().servers.values() if s.alive]


def stop_all() -> None:
    """Stop every server of this process (each transport ends its process tree)."""
    registry = _current()
    with registry.lock:
        servers = list(registry.servers.values())
        registry.servers.clear()
    threads = [threading.Thread(target=s.stop, daemon=True) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(STOP_GRACE_S + 1)


def mcp_tools(
    spec: McpServerSpec, store_media: bool, start: Callable[[McpServerSpec], McpServer] = server_for
) -> dict[str, ToolDef]:
    """The tools of one server as the model is offered them, filtered by include/exclude_tools."""
    server = start(spec)
    tools: dict[str, ToolDef] = {}
    for tool in server.tools:
        if spec.include_tools is not None and tool.name not in spec.include_tools:
            continue
        if tool.name in spec.exclude_tools:
            continue
        # Providers accept [A-Za-z0-9_-]{1,64} as a function name; the server is called by its own name.
        name = re.sub(r"[^A-Za-z0-9_-]", "_", f"{spec.name}{SEPARATOR}{tool.name}")[:64]
        schema = dict(tool.input_schema or {"type": "object", "properties": {}})
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        tools[name] = ToolDef(
            name=name,
            description=tool.description or tool.title or f"{tool.name} (MCP server {spec.name})",
            parameters=schema,
            function=_caller(spec, tool.name, store_media),
            takes_arguments=True,
        )
    return tools


def _caller(spec: McpServerSpec, tool: str, store_media: bool) -> Callable[[dict[str, Any]], str]:
    def call(arguments: dict[str, Any]) -> str:
        registry = _current()
        server = registry.servers.get(spec.key())
        if server is None:
            server = server_for(spec)
        return server.call(tool, arguments, store_media)

    return call
