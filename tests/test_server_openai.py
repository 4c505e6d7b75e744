"""A real uvicorn server on 127.0.0.1, called by the official ``openai`` client, streaming and not:
the way any OpenAI client, litellm itself or a chat UI talks to a team."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import uvicorn

from agno_yaml.server import TeamRegistry, create_app

ROOT = Path(__file__).resolve().parent.parent
TEAM = "multilingual-team"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    registry = TeamRegistry(
        [str(ROOT / "teams" / "multilingual.yaml")], db=str(tmp_path / "db"), model="echo"
    )
    app = create_app(registry, api_key="k-123")
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    port = srv.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/v1"
    srv.should_exit = True
    thread.join(timeout=30)


def test_the_openai_client_talks_to_a_team(server: str) -> None:
    client = openai.OpenAI(base_url=server, api_key="k-123", max_retries=0)
    assert [m.id for m in client.models.list()] == [TEAM]
    raw = client.chat.completions.with_raw_response.create(
        model=TEAM, user="u1", messages=[{"role": "user", "content": "comment ça va?"}]
    )
    session = raw.headers["x-session-id"]
    first = raw.parse()
    assert first.choices[0].message.content == "comment ça va?" and first.usage is not None
    # The whole history resent, as chat clients do: only the last user message is the new turn.
    second = client.chat.completions.create(
        model=TEAM,
        user="u1",
        messages=[
            {"role": "user", "content": "comment ça va?"},
            {"role": "assistant", "content": "comment ça va?"},
            {"role": "user", "content": "et toi?"},
        ],
        extra_headers={"X-Session-Id": session},
    )
    assert second.choices[0].message.content == 'et toi? (earlier in this session: "comment ça va?")'


def test_the_openai_client_streams_from_a_team(server: str) -> None:
    client = openai.OpenAI(base_url=server, api_key="k-123", max_retries=0)
    stream = client.chat.completions.create(
        model=TEAM, user="u1", messages=[{"role": "user", "content": "hello there"}], stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "hello there"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


def test_the_openai_client_gets_clear_errors(server: str) -> None:
    client = openai.OpenAI(base_url=server, api_key="k-123", max_retries=0)
    with pytest.raises(openai.NotFoundError, match="no team 'nope' is served here"):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server, api_key="wrong", max_retries=0).models.list()


@pytest.mark.parametrize("stream", [False, True])
def test_litellm_itself_talks_to_a_served_team(server: str, stream: bool) -> None:
    """The project's own litellm model class, pointed at the server: a served team used as a model."""
    from agno_yaml.config.spec import ModelSpec
    from agno_yaml.messages import Message
    from agno_yaml.models.litellm import LiteLLMModel

    model = LiteLLMModel(ModelSpec(id=f"openai/{TEAM}", api_base=server, api_key="k-123", num_retries=0))
    seen: list[str] = []
    out = model.complete([Message("user", "bonjour")], stream=stream, on_text=seen.append)
    assert out.message.content == "bonjour"
    assert "".join(seen) == ("bonjour" if stream else "")
