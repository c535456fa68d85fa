"""Cloud providers get their key and endpoint from the settings (the root ``.env``), never
only from ``os.environ``, and each endpoint can be pointed elsewhere."""

from __future__ import annotations

import pytest

from parley_agent.providers import selection as sel
from parley_agent.providers.factory import build_providers, deepgram_listen_url
from parley_agent.settings import AgentSettings
from parley_common.agent_config import AgentConfig

CLOUD_ENV = ("OPENAI_API_KEY", "DEEPGRAM_API_KEY", "CARTESIA_API_KEY")


def test_deepgram_base_url_forms() -> None:
    assert deepgram_listen_url(None) == "https://api.deepgram.com/v1/listen"
    assert deepgram_listen_url("https://api.eu.deepgram.com") == (
        "https://api.eu.deepgram.com/v1/listen"
    )
    assert deepgram_listen_url("http://10.0.0.5:8080/v1/") == "http://10.0.0.5:8080/v1/listen"
    assert deepgram_listen_url("wss://proxy.example/dg/listen") == "wss://proxy.example/dg/listen"


def test_keys_and_base_urls_reach_the_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CLOUD_ENV:
        monkeypatch.delenv(name, raising=False)  # as when they come from the .env file
    s = AgentSettings(  # type: ignore[call-arg]
        _env_file=None,
        OPENAI_API_KEY="sk-file",
        DEEPGRAM_API_KEY="dg-file",
        CARTESIA_API_KEY="ca-file",
        PARLEY_LOCAL_FALLBACK=False,
        PARLEY_OPENAI_BASE_URL="http://127.0.0.1:9/v1",
        PARLEY_DEEPGRAM_BASE_URL="http://127.0.0.1:10",
        PARLEY_CARTESIA_BASE_URL="http://127.0.0.1:11",
    )
    built = build_providers(sel.plan_providers(s), s, AgentConfig())
    assert built.stt._api_key == "dg-file"  # type: ignore[union-attr]
    assert built.stt._opts.endpoint_url == "http://127.0.0.1:10/v1/listen"  # type: ignore[union-attr]
    assert built.tts._opts.api_key == "ca-file"  # type: ignore[union-attr]
    assert built.tts._opts.base_url == "http://127.0.0.1:11"  # type: ignore[union-attr]
    assert str(built.llm._client.base_url) == "http://127.0.0.1:9/v1/"  # type: ignore[union-attr]
    assert built.llm._client.api_key == "sk-file"  # type: ignore[union-attr]


def test_realtime_base_url_defaults_to_the_openai_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    s = AgentSettings(  # type: ignore[call-arg]
        _env_file=None,
        OPENAI_API_KEY="sk-file",
        PARLEY_REALTIME=True,
        PARLEY_OPENAI_BASE_URL="http://127.0.0.1:9/v1",
    )
    model = build_providers(sel.plan_providers(s), s, AgentConfig()).llm
    assert model._opts.base_url == "http://127.0.0.1:9/v1"  # type: ignore[union-attr]
    s2 = s.model_copy(update={"openai_realtime_base_url": "wss://eu.example/v1"})
    model2 = build_providers(sel.plan_providers(s2), s2, AgentConfig()).llm
    assert model2._opts.base_url == "wss://eu.example/v1"  # type: ignore[union-attr]
