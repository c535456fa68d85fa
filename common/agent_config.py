"""The per-job agent configuration carried in LiveKit dispatch metadata.

One schema for both sides: the backend validates what callers ask for before it signs a
token or creates a dispatch, and the worker validates what it receives, so a bad value is
rejected at the edge and a corrupted one can never crash a job.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

logger = logging.getLogger("parley.agent_config")

Mode = Literal["conversation", "meeting"]
ProviderChoice = Literal["auto", "cloud", "local"]

# Tools the agent knows how to offer; a room enables a subset of them.
KNOWN_TOOLS: tuple[str, ...] = (
    "weather",
    "end_conversation",
    "lookup_context",
    "meeting_transcript",
)

MAX_METADATA_BYTES = 16 * 1024
PRESET_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
# An entry of ``mcp``: an operator-configured MCP server ("orders": all its tools) or one
# tool of it ("orders/lookup_order"). Server names: parley_agent.mcp_config.
MCP_ENTRY_PATTERN = r"^[A-Za-z0-9_-]{1,32}(/[A-Za-z0-9_.-]{1,128})?$"

# What a public caller (anonymous, or a token-endpoint key) may set in ``agent_config``
# unless the operator opens more fields (PARLEY_PUBLIC_AGENT_FIELDS). Everything else
# (instructions, providers, tools, mode, meeting_id, persona, ...) steers the agent or
# spends the operator's money, so it is the operator's to choose.
DEFAULT_PUBLIC_FIELDS: tuple[str, ...] = ("preset", "language")
# Never open to public callers, whatever the setting says: it binds a session to a
# meeting (another meeting's transcript).
NEVER_PUBLIC_FIELDS: frozenset[str] = frozenset({"meeting_id"})
# The presets the web client offers when the operator defines none.
DEFAULT_PRESETS: dict[str, dict[str, object]] = {
    "friendly": {"persona": "friendly assistant"},
    "concise": {"persona": "concise expert"},
    "pirate": {"persona": "pirate"},
}


class ProviderOverrides(BaseModel):
    """Per-room provider choice; ``None`` means "use the worker's configuration"."""

    model_config = ConfigDict(extra="forbid")

    stt: ProviderChoice | None = None
    llm: ProviderChoice | None = None
    tts: ProviderChoice | None = None
    realtime: bool | None = Field(
        default=None, description="Use OpenAI Realtime instead of STT+LLM+TTS (needs a key)."
    )


class AgentConfig(BaseModel):
    """What a room asks of the agent. Every field has a safe default."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    persona: str = Field(default="friendly assistant", max_length=200)
    instructions: str | None = Field(
        default=None, max_length=4000, description="Replaces the persona-based instructions."
    )
    greeting: str | None = Field(default=None, max_length=500)
    language: str = Field(
        default="en",
        pattern=r"^(multi|[a-z]{2,3}(-[A-Za-z]{2,4})?)$",
        description="BCP-47-ish language code, or 'multi' to follow the user.",
    )
    voice: str | None = Field(default=None, max_length=100)
    mode: Mode = "conversation"
    agent_display_name: str = Field(default="Parley", min_length=1, max_length=64)
    tools: list[str] = Field(default_factory=lambda: ["end_conversation"], max_length=16)
    providers: ProviderOverrides = Field(default_factory=ProviderOverrides)
    # Which of the worker's MCP servers (PARLEY_MCP_SERVERS) this room may use; none by
    # default. Operator-only unless PARLEY_PUBLIC_AGENT_FIELDS opens it (docs/mcp.md).
    mcp: list[Annotated[str, Field(pattern=MCP_ENTRY_PATTERN)]] = Field(
        default_factory=list, max_length=32
    )
    meeting_id: str | None = Field(default=None, max_length=64)
    preset: str | None = Field(
        default=None,
        pattern=PRESET_PATTERN,
        description="A named preset the operator defined (PARLEY_AGENT_PRESETS); the backend "
        "expands it into the other fields before it signs a token.",
    )

    @field_validator("tools")
    @classmethod
    def _known_tools(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(KNOWN_TOOLS))
        if unknown:
            raise ValueError(f"unknown tools {unknown}; known: {list(KNOWN_TOOLS)}")
        return list(dict.fromkeys(value))

    def default_greeting(self) -> str:
        if self.greeting:
            return self.greeting
        if self.mode == "meeting":
            return f"Hello everyone, I'm {self.agent_display_name}. Say my name if you need me."
        return f"Hello! I'm {self.agent_display_name}. How can I help you today?"

    def fields_set(self) -> set[str]:
        """The fields the caller named (nested models count as one field)."""
        return set(self.model_fields_set)

    def to_metadata(self) -> str:
        return self.model_dump_json(exclude_defaults=True)


def parse_agent_config(raw: str | None) -> tuple[AgentConfig, str | None]:
    """Parse dispatch metadata leniently: never raises.

    Returns the config and, when the metadata was unusable, a human-readable reason (the
    caller logs it). Empty metadata is valid and means "all defaults".
    """
    if not raw or not raw.strip():
        return AgentConfig(), None
    if len(raw.encode()) > MAX_METADATA_BYTES:
        return AgentConfig(), f"metadata larger than {MAX_METADATA_BYTES} bytes"
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        return AgentConfig(), f"metadata is not JSON: {exc.msg}"
    if not isinstance(data, dict):
        return AgentConfig(), "metadata must be a JSON object"
    try:
        return AgentConfig.model_validate(data), None
    except ValidationError as exc:
        # Keep what is valid rather than discarding the whole config for one bad field.
        bad = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
        kept = {k: v for k, v in data.items() if k not in bad}
        try:
            config = AgentConfig.model_validate(kept)
        except ValidationError:
            config = AgentConfig()
        fields = ", ".join(sorted(bad)) or "?"
        return config, f"invalid fields ignored ({fields}): {exc.error_count()} error(s)"
