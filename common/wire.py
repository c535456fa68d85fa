"""The wire contract between the agent and the backend, defined once for both sides.

Everything that crosses between the worker and the backend is named here, the way
``agent_config.py`` holds the dispatch metadata: the agent API paths and the turn and summary
bodies it posts (the backend validates them, adding its edge checks in
``backend/schemas.py``), the context look-up's query and reply, the ``parley.ask`` RPC the
backend calls on the agent, and the names the meeting bridge publishes in the room for the
agent (the bridge participant's identity, the speaker topic and attribute).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from annotated_types import MaxLen
from pydantic import BaseModel, ConfigDict, Field

# --------------------------------------------------------------------------- agent API
# The worker's bearer token (PARLEY_AGENT_TOKEN) authorises every call.

AGENT_API_PREFIX = "/api/agent"
TURNS_ROUTE = "/turns"
SUMMARIES_ROUTE = "/summaries"
CONTEXT_ROUTE = "/context"
TURNS_PATH = AGENT_API_PREFIX + TURNS_ROUTE
SUMMARIES_PATH = AGENT_API_PREFIX + SUMMARIES_ROUTE
CONTEXT_PATH = AGENT_API_PREFIX + CONTEXT_ROUTE
# A post's idempotency key is also sent as this header (the body carries it too).
IDEMPOTENCY_HEADER = "Idempotency-Key"

# LiveKit room names (and identities) Parley accepts: they survive URLs, logs, file names
# and SQL untouched. LiveKit itself accepts more.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
RoomName = Annotated[str, Field(pattern=NAME_PATTERN, description="1-64 of A-Z a-z 0-9 _ . : -")]
# Idempotency keys (turn_id, summary_id) and LiveKit ids: printable, no spaces, bounded.
ID_KEY_PATTERN = r"^[A-Za-z0-9_.:@/-]{1,200}$"
SID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$"
MAX_LATENCY_S = 3600.0

Role = Literal["user", "agent"]
Seconds = Annotated[float, Field(ge=0, le=MAX_LATENCY_S)]


class _Post(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @classmethod
    def fitted(cls, **values: Any) -> Self:
        """The body with every string cut to its field's length and NUL removed (Postgres
        text cannot hold NUL), so what the agent heard always fits the contract."""
        for name, value in values.items():
            field = cls.model_fields.get(name)
            if field is None or not isinstance(value, str):
                continue
            value = value.replace("\x00", "")
            limit = next((m.max_length for m in field.metadata if isinstance(m, MaxLen)), None)
            values[name] = value[:limit] if limit is not None else value
        return cls(**values)


class LatencyParts(BaseModel):
    """Seconds spent in each part of a turn; any part may be missing (not measured)."""

    model_config = ConfigDict(extra="forbid")

    e2e: Seconds | None = Field(default=None, description="end of speech → reply")
    end_of_turn_delay: Seconds | None = None
    transcription_delay: Seconds | None = None
    llm_ttft: Seconds | None = None
    tts_ttfb: Seconds | None = None
    on_user_turn_completed_delay: Seconds | None = None
    playback_latency: Seconds | None = None


class TurnPost(_Post):
    """``POST /api/agent/turns``: one finished turn, idempotent by ``turn_id``."""

    turn_id: str = Field(pattern=ID_KEY_PATTERN, max_length=200)
    room_name: RoomName
    room_sid: str | None = Field(default=None, pattern=SID_PATTERN)
    job_id: str | None = Field(default=None, max_length=64)
    seq: int | None = Field(default=None, ge=0, le=10_000_000)
    speaker_identity: str = Field(min_length=1, max_length=256)
    role: Role
    text: str = Field(min_length=1, max_length=20_000)
    language: str | None = Field(default=None, pattern=LANGUAGE_PATTERN)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    interrupted: bool = False
    latency: LatencyParts | None = None


class SummaryPost(_Post):
    """``POST /api/agent/summaries``: a session's summary, idempotent by ``summary_id``
    (one per job: ``<job id>:session-summary``)."""

    summary_id: str = Field(pattern=ID_KEY_PATTERN, max_length=200)
    room_name: RoomName
    room_sid: str | None = Field(default=None, pattern=SID_PATTERN)
    job_id: str | None = Field(default=None, max_length=64)
    text: str = Field(min_length=1, max_length=50_000)
    data: dict[str, Any] | None = Field(default=None, description="Structured extras (≤ 64 KB)")


def summary_id(job_id: str) -> str:
    """The one summary key of a job: a retry, or a second summary, replaces nothing."""
    return f"{job_id}:session-summary"


class TurnOut(BaseModel):
    """A stored turn, as the backend returns it (context look-ups, transcripts)."""

    id: str
    session_id: str | None
    room_name: str
    job_id: str | None
    speaker_identity: str
    role: Role
    text: str
    language: str | None
    started_at: datetime | None
    ended_at: datetime | None
    interrupted: bool
    latency: dict[str, float] | None


class SummaryOut(BaseModel):
    id: str
    session_id: str | None
    room_name: str
    job_id: str | None
    text: str
    received_at: datetime | None


class ContextOut(BaseModel):
    """``GET /api/agent/context?room_name=…[&participant_identity=…][&about=participant]``:
    the agent's room's recent turns across its sessions, or, when the backend vouches for
    the live participant (docs/security.md), that participant's turns and the summaries of
    the sessions they were in (``participant_identity`` is then set)."""

    room_name: str | None
    participant_identity: str | None
    turns: list[TurnOut]
    summaries: list[SummaryOut]


# --------------------------------------------------------------------------- room names

# The ``parley.ask`` RPC: the backend calls it on the agent participant with an
# ``AskRequest``; the agent queues the question and answers an ``AskReply`` at once.
ASK_METHOD = "parley.ask"
MAX_QUESTION_CHARS = 500


class AskRequest(BaseModel):
    question: str


class AskReply(BaseModel):
    ok: bool = True


# The meeting bridge joins the meeting's room as this participant; the agent links its
# session to it (so a console viewer joining first is never taken for the meeting).
BRIDGE_IDENTITY_PREFIX = "meeting-"
# Speaker changes, as the bridge publishes them: reliable data packets on this topic (the
# Meeting BaaS array ``[{"name", "id", "timestamp", "isSpeaking"}]``), and this attribute
# of the bridge participant (the current speaker's name, "" when nobody speaks).
SPEAKERS_TOPIC = "parley.speakers"
SPEAKER_ATTRIBUTE = "parley.speaker"


def bridge_identity(meeting_id: str) -> str:
    return f"{BRIDGE_IDENTITY_PREFIX}{meeting_id}"


def is_bridge_identity(identity: str) -> bool:
    return identity.startswith(BRIDGE_IDENTITY_PREFIX)


# --------------------------------------------------------------------------- meeting chat
# Chat messages from the meeting, as the backend relays them into the room for the agent:
# reliable data packets on this topic, one ``MeetingChatMessage`` JSON object each.
CHAT_TOPIC = "parley.chat"
# The agent writes to the meeting chat through the backend (never Meeting BaaS itself):
# ``POST /api/agent/meeting-chat`` with a ``MeetingChatPost``, answered ``MeetingChatReply``.
MEETING_CHAT_ROUTE = "/meeting-chat"
MEETING_CHAT_PATH = AGENT_API_PREFIX + MEETING_CHAT_ROUTE
# One meeting chat message holds at most this many characters (Meeting BaaS's limit);
# longer text is split at sentence boundaries by the backend.
MAX_CHAT_MESSAGE_CHARS = 500
MAX_CHAT_POST_CHARS = 20_000

ChatOutcome = Literal["sent", "chat_disabled", "not_in_call", "failed"]


class MeetingChatMessage(BaseModel):
    """One message someone wrote in the meeting chat."""

    id: str = Field(max_length=200)
    sender: str = Field(min_length=1, max_length=255)
    text: str = Field(min_length=1, max_length=MAX_CHAT_POST_CHARS)
    at: datetime | None = None


class MeetingChatPost(_Post):
    """The agent's text for the meeting chat, idempotent by ``message_id``: a retry sends
    only the parts not yet delivered."""

    message_id: str = Field(pattern=ID_KEY_PATTERN, max_length=200)
    room_name: RoomName
    text: str = Field(min_length=1, max_length=MAX_CHAT_POST_CHARS)
    purpose: Literal["answer", "summary"] = "answer"


class MeetingChatReply(BaseModel):
    """What happened: ``sent`` (every part delivered), ``chat_disabled`` (the host turned
    chat off: say it aloud instead), ``not_in_call`` or ``failed`` (after retries)."""

    status: ChatOutcome
    parts: int = Field(ge=0)
    sent: int = Field(ge=0)


# The ``parley.wrap_up`` RPC: before the bot leaves a meeting the operator ends (with
# MEETING_CHAT_SUMMARY on), the backend asks the agent to post its summary to the meeting
# chat; the agent answers a ``WrapUpReply`` once it was posted (or could not be).
WRAP_UP_METHOD = "parley.wrap_up"
WRAP_UP_TIMEOUT_S = 20.0


class WrapUpReply(BaseModel):
    ok: bool
    status: ChatOutcome | None = None  # None: nothing to post, or the agent has no chat
