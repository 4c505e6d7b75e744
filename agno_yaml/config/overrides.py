"""``--model``: replace every model of a team, or one member's, or the leader's or the summary's.

    --model echo                        every model (leader, members, summary manager)
    --model agent-2=openai/gpt-5-mini   only member agent-2's
    --model leader=ollama/llama3.2      only the leader's (members without a model of their own keep the file's)
    --model summary=echo                only the session summary manager's

Several may be given; a targeted one wins over ``--model M`` for its target. The variables the
replaced settings used need not be set: offline CI runs without dummy secrets.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from .spec import ModelSpec, TeamSpec, member_id_from_name
from .yamlload import JsonPath

LEADER = "leader"
SUMMARY = "summary"


@dataclass(frozen=True)
class ModelOverride:
    everything: str | None = None
    targets: Mapping[str, str] = field(default_factory=dict)  # member id, "leader" or "summary" -> model id

    @classmethod
    def parse(cls, values: str | Sequence[str] | ModelOverride | None) -> ModelOverride:
        if isinstance(values, ModelOverride):
            return values
        if values is None:
            return cls()
        everything: str | None = None
        targets: dict[str, str] = {}
        for value in [values] if isinstance(values, str) else values:
            target, sep, model = value.partition("=")
            if not sep:
                everything = value.strip()
                continue
            if not target.strip() or not model.strip() or "/" in target:
                raise UsageError(
                    f"--model {value!r}: write MODEL, or TARGET=MODEL where TARGET is a member id, leader or summary"
                )
            targets[target.strip()] = model.strip()
        if everything is not None and not everything:
            raise UsageError(
                "--model is empty; give a model such as echo or openai/gpt-5-mini, or leave it out"
            )
        return cls(everything, targets)

    def __bool__(self) -> bool:
        return self.everything is not None or bool(self.targets)

    def _model(self, target: str) -> str | None:
        return self.targets.get(target, self.everything)

    def replaces(self, path: JsonPath, data: Any) -> bool:
        """Whether the model setting at ``path`` of the file's ``data`` is replaced (so its variables
        need not be set). The team's own model is replaced when the leader's is and every member
        without a model of its own, and the summary manager without one, are replaced too."""
        if path[:1] == ("model",):
            members = data.get("members") if isinstance(data, Mapping) else None
            inheritors = [
                _member_id(m)
                for m in (members if isinstance(members, list) else [])
                if isinstance(m, Mapping) and "model" not in m
            ]
            manager = data.get("session_summary_manager") if isinstance(data, Mapping) else None
            uses = [LEADER, *inheritors] + (
                [SUMMARY] if isinstance(manager, Mapping) and "model" not in manager else []
            )
            return all(self._model(t) for t in uses)
        if path[:2] == ("session_summary_manager", "model"):
            return self._model(SUMMARY) is not None
        if len(path) >= 3 and path[0] == "members" and path[2] == "model":
            members = data.get("members") if isinstance(data, Mapping) else None
            member = (
                members[path[1]]
                if isinstance(members, list) and isinstance(path[1], int) and path[1] < len(members)
                else None
            )
            return isinstance(member, Mapping) and self._model(_member_id(member)) is not None
        return False

    def apply(self, spec: TeamSpec) -> TeamSpec:
        """The team with the models replaced; an unknown target is refused, naming the valid ones."""
        known = {LEADER, SUMMARY, *(m.id for m in spec.members)}
        unknown = sorted(set(self.targets) - known)
        if unknown:
            raise UsageError(
                f"--model {unknown[0]}=...: the team has no member {unknown[0]!r}; targets are "
                f"{', '.join(sorted(known - {LEADER, SUMMARY}))}, leader or summary"
            )

        def pick(target: str, current: ModelSpec) -> ModelSpec:
            model = self._model(target)
            return ModelSpec(id=model) if model else current

        members = tuple(dataclasses.replace(m, model=pick(m.id, m.model)) for m in spec.members)
        summary = spec.session_summary_manager
        if summary is not None:
            summary = dataclasses.replace(summary, model=pick(SUMMARY, summary.model))
        return dataclasses.replace(
            spec, model=pick(LEADER, spec.model), members=members, session_summary_manager=summary
        )


def _member_id(member: Mapping[str, Any]) -> str:
    explicit = member.get("id")
    if isinstance(explicit, str) and explicit:
        return explicit
    name = member.get("name")
    return member_id_from_name(name) if isinstance(name, str) else ""
