"""Provider choice by configuration: pure planning, no models loaded."""

from __future__ import annotations

import pytest

from parley_agent.providers import selection as sel
from parley_agent.settings import AgentSettings
from parley_common.agent_config import ProviderOverrides

KEYS = ("OPENAI_API_KEY", "DEEPGRAM_API_KEY", "CARTESIA_API_KEY", "PARLEY_LLM_URL")


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> AgentSettings:
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return AgentSettings(_env_file=None)


def test_auto_without_keys_is_fully_local(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = sel.plan_providers(settings(monkeypatch))
    assert plan.stt and plan.stt.chain == (sel.WHISPER,)
    assert plan.llm.chain == (sel.LLAMACPP,)
    assert plan.tts and plan.tts.chain == (sel.PIPER, sel.ESPEAK)
    line = plan.describe()
    assert "DEEPGRAM_API_KEY not set" in line and "OPENAI_API_KEY not set" in line
    assert "CARTESIA_API_KEY not set" in line


def test_auto_with_keys_is_cloud_with_local_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(monkeypatch, OPENAI_API_KEY="k", DEEPGRAM_API_KEY="k", CARTESIA_API_KEY="k")
    plan = sel.plan_providers(s)
    assert plan.stt and plan.stt.chain == (sel.DEEPGRAM, sel.WHISPER)
    assert plan.llm.chain == (sel.OPENAI_LLM,)  # never the tiny local model behind the cloud
    assert plan.tts and plan.tts.chain == (sel.CARTESIA, sel.PIPER, sel.ESPEAK)
    assert "DEEPGRAM_API_KEY is set" in plan.describe()


def test_user_llm_url_is_local_choice_and_cloud_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    local = sel.plan_providers(settings(monkeypatch, PARLEY_LLM_URL="http://127.0.0.1:11434/v1"))
    assert local.llm.chain == (sel.URL_LLM,)
    both = sel.plan_providers(
        settings(monkeypatch, OPENAI_API_KEY="k", PARLEY_LLM_URL="http://127.0.0.1:11434/v1")
    )
    assert both.llm.chain == (sel.OPENAI_LLM, sel.URL_LLM)


def test_cloud_without_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(sel.ProviderConfigError, match="DEEPGRAM_API_KEY"):
        sel.plan_providers(settings(monkeypatch, PARLEY_STT="cloud"))
    with pytest.raises(sel.ProviderConfigError, match="OPENAI_API_KEY"):
        sel.plan_providers(settings(monkeypatch, PARLEY_REALTIME="true"))


def test_local_mode_ignores_keys_and_alternates_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(
        monkeypatch,
        OPENAI_API_KEY="k",
        PARLEY_STT="local",
        PARLEY_CLOUD_TTS="openai",
        PARLEY_LOCAL_FALLBACK="false",
        PARLEY_LOCAL_TTS="espeak",
    )
    plan = sel.plan_providers(s)
    assert plan.stt and plan.stt.chain == (sel.WHISPER,)
    assert plan.tts and plan.tts.chain == (sel.OPENAI_TTS,)
    plan = sel.plan_providers(s, ProviderOverrides(tts="local"))
    assert plan.tts and plan.tts.chain == (sel.ESPEAK,)


def test_realtime_replaces_the_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(monkeypatch, OPENAI_API_KEY="k")
    plan = sel.plan_providers(s, ProviderOverrides(realtime=True))
    assert plan.realtime and plan.stt is None and plan.tts is None
    assert plan.llm.chain == (sel.REALTIME,)


def test_room_override_that_cannot_work_is_ignored_not_fatal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = settings(monkeypatch)
    worker = sel.plan_providers(s)
    plan, problem = sel.plan_for_room(s, ProviderOverrides(llm="cloud"), worker)
    assert plan is worker
    assert problem and "OPENAI_API_KEY" in problem
    plan, problem = sel.plan_for_room(s, ProviderOverrides(), worker)
    assert plan is worker and problem is None
