"""The embedded llama.cpp runtime (xllamacpp + the packaged SmolLM2 GGUF), for real."""

from __future__ import annotations

import pytest
from livekit.agents import AgentSession

from parley_agent.conversation import ConversationAgent
from parley_agent.providers import local_llm
from parley_agent.providers.factory import _build_llm
from parley_agent.providers.selection import LLAMACPP
from parley_agent.settings import AgentSettings
from parley_common.agent_config import AgentConfig

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> AgentSettings:
    monkeypatch.delenv(local_llm.LOCAL_LLM_URL_ENV, raising=False)
    monkeypatch.setenv("PARLEY_LLM_MAX_TOKENS", "24")
    monkeypatch.setenv("PARLEY_LLM_CTX", "2048")
    return AgentSettings(_env_file=None)


async def test_embedded_runtime_answers_through_openai_plugin(settings: AgentSettings) -> None:
    llm = _build_llm(LLAMACPP, settings)  # starts the runtime in this process
    try:
        url = local_llm.local_llm_url()
        assert url and url.startswith("http://127.0.0.1:")
        async with AgentSession(llm=llm) as session:
            await session.start(ConversationAgent(AgentConfig(greeting="Hi.")))
            result = await session.run(user_input="Say hello in one short sentence.")
            reply = result.expect.next_event().is_message(role="assistant").event().item
        assert (reply.text_content or "").strip(), "the local model produced no text"
        assert reply.metrics.get("llm_node_ttft") is not None
    finally:
        local_llm.stop_local_llm()
