"""Helpers for the conversation-runner tests: a small team with a state tool, conversation files
written from YAML text, and a run of them."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from agno_yaml.conversations import ConversationResult, RunOptions, load_conversations, run_conversations

TOOLS = '''\
def add_to_cart(item: str, session_state: dict) -> str:
    """Put an item in the shopping cart.

    Args:
        item: What to add.
    """
    session_state.setdefault("cart", []).append(item)
    return f"cart: {', '.join(session_state['cart'])}"
'''

TEAM = """\
name: Shop
model: echo
members:
  - name: Seller
    role: Sells things
    tools: ["shop_tools:add_to_cart"]
  - name: Helper
    role: Helps with everything else
session_state: {cart: []}
add_history_to_context: true
enable_session_summaries: true
"""

# The seller is asked to add tea and calls the tool: the answer is "cart: tea".
ADD_TEA = """\
        replies:
          leader: [{tool: delegate_task_to_member, args: {member_id: seller, task: "add tea"}}]
          seller: [{tool: add_to_cart, args: {item: tea}}]
"""


def write_team(directory: Path, team: str = TEAM) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "shop_tools.py").write_text(TOOLS, encoding="utf-8")
    path = directory / "team.yaml"
    path.write_text(team, encoding="utf-8")
    return path


def write_conversations(directory: Path, body: str, name: str = "test_shop.conv.yaml") -> Path:
    """``body`` (dedented) after a header naming ./team.yaml; the team is written when missing."""
    if not (directory / "team.yaml").exists():
        write_team(directory)
    path = directory / name
    path.write_text("team: team.yaml\n" + textwrap.dedent(body), encoding="utf-8")
    return path


def run(*paths: Path, **options: Any) -> list[ConversationResult]:
    files = [load_conversations(p) for p in paths]
    return run_conversations(files, RunOptions(**options))


def line_of(path: Path, text: str, after: int = 0) -> int:
    """The 1-based number of the first line holding ``text`` after line ``after``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if number > after and text in line:
            return number
    raise AssertionError(f"{text!r} is not in {path}")
