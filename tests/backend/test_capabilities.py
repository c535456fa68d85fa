"""GET /api/capabilities, the workers' reports, and the token route's language check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from parley_backend.capability_registry import CapabilityRegistry
from parley_common import capabilities as cap
from parley_common.capabilities import CapabilityReport

from .conftest import AGENT_TOKEN, make_settings, running_app

AGENT = {"Authorization": f"Bearer {AGENT_TOKEN}"}


def _keyless() -> cap.Capabilities:
    return cap.combine(
        cap.stt_capabilities(cap.WHISPER, "tiny.en"),
        cap.tts_capabilities(cap.PIPER, "piper", "en_US-joe-medium"),
        cap.llm_capabilities(cap.LLAMACPP, "embedded"),
    )


def _cloud() -> cap.Capabilities:
    return cap.combine(
        cap.stt_capabilities(cap.DEEPGRAM, "nova-3"),
        cap.tts_capabilities(cap.CARTESIA, "sonic-3"),
        cap.llm_capabilities(cap.OPENAI_LLM, "gpt-4.1-mini"),
    )


def _report(worker: str, caps: cap.Capabilities) -> dict[str, Any]:
    return CapabilityReport(worker_id=worker, capabilities=caps).model_dump(mode="json")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # The operator's defaults: English only (the keyless stack), as in .env.example.
    settings = make_settings(tmp_path, PARLEY_DEFAULT_LANGUAGES="en")
    async with running_app(settings) as c:
        yield c


async def test_defaults_answer_before_any_worker_reported(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/capabilities")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["languages"] == ["en"] and body["source"] == "defaults" and body["workers"] == 0
    assert body["tools"] == {"available": None, "reason": ""}


async def test_token_for_an_unsupported_language_is_a_422_naming_the_supported(
    client: httpx.AsyncClient,
) -> None:
    resp = await client.post("/api/token", json={"agent_config": {"language": "fr"}})
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "unsupported_language"
    assert "'fr'" in error["message"] and "supported: en" in error["message"]
    assert error["details"] == {"language": "fr", "supported": ["en"], "source": "defaults"}
    multi = await client.post("/api/token", json={"agent_config": {"language": "multi"}})
    assert multi.status_code == 422, multi.text
    for ok in ({}, {"agent_config": {"language": "en"}}, {"agent_config": {"language": "en-GB"}}):
        resp = await client.post("/api/token", json=ok)
        assert resp.status_code == 200, (ok, resp.text)


async def test_a_worker_report_replaces_the_defaults(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/agent/capabilities", json=_report("w1", _cloud()), headers=AGENT)
    assert resp.status_code == 200, resp.text
    assert "fr" in resp.json()["languages"]
    body = (await client.get("/api/capabilities")).json()
    assert body["source"] == "workers" and body["workers"] == 1
    assert {"en", "es", "fr", "de", "multi"} <= set(body["languages"])
    assert body["tools"]["available"] is True
    assert body["detail"]["stt"]["provider"] == "deepgram"
    token = await client.post("/api/token", json={"agent_config": {"language": "fr"}})
    assert token.status_code == 200, token.text
    # The same worker re-posting replaces its entry rather than adding one.
    await client.post("/api/agent/capabilities", json=_report("w1", _keyless()), headers=AGENT)
    body = (await client.get("/api/capabilities")).json()
    assert body["languages"] == ["en"] and body["workers"] == 1
    assert body["tools"] == {
        "available": False,
        "reason": "the embedded local model (SmolLM2-135M) cannot call tools",
    }
    assert any("French is not offered" in note for note in body["notes"])
    refused = await client.post("/api/token", json={"agent_config": {"language": "fr"}})
    assert refused.status_code == 422 and refused.json()["error"]["details"]["source"] == "workers"


async def test_several_workers_offer_what_all_of_them_serve(client: httpx.AsyncClient) -> None:
    for worker, caps in (("cloud-1", _cloud()), ("local-1", _keyless())):
        resp = await client.post(
            "/api/agent/capabilities", json=_report(worker, caps), headers=AGENT
        )
        assert resp.status_code == 200, resp.text
    body = (await client.get("/api/capabilities")).json()
    assert body["languages"] == ["en"] and body["workers"] == 2
    assert body["tools"]["available"] is False


async def test_reports_need_the_agent_token_and_a_valid_body(client: httpx.AsyncClient) -> None:
    body = _report("w1", _cloud())
    for headers in ({}, {"Authorization": "Bearer invented"}):
        resp = await client.post("/api/agent/capabilities", json=body, headers=headers)
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthorized"
    bad = await client.post(
        "/api/agent/capabilities", json={**body, "worker_id": "a b/../c"}, headers=AGENT
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    junk = await client.post(
        "/api/agent/capabilities",
        content=b"{",
        headers={**AGENT, "Content-Type": "application/json"},
    )
    assert junk.status_code == 422
    # Nothing was recorded: the public answer is still the defaults.
    assert (await client.get("/api/capabilities")).json()["source"] == "defaults"


def test_reports_expire_and_the_defaults_come_back() -> None:
    now = [1000.0]
    registry = CapabilityRegistry(ttl=180, default_languages=["en"], clock=lambda: now[0])
    registry.record(CapabilityReport(worker_id="w1", capabilities=_cloud()))
    now[0] += 100
    registry.record(CapabilityReport(worker_id="w2", capabilities=_keyless()))
    assert registry.current()[1:] == ("workers", 2)
    now[0] += 90  # w1 is 190 s old, w2 90 s
    caps, source, workers = registry.current()
    assert (source, workers) == ("workers", 1) and caps.languages == ["en"]
    now[0] += 100
    caps, source, workers = registry.current()
    assert (source, workers, caps.languages) == ("defaults", 0, ["en"])
