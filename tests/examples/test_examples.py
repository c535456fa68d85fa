"""The examples in examples/ run: the tool in a text session, the other two against a real
backend process and a real livekit-server (the management API needs LiveKit)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from livekit import api

from parley_agent.conversation import build_instructions
from parley_common.agent_config import AgentConfig, parse_agent_config
from parley_common.testing.devstack import Backend, LiveKitServer, start_backend
from tests.fakes.rule_llm import Reply, RuleLLM, last_is_tool_output, last_tool_output

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KEY = "example-key"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_custom_tool_answers_in_a_text_session() -> None:
    example = _load("01_custom_tool")

    def rule(chat_ctx):  # type: ignore[no-untyped-def]
        if last_is_tool_output(chat_ctx):
            return Reply(text=last_tool_output(chat_ctx))
        return Reply(tool="order_status", arguments={"order_id": "1042"})

    model = RuleLLM([rule])
    answer = await example.ask(model, "Where is order 1042?")
    assert answer == "Order 1042 is shipped on Monday and arrives on Thursday."
    # The answer is the tool's own sentence, so the tool ran; the persona reached the model.
    system = model.requests[0].items[0]
    assert system.type == "message" and "bookshop assistant" in (system.text_content or "")


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory, lk: LiveKitServer) -> Iterator[Backend]:
    work = tmp_path_factory.mktemp("examples-backend")
    env = {
        "PARLEY_DATA_DIR": str(work / "data"),
        "PARLEY_API_KEYS": KEY,
        # The example asks for German: this operator's stack serves it.
        "PARLEY_DEFAULT_LANGUAGES": "en,de",
        "LIVEKIT_URL": lk.ws_url,
        "LIVEKIT_API_KEY": lk.api_key,
        "LIVEKIT_API_SECRET": lk.api_secret,
    }
    server = start_backend(work, env)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveKitServer]:
    from parley_common.testing.devstack import start_livekit_server

    server = start_livekit_server(tmp_path_factory.mktemp("examples-livekit"))
    try:
        yield server
    finally:
        server.stop()


def _dispatched_config(lk: LiveKitServer, answer: dict[str, str]) -> AgentConfig:
    """What the worker's entrypoint gets: the dispatch metadata in the signed token."""
    claims = api.TokenVerifier(lk.api_key, lk.api_secret).verify(answer["participant_token"])
    (dispatch,) = claims.room_config.agents
    assert dispatch.agent_name == "parley"
    config, problem = parse_agent_config(dispatch.metadata)
    assert problem is None
    return config


@pytest.mark.integration
def test_persona_and_language_reach_the_agent_through_the_token(
    backend: Backend, lk: LiveKitServer
) -> None:
    example = _load("02_persona_and_language")
    with httpx.Client(base_url=backend.url, timeout=10) as client:
        public = _dispatched_config(lk, example.request_token(client, example.PUBLIC))
        custom = _dispatched_config(lk, example.request_token(client, example.CUSTOM, KEY))
        # Without a key the persona is the policy's to choose: a 403 names the field.
        refused = client.post("/api/token", json={"agent_config": {"persona": "x"}})
    assert (public.persona, public.language) == ("pirate", "de")  # the preset, expanded
    assert "Start in German" in build_instructions(public)
    assert custom.model_dump(exclude={"preset"}) == example.CUSTOM.model_dump(exclude={"preset"})
    assert "cheerful pirate" in build_instructions(custom)
    assert refused.status_code == 403, refused.text


@pytest.mark.integration
def test_room_and_dispatch_through_the_management_api(
    backend: Backend, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = _load("03_room_and_dispatch")
    monkeypatch.setenv("PARLEY_EXAMPLE_API_KEY", KEY)
    example.main(backend.url, name="example-room")
    out = capsys.readouterr().out
    assert '"agent_name": "parley"' in out and "deleted example-room" in out
    with httpx.Client(base_url=backend.url, headers={"X-API-Key": KEY}, timeout=10) as client:
        assert client.get("/api/rooms/example-room").status_code == 404
