"""The backend's configuration, read once from the environment and the root ``.env``.

Which ``.env``: ``parley_common.env_file`` (the same rule as the worker and the scripts).
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from parley_common.agent_config import (
    DEFAULT_PRESETS,
    DEFAULT_PUBLIC_FIELDS,
    NEVER_PUBLIC_FIELDS,
    PRESET_PATTERN,
    AgentConfig,
)
from parley_common.env_file import find_env_file
from parley_common.paths import default_data_dir, default_web_dist


class BackendSettings(BaseSettings):
    # Empty values (as in .env.example) mean "use the default".
    # No implicit file: load_settings() passes the one find_env_file() chose.
    model_config = SettingsConfigDict(env_file=None, extra="ignore", env_ignore_empty=True)

    environment: Literal["development", "production"] = Field(
        default="development", alias="PARLEY_ENV"
    )
    livekit_url: str = Field(default="ws://127.0.0.1:7880", alias="LIVEKIT_URL")
    # What browsers are told to connect to; defaults to LIVEKIT_URL.
    livekit_public_url: str | None = Field(default=None, alias="LIVEKIT_PUBLIC_URL")
    livekit_api_key: str = Field(default="devkey", alias="LIVEKIT_API_KEY")
    livekit_api_secret: str = Field(default="secret", alias="LIVEKIT_API_SECRET")
    agent_name: str = Field(default="parley", alias="PARLEY_AGENT_NAME")

    # Defaults under the working directory, never the code's (parley_common/paths.py).
    data_dir: Path = Field(default_factory=default_data_dir, alias="PARLEY_DATA_DIR")
    database_url: str | None = Field(default=None, alias="DATABASE_URL")

    # Management API keys, comma-separated. Empty in development = management API open.
    api_keys: str = Field(default="", alias="PARLEY_API_KEYS")
    # Bearer token the agent worker uses for the agent API.
    agent_token: str = Field(default="dev-agent-token", alias="PARLEY_AGENT_TOKEN")

    token_ttl_seconds: int = Field(default=900, ge=60, le=3600, alias="PARLEY_TOKEN_TTL_SECONDS")
    # Who may call POST /api/token: None = open in development, API key in production.
    token_open: bool | None = Field(default=None, alias="PARLEY_TOKEN_OPEN")
    # Extra keys that may only mint tokens (frontend teams); management keys work too.
    token_api_keys: str = Field(default="", alias="PARLEY_TOKEN_API_KEYS")
    # Per-client token bucket for POST /api/token: sustained rate and burst size.
    token_rate_per_minute: float = Field(default=120.0, gt=0, alias="PARLEY_TOKEN_RATE_PER_MINUTE")
    token_rate_burst: int = Field(default=20, ge=1, alias="PARLEY_TOKEN_RATE_BURST")
    # Take the client address from X-Forwarded-For (only behind a proxy you control).
    trust_forwarded_for: bool = Field(default=False, alias="PARLEY_TRUST_FORWARDED_FOR")

    # Access policy (backend/access_policy.py, docs/security.md).
    # HMAC secret for room invites; empty = derived from LIVEKIT_API_SECRET.
    invite_secret: str = Field(default="", alias="PARLEY_INVITE_SECRET")
    # Lifetime of an invite when the management caller does not choose one.
    invite_ttl_seconds: int = Field(
        default=600, ge=60, le=86_400, alias="PARLEY_INVITE_TTL_SECONDS"
    )
    # agent_config fields public callers may set (comma-separated; meeting_id never).
    public_agent_fields: str = Field(
        default=",".join(DEFAULT_PUBLIC_FIELDS), alias="PARLEY_PUBLIC_AGENT_FIELDS"
    )
    # Named presets: a JSON object {"name": {agent_config fields}}; empty = the built-ins.
    agent_presets: str = Field(default="", alias="PARLEY_AGENT_PRESETS")
    # Shared rate-limit buckets across backend processes (redis://host:6379/0); empty =
    # each process keeps its own (backend/rate_limit.py).
    redis_url: str = Field(default="", alias="PARLEY_REDIS_URL")
    # Browser origins allowed to call the API cross-origin (comma-separated, exact
    # scheme://host[:port]); empty = same origin only.
    cors_origins: str = Field(default="", alias="PARLEY_CORS_ORIGINS")
    # /docs and /openapi.json: None = on in development, off in production.
    api_docs: bool | None = Field(default=None, alias="PARLEY_API_DOCS")
    # Bearer key for GET /metrics. Empty: open in development, off (404) in production.
    metrics_key: str = Field(default="", alias="PARLEY_METRICS_KEY")

    log_level: str = Field(default="INFO", alias="PARLEY_LOG_LEVEL")
    # Log every successful request too (failures are always logged).
    access_log: bool = Field(default=False, alias="PARLEY_ACCESS_LOG")
    # json (one object per line, for collectors) or text (for humans).
    log_format: Literal["json", "text"] = Field(default="json", alias="PARLEY_LOG_FORMAT")
    # How long /ready waits for the database and the LiveKit API.
    ready_timeout_seconds: float = Field(default=3.0, gt=0, le=30, alias="PARLEY_READY_TIMEOUT")
    web_dist: Path = Field(default_factory=default_web_dist, alias="PARLEY_WEB_DIST")

    # Meeting bridge (backend/meetings, docs/meeting-bridge.md).
    meeting_baas_api_key: str = Field(default="", alias="MEETING_BAAS_API_KEY")
    meeting_baas_base_url: str = Field(
        default="https://api.meetingbaas.com", alias="MEETING_BAAS_BASE_URL"
    )
    # Svix secret (whsec_...) of the account webhook; empty = that endpoint is off.
    meeting_baas_webhook_secret: str = Field(default="", alias="MEETING_BAAS_WEBHOOK_SECRET")
    # An int checked against the allowed rates: Literal[16000, ...] refuses the string
    # "16000" that comes from the environment.
    meeting_audio_frequency: int = Field(default=16000, alias="MEETING_BAAS_AUDIO_FREQUENCY")
    meeting_bot_name: str = Field(default="Parley", min_length=1, alias="MEETING_BOT_NAME")
    # When the operator ends a meeting, the agent first posts its summary (decisions, owned
    # action items) to the meeting chat; it is stored at job end either way.
    meeting_chat_summary: bool = Field(default=False, alias="MEETING_CHAT_SUMMARY")
    # Where Meeting BaaS reaches this backend (https://host); empty = the request's own URL.
    public_url: str = Field(default="", alias="PARLEY_PUBLIC_URL")

    @field_validator("meeting_audio_frequency")
    @classmethod
    def _known_rate(cls, value: int) -> int:
        if value not in (16000, 24000, 32000, 48000):
            raise ValueError("must be 16000, 24000, 32000 or 48000")
        return value

    @field_validator("public_agent_fields")
    @classmethod
    def _known_fields(cls, value: str) -> str:
        names = {f.strip() for f in value.split(",") if f.strip()}
        unknown = sorted(names - set(AgentConfig.model_fields))
        if unknown:
            raise ValueError(f"unknown agent_config fields {unknown}")
        never = sorted(names & NEVER_PUBLIC_FIELDS)
        if never:
            raise ValueError(f"{never} can never be opened to public callers")
        return value

    @field_validator("agent_presets")
    @classmethod
    def _valid_presets(cls, value: str) -> str:
        if value.strip():
            _parse_presets(value)
        return value

    # Cached: the token route reads these on every request.
    @cached_property
    def api_key_set(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.api_keys.split(",") if k.strip())

    @cached_property
    def token_key_set(self) -> frozenset[str]:
        extra = frozenset(k.strip() for k in self.token_api_keys.split(",") if k.strip())
        return self.api_key_set | extra

    @cached_property
    def token_endpoint_open(self) -> bool:
        if self.token_open is not None:
            return self.token_open
        return self.environment == "development"

    @cached_property
    def public_agent_field_set(self) -> frozenset[str]:
        return frozenset(f.strip() for f in self.public_agent_fields.split(",") if f.strip())

    @cached_property
    def presets(self) -> dict[str, AgentConfig]:
        if not self.agent_presets.strip():
            return {n: AgentConfig.model_validate(v) for n, v in DEFAULT_PRESETS.items()}
        return _parse_presets(self.agent_presets)

    @cached_property
    def cors_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    @property
    def api_docs_enabled(self) -> bool:
        if self.api_docs is not None:
            return self.api_docs
        return self.environment == "development"

    @property
    def public_livekit_url(self) -> str:
        return self.livekit_public_url or self.livekit_url


def _parse_presets(raw: str) -> dict[str, AgentConfig]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"PARLEY_AGENT_PRESETS is not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ValueError('PARLEY_AGENT_PRESETS must be a JSON object {"name": {...}}')
    presets: dict[str, AgentConfig] = {}
    for name, fields in data.items():
        if not re.fullmatch(PRESET_PATTERN, name):
            raise ValueError(f"preset name {name!r} must match {PRESET_PATTERN}")
        if not isinstance(fields, dict) or {"preset", "meeting_id"} & set(fields):
            raise ValueError(f"preset {name!r} must be an object without preset/meeting_id")
        try:
            presets[name] = AgentConfig.model_validate(fields)
        except ValidationError as exc:
            raise ValueError(f"preset {name!r}: {exc.errors()[0]['msg']}") from None
    return presets


def load_settings() -> BackendSettings:
    return BackendSettings(_env_file=find_env_file())
