"""A scriptable OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benchmarks.

The real litellm path (HTTP, SSE parsing, error mapping, timeouts) is only honestly tested against a
real socket, so this is a small stdlib server rather than a mock. Each request to
``POST /v1/chat/completions`` takes the next scripted reply from a queue; every reply adapts to the
request, so one script serves both ``stream=True`` and plain calls. With the queue empty the server
echoes the last user message, so it can serve long benchmark loops.

    with FakeOpenAI() as fake:
        fake.add_error(429, retry_after="0")
        fake.add_text("Hello there", chunks=["Hel", "lo ", "there"])
        fake.add_tool_calls([{"name": "add", "arguments": {"a": 1}}], index=False)
        ...  # point a client at fake.base_url
        fake.requests[0]["messages"]  # what the client sent

Tool calls: ``{"name": ..., "arguments": dict (JSON-encoded) or str (sent as is, may be malformed),
"id": optional}``.

Shapes real servers send that well-behaved ones do not (met with llama-cpp-python serving a small
model): ``add_empty()`` (HTTP 200 and no data at all), ``add_text("")`` (no text, no tool call),
``add_text(..., usage=False)`` (no usage, streamed or not), ``add_text(..., gap=s)`` (tokens trickled
out), ``finish_reason="length"``, context overflows as ``add_error(400, ...)``, and
``strict = True``: every later request holding a message a chat template cannot render (an
assistant message with neither text nor tool calls, a tool result without its call) is answered
with HTTP 500, as llama.cpp's template rendering does.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

__all__ = ["FakeOpenAI", "Reply", "fake_openai", "refusing_port"]


@dataclass
class Reply:
    """One scripted answer. ``kind`` is "text", "tool_calls", "error" or "stall"."""

    kind: str
    text: str | None = None
    chunks: list[str] | None = None  # stream fragments of ``text``; default: split after spaces
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    index: bool = True  # streamed tool-call deltas carry ``index`` (False: like old Ollama)
    fragment: int = 7  # streamed tool-call arguments are sent in pieces this long
    status: int = 200
    error_body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    stall: float = 0.0  # seconds to sleep before answering (or mid-stream, see ``after_chunks``)
    after_chunks: int | None = None  # stall: None = before the headers; n = after n streamed chunks
    prompt_tokens: int = 11
    completion_tokens: int | None = None  # default: one per word / call
    finish_reason: str | None = None
    model: str | None = None  # default: the model the request named
    echo_key: bool = (
        False  # error: put the request's Authorization header into the message, as some providers do
    )
    usage: bool = True  # False: no usage in the body, nor in a stream that asks for it
    gap: float = 0.0  # stream: seconds between two chunks (a server that trickles tokens)


def _split_words(text: str) -> list[str]:
    parts: list[str] = []
    for i, word in enumerate(text.split(" ")):
        parts.append(word if i == 0 else " " + word)
    return [p for p in parts if p] or [text]


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler stalled on purpose must not hold up close()
    allow_reuse_address = True
    fake: FakeOpenAI


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real providers; the client pools connections
    # Without TCP_NODELAY, headers and body go out as two small writes and Nagle + delayed ACK
    # add ~44 ms to every keep-alive request.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # tests capture stdout/stderr; keep the server quiet

    # -- plumbing -------------------------------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.fake._track(self.connection, add=False)

    def _send_json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        # No Content-Length: the stream ends when the connection closes.
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def _sse(self, payload: dict[str, Any] | str) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self.wfile.write(f"data: {text}\n\n".encode())
        self.wfile.flush()

    # -- routes ---------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        if self.path.rstrip("/").endswith("/models"):
            self._send_json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send_json(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
            return
        fake = self.server.fake
        reply = fake._take(body, dict(self.headers))
        problem = _template_problem(body) if fake.strict else None
        if problem is not None:
            reply = Reply(
                "error", status=500, error_body={"error": {"message": problem, "type": "server_error"}}
            )
        if fake.latency:
            fake._closing.wait(fake.latency)
        # The client may have given up (a timeout): expected in stall tests.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._answer(body, reply)

    def _answer(self, body: dict[str, Any], reply: Reply) -> None:
        fake = self.server.fake
        if reply.kind == "stall" and reply.after_chunks is None:
            fake._closing.wait(reply.stall)  # wakes early when the server closes
        if reply.kind == "error":
            error = reply.error_body or {
                "error": {"message": f"scripted error {reply.status}", "type": "fake_error"}
            }
            if reply.echo_key:
                error = {
                    "error": {
                        **error["error"],
                        "message": f"Incorrect API key: {self.headers.get('Authorization')}",
                    }
                }
            self._send_json(reply.status, error, reply.headers)
            return
        model = reply.model or str(body.get("model") or "fake")
        if reply.kind == "empty":  # HTTP 200 and nothing else: a server that failed mid-way
            if body.get("stream"):
                self._start_sse()
            else:
                self._send_json(200, {})
            return
        if body.get("stream"):
            self._stream(body, reply, model)
        else:
            self._send_json(200, _completion_body(reply, model), reply.headers)

    def _stream(self, body: dict[str, Any], reply: Reply, model: str) -> None:
        fake = self.server.fake
        chunks = _stream_chunks(reply, model)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and reply.usage
        self._start_sse()
        for number, chunk in enumerate(chunks):
            if reply.kind == "stall" and reply.after_chunks == number:
                fake._closing.wait(reply.stall)
            elif reply.gap and number:
                fake._closing.wait(reply.gap)
            self._sse(chunk)
        if include_usage:
            prompt, completion = _usage_numbers(reply)
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
            self._sse({**_chunk_head(model), "choices": [], "usage": usage})
        self._sse("[DONE]")


def _template_problem(body: dict[str, Any]) -> str | None:
    """Why a chat template would fail on the request's messages (None: it would not)."""
    calls: set[str] = set()
    for i, message in enumerate(body.get("messages") or []):
        role = message.get("role")
        if role == "assistant":
            calls = {c.get("id") for c in message.get("tool_calls") or []}
            if not message.get("content") and not calls:
                return f"Error rendering prompt with jinja template: message {i}: assistant message has no content"
        elif role == "tool":
            if message.get("tool_call_id") not in calls:
                return (
                    f"Error rendering prompt with jinja template: message {i}: tool result without its call"
                )
        else:
            calls = set()
    return None


def _chunk_head(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }


def _tool_call_wire(call: dict[str, Any], number: int) -> dict[str, Any]:
    args = call.get("arguments", {})
    return {
        "id": call.get("id") or f"call_{number + 1}",
        "type": "function",
        "function": {"name": call["name"], "arguments": args if isinstance(args, str) else json.dumps(args)},
    }


def _usage_numbers(reply: Reply) -> tuple[int, int]:
    if reply.completion_tokens is not None:
        return reply.prompt_tokens, reply.completion_tokens
    words = len((reply.text or "").split()) + len(reply.tool_calls)
    return reply.prompt_tokens, max(1, words)


def _finish(reply: Reply) -> str:
    return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")


def _completion_body(reply: Reply, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.tool_calls:
        message["tool_calls"] = [_tool_call_wire(c, n) for n, c in enumerate(reply.tool_calls)]
    prompt, completion = _usage_numbers(reply)
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish(reply)}],
    }
    if reply.usage:
        body["usage"] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
    return body


def _stream_chunks(reply: Reply, model: str) -> list[dict[str, Any]]:
    head = _chunk_head(model)

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    out = [chunk({"role": "assistant", "content": ""})]
    if reply.text:
        for piece in reply.chunks if reply.chunks is not None else _split_words(reply.text):
            out.append(chunk({"content": piece}))
    for number, call in enumerate(reply.tool_calls):
        wire = _tool_call_wire(call, number)
        args = wire["function"]["arguments"]
        first: dict[str, Any] = {
            "id": wire["id"],
            "type": "function",
            "function": {"name": wire["function"]["name"], "arguments": ""},
        }
        pieces = [args[i : i + reply.fragment] for i in range(0, len(args), reply.fragment)] or [""]
        deltas = [first] + [{"function": {"arguments": p}} for p in pieces]
        for delta in deltas:
            if reply.index:
                delta = {"index": number, **delta}
            out.append(chunk({"tool_calls": [delta]}))
    out.append(chunk({}, _finish(reply)))
    return out


class FakeOpenAI:
    """The server, as a context manager. ``base_url`` is ``http://127.0.0.1:PORT/v1``.

    Script replies with the ``add_*`` methods (each takes ``times=`` to repeat); read what clients
    sent in ``requests`` (parsed JSON bodies) and ``request_headers``.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._connections: set[socket.socket] = set()
        self.requests: list[dict[str, Any]] = []
        self.request_headers: list[dict[str, str]] = []
        self.strict = False  # answer requests a chat template cannot render with HTTP 500
        self.latency = 0.0  # seconds every answer waits first, as a provider's model does (benchmarks)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        server = _Server((self._host, 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is None:
            return
        self._closing.set()  # wake stalled handlers
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            conns = list(self._connections)
        for conn in conns:  # keep-alive connections would otherwise linger in their threads
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        assert self._server is not None, "the server is not running"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}/v1"

    @property
    def hits(self) -> int:
        """How many chat-completion requests arrived."""
        return len(self.requests)

    @property
    def pending(self) -> int:
        """Scripted replies not yet served."""
        return len(self._queue)

    # -- scripting ------------------------------------------------------------------------------
    def add(self, reply: Reply, times: int = 1) -> FakeOpenAI:
        with self._lock:
            self._queue.extend(reply for _ in range(times))
        return self

    def add_text(
        self,
        text: str,
        *,
        chunks: list[str] | None = None,
        prompt_tokens: int = 11,
        completion_tokens: int | None = None,
        finish_reason: str | None = None,
        usage: bool = True,
        gap: float = 0.0,
        times: int = 1,
    ) -> FakeOpenAI:
        """A plain answer; streamed as ``chunks`` (default: word by word) when the client streams;
        ``usage=False``: neither the body nor the stream (even when asked) carries usage; ``gap``:
        seconds between two streamed chunks."""
        if chunks is not None and "".join(chunks) != text:
            raise ValueError("chunks must join to text")
        reply = Reply(
            "text",
            text=text,
            chunks=chunks,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            finish_reason=finish_reason,
            usage=usage,
            gap=gap,
        )
        return self.add(reply, times)

    def add_empty(self, times: int = 1) -> FakeOpenAI:
        """HTTP 200 with no data: an empty event stream, or ``{}`` for a plain call."""
        return self.add(Reply("empty"), times)

    def add_tool_calls(
        self,
        calls: list[dict[str, Any]],
        *,
        content: str | None = None,
        index: bool = True,
        fragment: int = 7,
        times: int = 1,
    ) -> FakeOpenAI:
        """One or several (parallel) tool calls. Streamed, arguments go out in ``fragment``-sized pieces;
        ``index=False`` leaves ``index`` out of every streamed delta. A str ``arguments`` is sent as is."""
        for call in calls:
            if "name" not in call:
                raise ValueError("a tool call needs a name")
        return self.add(
            Reply("tool_calls", text=content, tool_calls=list(calls), index=index, fragment=fragment), times
        )

    def add_tool_call(
        self,
        name: str,
        arguments: dict[str, Any] | str,
        *,
        id: str | None = None,  # noqa: A002
        index: bool = True,
        times: int = 1,
    ) -> FakeOpenAI:
        call: dict[str, Any] = {"name": name, "arguments": arguments}
        if id is not None:
            call["id"] = id
        return self.add_tool_calls([call], index=index, times=times)

    def add_error(
        self,
        status: int,
        message: str | None = None,
        *,
        error_type: str | None = None,
        retry_after: str | float | None = None,
        body: dict[str, Any] | None = None,
        echo_key: bool = False,
        times: int = 1,
    ) -> FakeOpenAI:
        """An HTTP error with an OpenAI-style body ``{"error": {"message", "type"}}`` (or ``body``);
        ``echo_key`` puts the request's Authorization header into the message."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        default_types = {
            400: "invalid_request_error",
            401: "authentication_error",
            404: "not_found_error",
            429: "rate_limit_exceeded",
            500: "server_error",
            503: "server_error",
        }
        error = body or {
            "error": {
                "message": message or f"scripted error {status}",
                "type": error_type or default_types.get(status, "error"),
                "code": None,
            }
        }
        return self.add(
            Reply("error", status=status, error_body=error, headers=headers, echo_key=echo_key), times
        )

    def add_stall(
        self, seconds: float, *, text: str = "late answer", after_chunks: int | None = None, times: int = 1
    ) -> FakeOpenAI:
        """Sleep ``seconds`` before the headers (``after_chunks=None``) or after that many streamed
        chunks (the first chunk is the empty role chunk; chunk 1 carries the first word)."""
        return self.add(Reply("stall", text=text, stall=seconds, after_chunks=after_chunks), times)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.request_headers.clear()

    # -- used by the handler --------------------------------------------------------------------
    def _take(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.request_headers.append(headers)
            if self._queue:
                return self._queue.popleft()
        return Reply("text", text=f"echo: {_last_user_text(body)}")

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):  # content parts
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port where connections are refused: bound (so nobody else takes it) but not listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A running FakeOpenAI for one test."""
    with FakeOpenAI() as fake:
        yield fake
