"""The worker's configuration, read once from the environment (and ``.env``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    livekit_url: str = Field(default="ws://127.0.0.1:7880", alias="LIVEKIT_URL")
    livekit_api_key: str = Field(default="devkey", alias="LIVEKIT_API_KEY")
    livekit_api_secret: str = Field(default="secret", alias="LIVEKIT_API_SECRET")

    agent_name: str = Field(default="parley", alias="PARLEY_AGENT_NAME")
    # Worker process knobs. None keeps the framework's dev/start defaults.
    http_port: int | None = Field(default=None, alias="PARLEY_AGENT_HTTP_PORT")
    num_idle_processes: int | None = Field(default=None, alias="PARLEY_AGENT_NUM_IDLE_PROCESSES")
    load_threshold: float | None = Field(default=None, alias="PARLEY_AGENT_LOAD_THRESHOLD")

    espeak_voice: str = Field(default="en-us", alias="PARLEY_ESPEAK_VOICE")


@lru_cache(maxsize=1)
def get_settings() -> AgentSettings:
    return AgentSettings()
