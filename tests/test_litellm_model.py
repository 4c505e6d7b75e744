"""LiteLLMModel through the real litellm path, against the local FakeOpenAI server.

Every test here goes through litellm's HTTP client, SSE parser and error mapping; only the server
is fake. Timeouts are at most 1 s and the backoff is tiny, so the file runs in a few seconds once
litellm is imported.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI, refusing_port

from agno_yaml.config.spec import ModelSpec
from agno_yaml.errors import ModelError
from agno_yaml.messages import Message, ToolCall
from agno_yaml.models.litellm import LiteLLMModel
from agno_yaml.models.providers import is_loopback_url
from agno_yaml.models.streaming import ToolCallAccumulator

SECRET = "sk-test-0123456789abcdef"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "delegate_task_to_member",
            "description": "Send a task to a member",
            "parameters": {
                "type": "object",
                "properties": {"member_id": {"type": "string"}, "task": {"type": "string"}},
                "required": ["member_id", "task"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "read_history",
            "parameters": {"type": "object", "properties": {"n": {"type": "integer"}}},
        },
    },
]
HI = [Message("system", "You are terse."), Message("user", "hi")]


def make(fake: FakeOpenAI, **spec: Any) -> LiteLLMModel:
    options: dict[str, Any] = {
        "id": "openai/fake-model",
        "api_base": fake.base_url,
        "api_key": SECRET,
        "timeout": 1.0,
        "num_retries": 2,
    }
    options.update(spec)
    return LiteLLMModel(ModelSpec(**options), backoff_base=0.001)


# -- answers ---------------------------------------------------------------------------------------
def test_plain_answer_and_usage(fake_openai: FakeOpenAI) -> None:
    fake_openai.add_text("Hello there", prompt_tokens=7, completion_tokens=3)
    out = make(fake_openai).complete(HI)
    assert out.message == Message("assistant", "Hello there")
    assert (out.usage.input_tokens, out.usage.output_tokens, out.usage.total_tokens) == (7, 3, 10)
    assert out.usage.cost is None  # litellm has no price for a made-up model
    assert out.finish_reason == "stop"
    assert out.model == "fake-model"
    assert fake_openai.hits == 1


def test_cost_when_litellm_knows_the_price(fake_openai: FakeOpenAI) -> None:
    fake_openai.add_text("priced", prompt_tokens=1000, completion_tokens=1000)
    out = make(fake_openai, id="gpt-4o-mini").complete(HI)
    assert out.usage.cost == pytest.approx(0.00015 + 0.0006)


def test_streamed_answer(fake_openai: FakeOpenAI) -> None:
    fake_openai.add_text(
        "Hello from the stream", chunks=["Hel", "lo from", " the ", "stream"], prompt_tokens=5
    )
    seen: list[str] = []
    out = make(fake_openai).complete(HI, stream=True, on_text=seen.append)
    assert seen == ["Hel", "lo from", " the ", "stream"]
    assert out.message.content == "".join(seen) == "Hello from the stream"
    assert out.usage.input_tokens == 5 and out.usage.total_tokens > 5
    assert out.finish_reason == "stop"
    body = fake_openai.requests[0]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_tool_call_not_streamed(fake_openai: FakeOpenAI) -> None:
    fake_openai.add_tool_call(
        "delegate_task_to_member", {"member_id": "agent-1", "task": "plan"}, id="call_a"
    )
    out = make(fake_openai).complete(HI, tools=TOOLS)
    assert out.message.content is None
    assert out.message.tool_calls == [
        ToolCall("call_a", "delegate_task_to_member", json.dumps({"member_id": "agent-1", "task": "plan"}))
    ]
    assert out.finish_reason == "tool_calls"
    assert fake_openai.requests[0]["tools"] == TOOLS


def test_tool_call_streamed_in_fragments(fake_openai: FakeOpenAI) -> None:
    args = {"member_id": "agent-2", "task": "translate 'bonjour' into English, please"}
    fake_openai.add_tool_calls(
        [{"name": "delegate_task_to_member", "arguments": args, "id": "call_s"}], fragment=5
    )
    seen: list[str] = []
    out = make(fake_openai).complete(HI, tools=TOOLS, stream=True, on_text=seen.append)
    assert seen == []
    assert [(c.id, c.name, json.loads(c.arguments)) for c in out.message.tool_calls] == [
        ("call_s", "delegate_task_to_member", args)
    ]
    assert out.finish_reason == "tool_calls"
    assert out.usage.input_tokens == 11


@pytest.mark.parametrize("index", [True, False], ids=["with-index", "without-index"])
def test_parallel_tool_calls_streamed(fake_openai: FakeOpenAI, index: bool) -> None:
    # Without index, litellm fills in index=0 for every delta and stream_chunk_builder would merge the
    # two calls into one with arguments '{"member": "a"}{"n": 2}'.
    fake_openai.add_tool_calls(
        [
            {"name": "delegate_task_to_member", "arguments": {"member_id": "a", "task": "t"}, "id": "call_1"},
            {"name": "read_history", "arguments": {"n": 2}, "id": "call_2"},
        ],
        index=index,
        fragment=3,
    )
    out = make(fake_openai).complete(HI, tools=TOOLS, stream=True)
    calls = out.message.tool_calls
    assert [(c.id, c.name) for c in calls] == [
        ("call_1", "delegate_task_to_member"),
        ("call_2", "read_history"),
    ]
    assert [json.loads(c.arguments) for c in calls] == [{"member_id": "a", "task": "t"}, {"n": 2}]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_malformed_tool_arguments_arrive_intact(fake_openai: FakeOpenAI, stream: bool) -> None:
    broken = '{"member_id": "a", "task": '
    fake_openai.add_tool_call("delegate_task_to_member", broken, id="call_x")
    out = make(fake_openai).complete(HI, tools=TOOLS, stream=stream)
    assert out.message.tool_calls == [ToolCall("call_x", "delegate_task_to_member", broken)]


def test_accumulator_rules_without_litellm() -> None:
    acc = ToolCallAccumulator()
    for delta in (
        {"id": "a", "function": {"name": "f", "arguments": '{"x"'}},  # no index at all
        {"function": {"arguments": ": 1}"}},  # neither id nor index: continues the last call
        {"id": "b", "function": {"name": "g", "arguments": ""}},  # a new id starts a new call
        {"id": "b", "function": {"arguments": "{}"}},  # a repeated id continues its call
        {"index": 5, "function": {"name": "h"}},  # no id: made up, empty arguments become {}
    ):
        acc.add(delta)
    assert acc.calls() == [
        ToolCall("a", "f", '{"x": 1}'),
        ToolCall("b", "g", "{}"),
        ToolCall("call_3", "h", "{}"),
    ]


# -- the request ------------------------------------------------------------------------------------
def test_request_body_sent(fake_openai: FakeOpenAI) -> None:
    history = [
        *HI,
        Message("assistant", None, [ToolCall("c1", "read_history", '{"n": 1}')]),
        Message("tool", "nothing yet", tool_call_id="c1", name="read_history"),
    ]
    model = make(
        fake_openai, temperature=0.2, max_tokens=50, top_p=0.9, extra={"seed": 7, "presence_penalty": 0.5}
    )
    model.complete(history, tools=TOOLS)
    body = fake_openai.requests[0]
    assert body["model"] == "fake-model"  # the openai/ prefix is litellm's, not the server's
    sent = [m.to_openai() for m in history]
    del sent[2]["content"]  # litellm leaves out the null content of a tool-calling assistant message
    assert body["messages"] == sent
    assert body["tools"] == TOOLS
    assert (body["temperature"], body["max_tokens"], body["top_p"]) == (0.2, 50, 0.9)
    assert (body["seed"], body["presence_penalty"]) == (7, 0.5)
    assert "stream" not in body or body["stream"] is False
    assert fake_openai.request_headers[0]["Authorization"] == f"Bearer {SECRET}"


def test_env_api_base_is_honoured(fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_BASE", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    fake_openai.add_text("via env")
    model = LiteLLMModel(ModelSpec("openai/env-model", timeout=1.0), backoff_base=0.001)
    assert model.complete(HI).message.content == "via env"
    assert fake_openai.requests[0]["model"] == "env-model"


# -- retries and failures ---------------------------------------------------------------------------
def test_rate_limit_then_success(fake_openai: FakeOpenAI) -> None:
    fake_openai.add_error(429, "slow down", retry_after="0.2")
    fake_openai.add_text("finally")
    started = time.perf_counter()
    out = make(fake_openai).complete(HI)
    assert out.message.content == "finally"
    assert fake_openai.hits == 2
    assert time.perf_counter() - started >= 0.2  # Retry-After was honoured


def test_server_error_until_retries_exhausted(fake_openai: FakeOpenAI) -> None:
    fake_openai.add_error(503, "overloaded", times=10)
    with pytest.raises(ModelError) as info:
        make(fake_openai, num_retries=2).complete(HI)
    assert fake_openai.hits == 3
    err = info.value
    assert err.kind == "server" and err.retryable
    assert "after 3 attempts" in str(err) and "HTTP 503" in str(err) and "overloaded" in str(err)
    assert "num_retries" in str(err)


def test_a_500_that_repeats_itself_is_not_retried_again(fake_openai: FakeOpenAI) -> None:
    """A chat template that cannot render the request fails the same way every time."""
    template = "Error rendering prompt with jinja template: message 2: assistant message has no content"
    fake_openai.add_error(500, template, times=10)
    with pytest.raises(ModelError) as info:
        make(fake_openai, num_retries=5).complete(HI)
    assert fake_openai.hits == 2
    err = info.value
    assert err.kind == "server" and not err.retryable
    assert "the same on 2 attempts in a row; not retried further" in str(err)
    assert "retry later" not in str(err) and "new session" in str(err)


def test_a_500_with_a_new_message_each_time_is_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.add_error(500, "worker 1 crashed")
    fake_openai.add_error(500, "worker 2 crashed")
    fake_openai.add_text("third time lucky")
    assert make(fake_openai, num_retries=2).complete(HI).message.content == "third time lucky"
    assert fake_openai.hits == 3


@pytest.mark.parametrize(
    "message",
    [
        "This model's maximum context length is 2048 tokens. However, you requested 3000 tokens",
        "Requested tokens (2100) exceed context window of 2048",
        "the request exceeds the available context size, try increasing it",
    ],
)
def test_a_context_overflow_is_not_retried(fake_openai: FakeOpenAI, message: str) -> None:
    fake_openai.add_error(400, message, times=3)
    with pytest.raises(ModelError) as info:
        make(fake_openai, num_retries=2).complete(HI)
    assert info.value.kind == "context_overflow" and not info.value.retryable
    assert fake_openai.hits == 1 and "longer than the model's context" in str(info.value)


def test_an_authentication_error_is_not_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.add_error(401, "invalid key", times=3)
    with pytest.raises(ModelError) as info:
        make(fake_openai, num_retries=2).complete(HI)
    assert info.value.kind == "auth" and fake_openai.hits == 1 and "retry later" not in str(info.value)


def test_bad_request_is_not_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.add_error(400, "messages[1].content is too long " + "x" * 400)
    with pytest.raises(ModelError) as info:
        make(fake_openai).complete(HI)
    assert fake_openai.hits == 1
    assert info.value.kind == "bad_request"
    assert "too long" in str(info.value) and len(str(info.value)) < 300 and "\n" not in str(info.value)


def test_a_stalled_call_times_out_once_and_is_not_retried(fake_openai: FakeOpenAI) -> None:
    """So `timeout` is the longest one stalled call takes, and a busy local server gets no second request."""
    fake_openai.add_stall(3, times=2)
    with pytest.raises(ModelError) as info:
        make(fake_openai, timeout=0.3, num_retries=2).complete(HI)
    assert info.value.kind == "timeout" and not info.value.retryable
    assert fake_openai.hits == 1
    assert "0.3 s timeout (not retried" in str(info.value) and "raise timeout:" in str(info.value)


def test_the_timeout_bounds_a_trickling_stream_as_a_whole(fake_openai: FakeOpenAI) -> None:
    """Each chunk comes well within the timeout, but the call as a whole may not take longer."""
    fake_openai.add_text(" ".join(f"w{i}" for i in range(200)), gap=0.1)  # 20 s if not cut
    seen: list[str] = []
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        make(fake_openai, timeout=0.6, num_retries=2).complete(HI, stream=True, on_text=seen.append)
    assert time.monotonic() - started < 12.0  # far below the 20 s of the whole stream, on a busy machine too
    assert info.value.kind == "timeout" and fake_openai.hits == 1
    assert seen and "already shown" in str(info.value) and "0.6 s timeout" in str(info.value)


def test_the_timeout_bounds_the_wait_for_the_first_token(fake_openai: FakeOpenAI) -> None:
    fake_openai.add_stall(60, after_chunks=0)  # headers sent, then nothing
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        make(fake_openai, timeout=0.4).complete(HI, stream=True, on_text=lambda _: None)
    assert time.monotonic() - started < 30.0  # the stall would take 60 s
    assert info.value.kind == "timeout" and fake_openai.hits == 1


def test_stall_mid_stream_is_not_retried_after_text_was_shown(fake_openai: FakeOpenAI) -> None:
    fake_openai.add_stall(3, text="one two three", after_chunks=2)
    seen: list[str] = []
    with pytest.raises(ModelError) as info:
        make(fake_openai, timeout=0.3, num_retries=2).complete(HI, stream=True, on_text=seen.append)
    assert seen == ["one"]
    assert fake_openai.hits == 1
    assert info.value.kind == "timeout"
    assert "already shown" in str(info.value)


def test_a_server_error_before_any_text_is_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.add_error(503)
    fake_openai.add_text("second try")
    seen: list[str] = []
    out = make(fake_openai, timeout=5).complete(HI, stream=True, on_text=seen.append)
    assert out.message.content == "second try" and "".join(seen) == "second try"
    assert fake_openai.hits == 2


def test_on_text_errors_propagate_unchanged(fake_openai: FakeOpenAI) -> None:
    # A closed stdout in the CLI must not turn into a "cannot connect" model error, nor a retry.
    def broken(_: str) -> None:
        raise BrokenPipeError("stdout closed")

    fake_openai.add_text("one two")
    with pytest.raises(BrokenPipeError):
        make(fake_openai).complete(HI, stream=True, on_text=broken)
    assert fake_openai.hits == 1


def test_rate_limit_exhausted(fake_openai: FakeOpenAI) -> None:
    fake_openai.add_error(429, "quota exceeded", retry_after="0", times=3)
    with pytest.raises(ModelError) as info:
        make(fake_openai, num_retries=2).complete(HI)
    assert info.value.kind == "rate_limit" and fake_openai.hits == 3
    assert "after 3 attempts" in str(info.value) and "quota exceeded" in str(info.value)


def test_connection_refused() -> None:
    with refusing_port() as port:
        base = f"http://127.0.0.1:{port}/v1"
        model = LiteLLMModel(
            ModelSpec("openai/x", api_base=base, api_key=SECRET, timeout=1.0, num_retries=1),
            backoff_base=0.001,
        )
        with pytest.raises(ModelError) as info:
            model.complete(HI)
    err = info.value
    assert err.kind == "connection"
    assert base in str(err) and "after 2 attempts" in str(err) and "server is running" in str(err)


def test_unauthorized_names_the_variable(fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    fake_openai.add_error(401, f"Incorrect API key provided: {SECRET}")
    with pytest.raises(ModelError) as info:
        make(fake_openai, api_key=None).complete(HI)
    err = info.value
    assert err.kind == "auth" and fake_openai.hits == 1
    assert "rejected" in str(err) and "OPENAI_API_KEY" in str(err)
    assert SECRET not in str(err)


def test_unauthorized_as_bad_request_is_still_auth(fake_openai: FakeOpenAI) -> None:
    # vLLM / llama.cpp style bodies make litellm raise BadRequestError with status 401.
    fake_openai.add_error(401, body={"error": {"message": "bad key", "type": "invalid_request_error"}})
    with pytest.raises(ModelError) as info:
        make(fake_openai).complete(HI)
    assert info.value.kind == "auth" and "api_key in the model mapping" in str(info.value)
    assert SECRET not in str(info.value)


def test_not_found(fake_openai: FakeOpenAI) -> None:
    fake_openai.add_error(404, "The model `fake-model` does not exist")
    with pytest.raises(ModelError) as info:
        make(fake_openai).complete(HI)
    assert info.value.kind == "not_found" and "provider/model" in str(info.value)
    assert fake_openai.hits == 1


def test_unknown_provider(fake_openai: FakeOpenAI) -> None:
    with pytest.raises(ModelError) as info:
        make(fake_openai, id="no-such-model-xyz").complete(HI)
    assert info.value.kind == "not_found" and "provider/model" in str(info.value)


def test_an_unknown_provider_prefix_is_named_not_blamed_on_the_form(fake_openai: FakeOpenAI) -> None:
    with pytest.raises(ModelError) as info:
        make(fake_openai, id="nosuch/model").complete(HI)
    message = str(info.value)
    assert info.value.kind == "not_found" and "litellm knows no provider named 'nosuch'" in message
    assert "write the model string as provider/model" not in message  # they did


def test_missing_key_reported_before_any_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    # AGNO_YAML_ONLY_LOCAL_MODELS stays on: the key check comes first, and there is no network call.
    with pytest.raises(ModelError) as info:
        LiteLLMModel(ModelSpec("openai/gpt-4o-mini")).complete(HI)
    err = info.value
    assert err.kind == "missing_key"
    assert "OPENAI_API_KEY" in str(err) and "--model echo" in str(err)


def test_missing_key_for_a_local_server_without_one(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelError) as info:
        make(fake_openai, api_key=None).complete(HI)
    assert info.value.kind == "missing_key" and "OPENAI_API_KEY" in str(info.value)
    assert fake_openai.hits == 0


@pytest.mark.parametrize("base", ["https://api.openai.com/v1", "http://10.0.0.5:8000/v1", None])
def test_only_local_models_refuses_other_endpoints(base: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)  # so the key check passes and the guard is what stops it
    with pytest.raises(ModelError) as info:
        LiteLLMModel(ModelSpec("openai/gpt-4o-mini", api_base=base)).complete(HI)
    assert info.value.kind == "refused" and "AGNO_YAML_ONLY_LOCAL_MODELS" in str(info.value)


def test_loopback_urls() -> None:
    for url in ("http://127.0.0.1:1/v1", "http://127.9.0.1", "http://localhost:8000", "http://[::1]:80/v1"):
        assert is_loopback_url(url), url
    for url in ("https://api.openai.com", "http://127.0.0.1.evil.com/", "http://0.0.0.0:80", "", None):
        assert not is_loopback_url(url), url


def test_nothing_printed_to_stdout(fake_openai: FakeOpenAI, capfd: pytest.CaptureFixture[str]) -> None:
    fake_openai.add_error(500, "boom", times=2)
    fake_openai.add_error(401, "nope")
    model = make(fake_openai, num_retries=1)
    for _ in range(2):
        with pytest.raises(ModelError):
            model.complete(HI)
    with pytest.raises(ModelError):
        # By default litellm prints "Provider List: ..." to stdout for an unknown provider.
        make(fake_openai, id="no-such-model-xyz").complete(HI)
    out, err = capfd.readouterr()
    assert out == ""
    assert "Give Feedback" not in err and "LiteLLM" not in err


def test_api_key_never_in_messages(fake_openai: FakeOpenAI) -> None:
    fake_openai.add_error(400, f"key {SECRET} is not allowed here")
    with pytest.raises(ModelError) as info:
        make(fake_openai).complete(HI)
    assert SECRET not in str(info.value) and "***" in str(info.value)


def test_importing_the_module_does_not_import_litellm() -> None:
    # Also: the local-only guard refuses before litellm is imported (the key is set, so no key check).
    code = """
import os, sys
import agno_yaml.models.litellm as lm, agno_yaml.models
from agno_yaml.errors import ModelError
from agno_yaml.messages import Message
from agno_yaml.config.spec import ModelSpec
print("litellm" in sys.modules)
os.environ.update(AGNO_YAML_ONLY_LOCAL_MODELS="1", OPENAI_API_KEY="sk-x")
try:
    lm.LiteLLMModel(ModelSpec("openai/gpt-4o-mini")).complete([Message("user", "hi")])
except ModelError as e:
    print(e.kind, "litellm" in sys.modules)
"""
    repo = Path(__file__).resolve().parents[1]  # `python -c` puts the working directory on sys.path
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo)
    assert out.stdout.split() == ["False", "refused", "False"]


@pytest.mark.slow
def test_tool_calls_skip_the_mcp_gateway() -> None:
    # `_skip_mcp_handler` is private to litellm. Without it every process pays ~1.2 s to import the MCP
    # gateway on its first tool call (and needs the `mcp` package). If litellm renames or drops the
    # kwarg, the gateway module shows up again here, or the kwarg leaks into the request body.
    code = """
import json, sys
sys.path.insert(0, "tests")
from fake_openai import FakeOpenAI
from agno_yaml.models.litellm import LiteLLMModel
from agno_yaml.messages import Message
from agno_yaml.config.spec import ModelSpec
tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
with FakeOpenAI() as fake:
    spec = ModelSpec("openai/x", api_base=fake.base_url, api_key="k", timeout=1.0)
    model = LiteLLMModel(spec)
    model.complete([Message("user", "hi")])  # imports litellm and its eager modules
    before = set(sys.modules)
    fake.add_tool_call("f", {"a": 1})
    out = model.complete([Message("user", "hi")], tools=tools)
    print(json.dumps({
        "calls": [c.name for c in out.message.tool_calls],
        "gateway": sorted(m for m in set(sys.modules) - before if "mcp" in m),
        "body_keys": sorted(fake.requests[-1]),
    }))
"""
    repo = Path(__file__).resolve().parents[1]
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["calls"] == ["f"]
    assert result["gateway"] == []
    assert not any("mcp" in key for key in result["body_keys"])


@pytest.mark.slow
def test_loading_litellm_turns_the_collector_back_on_and_warms_the_first_request() -> None:
    # load_litellm() imports litellm with the cyclic garbage collector off, then freezes what it
    # loaded: in a fresh process the collector must be on again afterwards, nothing printed, and the
    # first request must still work without importing the openai SDK's resources or litellm's proxy
    # types then (the warm-up did).
    code = """
import contextlib, gc, io, json, sys
sys.path.insert(0, "tests")
from fake_openai import FakeOpenAI
from agno_yaml.config.spec import ModelSpec
from agno_yaml.messages import Message
from agno_yaml.models.litellm import LiteLLMModel
from agno_yaml.models.providers import load_litellm
before = gc.isenabled()
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    load_litellm()
result = {"before": before, "after": gc.isenabled(), "frozen": gc.get_freeze_count() > 0,
          "printed": out.getvalue() + err.getvalue()}
loaded = set(sys.modules)
with FakeOpenAI() as fake:
    fake.add_text("still answers")
    spec = ModelSpec("openai/x", api_base=fake.base_url, api_key="k", timeout=5.0)
    reply = LiteLLMModel(spec).complete([Message("user", "hi")])
result["answer"] = reply.message.content
result["late"] = sorted(m for m in set(sys.modules) - loaded if m.startswith(("openai.", "litellm.proxy")))
result["still_on"] = gc.isenabled()
print(json.dumps(result))
"""
    repo = Path(__file__).resolve().parents[1]
    run = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=True, cwd=repo
    )
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {
        "before": True,
        "after": True,
        "frozen": True,
        "printed": "",
        "answer": "still answers",
        "late": [],
        "still_on": True,
    }


def test_loading_litellm_leaves_a_collector_that_was_off_off(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agno_yaml.models import providers

    monkeypatch.setattr(providers, "_litellm", None)  # load again (litellm itself stays imported)
    gc.disable()
    try:
        providers.load_litellm()
        assert not gc.isenabled()
    finally:
        gc.enable()
    monkeypatch.setattr(providers, "_litellm", None)
    providers.load_litellm()
    assert gc.isenabled()
    fake_openai.add_text("after a reload")
    assert make(fake_openai).complete(HI).message.content == "after a reload"
