"""Real models, through litellm (pinned; see pyproject.toml).

Choices, and why (numbers in shared/notes/deps-measured.md, section 1):

- ``import litellm`` costs about 3 s, loads ``.env`` files, fetches a price list from GitHub and prints
  to stdout on errors. So it is imported on the first call only, after an environment preamble that
  turns those side effects off, and ``suppress_debug_info`` is set right after.
- litellm's own retries are off (``max_retries=0``): we retry here, with a bounded, testable backoff,
  and never after streamed text has been shown (a retry would show it twice).
- Errors are classified on text and ``status_code`` before class, because litellm maps some failures
  surprisingly (``failures.py``); only what a retry can cure is retried.
- Streamed tool calls are rebuilt in ``streaming.py``, not by ``stream_chunk_builder`` (which merges
  parallel calls when the server leaves out ``index``).
- litellm runs on a worker thread (its import, each request, the stream), never on the caller's, so
  a signal's exception is raised in our code, not inside litellm; the wait there also bounds the
  whole call by ``timeout`` (see ``offthread.py``).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..config.spec import DEFAULT_NUM_RETRIES, DEFAULT_TIMEOUT_S, ModelSpec
from ..errors import ModelError
from ..messages import Completion, Message, ToolCall, Usage
from . import OnText
from .failures import Failure, classify, explain
from .offthread import Emit, off_caller_thread
from .providers import (
    ONLY_LOCAL_ENV,
    env_api_base,
    is_loopback_url,
    key_var,
    litellm_loaded,
    load_litellm,
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
        *,
        response_format: dict[str, Any] | None = None,
    ) -> Completion:
        self._check_key()
        self._check_local()
        # ~3 s the first time, on the worker thread like every other litellm call
        litellm = load_litellm() if litellm_loaded() else off_caller_thread(lambda emit: load_litellm())
        kwargs = self._kwargs(messages, tools, stream)
        if response_format is not None:
            kwargs["response_format"] = response_format
        attempts = self.num_retries + 1
        previous: Failure | None = None
        for attempt in range(1, attempts + 1):
            state = StreamState()
            try:
                return self._attempt(litellm, kwargs, stream, state, on_text)
            except ModelError:
                raise
            except _CallbackFailed as failed:
                raise failed.original from None  # the caller's own error (e.g. a closed stdout), as it was
            except Exception as exc:  # litellm raises openai.APIError subclasses, httpx and plain errors
                failure = classify(exc, self.spec, litellm)
                if failure.kind == "empty":  # HTTP 200 and no answer: the run loop asks once more
                    return Completion(Message("assistant", None), Usage(), self.name, None)
                if failure.repeats(previous):
                    failure.retryable, failure.kind = False, "server_repeated"
                if not failure.retryable or attempt == attempts or state.delivered:
                    raise ModelError(
                        explain(failure, self.spec, attempt, state.delivered),
                        kind="server" if failure.kind == "server_repeated" else failure.kind,
                        retryable=failure.retryable,
                    ) from exc
                previous = failure
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
            kwargs["tool_choice"] = self._tool_choice(messages, tools)
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

    def _tool_choice(
        self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]
    ) -> str | dict[str, Any]:
        """``auto`` unless the model mapping says otherwise: some servers (llama.cpp's among them)
        leave the tools out of the prompt without it. ``required`` or a tool name holds until a tool
        has answered in this turn, then ``auto``: forcing a call every round would never let the
        model answer (the OpenAI Agents SDK resets it the same way). A tool name is sent only to an
        agent offered that tool (members share the team's mapping); the others get ``auto``."""
        choice = self.spec.tool_choice or "auto"
        if choice in ("auto", "none"):
            return choice
        if choice != "required" and choice not in {(t.get("function") or {}).get("name") for t in tools}:
            return "auto"
        for message in reversed(messages):
            if message.role == "user":
                break
            if message.role == "tool":
                return "auto"
        if choice == "required":
            return choice
        return {"type": "function", "function": {"name": choice}}

    def _plain(self, litellm: Any, kwargs: dict[str, Any]) -> Completion:
        response = litellm.completion(**kwargs)
        if not response.choices:  # HTTP 200 with no choices: nothing was said, the caller asks again
            return Completion(Message("assistant", None), Usage(), self.name, None)
        choice = response.choices[0]
        raw = choice.message
        calls = [
            ToolCall(tc.id or f"call_{n}", tc.function.name or "", _arguments(tc.function.arguments))
            for n, tc in enumerate(raw.tool_calls or [], start=1)
        ]
        usage = self._usage(litellm, getattr(response, "usage", None), response)
        if not usage.total_tokens:  # no usage in the body: litellm fills in zeros
            usage = self._estimate(litellm, kwargs["messages"], raw.content, calls)
        message = Message("assistant", raw.content, calls)
        return Completion(message, usage, getattr(response, "model", None) or self.name, choice.finish_reason)

    def _attempt(
        self, litellm: Any, kwargs: dict[str, Any], stream: bool, state: StreamState, on_text: OnText | None
    ) -> Completion:
        """One request, made on a worker thread; streamed text reaches ``on_text`` on this thread."""

        def deliver(piece: str) -> None:
            if on_text is None:
                return
            state.delivered += len(piece)  # counted first: if on_text raises, nothing is retried
            try:
                on_text(piece)
            except Exception as exc:  # not a model failure: must not be classified or retried
                raise _CallbackFailed(exc) from exc

        if stream:
            return off_caller_thread(
                lambda emit: self._stream(litellm, kwargs, state, emit), deliver, timeout=self.timeout
            )
        return off_caller_thread(lambda emit: self._plain(litellm, kwargs), timeout=self.timeout)

    def _stream(self, litellm: Any, kwargs: dict[str, Any], state: StreamState, emit: Emit) -> Completion:
        stream = litellm.completion(**kwargs)
        for chunk in stream:
            piece = state.add_chunk(chunk)
            if piece:
                emit(piece)
        usage = self._usage(litellm, state.usage, None)
        # Without usage from the server litellm counts the tokens itself and attaches that to the last
        # chunk it yields; the chunks it received (``chunks``) show whether the server sent any.
        received = getattr(stream, "chunks", None)
        if isinstance(received, list) and not any(getattr(c, "usage", None) is not None for c in received):
            usage.estimated = True
        message = Message("assistant", state.content, state.tools.calls())
        return Completion(message, usage, state.model or self.name, state.finish_reason)

    def _estimate(
        self, litellm: Any, messages: list[dict[str, Any]], text: str | None, calls: list[ToolCall]
    ) -> Usage:
        """Token counts for a reply that came without them, counted by litellm's tokenizer for the model."""
        try:
            prompt = int(litellm.token_counter(model=self.name, messages=messages))
            said = (text or "") + "".join(c.name + c.arguments for c in calls)
            output = int(litellm.token_counter(model=self.name, text=said)) if said else 0
        except Exception:  # an unknown tokenizer: a rough count is still better than none
            prompt = sum(len(str(m.get("content") or "")) for m in messages) // 4
            output = (len(text or "") + sum(len(c.arguments) for c in calls)) // 4
        return Usage(
            prompt, output, prompt + output, self._cost(litellm, prompt, output, None), estimated=True
        )

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
            found = off_caller_thread(lambda emit: load_litellm().validate_environment(spec.id))
            missing = list(found.get("missing_keys") or [])
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

    # -- retries -------------------------------------------------------------------------------
    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        # Exponential, with a little jitter so parallel members don't retry in lockstep.
        return float(
            min(self.backoff_base * 2 ** (attempt - 1), self.max_backoff) * random.uniform(1.0, 1.25)
        )
