"""What the stored copy of a run keeps: the team file's ``store_*`` flags, applied the same way by
every backend (the live ``RunOutput`` always keeps everything)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MEDIA_KEYS = ("images", "audio", "audios", "videos", "files")


MASK = "***"


@dataclass(frozen=True)
class StorePolicy:
    """The team file's ``store_tool_results``, ``store_history_messages`` and ``store_media``, and
    the team's secrets (what ``${VAR}``s and API keys hold), which no stored copy ever contains."""

    store_tool_results: bool = True
    store_history_messages: bool = False
    store_media: bool = True
    secrets: frozenset[str] = frozenset()


def redact(text: str, secrets: frozenset[str]) -> str:
    """``text`` with every secret replaced by ``***`` (longest first, so one inside another goes too)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_all(value: Any, secrets: frozenset[str]) -> Any:
    """Every string inside ``value`` (a JSON document) redacted; new containers, the input untouched."""
    if not secrets:
        return value
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {k: redact_all(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_all(v, secrets) for v in value]
    return value


def _strip_media(d: dict[str, Any]) -> None:
    for key in MEDIA_KEYS:
        d.pop(key, None)


def scrub_run(data: dict[str, Any], policy: StorePolicy) -> dict[str, Any]:
    """The stored copy of one ``RunRecord.to_dict()``: new containers wherever something is
    removed, so the caller's dict (and the live run) is never changed."""
    out = dict(data)
    messages = [dict(m) for m in data.get("messages") or []]
    if not policy.store_history_messages:
        messages = [m for m in messages if not m.get("from_history")]
    if not policy.store_tool_results:
        kept: list[dict[str, Any]] = []
        for m in messages:
            if m.get("role") == "tool":
                continue
            if m.get("tool_calls"):
                # Every tool result is gone, so no call is left with its answer; an unanswered
                # call would be rejected by providers on replay. Unlike Agno, the assistant's
                # text survives: only a message with nothing else in it is dropped.
                del m["tool_calls"]
                if m.get("role") == "assistant" and not (m.get("content") or "").strip():
                    continue
            kept.append(m)
        messages = kept
        out["tool_calls"] = [
            {k: v for k, v in t.items() if k != "result"} for t in data.get("tool_calls") or []
        ]
    if not policy.store_media:
        _strip_media(out)
        for m in messages:
            _strip_media(m)
        if isinstance(out.get("input"), dict):
            out["input"] = dict(out["input"])
            _strip_media(out["input"])
    out["messages"] = messages
    return redact_all(out, policy.secrets) if policy.secrets else out
