"""Building provider objects from plans (cloud objects are constructed, never called)."""

from __future__ import annotations

import pytest
from livekit.agents import llm, stt, tts

from parley_agent.providers import selection as sel
from parley_agent.providers.factory import build_providers
from parley_agent.settings import AgentSettings
from parley_common.agent_config import AgentConfig, ProviderOverrides

KEYS = ("OPENAI_API_KEY", "DEEPGRAM_API_KEY", "CARTESIA_API_KEY", "PARLEY_LLM_URL")


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> AgentSettings:
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return AgentSettings(_env_file=None)


@pytest.mark.slow
def test_cloud_plan_builds_fallback_adapters(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(
        monkeypatch,
        OPENAI_API_KEY="sk-test",
        DEEPGRAM_API_KEY="dg-test",
        CARTESIA_API_KEY="ca-test",
        PARLEY_LLM_URL="http://127.0.0.1:9/v1",
    )
    plan = sel.plan_providers(s)
    from parley_agent.turns import load_vad

    built = build_providers(plan, s, AgentConfig(language="multi"), vad=load_vad())
    assert isinstance(built.stt, stt.FallbackAdapter)
    assert isinstance(built.llm, llm.FallbackAdapter)
    assert isinstance(built.tts, tts.FallbackAdapter)
    assert built.stt._stt_instances[0].provider.lower().startswith("deepgram")


def test_realtime_plan_builds_one_model(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(monkeypatch, OPENAI_API_KEY="sk-test")
    plan = sel.plan_providers(s, ProviderOverrides(realtime=True))
    built = build_providers(plan, s, AgentConfig())
    assert built.stt is None and built.tts is None
    assert isinstance(built.llm, llm.RealtimeModel)


def test_openai_alternates_and_user_url(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(
        monkeypatch,
        OPENAI_API_KEY="sk-test",
        PARLEY_CLOUD_STT="openai",
        PARLEY_CLOUD_TTS="openai",
        PARLEY_LOCAL_FALLBACK="false",
        PARLEY_OPENAI_BASE_URL="http://127.0.0.1:9/v1",
    )
    built = build_providers(sel.plan_providers(s), s, AgentConfig())
    assert built.stt is not None and not built.stt.capabilities.streaming
    assert built.tts is not None and built.llm is not None


def test_missing_package_is_named_before_start(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from parley_agent.providers.factory import check_requirements

    plan = sel.plan_providers(settings(monkeypatch))
    check_requirements(plan)  # everything is installed here
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "xllamacpp" else real(name, *a),
    )
    with pytest.raises(sel.ProviderConfigError, match=r"pip install xllamacpp==2026\.10\.11549"):
        check_requirements(plan)
