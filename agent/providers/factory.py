"""Turn a ``ProviderPlan`` into provider objects (with FallbackAdapters for chains).

Local models are loaded once per process and shared by the sessions of that process; the
worker's prewarm calls ``preload_local_models`` so the first job does not pay for loading.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from livekit.agents import llm as lk_llm
from livekit.agents import stt as lk_stt
from livekit.agents import tts as lk_tts
from livekit.agents import vad as lk_vad

from parley_agent.http_clients import openai_client
from parley_agent.providers import selection as sel
from parley_agent.providers.clause_tokenizer import ClauseTokenizer
from parley_agent.providers.espeak_tts import EspeakTTS
from parley_agent.providers.model_packs import (
    ModelUnavailableError,
    ResolvedModel,
    resolve_piper,
    resolve_whisper,
)
from parley_agent.settings import AgentSettings
from parley_common.agent_config import AgentConfig

if TYPE_CHECKING:
    from faster_whisper import WhisperModel
    from piper import PiperVoice

logger = logging.getLogger("parley.providers")

_load_lock = threading.Lock()
_whisper: tuple[WhisperModel, ResolvedModel] | None = None
_piper: tuple[PiperVoice, ResolvedModel] | None = None


def whisper_model(settings: AgentSettings) -> tuple[WhisperModel, ResolvedModel]:
    global _whisper
    with _load_lock:
        if _whisper is None:
            from parley_agent.providers.whisper_stt import load_whisper

            resolved = resolve_whisper(settings.whisper_model)
            _whisper = (load_whisper(resolved, threads=settings.whisper_threads), resolved)
        return _whisper


def piper_voice(settings: AgentSettings) -> tuple[PiperVoice, ResolvedModel]:
    global _piper
    with _load_lock:
        if _piper is None:
            from parley_agent.providers.piper_tts import load_piper

            resolved = resolve_piper(settings.piper_voice)
            _piper = (
                load_piper(resolved, download_dir=settings.model_cache_dir / "piper"),
                resolved,
            )
        return _piper


def preload_local_models(settings: AgentSettings, plan: sel.ProviderPlan) -> None:
    """Load the local models the plan may use (primary or fallback). Errors propagate."""
    if plan.uses(sel.WHISPER):
        whisper_model(settings)
    if plan.uses(sel.PIPER):
        piper_voice(settings)


# What each provider needs installed: (import name, pip requirement).
_REQUIRES: dict[str, tuple[str, str]] = {
    sel.WHISPER: ("faster_whisper", "faster-whisper==1.2.1"),
    sel.PIPER: ("piper", "piper-tts==1.8.0"),
    sel.LLAMACPP: ("xllamacpp", "xllamacpp==2026.10.11549"),
    sel.DEEPGRAM: ("livekit.plugins.deepgram", "livekit-plugins-deepgram==1.8.9"),
    sel.CARTESIA: ("livekit.plugins.cartesia", "livekit-plugins-cartesia==1.8.9"),
    sel.OPENAI_LLM: ("livekit.plugins.openai", "livekit-plugins-openai==1.8.9"),
    sel.URL_LLM: ("livekit.plugins.openai", "livekit-plugins-openai==1.8.9"),
    sel.OPENAI_STT: ("livekit.plugins.openai", "livekit-plugins-openai==1.8.9"),
    sel.OPENAI_TTS: ("livekit.plugins.openai", "livekit-plugins-openai==1.8.9"),
    sel.REALTIME: ("livekit.plugins.openai", "livekit-plugins-openai==1.8.9"),
}


def check_requirements(plan: sel.ProviderPlan) -> None:
    """Fail fast, naming the package or program, when a planned provider cannot start.

    Cheap (no model is loaded): the worker calls it before registering with LiveKit.
    """
    import importlib.util

    from parley_agent.providers.espeak_tts import espeak_binary

    for choice in (plan.stt, plan.llm, plan.tts):
        if choice is None:
            continue
        for name in choice.chain:
            if name == sel.ESPEAK:
                if espeak_binary() is None:
                    raise sel.ProviderConfigError(
                        "TTS espeak-ng needs the 'espeak-ng' program (apt-get install espeak-ng)"
                    )
                continue
            module, requirement = _REQUIRES[name]
            try:
                found = importlib.util.find_spec(module) is not None
            except ModuleNotFoundError:
                found = False
            if not found:
                raise sel.ProviderConfigError(
                    f"{choice.kind} provider {name} needs the package {requirement} "
                    f"(pip install {requirement})"
                )


@dataclass
class Providers:
    stt: lk_stt.STT | None
    llm: lk_llm.LLM | lk_llm.RealtimeModel
    tts: lk_tts.TTS | None


def _openai_base(settings: AgentSettings) -> dict[str, Any]:
    """Key and endpoint for the OpenAI plugins, passed explicitly: the plugins read only
    ``os.environ``, which does not hold what came from the ``.env`` file."""
    options: dict[str, Any] = {"api_key": settings.openai_api_key or ""}
    if settings.openai_base_url:
        options["base_url"] = settings.openai_base_url
    return options


def deepgram_listen_url(base: str | None) -> str:
    """The live-STT endpoint for a configured base: a bare host gets ``/v1/listen``."""
    if not base:
        return "https://api.deepgram.com/v1/listen"
    parsed = urlparse(base)
    if parsed.path.rstrip("/") in ("", "/v1"):
        return base.rstrip("/").removesuffix("/v1") + "/v1/listen"
    return base


def _language_for_stt(config: AgentConfig) -> str | None:
    return None if config.language == "multi" else config.language


def _build_stt(name: str, settings: AgentSettings, config: AgentConfig) -> lk_stt.STT:
    if name == sel.WHISPER:
        from parley_agent.providers.whisper_stt import WhisperSTT

        model, resolved = whisper_model(settings)
        # Meeting mode listens for the agent's name, which Whisper does not know, and looks
        # again at the start of a request that came back without it.
        meeting = config.mode == "meeting"
        spotter = None
        if meeting:
            from parley_agent.meeting.addressing import AddressDetector

            spotter = AddressDetector(config.agent_display_name)
        return WhisperSTT(
            model,
            model_name=resolved.describe(),
            language=_language_for_stt(config),
            hotwords=config.agent_display_name if meeting else None,
            name_spotter=spotter,
        )
    if name == sel.DEEPGRAM:
        from livekit.plugins import deepgram

        language = "multi" if config.language == "multi" else config.language
        return deepgram.STT(
            model=settings.deepgram_model,
            language=language,
            api_key=settings.deepgram_api_key or "",
            base_url=deepgram_listen_url(settings.deepgram_base_url),
        )
    if name == sel.OPENAI_STT:
        from livekit.plugins import openai

        lang = _language_for_stt(config)
        return openai.STT(
            model=settings.openai_stt_model,
            language=lang or "en",
            detect_language=lang is None,
            use_realtime=False,  # one request per VAD-cut utterance, like Whisper locally
            **_openai_base(settings),
        )
    raise ModelUnavailableError(f"unknown STT provider {name}")


def _build_llm(name: str, settings: AgentSettings) -> lk_llm.LLM | lk_llm.RealtimeModel:
    from livekit.plugins import openai

    if name == sel.OPENAI_LLM:
        if not settings.openai_api_key:
            # The plugin's own clear error for a missing key (its client is never used).
            return openai.LLM(model=settings.openai_llm_model, **_openai_base(settings))
        return openai.LLM(
            model=settings.openai_llm_model,
            client=openai_client(
                api_key=settings.openai_api_key,
                base_url=settings.openai_base_url or None,
                max_retries=0,  # the plugin's default
            ),
        )
    if name == sel.REALTIME:
        base = settings.openai_realtime_base_url or settings.openai_base_url
        if base:
            return openai.realtime.RealtimeModel(
                model=settings.openai_realtime_model,
                voice=settings.openai_voice,
                api_key=settings.openai_api_key,
                base_url=base,
            )
        return openai.realtime.RealtimeModel(
            model=settings.openai_realtime_model,
            voice=settings.openai_voice,
            api_key=settings.openai_api_key,
        )
    if name == sel.URL_LLM:
        url = settings.llm_url
    elif name == sel.LLAMACPP:
        from parley_agent.providers.local_llm import local_llm_url, start_local_llm

        url = local_llm_url()
        if url is None:
            # A room chose local although the worker did not start the runtime: start it
            # in this job process (costs a model load, once per process).
            url, _ = start_local_llm(
                gguf=settings.llm_gguf,
                threads=settings.llm_threads,
                ctx=settings.llm_ctx,
                cache_dir=settings.model_cache_dir / "llm",
            )
    else:
        raise ModelUnavailableError(f"unknown LLM provider {name}")
    return openai.LLM(
        model=settings.llm_model,
        # The shared TLS context: building the plugin's own client costs an SSLContext on
        # the job's event loop (parley_agent.http_clients).
        client=openai_client(
            api_key=settings.llm_api_key or "not-needed",
            base_url=url,
            max_retries=0,  # the FallbackAdapter / session retry; the SDK's own hides errors
        ),
        temperature=0.3,  # small local models ramble at the default temperature
        max_completion_tokens=settings.llm_max_tokens,
    )


def _build_tts(name: str, settings: AgentSettings, config: AgentConfig) -> lk_tts.TTS:
    if name in (sel.ESPEAK, sel.PIPER):
        # Local voices synthesise a clause in tens of milliseconds: feed them clauses so the
        # first audio does not wait for a slow local LLM to finish its first sentence.
        return lk_tts.StreamAdapter(
            tts=_build_local_tts(name, settings, config), sentence_tokenizer=ClauseTokenizer()
        )
    return _build_cloud_tts(name, settings, config)


def _build_local_tts(name: str, settings: AgentSettings, config: AgentConfig) -> lk_tts.TTS:
    if name == sel.ESPEAK:
        voice = config.voice if config.voice and settings.local_tts_engine == "espeak" else None
        return EspeakTTS(voice=voice or settings.espeak_voice)
    if name == sel.PIPER:
        from parley_agent.providers.piper_tts import PiperTTS

        piper, resolved = piper_voice(settings)
        return PiperTTS(piper, voice_name=resolved.describe())
    raise ModelUnavailableError(f"unknown local TTS provider {name}")


def _build_cloud_tts(name: str, settings: AgentSettings, config: AgentConfig) -> lk_tts.TTS:
    if name == sel.CARTESIA:
        from livekit.plugins import cartesia

        kwargs: dict[str, Any] = {
            "voice": config.voice or settings.cartesia_voice,
            "base_url": settings.cartesia_base_url,
        }
        return cartesia.TTS(
            model=settings.cartesia_model,
            api_key=settings.cartesia_api_key or "",
            language=None if config.language == "multi" else config.language.split("-")[0],
            **{k: v for k, v in kwargs.items() if v},
        )
    if name == sel.OPENAI_TTS:
        from livekit.plugins import openai

        return openai.TTS(
            model=settings.openai_tts_model,
            voice=config.voice or settings.openai_voice,
            response_format="pcm",  # raw 24 kHz PCM: no decoder between bytes and speaker
            **_openai_base(settings),
        )
    raise ModelUnavailableError(f"unknown TTS provider {name}")


def build_providers(
    plan: sel.ProviderPlan,
    settings: AgentSettings,
    config: AgentConfig,
    *,
    vad: lk_vad.VAD | None = None,
) -> Providers:
    """Create the plan's providers. Raises ModelUnavailableError / ProviderConfigError."""
    llm_chain = [_build_llm(name, settings) for name in plan.llm.chain]
    if plan.realtime:
        return Providers(stt=None, llm=llm_chain[0], tts=None)
    assert plan.stt and plan.tts
    stt_chain = [_build_stt(name, settings, config) for name in plan.stt.chain]
    tts_chain = [_build_tts(name, settings, config) for name in plan.tts.chain]
    stt = stt_chain[0] if len(stt_chain) == 1 else lk_stt.FallbackAdapter(stt_chain, vad=vad)
    llm = (
        llm_chain[0]
        if len(llm_chain) == 1
        else lk_llm.FallbackAdapter(llm_chain, attempt_timeout=10.0)  # type: ignore[arg-type]
    )
    # Piper is 22.05 kHz like eSpeak; a cloud voice may differ and the adapter resamples.
    tts = tts_chain[0] if len(tts_chain) == 1 else lk_tts.FallbackAdapter(tts_chain)
    return Providers(stt=stt, llm=llm, tts=tts)
