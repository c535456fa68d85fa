"""The worker's configuration, read once from the environment and the root ``.env``.

Which ``.env``: ``parley_common.env_file`` (the same rule as the backend and the scripts).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from parley_agent.mcp_config import McpServerConfig, check_unique_names
from parley_common.env_file import find_env_file
from parley_common.paths import default_cache_dir, default_data_dir

ProviderMode = Literal["auto", "cloud", "local"]


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(
        # No implicit file: get_settings() passes the one find_env_file() chose, and a bare
        # AgentSettings() (tests) reads only the environment.
        env_file=None,
        extra="ignore",
        populate_by_name=True,
        env_ignore_empty=True,
        # A refused value is named, never printed: PARLEY_MCP_SERVERS carries headers/env
        # secrets, and the keys are settings too.
        hide_input_in_errors=True,
    )

    livekit_url: str = Field(default="ws://127.0.0.1:7880", alias="LIVEKIT_URL")
    livekit_api_key: str = Field(default="devkey", alias="LIVEKIT_API_KEY")
    livekit_api_secret: str = Field(default="secret", alias="LIVEKIT_API_SECRET")

    agent_name: str = Field(default="parley", alias="PARLEY_AGENT_NAME")
    # Worker process knobs. None keeps the framework's dev/start defaults.
    http_port: int | None = Field(default=None, alias="PARLEY_AGENT_HTTP_PORT")
    num_idle_processes: int | None = Field(default=None, alias="PARLEY_AGENT_NUM_IDLE_PROCESSES")
    load_threshold: float | None = Field(default=None, alias="PARLEY_AGENT_LOAD_THRESHOLD")
    # Conversations one worker holds; sets the load LiveKit routes by (agent/worker_load.py).
    max_jobs: int | None = Field(default=None, ge=1, alias="PARLEY_AGENT_MAX_JOBS")
    # Seconds a SIGTERMed worker waits for its live conversations before ending them.
    drain_timeout: int = Field(default=600, ge=1, alias="PARLEY_AGENT_DRAIN_TIMEOUT")
    # That long before the drain deadline, live conversations get a spoken goodbye and end.
    goodbye_window: float = Field(default=30.0, ge=0, alias="PARLEY_AGENT_GOODBYE_WINDOW")

    espeak_voice: str = Field(default="en-us", alias="PARLEY_ESPEAK_VOICE")

    # --- provider choice (per component; a room's dispatch metadata may override) ---------
    stt_mode: ProviderMode = Field(default="auto", alias="PARLEY_STT")
    llm_mode: ProviderMode = Field(default="auto", alias="PARLEY_LLM")
    tts_mode: ProviderMode = Field(default="auto", alias="PARLEY_TTS")
    realtime: bool = Field(default=False, alias="PARLEY_REALTIME")
    # Which cloud vendor serves STT/TTS when the cloud is chosen.
    cloud_stt: Literal["deepgram", "openai"] = Field(default="deepgram", alias="PARLEY_CLOUD_STT")
    cloud_tts: Literal["cartesia", "openai"] = Field(default="cartesia", alias="PARLEY_CLOUD_TTS")
    # Add the local provider behind a cloud one (FallbackAdapter) for STT and TTS.
    local_fallback: bool = Field(default=True, alias="PARLEY_LOCAL_FALLBACK")

    openai_api_key: str | None = Field(default=None, alias="OPENAI_API_KEY")
    deepgram_api_key: str | None = Field(default=None, alias="DEEPGRAM_API_KEY")
    cartesia_api_key: str | None = Field(default=None, alias="CARTESIA_API_KEY")

    # OpenAI-compatible base URL for the cloud OpenAI STT/LLM/TTS (a proxy, or the benchmark's
    # stub). Empty: api.openai.com.
    openai_base_url: str | None = Field(default=None, alias="PARLEY_OPENAI_BASE_URL")
    # Base URLs of the other cloud endpoints (self-hosted Deepgram, EU regions, proxies, the
    # test fakes). Empty: the provider's public endpoint.
    # Deepgram: a host (https://api.eu.deepgram.com) gets /v1/listen appended; a URL with a
    # path is used as it is.
    deepgram_base_url: str | None = Field(default=None, alias="PARLEY_DEEPGRAM_BASE_URL")
    cartesia_base_url: str | None = Field(default=None, alias="PARLEY_CARTESIA_BASE_URL")
    # OpenAI Realtime WebSocket (http(s) or ws(s)); empty: PARLEY_OPENAI_BASE_URL, else OpenAI.
    openai_realtime_base_url: str | None = Field(
        default=None, alias="PARLEY_OPENAI_REALTIME_BASE_URL"
    )
    openai_llm_model: str = Field(default="gpt-4.1-mini", alias="PARLEY_OPENAI_LLM_MODEL")
    openai_realtime_model: str = Field(default="gpt-realtime", alias="PARLEY_OPENAI_REALTIME_MODEL")
    openai_stt_model: str = Field(default="gpt-4o-mini-transcribe", alias="PARLEY_OPENAI_STT_MODEL")
    openai_tts_model: str = Field(default="gpt-4o-mini-tts", alias="PARLEY_OPENAI_TTS_MODEL")
    openai_voice: str = Field(default="ash", alias="PARLEY_OPENAI_VOICE")
    deepgram_model: str = Field(default="nova-3", alias="PARLEY_DEEPGRAM_MODEL")
    cartesia_model: str = Field(default="sonic-3", alias="PARLEY_CARTESIA_MODEL")
    cartesia_voice: str | None = Field(default=None, alias="PARLEY_CARTESIA_VOICE")

    # --- local stack ---------------------------------------------------------------------
    # Any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp). Empty: the worker starts
    # the embedded llama.cpp runtime on loopback.
    llm_url: str | None = Field(default=None, alias="PARLEY_LLM_URL")
    llm_model: str = Field(default="local", alias="PARLEY_LLM_MODEL")
    llm_api_key: str | None = Field(default=None, alias="PARLEY_LLM_API_KEY")
    llm_max_tokens: int = Field(default=80, ge=8, le=4096, alias="PARLEY_LLM_MAX_TOKENS")
    # Model sources: an explicit path wins over the offline pack, which wins over a download.
    llm_gguf: str | None = Field(default=None, alias="PARLEY_LLM_GGUF")
    llm_threads: int | None = Field(default=None, alias="PARLEY_LLM_THREADS")
    llm_ctx: int = Field(default=4096, ge=512, alias="PARLEY_LLM_CTX")
    whisper_model: str | None = Field(default=None, alias="PARLEY_WHISPER_MODEL")
    whisper_threads: int | None = Field(default=None, alias="PARLEY_WHISPER_THREADS")
    piper_voice: str | None = Field(default=None, alias="PARLEY_PIPER_VOICE")
    # Skip Piper and speak with eSpeak NG only (smallest footprint).
    local_tts_engine: Literal["piper", "espeak"] = Field(default="piper", alias="PARLEY_LOCAL_TTS")

    # --- turns ---------------------------------------------------------------------------
    # "v1-mini" (bundled end-of-turn model, default), "vad" (silence only) or "stt".
    turn_detector: Literal["v1-mini", "vad", "stt"] = Field(
        default="v1-mini", alias="PARLEY_TURN_DETECTOR"
    )
    min_endpointing_delay: float = Field(
        default=0.4, ge=0.0, le=5.0, alias="PARLEY_MIN_ENDPOINTING_DELAY"
    )
    max_endpointing_delay: float = Field(
        default=1.5, ge=0.1, le=10.0, alias="PARLEY_MAX_ENDPOINTING_DELAY"
    )
    min_interruption_duration: float = Field(
        default=0.15, ge=0.05, le=5.0, alias="PARLEY_MIN_INTERRUPTION_DURATION"
    )
    false_interruption_timeout: float = Field(
        default=1.0, ge=0.1, le=10.0, alias="PARLEY_FALSE_INTERRUPTION_TIMEOUT"
    )
    preemptive_generation: bool = Field(default=True, alias="PARLEY_PREEMPTIVE_GENERATION")
    aec_warmup: float = Field(default=1.0, ge=0.0, le=10.0, alias="PARLEY_AEC_WARMUP")

    # --- tools and meeting mode (agent/tools, agent/meeting) ---------------------------
    backend_url: str = Field(default="http://127.0.0.1:8000", alias="PARLEY_BACKEND_URL")
    # How often the worker re-posts its capabilities (languages, tool calling) to the backend.
    capabilities_interval: float = Field(
        default=60.0, ge=1.0, le=3600.0, alias="PARLEY_CAPABILITIES_INTERVAL_SECONDS"
    )
    agent_token: str = Field(default="dev-agent-token", alias="PARLEY_AGENT_TOKEN")
    # Files: defaults under the working directory and the user's cache, never the code's
    # (parley_common/paths.py). Unsent history is kept between jobs (agent/history.py) in
    # PARLEY_HISTORY_SPOOL_DIR, by default $PARLEY_DATA_DIR/history-spool.
    data_dir: Path = Field(default_factory=default_data_dir, alias="PARLEY_DATA_DIR")
    history_spool_dir: Path | None = Field(default=None, alias="PARLEY_HISTORY_SPOOL_DIR")
    cache_dir: Path = Field(default_factory=default_cache_dir, alias="PARLEY_CACHE_DIR")
    open_meteo_geocoding_url: str = Field(
        default="https://geocoding-api.open-meteo.com", alias="PARLEY_OPEN_METEO_GEOCODING_URL"
    )
    open_meteo_forecast_url: str = Field(
        default="https://api.open-meteo.com", alias="PARLEY_OPEN_METEO_FORECAST_URL"
    )
    tool_timeout_s: float = Field(default=8.0, gt=0, le=60, alias="PARLEY_TOOL_TIMEOUT_SECONDS")
    # Transcript answers in meeting mode: "extractive" quotes the transcript lines verbatim,
    # "model" lets the LLM phrase them, "auto" quotes when the LLM is the small embedded one.
    meeting_answers: Literal["auto", "model", "extractive"] = Field(
        default="auto", alias="PARLEY_MEETING_ANSWERS"
    )
    # A meeting chat message addressed to the agent is answered in the chat ("chat") or
    # aloud ("voice"); disabled chat always falls back to speech.
    meeting_chat_replies: Literal["chat", "voice"] = Field(
        default="chat", alias="PARLEY_MEETING_CHAT_REPLIES"
    )

    # --- MCP servers (agent/tools/mcp_servers.py, docs/mcp.md) ----------------------------
    # JSON list of {"name", "command": [...], "env"} (stdio) or {"name", "url", "headers"}
    # (streamable HTTP). A room uses one only when its agent_config.mcp names it.
    mcp_servers: Annotated[list[McpServerConfig], AfterValidator(check_unique_names)] = Field(
        default_factory=list, alias="PARLEY_MCP_SERVERS"
    )
    mcp_connect_timeout_s: float = Field(
        default=10.0, gt=0, le=120, alias="PARLEY_MCP_CONNECT_TIMEOUT_SECONDS"
    )

    @property
    def spool_dir(self) -> Path:
        return self.history_spool_dir or self.data_dir / "history-spool"

    @property
    def model_cache_dir(self) -> Path:
        """Downloaded models (Hugging Face files, Piper voices) when no offline pack has them."""
        return self.cache_dir / "models"


@lru_cache(maxsize=1)
def get_settings() -> AgentSettings:
    return AgentSettings(_env_file=find_env_file())
