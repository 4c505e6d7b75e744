"""The delegation tools a team's leader is offered: ordinary tools, checked and called like any other.

``delegate_task_to_member(member_id, task)`` in coordinate and route mode, and
``delegate_task_to_members(task)`` in broadcast mode (one call reaches every member). What they
promise the model is their schema here; what they do is the team's (``Delegator``), given to them
as their context by the run loop. A wrong member id or an empty task is refused by the schema check
every tool call goes through, with the valid ids named.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .base import DELEGATION_CONTEXT, ToolDef

DELEGATE_ONE = "delegate_task_to_member"
DELEGATE_ALL = "delegate_task_to_members"


def _task(who: str) -> dict[str, object]:
    return {
        "type": "string",
        "minLength": 1,
        "description": f"What {who} should do, with everything {'they need' if who.endswith('s') else 'it needs'} "
        "and what a good answer looks like.",
    }


class Delegator(Protocol):
    """What a delegation tool needs of the team during a turn."""

    def delegate(self, member_id: str, task: str) -> str:
        """Run one member on ``task``; its answer (or raise for the model to see an error)."""
        ...

    def delegate_all(self, task: str) -> str:
        """Run every member on ``task``; their answers, each under the member's name."""
        ...


def delegate_task_to_member(team: Delegator, member_id: str, task: str) -> str:
    return team.delegate(member_id, task)


def delegate_task_to_members(team: Delegator, task: str) -> str:
    return team.delegate_all(task)


def delegation_tools(members: Sequence[tuple[str, str]], *, broadcast: bool) -> list[ToolDef]:
    """The delegation tool offered to a leader of ``members`` (``(id, name)`` pairs); none without members."""
    if not members:
        return []
    if broadcast:
        parameters = {
            "type": "object",
            "properties": {"task": _task("the members")},
            "required": ["task"],
            "additionalProperties": False,
        }
        description = (
            "Send one task to every team member and get all their answers back. "
            "One call reaches every member; do not call it once per member."
        )
        return [ToolDef(DELEGATE_ALL, description, parameters, delegate_task_to_members, DELEGATION_CONTEXT)]
    parameters = {
        "type": "object",
        "properties": {
            "member_id": {
                "type": "string",
                "enum": [member_id for member_id, _ in members],
                "description": "The member's id, exactly as listed in <team_members>.",
            },
            "task": _task("the member"),
        },
        "required": ["member_id", "task"],
        "additionalProperties": False,
    }
    description = "Give a task to one team member and get its answer back."
    return [ToolDef(DELEGATE_ONE, description, parameters, delegate_task_to_member, DELEGATION_CONTEXT)]
