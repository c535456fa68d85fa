"""The worker's capabilities from its configuration, the language it serves a room in, and
their publication to a real backend process (``GET /api/capabilities`` answers them)."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from parley_agent.capabilities import (
    CapabilityPublisher,
    room_capabilities,
    served_config,
    worker_capabilities,
)
from parley_agent.conversation import build_instructions
from parley_agent.providers.selection import plan_providers
from parley_agent.settings import AgentSettings
from parley_common.agent_config import AgentConfig
from parley_common.capabilities import CapabilityReport
from parley_common.testing.devstack import start_backend

KEYS = ("OPENAI_API_KEY", "DEEPGRAM_API_KEY", "CARTESIA_API_KEY", "PARLEY_LLM_URL")
IDS = {"room": "r1", "job_id": "j1"}


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> AgentSettings:
    for key in (*KEYS, "PARLEY_WHISPER_MODEL", "PARLEY_PIPER_VOICE", "PARLEY_LOCAL_TTS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return AgentSettings(_env_file=None)


def test_keyless_worker_serves_english_without_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(monkeypatch)
    caps = worker_capabilities(s, plan_providers(s))
    assert caps.languages == ["en"]
    assert caps.stt is not None and caps.stt.provider == "faster-whisper"
    assert caps.tts is not None and caps.tts.provider == "piper"
    assert caps.llm is not None and caps.llm.tool_calling is False


def test_espeak_voice_decides_the_keyless_language(monkeypatch: pytest.MonkeyPatch) -> None:
    # A multilingual Whisper (hub name) with a German eSpeak NG voice: German only.
    s = settings(
        monkeypatch,
        PARLEY_LOCAL_TTS="espeak",
        PARLEY_ESPEAK_VOICE="de",
        PARLEY_WHISPER_MODEL="small",
    )
    caps = worker_capabilities(s, plan_providers(s))
    assert caps.languages == ["de"]


def test_cloud_worker_serves_many_languages_and_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(monkeypatch, OPENAI_API_KEY="k", DEEPGRAM_API_KEY="k", CARTESIA_API_KEY="k")
    caps = worker_capabilities(s, plan_providers(s))
    assert {"en", "es", "fr", "de", "multi"} <= set(caps.languages)
    assert caps.llm is not None and caps.llm.tool_calling is True
    # The report names providers and models, never a key.
    assert "k" not in {caps.llm.model, caps.stt.model if caps.stt else ""}


def test_realtime_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(monkeypatch, OPENAI_API_KEY="k", PARLEY_REALTIME="true")
    caps = worker_capabilities(s, plan_providers(s))
    assert caps.serves("multi") and caps.serves("fr") and caps.llm is not None
    assert caps.llm.provider == "openai-realtime"


async def test_a_room_in_an_unserved_language_is_served_in_english(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The « Bien sûr, » replies: a French room on the English-only keyless stack."""
    s = settings(monkeypatch)
    caps = await room_capabilities(s, plan_providers(s))
    french = AgentConfig(language="fr", persona="pirate")
    with caplog.at_level(logging.WARNING, logger="parley.capabilities"):
        served = served_config(french, caps, IDS)
    assert served.language == "en" and served.persona == "pirate"
    assert "'fr' is not served" in caplog.text
    assert "French" not in build_instructions(served)
    english = AgentConfig(language="en-GB")
    assert served_config(english, caps, IDS) is english


@pytest.mark.integration
def test_publisher_posts_to_a_real_backend_that_then_answers_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "caps-agent-token"
    backend = start_backend(
        tmp_path / "logs",
        {
            "PARLEY_DATA_DIR": str(tmp_path / "data"),
            "PARLEY_AGENT_TOKEN": token,
            "PARLEY_DEFAULT_LANGUAGES": "en",
            "LIVEKIT_URL": "ws://127.0.0.1:9",
        },
    )
    try:
        s = settings(monkeypatch, OPENAI_API_KEY="k", DEEPGRAM_API_KEY="k", CARTESIA_API_KEY="k")
        report = CapabilityReport(
            worker_id="test-worker:1", capabilities=worker_capabilities(s, plan_providers(s))
        )
        with httpx.Client(base_url=backend.url, timeout=10) as client:
            before = client.get("/api/capabilities").json()
            assert before["source"] == "defaults" and before["languages"] == ["en"]
            assert (
                client.post("/api/token", json={"agent_config": {"language": "fr"}}).status_code
                == 422
            )

            wrong = CapabilityPublisher(
                report, backend_url=backend.url, agent_token="wrong", interval=60
            )
            assert not wrong.post_once(client)  # a 401 is a failure, not a silent success

            publisher = CapabilityPublisher(
                report, backend_url=backend.url, agent_token=token, interval=60
            )
            publisher.start()
            try:
                assert publisher.published.wait(30), "the first post never succeeded"
            finally:
                publisher.stop()
            after = client.get("/api/capabilities").json()
            assert after["source"] == "workers" and after["workers"] == 1
            assert {"fr", "multi"} <= set(after["languages"])
            assert after["tools"]["available"] is True
            assert "k" not in str(after["detail"]["llm"])  # no key travelled
            resp = client.post("/api/token", json={"agent_config": {"language": "fr"}})
            assert resp.status_code == 200, resp.text
    finally:
        backend.stop()
