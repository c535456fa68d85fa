"""Provider choice by configuration: which STT, LLM and TTS a session gets, and why.

Planning is pure (settings + per-room overrides → a ``ProviderPlan`` with a reason per
component) so it is cheap, testable and loggable as one line. Building turns a plan into
provider objects and is where a missing package or model becomes a clear error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

from parley_agent.settings import AgentSettings
from parley_common.agent_config import ProviderOverrides

logger = logging.getLogger("parley.providers")

Kind = Literal["stt", "llm", "tts"]

# Provider ids used in plans and logs.
DEEPGRAM, OPENAI_STT, WHISPER = "deepgram", "openai-stt", "faster-whisper"
OPENAI_LLM, URL_LLM, LLAMACPP = "openai", "openai-compatible-url", "llama.cpp"
CARTESIA, OPENAI_TTS, PIPER, ESPEAK = "cartesia", "openai-tts", "piper", "espeak-ng"
REALTIME = "openai-realtime"

_CLOUD_KEYS = {
    DEEPGRAM: "DEEPGRAM_API_KEY",
    OPENAI_STT: "OPENAI_API_KEY",
    OPENAI_LLM: "OPENAI_API_KEY",
    CARTESIA: "CARTESIA_API_KEY",
    OPENAI_TTS: "OPENAI_API_KEY",
    REALTIME: "OPENAI_API_KEY",
}


class ProviderConfigError(RuntimeError):
    """A chosen provider cannot start; the message names the missing key, model or package."""


@dataclass(frozen=True)
class Choice:
    """The providers for one component, primary first (more than one → FallbackAdapter)."""

    kind: Kind
    chain: tuple[str, ...]
    reason: str

    def describe(self) -> str:
        return f"{self.kind}={'>'.join(self.chain)} ({self.reason})"


@dataclass(frozen=True)
class ProviderPlan:
    stt: Choice | None
    llm: Choice
    tts: Choice | None
    realtime: bool = False
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        if self.realtime:
            return f"providers: {self.llm.describe()}; replaces STT, LLM and TTS"
        assert self.stt and self.tts
        return f"providers: {self.stt.describe()}; {self.llm.describe()}; {self.tts.describe()}"

    def uses(self, provider: str) -> bool:
        return any(c is not None and provider in c.chain for c in (self.stt, self.llm, self.tts))


def _key(settings: AgentSettings, provider: str) -> str | None:
    env = _CLOUD_KEYS[provider]
    value = {
        "DEEPGRAM_API_KEY": settings.deepgram_api_key,
        "OPENAI_API_KEY": settings.openai_api_key,
        "CARTESIA_API_KEY": settings.cartesia_api_key,
    }[env]
    return value.strip() if value and value.strip() else None


def _pick(
    kind: Kind,
    mode: str,
    cloud: str,
    local: tuple[str, ...],
    settings: AgentSettings,
    *,
    local_reason: str = "",
    fallback_local: bool,
) -> Choice:
    env = _CLOUD_KEYS[cloud]
    has_key = _key(settings, cloud) is not None
    if mode == "cloud":
        if not has_key:
            raise ProviderConfigError(f"{kind} is set to cloud ({cloud}) but {env} is not set")
        chain = (cloud, *local) if fallback_local else (cloud,)
        return Choice(kind, chain, "configured cloud")
    if mode == "auto" and has_key:
        chain = (cloud, *local) if fallback_local else (cloud,)
        return Choice(kind, chain, f"auto: {env} is set")
    why = "configured local" if mode == "local" else f"auto: {env} not set"
    return Choice(kind, local, f"{why}{local_reason}")


def plan_providers(
    settings: AgentSettings, overrides: ProviderOverrides | None = None
) -> ProviderPlan:
    """Decide the providers. Raises ProviderConfigError when a choice cannot be honoured."""
    overrides = overrides or ProviderOverrides()
    realtime = settings.realtime if overrides.realtime is None else overrides.realtime
    if realtime:
        if _key(settings, REALTIME) is None:
            raise ProviderConfigError("OpenAI Realtime was requested but OPENAI_API_KEY is not set")
        llm = Choice("llm", (REALTIME,), "realtime requested")
        return ProviderPlan(stt=None, llm=llm, tts=None, realtime=True)

    stt_cloud = DEEPGRAM if settings.cloud_stt == "deepgram" else OPENAI_STT
    stt = _pick(
        "stt",
        overrides.stt or settings.stt_mode,
        stt_cloud,
        (WHISPER,),
        settings,
        fallback_local=settings.local_fallback,
    )

    llm_mode = overrides.llm or settings.llm_mode
    url_chain: tuple[str, ...] = (URL_LLM,) if settings.llm_url else ()
    local_llm = url_chain or (LLAMACPP,)
    llm_reason = ", PARLEY_LLM_URL set" if settings.llm_url else ", embedded runtime"
    llm = _pick(
        "llm",
        llm_mode,
        OPENAI_LLM,
        local_llm,
        settings,
        local_reason=llm_reason,
        # A cloud LLM falls back only to an endpoint the user configured: the tiny embedded
        # model would answer, badly, questions the cloud model was chosen for.
        fallback_local=bool(url_chain),
    )

    local_tts = (ESPEAK,) if settings.local_tts_engine == "espeak" else (PIPER, ESPEAK)
    tts_cloud = CARTESIA if settings.cloud_tts == "cartesia" else OPENAI_TTS
    tts = _pick(
        "tts",
        overrides.tts or settings.tts_mode,
        tts_cloud,
        local_tts,
        settings,
        fallback_local=settings.local_fallback,
    )
    return ProviderPlan(stt=stt, llm=llm, tts=tts)


def plan_for_room(
    settings: AgentSettings, overrides: ProviderOverrides, worker_plan: ProviderPlan
) -> tuple[ProviderPlan, str | None]:
    """A room's plan; an override that cannot be honoured is logged and ignored, never fatal."""
    if overrides == ProviderOverrides():
        return worker_plan, None
    try:
        return plan_providers(settings, overrides), None
    except ProviderConfigError as exc:
        return worker_plan, f"provider override ignored: {exc}"
