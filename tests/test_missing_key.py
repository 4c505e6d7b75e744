"""The missing-key message names the variables to set, and says "or" where any one of them is enough."""

from __future__ import annotations

import pytest

from agno_yaml.config.spec import ModelSpec
from agno_yaml.errors import ModelError
from agno_yaml.models.litellm import LiteLLMModel


def missing_key_message(model_id: str) -> str:
    with pytest.raises(ModelError) as info:
        LiteLLMModel(ModelSpec(model_id))._check_key()
    assert info.value.kind == "missing_key"
    return str(info.value)


def test_gemini_needs_either_google_or_gemini_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GEMINI_API_BASE"):
        monkeypatch.delenv(var, raising=False)
    assert "set GOOGLE_API_KEY or GEMINI_API_KEY in the environment" in missing_key_message(
        "gemini/gemini-2.0-flash"
    )


def test_keys_that_are_all_needed_stay_joined_with_and(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    message = missing_key_message("bedrock/anthropic.claude-3-haiku-20240307-v1:0")
    assert "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment" in message
