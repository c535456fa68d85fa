"""The backend's configuration, read once from the environment (and ``.env``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class BackendSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = Field(
        default="development", alias="PARLEY_ENV"
    )
    livekit_url: str = Field(default="ws://127.0.0.1:7880", alias="LIVEKIT_URL")
    # What browsers are told to connect to; defaults to LIVEKIT_URL.
    livekit_public_url: str | None = Field(default=None, alias="LIVEKIT_PUBLIC_URL")
    livekit_api_key: str = Field(default="devkey", alias="LIVEKIT_API_KEY")
    livekit_api_secret: str = Field(default="secret", alias="LIVEKIT_API_SECRET")
    agent_name: str = Field(default="parley", alias="PARLEY_AGENT_NAME")

    data_dir: Path = Field(default=REPO_ROOT / "data", alias="PARLEY_DATA_DIR")
    database_url: str | None = Field(default=None, alias="DATABASE_URL")

    # Management API keys, comma-separated. Empty in development = management API open.
    api_keys: str = Field(default="", alias="PARLEY_API_KEYS")
    # Bearer token the agent worker uses for the agent API.
    agent_token: str = Field(default="dev-agent-token", alias="PARLEY_AGENT_TOKEN")

    token_ttl_seconds: int = Field(default=900, ge=60, le=3600, alias="PARLEY_TOKEN_TTL_SECONDS")
    web_dist: Path = Field(default=REPO_ROOT / "web" / "dist", alias="PARLEY_WEB_DIST")

    @property
    def api_key_set(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.api_keys.split(",") if k.strip())

    @property
    def public_livekit_url(self) -> str:
        return self.livekit_public_url or self.livekit_url


def load_settings() -> BackendSettings:
    return BackendSettings()
