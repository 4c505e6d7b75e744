"""System messages, built from a TeamSpec alone.

Everything here is a pure function of the spec, so ``agno-run inspect`` shows exactly what a run
sends. The layout follows Agno's Team prompt (description, instructions, a member roster, mode
rules, additional information, expected output); the wording is ours.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..config.spec import MemberSpec, TeamSpec
from ..models.conventions import block as _block
from ..tools.delegation import DELEGATE_ALL

_MODE_RULES = {
    "coordinate": [
        "Break the request into sub-tasks and give each one to the member whose role fits it best.",
        "Independent sub-tasks can be delegated together, in one turn.",
        "Treat member answers as evidence: check them, and delegate again if an answer misses the point.",
        "Answer the user yourself with one integrated reply; do not paste member answers one after another.",
        "If no member is needed, answer directly.",
    ],
    "route": [
        "Hand the whole request to the single member best suited to answer it.",
        "The member's answer goes to the user exactly as written, so put any format requirements into the task.",
        "Do not write an answer of your own.",
    ],
    "broadcast": [
        f"Send the task to every member at once with {DELEGATE_ALL}; one call reaches all of them.",
        "Then combine their answers into one reply for the user.",
    ],
}


def _instruction_lines(instructions: Sequence[str]) -> str:
    if len(instructions) == 1:
        return instructions[0]
    return "\n".join(f"- {line}" for line in instructions)


def _additional_information(markdown: bool) -> str | None:
    return _block("additional_information", "- Use markdown to format your answers.") if markdown else None


def _member_entry(member: MemberSpec) -> str:
    lines = [f'<member id="{member.id}" name="{member.name}">']
    if member.role:
        lines.append(f"Role: {member.role}")
    if member.description:
        lines.append(f"Description: {member.description}")
    if member.tools:
        lines.append("Tools: " + ", ".join(ref.rsplit(":", 1)[-1] for ref in member.tools))
    lines.append("</member>")
    return "\n".join(lines)


def leader_system_message(spec: TeamSpec) -> str:
    """The leader's system message, or the single agent's when the team has no members."""
    parts: list[str] = []
    if spec.description:
        parts.append(_block("description", spec.description))
    if spec.instructions:
        parts.append(_instruction_lines(spec.instructions))
    if spec.members:
        parts.append(
            "You lead a team of AI agents. Fulfil the user's request by delegating to the members "
            "below when their roles are needed."
        )
        parts.append(_block("team_members", "\n".join(_member_entry(m) for m in spec.members)))
        rules = [
            *_MODE_RULES[spec.mode],
            "Members do not see this conversation: put everything a member needs into its task.",
            "Use member ids exactly as they appear in <team_members>.",
        ]
        parts.append(_block("how_to_respond", "\n".join(f"- {r}" for r in rules)))
    extra = _additional_information(spec.markdown)
    if extra:
        parts.append(extra)
    if spec.expected_output:
        parts.append(_block("expected_output", spec.expected_output))
    return "\n\n".join(parts)


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill_placeholders(text: str, state: Mapping[str, Any]) -> str:
    """``{key}`` replaced by the state's value for each key the state has (others left as written)."""
    return _PLACEHOLDER.sub(lambda m: str(state[m.group(1)]) if m.group(1) in state else m.group(0), text)


def with_session_state(system_message: str, state: Mapping[str, Any]) -> str:
    """The leader's system message with the session's state appended (computed per turn)."""
    block = "The current state of this session:\n" + _block(
        "session_state", json.dumps(dict(state), ensure_ascii=False, indent=1, default=str)
    )
    return f"{system_message}\n\n{block}" if system_message else block


def with_session_summary(system_message: str, summary: str) -> str:
    """The leader's system message with the session summary so far appended (computed per turn)."""
    block = (
        "A short summary of your earlier interactions with the user in this session:\n"
        + _block("summary_of_previous_interactions", summary)
        + "\nThe summary may be incomplete or out of date: where it and the current conversation "
        "disagree, the current conversation takes precedence."
    )
    return f"{system_message}\n\n{block}" if system_message else block


def member_system_message(member: MemberSpec, team: TeamSpec) -> str:
    parts: list[str] = []
    if member.description:
        parts.append(_block("description", member.description))
    if member.role:
        parts.append(_block("your_role", member.role))
    if member.instructions:
        parts.append(_instruction_lines(member.instructions))
    extra = _additional_information(team.markdown)
    if extra:
        parts.append(extra)
    return "\n\n".join(parts)
