"""Runs to store, shared by the store's contract suite and the backend-specific tests."""

from __future__ import annotations

from agno_yaml.messages import Message, RunRecord, ToolCall, ToolExecution, Usage

ALICE = "alice@example.com"
BOB = "bob@example.com"


def make_run(i: int | str, session_id: str = "s1", user_id: str = ALICE, **kw: object) -> RunRecord:
    fields: dict[str, object] = {
        "run_id": f"r{i}",
        "session_id": session_id,
        "user_id": user_id,
        "input": f"question {i}",
        "content": f"answer {i}",
        "messages": [Message("user", f"question {i}"), Message("assistant", f"answer {i}")],
        "usage": Usage(10, 5, 15, 0.001),
        "duration": 0.25,
        "created_at": 1000.0 + (i if isinstance(i, int) else 0),
        "model": "echo",
    }
    fields.update(kw)
    return RunRecord(**fields)  # type: ignore[arg-type]


def tool_run() -> RunRecord:
    return RunRecord(
        run_id="rt",
        session_id="s1",
        user_id=ALICE,
        input="weather?",
        content="It is sunny.",
        messages=[
            Message("user", "old question", from_history=True),
            Message("assistant", "old answer", from_history=True),
            Message("user", "weather?"),
            Message(
                "assistant", "Let me check.", tool_calls=[ToolCall("c1", "weather", '{"city": "Paris"}')]
            ),
            Message("tool", "sunny, 21C", tool_call_id="c1", name="weather"),
            Message("assistant", None, tool_calls=[ToolCall("c2", "weather", '{"city": "Rome"}')]),
            Message("tool", "rain", tool_call_id="c2", name="weather"),
            Message("assistant", "It is sunny."),
        ],
        tool_calls=[
            ToolExecution("c1", "weather", '{"city": "Paris"}', result="sunny, 21C", duration=0.1),
            ToolExecution("c2", "weather", '{"city": "Rome"}', result="rain", error=None),
        ],
    )
