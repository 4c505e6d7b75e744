"""The validated, defaulted form of a team file: frozen dataclasses, no I/O.

Which keys exist and their defaults live in ``schemas/team.schema.json``; ``build.py`` reads them
from there and builds these objects. A test checks that every schema property has a field here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["coordinate", "route", "broadcast"]

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_NUM_RETRIES = 2


def member_id_from_name(name: str) -> str:
    """Derive an id from a name as Agno does: lower case, url-safe, spaces to dashes ("Agent 1" -> "agent-1")."""
    text = unicodedata.normalize("NFKC", name).strip().lower()
    text = re.sub(r"\s+", "-", text)
    text = re.sub(r"[^\w\-.~]", "", text)
    return text or "member"


@dataclass(frozen=True)
class ModelSpec:
    """A model: a litellm model string plus call options. ``api_key`` is never printed or stored."""

    id: str
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    timeout: float | None = None
    num_retries: int | None = None
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    tool_choice: str | None = None  # None: "auto" whenever tools are offered
    extra: Mapping[str, Any] = field(default_factory=dict)  # passed through to the provider
    replies: tuple[Any, ...] | None = None  # only for the offline "scripted" model

    def public_dict(self) -> dict[str, Any]:
        """The mapping as it may be shown: every set option, the key masked."""
        out: dict[str, Any] = {"id": self.id}
        for name in (
            "temperature",
            "max_tokens",
            "top_p",
            "timeout",
            "num_retries",
            "api_base",
            "tool_choice",
        ):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.api_key is not None:
            out["api_key"] = "***"
        if self.extra:
            out["extra"] = dict(self.extra)
        if self.replies is not None:
            out["replies"] = list(self.replies)
        return out


@dataclass(frozen=True)
class McpServerSpec:
    """An MCP server of an agent (``mcp_servers``): ``command`` (stdio, run in ``cwd``) or ``url``.
    ``env`` and ``headers`` may hold secrets; the team's secrets mask them wherever shown."""

    name: str
    command: tuple[str, ...] | None = None
    url: str | None = None
    transport: str = "streamable-http"  # for a url: "streamable-http" or "sse"
    env: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    include_tools: tuple[str, ...] | None = None
    exclude_tools: tuple[str, ...] = ()
    timeout: float = 30.0
    cwd: str | None = None  # the team file's directory: where a command runs

    def key(self) -> str:
        """What makes two servers the same running server (a process-wide registry's key)."""
        import json

        env, headers = sorted(self.env.items()), sorted(self.headers.items())
        return json.dumps([self.command, self.url, self.transport, env, headers, self.cwd])


@dataclass(frozen=True)
class MemberSpec:
    name: str
    id: str
    model: ModelSpec  # already resolved: the member's own, else the team's
    role: str | None = None
    description: str | None = None
    instructions: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    add_history_to_context: bool = False
    num_history_runs: int | None = None
    num_history_messages: int | None = None
    read_chat_history: bool = False
    read_tool_call_history: bool = False
    mcp_servers: tuple[McpServerSpec, ...] = ()
    team: TeamSpec | None = None  # a team among the members: it runs its own mode and members
    # The JSON Schema its answer must match, as written; a relative {file: PATH} made absolute.
    output_schema: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class SummarySpec:
    model: ModelSpec  # the manager's own, else the team's
    session_summary_prompt: str | None = None
    max_runs: int = 10  # runs sent in one summary update at most


@dataclass(frozen=True)
class StoreSpec:
    """Where sessions live. ``path`` is absolute once built (a relative one is resolved against the
    team file's directory); None means "not set by the file": ``store.open_store`` then picks
    ``AGNO_RUN_DB`` or the per-user default store."""

    path: str | None = None
    url: str | None = None  # a PostgreSQL database instead of a directory


@dataclass(frozen=True)
class TeamSpec:
    name: str
    id: str
    model: ModelSpec
    source: str = "<team>"  # the file it came from, for messages
    description: str | None = None
    instructions: tuple[str, ...] = ()
    expected_output: str | None = None
    markdown: bool = False
    members: tuple[MemberSpec, ...] = ()
    respond_directly: bool = False
    delegate_task_to_all_members: bool = False
    determine_input_for_members: bool = True
    user_id: str | None = None
    db: StoreSpec = field(default_factory=StoreSpec)
    add_history_to_context: bool = False
    num_history_runs: int | None = 3
    num_history_messages: int | None = None
    read_chat_history: bool = False
    read_tool_call_history: bool = False
    search_session_history: bool = False
    num_history_sessions: int | None = None
    enable_session_summaries: bool = False
    add_session_summary_to_context: bool = False
    session_summary_manager: SummarySpec | None = None
    store_media: bool = True
    store_tool_results: bool = True
    store_history_messages: bool = False  # Agno 3.x default: stored runs never carry history copies
    tools: tuple[str, ...] = ()
    mcp_servers: tuple[McpServerSpec, ...] = ()
    allow_unsafe_tools: bool = False
    max_tool_calls_per_round: int = 16
    session_state: Mapping[str, Any] = field(default_factory=dict)
    add_session_state_to_context: bool = False
    resolve_in_context: bool = False
    # The JSON Schema the final answer must match, as written; a relative {file: PATH} made absolute.
    output_schema: Mapping[str, Any] | None = None

    @property
    def mode(self) -> Mode:
        if self.respond_directly:
            return "route"
        if self.delegate_task_to_all_members:
            return "broadcast"
        return "coordinate"

    @property
    def is_single_agent(self) -> bool:
        return not self.members
