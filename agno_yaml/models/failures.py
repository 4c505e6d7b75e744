"""What went wrong with a model call, and the one line that says so.

litellm maps some failures surprisingly (connection refused arrives as a 500 "Connection error.", a
missing key as a 500 "Missing credentials", some 401s as BadRequestError, an empty body as a 500), so
a failure is classified on its text and status code before its class. Each kind decides whether a
retry can succeed: only rate limits, connection failures and server errors are retried, and not a
server error that repeats the attempt before word for word.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from ..config.spec import DEFAULT_NUM_RETRIES, DEFAULT_TIMEOUT_S, ModelSpec
from .offthread import DeadlinePassed
from .providers import env_api_base, key_var, provider_of, safe_url

__all__ = ["Failure", "classify", "detail", "explain", "retry_after"]


@dataclass
class Failure:
    """One failed attempt, classified."""

    kind: str
    status: int | None
    detail: str
    retryable: bool
    retry_after: float | None = None

    def repeats(self, previous: Failure | None) -> bool:
        """An HTTP 500 with the same message as the attempt before, and no Retry-After: the server
        fails on this very request (a chat template that cannot render it, say), and a third try
        would fail the same way."""
        return (
            previous is not None
            and self.kind == previous.kind == "server"
            and self.status == previous.status == 500
            and self.retry_after is None
            and bool(self.detail)
            and self.detail == previous.detail
        )


# How providers and local servers word a request longer than the context (OpenAI, llama.cpp, vLLM,
# Ollama, Anthropic): litellm maps only some of them to ContextWindowExceededError.
_OVERFLOW = re.compile(
    r"maximum context length|context[ _]length[ _]exceeded|exceeds? (?:the )?(?:available )?context"
    r"|context (?:window|size) (?:of \d+ )?(?:is )?exceeded|prompt is too long|too many tokens"
    r"|requested tokens \(\d+\) exceed"
)
_PREFIX = re.compile(r"^(?:litellm\.\w+:\s*|\w+Error:\s*|\w+Exception\s*-\s*)+")


def classify(exc: Exception, spec: ModelSpec, litellm: Any = None) -> Failure:
    status = getattr(exc, "status_code", None)
    status = (
        int(status) if isinstance(status, int) or (isinstance(status, str) and status.isdigit()) else None
    )
    text = detail(exc, spec)
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

    if isinstance(exc, DeadlinePassed):
        return Failure("timeout", None, str(exc), False)
    # litellm maps some failures surprisingly (see the module doc): the text and the status
    # code decide before the class does.
    if "'choices' that is not a list" in lowered:  # HTTP 200 with an empty body (``{}``)
        return Failure("empty", status, text, False)
    if kind_of("ContextWindowExceededError") or _OVERFLOW.search(lowered):
        return Failure("context_overflow", status, text, False)
    if "missing credentials" in lowered or "api_key client option must be set" in lowered:
        return Failure("missing_key", status, text, False)
    if (
        kind_of("Timeout", "APITimeoutError", "ReadTimeout", "ConnectTimeout")
        or status == 408
        or ("timed out" in lowered)
    ):
        # Not retried: the server is still busy with the request (a single-request local server
        # would queue a second one behind it), and a retry doubles the wait. So `timeout` is
        # also the longest one stalled call takes.
        return Failure("timeout", status, text, False)
    if status == 429 or kind_of("RateLimitError"):
        return Failure("rate_limit", 429, text, True, retry_after(exc))
    if status in (401, 403) or kind_of("AuthenticationError", "PermissionDeniedError"):
        return Failure("auth", status, text, False)
    if status == 404 or kind_of("NotFoundError") or "llm provider not provided" in lowered:
        return Failure("not_found", status, text, False)
    if (
        "connection error" in lowered
        or "connection refused" in lowered
        or (kind_of("APIConnectionError", "ConnectError"))
    ):
        return Failure("connection", status, text, True)
    if (status is not None and status >= 500) or kind_of("InternalServerError", "ServiceUnavailableError"):
        return Failure("server", status, text, True, retry_after(exc))
    if (status is not None and 400 <= status < 500) or kind_of("BadRequestError"):
        return Failure("bad_request", status, text, False)
    if isinstance(exc, OSError):  # a socket error that escaped litellm's mapping
        return Failure("connection", status, text, True)
    return Failure("error", status, f"{type(exc).__name__}: {text}", False)


def retry_after(exc: Exception) -> float | None:
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


def detail(exc: Exception, spec: ModelSpec) -> str:
    """The provider's message without litellm's prefixes, on one line, short, with keys masked."""
    text = str(getattr(exc, "message", None) or exc)
    text = _PREFIX.sub("", " ".join(text.split()))
    text = text.split(" Received Model Group=")[0].split(" LiteLLM Retried:")[0]
    for secret in (spec.api_key, os.environ.get(key_var(spec.id))):
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = re.sub(r"\b(sk-[A-Za-z0-9_\-]{4})[A-Za-z0-9_\-]+", r"\1***", text)  # keys echoed by providers
    return text if len(text) <= 200 else text[:197] + "..."


def explain(failure: Failure, spec: ModelSpec, attempts: int, delivered: int) -> str:
    """The one line a person reads for ``failure``: what happened and what to do."""
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
            f"num_retries: in the model mapping (now {_num_retries(spec)})"
        )
    if kind == "server_repeated":
        return (
            f"{head} server error ({status}: {failure.detail}), the same on {attempts} attempts in a row; "
            f"not retried further: the server fails on this request itself. Check its log; if the "
            f"session's history is what it cannot handle, continue in a new session"
        )
    if kind == "context_overflow":
        return f"{head} the request is longer than the model's context ({status}: {failure.detail})"
    if kind == "server":
        return (
            f"{head} server error ({status}: {failure.detail}) {after}; retry later, or raise "
            f"num_retries: in the model mapping (now {_num_retries(spec)})"
        )
    if kind == "timeout":
        if delivered:
            return (
                f"{head} the answer was not finished within the {_timeout(spec):g} s timeout, after "
                f"{delivered} characters had been streamed (not retried: they were already shown); raise "
                f"timeout: in the model mapping if answers take longer (it bounds the whole call)"
            )
        return (
            f"{head} no answer within the {_timeout(spec):g} s timeout (not retried: the server may still "
            f"be working on it); raise timeout: in the model mapping if answers take longer, and check "
            f"that {where} is reachable"
        )
    if kind == "connection":
        return (
            f"{head} cannot connect to {where} {after} (last: {failure.detail}); check that "
            f"api_base is right and the server is running and reachable"
        )
    if kind == "bad_request":
        return f"{head} the provider rejected the request ({status}): {failure.detail}"
    return f"{head} call failed {after}: {failure.detail}"


def _num_retries(spec: ModelSpec) -> int:
    return spec.num_retries if spec.num_retries is not None else DEFAULT_NUM_RETRIES


def _timeout(spec: ModelSpec) -> float:
    return spec.timeout if spec.timeout is not None else DEFAULT_TIMEOUT_S
