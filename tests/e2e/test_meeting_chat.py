"""Meeting chat end to end: fake Meeting BaaS bot ↔ backend ↔ real LiveKit ↔ real worker
(meeting mode, local models).

Maria writes about the budget in the meeting chat (Svix-signed ``bot.chat_message``
webhooks); then someone asks in the chat "Parley, what did Maria say about the budget?". The
agent's answer, quoting her (longer than one chat message allows), arrives at the fake's
``send-chat-message`` split at sentence boundaries into messages of at most 500 characters,
each exactly once, and the console's chat view shows both sides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from parley_common.testing.devstack import Stack
from tests.backend.meetings.conftest import rms
from tests.fakes.meeting_baas import FakeMeetingBaas
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AGENT_TOKEN = "chat-e2e-agent-token"
VOICE_RMS = 300.0
WEBHOOK_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BUDGET_1 = (
    "On the budget: we keep the marketing line at forty thousand euros for the first "
    "quarter, because the launch moved to March and the agency contract is already signed. "
    "Anything above that needs a new approval from finance before we commit to it, and I "
    "will not sign off on extra travel until the numbers for January are in."
)
BUDGET_2 = (
    "One more budget point: the design review costs come out of the product budget, not "
    "marketing, so please file those invoices under the product cost centre from now on. "
    "I will send the updated spreadsheet to everyone on Friday after the finance call."
)
QUESTION = "Parley, what did Maria say about the budget?"


async def test_chat_question_is_answered_in_chat(stack_factory: Callable[..., Stack]) -> None:
    fake = await FakeMeetingBaas(
        join_step_s=0.2, callback_retry_delays=(0.5, 1.0), account_webhook_secret=WEBHOOK_SECRET
    ).start()
    try:
        stack = await asyncio.to_thread(
            stack_factory,
            {
                "MEETING_BAAS_API_KEY": fake.api_key,
                "MEETING_BAAS_BASE_URL": fake.base_url,
                "MEETING_BAAS_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "PARLEY_AGENT_TOKEN": AGENT_TOKEN,
                "MEETING_CHAT_SUMMARY": "true",
            },
        )
        fake.account_webhook_url = f"{stack.backend.url}/api/webhooks/meeting-baas"
        async with httpx.AsyncClient(base_url=stack.backend.url, timeout=30) as http:
            await _run(fake, http)
    finally:
        await fake.stop()


async def _run(fake: FakeMeetingBaas, http: httpx.AsyncClient) -> None:
    resp = await http.post(
        "/api/meetings", json={"meeting_url": "https://zoom.us/j/1234567890", "bot_name": "Parley"}
    )
    assert resp.status_code == 201, resp.text
    meeting = resp.json()
    mid = meeting["id"]
    bot = fake.bot(meeting["bot_id"])
    await bot.wait_connected(timeout=30)
    # The agent speaks its greeting once its session runs: then it reads the chat too.
    await wait_until(
        lambda: any(rms(c.pcm) >= VOICE_RMS for c in bot.received), 120, "the agent's greeting"
    )

    await bot.post_chat("Maria Lopez", BUDGET_1, sender_id=2)
    await bot.post_chat("Maria Lopez", BUDGET_2, sender_id=2)
    await bot.post_chat("Tom Chen", "Thanks Maria, we agreed to keep the launch in March.", 3)
    await bot.post_chat("Tom Chen", QUESTION, sender_id=3)

    sent = await bot.wait_chat(2, timeout=90)
    await asyncio.sleep(2.0)  # anything sent twice would arrive now
    sent = list(bot.chat_sent)
    print("chat answer:", sent)
    assert 2 <= len(sent) <= 3, sent
    assert all(1 <= len(m) <= 500 for m in sent), [len(m) for m in sent]
    joined = " ".join(sent)
    assert "Maria" in joined and "forty thousand" in joined and "product cost centre" in joined
    assert len(set(sent)) == len(sent), "a part was sent twice"
    # Split between sentences: every part but the last ends a sentence (or a quote).
    assert all(m.rstrip('"').endswith((".", "!", "?")) for m in sent[:-1]), sent
    codes = [s for _m, path, s in fake.requests if path.endswith("send-chat-message")]
    assert codes == [200] * len(sent)

    chat = (await http.get(f"/api/meetings/{mid}/chat")).json()["messages"]
    assert [m["role"] for m in chat].count("chat") == 4
    assert [m["text"] for m in chat if m["role"] == "agent_chat"] == sent

    # Ending the meeting: the summary goes to the chat before the bot leaves, and is stored.
    answered = len(bot.chat_sent)
    resp = await http.delete(f"/api/meetings/{mid}")
    assert resp.status_code == 200, resp.text
    summary_chat = " ".join(bot.chat_sent[answered:])
    print("summary in chat:", summary_chat)
    assert "Decisions:" in summary_chat and "launch in March" in summary_chat
    assert "Action items:" in summary_chat and "Maria Lopez:" in summary_chat
    auth = {"Authorization": f"Bearer {AGENT_TOKEN}"}

    async def stored() -> bool:
        ctx = await http.get(
            "/api/agent/context", params={"room_name": meeting["room_name"]}, headers=auth
        )
        return any("Action items:" in s["text"] for s in ctx.json().get("summaries", []))

    deadline = asyncio.get_running_loop().time() + 60
    while not await stored():
        assert asyncio.get_running_loop().time() < deadline, "the summary was not stored"
        await asyncio.sleep(0.5)
