"""The model seam: a registry of names, and the offline models every test and example runs on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from teamkit import make_team

from agno_yaml.config.spec import ModelSpec
from agno_yaml.errors import ModelError
from agno_yaml.messages import Message
from agno_yaml.models import _registry as registry
from agno_yaml.models import get_model, is_offline, offline_names, register_model
from agno_yaml.models.offline import EchoModel, FunctionModel, ScriptedModel
from agno_yaml.tools.delegation import DELEGATE_ALL, DELEGATE_ONE, delegation_tools

HI = [Message("user", "hi")]


@pytest.fixture(autouse=True)
def _clean_registry() -> Any:
    saved = dict(registry)
    yield
    registry.clear()
    registry.update(saved)


def test_builtin_names_resolve_without_litellm() -> None:
    assert isinstance(get_model(ModelSpec("echo")), EchoModel)
    scripted = get_model(ModelSpec("scripted", replies=("a", "b")))
    assert isinstance(scripted, ScriptedModel) and scripted.replies == ["a", "b"]
    assert offline_names() == ["echo", "scripted"] and is_offline("echo") and not is_offline("openai/x")


def test_a_registered_name_is_a_model_everywhere_a_name_is(tmp_path: Path) -> None:
    seen: list[ModelSpec] = []

    def polite(spec: ModelSpec) -> FunctionModel:
        seen.append(spec)
        return FunctionModel(lambda messages, tools: f"Certainly: {messages[-1].content}", name="polite")

    register_model("polite", polite)
    assert is_offline("polite") and "polite" in offline_names()
    team = make_team(tmp_path, "model: {id: polite, temperature: 0.1}\n")
    out = team.run("tea?", user_id="u", session_id="s")
    assert out.content == "Certainly: tea?" and out.run.model == "polite"
    assert seen[0].temperature == 0.1  # the factory gets the whole spec
    with pytest.raises(ValueError, match="no '/'"):
        register_model("openai/gpt-4o", polite)


def test_get_model_imports_litellm_only_for_provider_models() -> None:
    code = (
        "import sys\nfrom agno_yaml.models import get_model\nfrom agno_yaml.config.spec import ModelSpec\n"
        "get_model(ModelSpec('echo'))\nprint('litellm' in sys.modules)\n"
        "get_model(ModelSpec('openai/x'))\nprint('litellm' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # Building a litellm model imports our adapter, not litellm itself: that waits for the first call.
    assert out.stdout.split() == ["False", "False"]


def test_function_model_decides_from_the_request_and_records_it() -> None:
    def reply(messages: list[Message], tools: list[dict[str, Any]]) -> Any:
        if tools:
            return {"tool_calls": [{"name": tools[0]["function"]["name"], "arguments": {"task": "t"}}]}
        return Message("assistant", f"{len(messages)} messages")

    model = FunctionModel(reply)
    offered = [t.to_openai() for t in delegation_tools([("a", "A")], broadcast=True)]
    first = model.complete(HI, offered)
    assert first.message.tool_calls[0].name == DELEGATE_ALL and first.finish_reason == "tool_calls"
    assert json.loads(first.message.tool_calls[0].arguments) == {"task": "t"}
    second = model.complete([*HI, Message("assistant", "x")])
    assert second.message.content == "2 messages" and second.usage.total_tokens > 0
    assert [len(r["messages"]) for r in model.requests] == [1, 2] and model.requests[0]["tools"] == offered


def test_function_model_failures_are_model_errors() -> None:
    def broken(messages: list[Message], tools: list[dict[str, Any]]) -> str:
        raise RuntimeError("quota")

    with pytest.raises(ModelError, match="model function: the function raised RuntimeError: quota"):
        FunctionModel(broken).complete(HI)
    with pytest.raises(ModelError, match="reply 1 must be text or a mapping, not an integer"):
        FunctionModel(lambda m, t: 42).complete(HI)  # type: ignore[arg-type,return-value]


def test_echo_follows_the_offered_delegation_tool() -> None:
    one = [t.to_openai() for t in delegation_tools([("agent-2", "B"), ("agent-3", "C")], broadcast=False)]
    call = EchoModel().complete(HI, one).message.tool_calls[0]
    assert call.name == DELEGATE_ONE and json.loads(call.arguments) == {"member_id": "agent-2", "task": "hi"}
    assert EchoModel().complete(HI).message.content == "hi"  # no tools: it echoes


def test_scripted_model_says_when_it_runs_out() -> None:
    model = ScriptedModel(["only"])
    assert model.complete(HI).message.content == "only"
    with pytest.raises(ModelError, match="no reply left"):
        model.complete(HI)
