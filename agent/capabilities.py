"""The worker's capabilities (``parley_common.capabilities``) and their publication.

``worker_capabilities`` reads the provider plan and the configured models; nothing is
loaded. ``CapabilityPublisher`` posts them to the backend's agent API from a daemon thread
of the worker's main process: at start, then every ``interval`` seconds, so a backend that
restarted (or one more backend replica) learns them again and a worker that died drops out
when the backend's entry expires. It never touches a job's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading

import httpx

from parley_agent.providers.model_packs import (
    ModelUnavailableError,
    resolve_piper,
    resolve_whisper,
)
from parley_agent.providers.selection import (
    ESPEAK,
    LLAMACPP,
    OPENAI_LLM,
    OPENAI_STT,
    OPENAI_TTS,
    PIPER,
    REALTIME,
    WHISPER,
    ProviderPlan,
)
from parley_agent.settings import AgentSettings
from parley_common.agent_config import AgentConfig
from parley_common.capabilities import (
    AGENT_CAPABILITIES_ROUTE,
    CARTESIA,
    DEEPGRAM,
    MULTI,
    Capabilities,
    CapabilityReport,
    combine,
    llm_capabilities,
    stt_capabilities,
    tts_capabilities,
)
from parley_common.wire import AGENT_API_PREFIX

logger = logging.getLogger("parley.capabilities")


def _stt_model(provider: str, settings: AgentSettings) -> str:
    if provider == WHISPER:
        try:
            return resolve_whisper(settings.whisper_model).path
        except ModelUnavailableError:
            return settings.whisper_model or ""
    if provider == DEEPGRAM:
        return settings.deepgram_model
    if provider == OPENAI_STT:
        return settings.openai_stt_model
    return ""


def _tts_model_and_voice(provider: str, settings: AgentSettings) -> tuple[str, str]:
    if provider == PIPER:
        try:
            return "piper", resolve_piper(settings.piper_voice).path
        except ModelUnavailableError:
            return "piper", settings.piper_voice or ""
    if provider == ESPEAK:
        return "espeak-ng", settings.espeak_voice
    if provider == CARTESIA:
        return settings.cartesia_model, settings.cartesia_voice or ""
    if provider == OPENAI_TTS:
        return settings.openai_tts_model, settings.openai_voice
    return "", ""


def _llm_model(provider: str, settings: AgentSettings) -> str:
    if provider == OPENAI_LLM:
        return settings.openai_llm_model
    if provider == REALTIME:
        return settings.openai_realtime_model
    if provider == LLAMACPP:
        return "embedded"
    return settings.llm_model


def worker_capabilities(settings: AgentSettings, plan: ProviderPlan) -> Capabilities:
    """What this worker serves with its own plan (a room's overrides are not promised)."""
    llm_provider = plan.llm.chain[0]
    llm = llm_capabilities(llm_provider, _llm_model(llm_provider, settings))
    if plan.realtime or plan.stt is None or plan.tts is None:
        return combine(None, None, llm)
    stt_provider = plan.stt.chain[0]
    stt = stt_capabilities(stt_provider, _stt_model(stt_provider, settings))
    tts_provider = plan.tts.chain[0]
    model, voice = _tts_model_and_voice(tts_provider, settings)
    tts = tts_capabilities(tts_provider, model, voice)
    return combine(stt, tts, llm)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class CapabilityPublisher:
    """Posts one report now and every ``interval`` seconds until ``stop``."""

    def __init__(
        self,
        report: CapabilityReport,
        *,
        backend_url: str,
        agent_token: str,
        interval: float,
        retry: float = 5.0,
    ) -> None:
        self._body = report.model_dump(mode="json")
        self._url = backend_url.rstrip("/") + AGENT_API_PREFIX + AGENT_CAPABILITIES_ROUTE
        self._headers = {"Authorization": f"Bearer {agent_token}"}
        self._interval = interval
        self._retry = min(retry, interval)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="parley-capabilities", daemon=True)
        self.published = threading.Event()  # set after the first accepted post
        self._failing = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def post_once(self, client: httpx.Client) -> bool:
        try:
            resp = client.post(self._url, json=self._body, headers=self._headers)
            problem = f"HTTP {resp.status_code}" if resp.status_code >= 300 else None
        except httpx.HTTPError as exc:
            problem = str(exc) or type(exc).__name__
        if problem is None:
            self._failing = False
            self.published.set()
            return True
        # Once per failure streak: a worker without a backend (console, tests) keeps retrying.
        level = logging.DEBUG if self._failing else logging.WARNING
        logger.log(level, "capabilities not published (%s): %s", self._url, problem)
        self._failing = True
        return False

    def _run(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            while not self._stop.is_set():
                ok = self.post_once(client)
                self._stop.wait(self._interval if ok else self._retry)


def start_publishing(settings: AgentSettings, plan: ProviderPlan) -> CapabilityPublisher:
    """Compute this worker's capabilities, log them in one line and start posting them."""
    caps = worker_capabilities(settings, plan)
    logger.info(
        "capabilities: languages=%s tool_calling=%s",
        ",".join(caps.languages) or "none",
        caps.llm.tool_calling if caps.llm else None,
    )
    report = CapabilityReport(
        worker_id=default_worker_id(), agent_name=settings.agent_name, capabilities=caps
    )
    publisher = CapabilityPublisher(
        report,
        backend_url=settings.backend_url,
        agent_token=settings.agent_token,
        interval=settings.capabilities_interval,
    )
    publisher.start()
    return publisher


def served_config(config: AgentConfig, caps: Capabilities, ids: dict[str, str]) -> AgentConfig:
    """The room's config with a language this job's stack serves.

    The backend refuses unsupported languages at the token, but a room can still ask for
    one (a dispatch made elsewhere, a worker whose stack changed). Told to "start in
    French" while its English-only STT hears English, the small local model opened every
    reply in French (« Bien sûr, ... »): so the job speaks a language it serves instead,
    English when it can, and says so in the log.
    """
    if caps.serves(config.language):
        return config
    concrete = [code for code in caps.languages if code != MULTI]
    if not concrete:
        return config
    language = "en" if "en" in concrete else concrete[0]
    logger.warning(
        "room language %r is not served by this stack (%s); using %r",
        config.language,
        ",".join(caps.languages),
        language,
        extra=ids,
    )
    return config.model_copy(update={"language": language})


_plan_capabilities: dict[ProviderPlan, Capabilities] = {}


async def room_capabilities(settings: AgentSettings, plan: ProviderPlan) -> Capabilities:
    """``worker_capabilities`` for a job's plan, off the event loop (it may read model files)
    and once per plan per process."""
    found = _plan_capabilities.get(plan)
    if found is None:
        found = await asyncio.to_thread(worker_capabilities, settings, plan)
        _plan_capabilities[plan] = found
    return found
