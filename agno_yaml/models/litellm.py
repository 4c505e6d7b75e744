"""Real models, through litellm (pinned; see pyproject.toml).

Choices, and why (numbers in shared/notes/deps-measured.md, section 1):

- ``import litellm`` costs about 3 s, loads ``.env`` files, fetches a price list from GitHub and prints
  to stdout on errors. So it is imported on the first call only, after an environment preamble that
  turns those side effects off, and ``suppress_debug_info`` is set right after.
- litellm's own retries are off (``max_retries=0``): we retry here, with a bounded, testable backoff,
  and never after streamed text has been shown (a retry would show it twice).
- Errors are classified on ``status_code`` plus class, because litellm maps some failures
  surprisingly (connection refused arrives as a 500 "Connection error.", a missing key as a 500
  "Missing credentials", some 401s as BadRequestError).
- Streamed tool calls are rebuilt in ``streaming.py``, not by ``stream_chunk_builder`` (which merges
  parallel calls when the server leaves out ``index``).
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..config.spec import DEFAULT_NUM_RETRIES, DEFAULT_TIMEOUT_S, ModelSpec
from ..errors import ModelError
from ..messages import Completion, Message, ToolCall, Usage
from . import OnText
from .providers import (
    ONLY_LOCAL_ENV,
    env_api_base,
    is_loopback_url,
    key_var,
    load_litellm,
    provider_of,
    safe_url,
)
from .streaming import StreamState

_UNPRICED: set[str] = set()  # models litellm has no price for: skip the failing lookup next time


def _arguments(text: str | None) -> str:
    """Arguments as the model wrote them (even if not JSON: the run loop reports that back to the
    model); only an empty string becomes ``{}``, which is what a no-argument tool call means."""
    return text if text and text.strip() else "{}"


class _CallbackFailed(Exception):
    """Carries an exception raised by ``on_text`` past the model-failure handling."""

    def __init__(self, original: Exception) -> None:
        super().__init__(str(original))
        self.original = original


@dataclass
class _Failure:
    """One failed attempt, classified."""

    kind: str
    status: int | None
    detail: str
    retryable: bool
    retry_after: float | None = None


_PREFIX = re.compile(r"^(?:litellm\.\w+:\s*|\w+Error:\s*|\w+Exception\s*-\s*)+")


class LiteLLMModel:
    """A model reached through ``litellm.completion``. Stateless between calls; safe to share."""

    def __init__(
        self,
        spec: ModelSpec,
        *,
        backoff_base: float = 0.5,
        max_backoff: float = 20.0,
        max_retry_after: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.spec = spec
        self.name = spec.id
        self.backoff_base = backoff_base  # first retry waits about this long, then doubles
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after  # a server's Retry-After is honoured up to this
        self._sleep = sleep

    @property
    def timeout(self) -> float:
        return self.spec.timeout if self.spec.timeout is not None else DEFAULT_TIMEOUT_S

    @property
    def num_retries(self) -> int:
        return self.spec.num_retries if self.spec.num_retries is not None else DEFAULT_NUM_RETRIES

    # -- the call -----------------------------------------------------------------------------
    def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]] | None = None,
        stream: bool = False,
        on_text: OnText | None = None,
    ) -> Completion:
        self._check_key()
        self._check_local()
        litellm = load_litellm()
        kwargs = self._kwargs(messages, tools, stream)
        attempts = self.num_retries + 1
        for attempt in range(1, attempts + 1):
            state = StreamState()
            try:
                if stream:
                    return self._stream(litellm, kwargs, state, on_text)
                return self._plain(litellm, kwargs)
            except ModelError:
                raise
            except _CallbackFailed as failed:
                raise failed.original from None  # the caller's own error (e.g. a closed stdout), as it was
            except Exception as exc:  # litellm raises openai.APIError subclasses, httpx and plain errors
                failure = self._classify(exc, litellm)
                if not failure.retryable or attempt == attempts or state.delivered:
                    raise ModelError(
                        self._message(failure, attempt, state.delivered),
                        kind=failure.kind,
                        retryable=failure.retryable,
                    ) from exc
                self._sleep(self._delay(attempt, failure.retry_after))
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _kwargs(
        self, messages: Sequence[Message], tools: Sequence[dict[str, Any]] | None, stream: bool
    ) -> dict[str, Any]:
        spec = self.spec
        kwargs: dict[str, Any] = dict(spec.extra)  # provider extras first: our own keys below win
        kwargs.update(
            model=spec.id, messages=[m.to_openai() for m in messages], timeout=self.timeout, max_retries=0
        )
        if tools:
            kwargs["tools"] = list(tools)
            # litellm imports its MCP gateway (1.2 s, and the `mcp` package) whenever tools are passed,
            # unless told to skip it; a test exercises tool calls through real litellm to guard this.
            kwargs["_skip_mcp_handler"] = True
        for name in ("temperature", "max_tokens", "top_p", "api_base", "api_key"):
            value = getattr(spec, name)
            if value is not None:
                kwargs[name] = value
        if stream:
            kwargs["stream"] = True
            kwargs["stream_options"] = {"include_usage": True}  # else streams carry no usage at all
        return kwargs

    def _plain(self, litellm: Any, kwargs: dict[str, Any]) -> Completion:
        response = litellm.completion(**kwargs)
        choice = response.choices[0]
        raw = choice.message
        calls = [
            ToolCall(tc.id or f"call_{n}", tc.function.name or "", _arguments(tc.function.arguments))
            for n, tc in enumerate(raw.tool_calls or [], start=1)
        ]
        usage = self._usage(litellm, getattr(response, "usage", None), response)
        message = Message("assistant", raw.content, calls)
        return Completion(message, usage, getattr(response, "model", None) or self.name, choice.finish_reason)

    def _stream(
        self, litellm: Any, kwargs: dict[str, Any], state: StreamState, on_text: OnText | None
    ) -> Completion:
        for chunk in litellm.completion(**kwargs):
            piece = state.add_chunk(chunk)
            if piece and on_text is not None:
                state.delivered += len(piece)  # counted first: if on_text raises, nothing is retried
                try:
                    on_text(piece)
                except Exception as exc:  # not a model failure: must not be classified or retried
                    raise _CallbackFailed(exc) from exc
        usage = self._usage(litellm, state.usage, None)
        message = Message("assistant", state.content, state.tools.calls())
        return Completion(message, usage, state.model or self.name, state.finish_reason)

    def _usage(self, litellm: Any, raw: Any, response: Any) -> Usage:
        if raw is None:
            return Usage()
        prompt = int(getattr(raw, "prompt_tokens", 0) or 0)
        output = int(getattr(raw, "completion_tokens", 0) or 0)
        total = int(getattr(raw, "total_tokens", 0) or 0) or prompt + output
        return Usage(prompt, output, total, self._cost(litellm, prompt, output, response))

    def _cost(self, litellm: Any, prompt: int, output: int, response: Any) -> float | None:
        if self.name in _UNPRICED:
            return None
        try:
            if response is not None:
                hidden = getattr(response, "_hidden_params", None) or {}
                if hidden.get("response_cost") is not None:
                    return float(hidden["response_cost"])
                return float(litellm.completion_cost(completion_response=response, model=self.name))
            cost_in, cost_out = litellm.cost_per_token(
                model=self.name, prompt_tokens=prompt, completion_tokens=output
            )
            return float(cost_in + cost_out)
        except Exception:  # litellm raises several kinds here (ModelNotMappedError, ValueError, ...)
            _UNPRICED.add(self.name)
            return None

    # -- before the call ----------------------------------------------------------------------
    def _check_key(self) -> None:
        """Name the variable to set when no key can be found, before any network (or the local guard)."""
        spec = self.spec
        if spec.api_key or spec.api_base or env_api_base(spec.id) or os.environ.get(key_var(spec.id)):
            return  # a local server may need no key; litellm's own error is mapped if it does
        try:
            missing = list(load_litellm().validate_environment(spec.id).get("missing_keys") or [])
        except Exception:  # an unknown provider: the call itself will say so
            return
        if missing:
            # litellm lists gemini's two alternative key names; other providers' lists are all required.
            names = (" or " if "GEMINI_API_KEY" in missing else " and ").join(missing)
            raise ModelError(
                f"model {spec.id}: no API key: set {names} in the environment "
                f"(or api_key: in the model mapping), or run offline with --model echo",
                kind="missing_key",
            )

    def _check_local(self) -> None:
        """With AGNO_YAML_ONLY_LOCAL_MODELS=1 (set by the test suite) only loopback endpoints are allowed."""
        if os.environ.get(ONLY_LOCAL_ENV, "") not in ("1", "true", "True", "yes"):
            return
        base = self.spec.api_base or env_api_base(self.spec.id)
        if not is_loopback_url(base):
            where = f"api_base {safe_url(base)}" if base else "the provider's public endpoint (no api_base)"
            raise ModelError(
                f"model {self.spec.id}: refused to call {where}: {ONLY_LOCAL_ENV}=1 allows only loopback "
                f"endpoints (127.0.0.1, localhost, ::1); set api_base: to a local server or use --model echo",
                kind="refused",
            )

    # -- failures -----------------------------------------------------------------------------
    def _classify(self, exc: Exception, litellm: Any = None) -> _Failure:
        status = getattr(exc, "status_code", None)
        status = (
            int(status) if isinstance(status, int) or (isinstance(status, str) and status.isdigit()) else None
        )
        text = self._detail(exc)
        lowered = text.lower()
        original = getattr(exc, "original_exception", None)  # MidStreamFallbackError wraps the real cause
        if original is not None:
            lowered += " " + type(original).__name__.lower() + " " + str(original).lower()

        def kind_of(*names: str) -> bool:
            """``exc`` is an instance of one of litellm's exception classes ``names``, or, raised
            below litellm (httpx, the openai SDK), has one of those class names."""
            found = (getattr(litellm, n, None) for n in names) if litellm is not None else ()
            classes = tuple(c for c in found if isinstance(c, type))
            return (bool(classes) and isinstance(exc, classes)) or type(exc).__name__ in names

        # litellm maps some failures surprisingly (see the module doc): the text and the status
        # code decide before the class does.
        if "missing credentials" in lowered or "api_key client option must be set" in lowered:
            return _Failure("missing_key", status, text, False)
        if (
            kind_of("Timeout", "APITimeoutError", "ReadTimeout", "ConnectTimeout")
            or status == 408
            or ("timed out" in lowered)
        ):
            # Not retried: the server is still busy with the request (a single-request local server
            # would queue a second one behind it), and a retry doubles the wait. So `timeout` is
            # also the longest one stalled call takes.
            return _Failure("timeout", status, text, False)
        if status == 429 or kind_of("RateLimitError"):
            return _Failure("rate_limit", 429, text, True, self._retry_after(exc))
        if status in (401, 403) or kind_of("AuthenticationError", "PermissionDeniedError"):
            return _Failure("auth", status, text, False)
        if status == 404 or kind_of("NotFoundError") or "llm provider not provided" in lowered:
            return _Failure("not_found", status, text, False)
        if (
            "connection error" in lowered
            or "connection refused" in lowered
            or (kind_of("APIConnectionError", "ConnectError"))
        ):
            return _Failure("connection", status, text, True)
        if (status is not None and status >= 500) or kind_of(
            "InternalServerError", "ServiceUnavailableError"
        ):
            return _Failure("server", status, text, True, self._retry_after(exc))
        if (status is not None and 400 <= status < 500) or kind_of("BadRequestError"):
            return _Failure("bad_request", status, text, False)
        if isinstance(exc, OSError):  # a socket error that escaped litellm's mapping
            return _Failure("connection", status, text, True)
        return _Failure("error", status, f"{type(exc).__name__}: {text}", False)

    def _retry_after(self, exc: Exception) -> float | None:
        headers = getattr(exc, "litellm_response_headers", None) or getattr(
            getattr(exc, "response", None), "headers", None
        )
        if not headers:
            return None
        try:
            if headers.get("retry-after-ms") is not None:
                return max(0.0, float(headers["retry-after-ms"]) / 1000)
            if headers.get("retry-after") is not None:
                return max(0.0, float(headers["retry-after"]))  # an HTTP-date is not worth parsing here
        except (TypeError, ValueError):
            return None
        return None

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        # Exponential, with a little jitter so parallel members don't retry in lockstep.
        return float(
            min(self.backoff_base * 2 ** (attempt - 1), self.max_backoff) * random.uniform(1.0, 1.25)
        )

    def _detail(self, exc: Exception) -> str:
        """The provider's message without litellm's prefixes, on one line, short, with keys masked."""
        text = str(getattr(exc, "message", None) or exc)
        text = _PREFIX.sub("", " ".join(text.split()))
        text = text.split(" Received Model Group=")[0].split(" LiteLLM Retried:")[0]
        for secret in (self.spec.api_key, os.environ.get(key_var(self.spec.id))):
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
        text = re.sub(r"\b(sk-[A-Za-z0-9_\-]{4})[A-Za-z0-9_\-]+", r"\1***", text)  # keys echoed by providers
        return text if len(text) <= 200 else text[:197] + "..."

    def _message(self, failure: _Failure, attempts: int, delivered: int) -> str:
        spec = self.spec
        head = f"model {spec.id}:"
        status = f"HTTP {failure.status}" if failure.status else "no status"
        where = safe_url(spec.api_base or env_api_base(spec.id)) or "the provider"
        key_source = "the api_key in the model mapping" if spec.api_key else key_var(spec.id)
        if delivered:  # a retry would show the same text twice
            after = f"after {delivered} characters had been streamed (not retried: they were already shown)"
        else:
            after = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
        kind = failure.kind
        if kind == "missing_key":
            return (
                f"{head} no API key: set {key_var(spec.id)} in the environment (any value works for a local "
                f"server without auth) or api_key: in the model mapping, or run offline with --model echo"
            )
        if kind == "auth":
            return f"{head} the API key was rejected ({status}: {failure.detail}); check {key_source}"
        if kind == "not_found" and "llm provider not provided" in failure.detail.lower():
            if "/" in spec.id:
                return (
                    f"{head} litellm knows no provider named {provider_of(spec.id)!r}; use one of its "
                    f"provider prefixes (openai/, anthropic/, gemini/, ollama/, ... see "
                    f"https://docs.litellm.ai/docs/providers), or openai/ with api_base: for an "
                    f"OpenAI-compatible server"
                )
            return (
                f"{head} litellm cannot tell which provider serves this model; write the model string as "
                f"provider/model (e.g. openai/gpt-4o-mini, anthropic/claude-sonnet-4-5, ollama/llama3.1)"
            )
        if kind == "not_found":
            return (
                f"{head} model not found ({status}: {failure.detail}); check the litellm model string "
                f"(provider/model, e.g. openai/gpt-4o-mini) and api_base"
            )
        if kind == "rate_limit":
            return (
                f"{head} rate limited ({status}: {failure.detail}) {after}; wait and retry, or raise "
                f"num_retries: in the model mapping (now {self.num_retries})"
            )
        if kind == "server":
            return (
                f"{head} server error ({status}: {failure.detail}) {after}; retry later, or raise "
                f"num_retries: in the model mapping (now {self.num_retries})"
            )
        if kind == "timeout":
            return (
                f"{head} no answer within the {self.timeout:g} s timeout"
                + (f" {after}" if delivered else "")
                + " (not retried: the server may still be working on it); raise timeout: in the model "
                f"mapping if answers take longer, and check that {where} is reachable"
            )
        if kind == "connection":
            return (
                f"{head} cannot connect to {where} {after} (last: {failure.detail}); check that "
                f"api_base is right and the server is running and reachable"
            )
        if kind == "bad_request":
            return f"{head} the provider rejected the request ({status}): {failure.detail}"
        return f"{head} call failed {after}: {failure.detail}"
