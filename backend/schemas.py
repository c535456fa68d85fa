"""Request and response models of the HTTP API (they are also its OpenAPI schema)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from parley_backend.validation import NAME_PATTERN, DisplayName, Identity, RoomName
from parley_common.agent_config import AgentConfig
from parley_common.wire import ContextOut as ContextOut  # the agent API's reply, re-exported
from parley_common.wire import SummaryOut, SummaryPost, TurnOut, TurnPost

# Every timestamp that enters the backend is aware UTC inside this window; anything else
# is refused at the edge with a 422 (naive ones are taken as UTC). The future slack
# absorbs clock skew between hosts.
EARLIEST_TIMESTAMP = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)


def normalise_timestamp(value: datetime) -> datetime:
    """Aware UTC within [2000-01-01, now + 1 day]; ``ValueError`` (→ 422) otherwise."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 at +01:00, year 9999 at -01:00
        raise ValueError("timestamp is outside the supported range") from None
    if not EARLIEST_TIMESTAMP <= value <= datetime.now(UTC) + FUTURE_SLACK:
        raise ValueError("timestamp must be between 2000-01-01 and one day from now (UTC)")
    return value


def epoch_in_range(seconds: float) -> bool:
    """Whether UNIX seconds are a usable timestamp (finite, inside the window above)."""
    if not math.isfinite(seconds):
        return False
    latest = (datetime.now(UTC) + FUTURE_SLACK).timestamp()
    return EARLIEST_TIMESTAMP.timestamp() <= seconds <= latest


UtcDatetime = Annotated[datetime, AfterValidator(normalise_timestamp)]


def ts_to_datetime(ts: float | None) -> datetime | None:
    """Stored UNIX seconds as a datetime; None for a value no datetime can hold.

    Reads must never fail on one bad row (stored before the edge checked, or by hand):
    an unusable time is shown as absent rather than answering 500.
    """
    if ts is None:
        return None
    try:
        return datetime.fromtimestamp(ts, UTC)
    except (OverflowError, OSError, ValueError, TypeError):
        return None


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (401, "Missing or wrong credentials"),
        (422, "Invalid request"),
        (429, "Rate limited (see Retry-After)"),
    )
}
UPSTREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {"model": ErrorBody, "description": "Not found"},
    409: {"model": ErrorBody, "description": "Conflict"},
    502: {"model": ErrorBody, "description": "LiveKit server failed or unreachable"},
}

# --------------------------------------------------------------------------- token


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    room_name: RoomName | None = None
    participant_identity: Identity | None = None
    participant_name: DisplayName | None = None
    agent_config: AgentConfig | None = None
    ttl_seconds: int | None = Field(default=None, ge=60, le=3600)
    # An invite from POST /api/rooms/{room}/invites: join that room (docs/security.md).
    invite: str | None = Field(default=None, min_length=1, max_length=512)


class TokenResponse(BaseModel):
    server_url: str
    participant_token: str
    room_name: str
    participant_identity: str


# --------------------------------------------------------------------------- rooms


class RoomCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: RoomName | None = Field(default=None, description="Generated when absent")
    metadata: str | None = Field(default=None, max_length=16 * 1024)
    empty_timeout: int = Field(
        default=300, ge=1, le=86_400, description="Seconds an empty room is kept"
    )
    max_participants: int = Field(default=0, ge=0, le=1000, description="0 means no limit")
    dispatch_agent: bool = Field(default=True, description="Create an explicit agent dispatch")
    agent_name: str | None = Field(default=None, pattern=NAME_PATTERN)
    agent_config: AgentConfig | None = None


class DispatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_name: str | None = Field(default=None, pattern=NAME_PATTERN)
    agent_config: AgentConfig | None = None


class RoomOut(BaseModel):
    sid: str
    name: str
    metadata: str
    empty_timeout: int
    max_participants: int
    num_participants: int
    created_at: datetime | None


class DispatchOut(BaseModel):
    id: str
    agent_name: str
    room: str
    metadata: str
    created_at: datetime | None
    jobs: int


class RoomCreated(BaseModel):
    room: RoomOut
    dispatch: DispatchOut | None


class RoomList(BaseModel):
    rooms: list[RoomOut]


class DispatchList(BaseModel):
    dispatches: list[DispatchOut]


# --------------------------------------------------------------------------- sessions


class ParticipantOut(BaseModel):
    identity: str
    participant_sid: str | None
    name: str | None
    kind: str | None
    joined_at: datetime | None
    left_at: datetime | None


class SessionOut(BaseModel):
    id: str
    room_name: str
    status: Literal["active", "ended"]
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    room_metadata: str | None


class SessionDetail(SessionOut):
    participants: list[ParticipantOut]
    turn_count: int


class SessionList(BaseModel):
    sessions: list[SessionOut]


class EventOut(BaseModel):
    id: str
    event: str
    room_name: str | None
    participant_identity: str | None
    track_sid: str | None
    occurred_at: datetime | None
    received_at: datetime | None
    payload: dict[str, Any]


class EventList(BaseModel):
    events: list[EventOut]


class Transcript(BaseModel):
    session_id: str
    turns: list[TurnOut]


# --------------------------------------------------------------------------- agent API


def _reject_nul(value: str | None) -> str | None:
    # Postgres text cannot hold NUL; refuse it on every database so both behave alike.
    if value is not None and "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


class TurnIn(TurnPost):
    """The wire's ``TurnPost`` with the backend's edge checks: timestamps normalised to
    aware UTC and range-checked (a naive or out-of-range time is a 422, never a 500)."""

    started_at: UtcDatetime | None = None
    ended_at: UtcDatetime | None = None

    @field_validator("speaker_identity", "text", "job_id")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        return _reject_nul(value)

    @field_validator("ended_at")
    @classmethod
    def _ends_after_start(cls, value: datetime | None, info: Any) -> datetime | None:
        started = info.data.get("started_at")
        if value is not None and started is not None and value < started:
            raise ValueError("ended_at is before started_at")
        return value


class TurnAck(BaseModel):
    turn: TurnOut
    duplicate: bool


class SummaryIn(SummaryPost):
    """The wire's ``SummaryPost`` with the backend's edge checks."""

    @field_validator("text", "job_id")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        return _reject_nul(value)

    @field_validator("data")
    @classmethod
    def _bounded(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(json.dumps(value, allow_nan=False)) > 64 * 1024:
            raise ValueError("data larger than 64 KB")
        return value


class SummaryAck(BaseModel):
    summary: SummaryOut
    duplicate: bool
