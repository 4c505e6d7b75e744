"""Scripted conversations with a team, checked turn by turn: what ``agno-run test`` and the pytest
plugin run in CI.

    from agno_yaml.conversations import RunOptions, conversation_files, load_conversations, run_conversations
    files = [load_conversations(p) for p in conversation_files(["tests/conversations"])]
    results = run_conversations(files, RunOptions(jobs=2))
    [(r.conversation.id, r.passed) for r in results]

``spec`` reads a conversation file and checks it against its schema and its team; ``runner`` runs
conversations (each in a store of its own, in parallel) and checks ``expect`` (``expect``);
``script`` gives each agent its scripted replies, records and replays model exchanges; ``select``
is ``-k``; ``report`` writes lines, tables, JUnit XML and JSON; ``pytest_plugin`` makes each
conversation a pytest item. Names are imported lazily: importing this package is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runner import ConversationResult, Failure, RunOptions, run_conversations
    from .spec import Conversation, ConversationFile, conversation_files, load_conversations

_EXPORTS = {
    "Conversation": "spec",
    "ConversationFile": "spec",
    "conversation_files": "spec",
    "load_conversations": "spec",
    "ConversationResult": "runner",
    "Failure": "runner",
    "RunOptions": "runner",
    "run_conversations": "runner",
}
__all__ = [
    "Conversation",
    "ConversationFile",
    "ConversationResult",
    "Failure",
    "RunOptions",
    "conversation_files",
    "load_conversations",
    "run_conversations",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
