"""The outbound meeting chat: sentence-boundary splitting, and delivery through the fake
Meeting BaaS (``send-chat-message``) with retries that never send a part twice or lose one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from parley_backend.db import create_engine, create_schema, dispose_engine
from parley_backend.meetings import store
from parley_backend.meetings.baas_client import MeetingBaasClient
from parley_backend.meetings.chat import ChatSender, split_message
from tests.fakes.meeting_baas import FakeBot, FakeMeetingBaas
from tests.waiting import wait_until

MEETING = "0123456789abcdef"


def test_short_text_is_one_message() -> None:
    assert split_message("  Maria said the budget is final.  ") == [
        "Maria said the budget is final."
    ]


def test_long_text_splits_between_sentences_within_the_limit() -> None:
    sentences = [f"Sentence number {i} says something about the budget." for i in range(30)]
    text = " ".join(sentences)
    parts = split_message(text, limit=120)
    assert all(len(p) <= 120 for p in parts)
    assert len(parts) > 1
    # Every part ends a sentence and nothing is lost or reordered.
    assert all(p.endswith(".") for p in parts)
    assert " ".join(parts) == text


def test_lines_are_kept_and_closing_quotes_stay_with_their_sentence() -> None:
    text = 'Decisions:\n- Ship in March.\n- Maria said "the budget is final." Then we left.'
    assert split_message(text) == [text]
    parts = split_message(text, limit=40)
    assert parts == [
        "Decisions:\n- Ship in March.",
        '- Maria said "the budget is final."',
        "Then we left.",
    ]


def test_a_sentence_longer_than_the_limit_breaks_at_words() -> None:
    text = "word " * 200
    parts = split_message(text, limit=500)
    assert all(len(p) <= 500 for p in parts)
    assert " ".join(parts) == text.strip()
    assert split_message("x" * 1200, limit=500) == ["x" * 500, "x" * 500, "x" * 200]


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}")
    await create_schema(engine)
    now = store.utcnow()
    await store.insert_meeting(
        engine,
        {
            "id": MEETING,
            "meeting_url": "https://zoom.us/j/1",
            "platform": "zoom",
            "bot_name": "Parley",
            "status": "in_call",
            "room_name": "parley-meeting-x",
            "stream_secret_hash": "0" * 64,
            "callback_secret_hash": "0" * 64,
            "audio_frequency": 16000,
            "agent_config": {},
            "created_at": now,
            "updated_at": now,
        },
    )
    yield engine
    await dispose_engine(engine)


@pytest.fixture
async def fake() -> AsyncIterator[FakeMeetingBaas]:
    async with FakeMeetingBaas(join_step_s=0.01) as fake:
        yield fake


async def _bot_in_call(fake: FakeMeetingBaas, client: MeetingBaasClient) -> FakeBot:
    from parley_backend.meetings.baas_client import StreamingConfig

    bot_id = await client.create_bot(
        meeting_url="https://zoom.us/j/1",
        bot_name="Parley",
        streaming=StreamingConfig("ws://127.0.0.1:9/x", "ws://127.0.0.1:9/x"),
    )
    bot = fake.bot(bot_id)
    bot.streaming = False  # no socket to dial: only the chat is under test
    await wait_until(lambda: bot.status == "in_call_recording", 10, "bot in call")
    return bot


async def test_retries_resend_only_undelivered_parts(
    fake: FakeMeetingBaas, engine: AsyncEngine
) -> None:
    client = MeetingBaasClient(fake.api_key, fake.base_url)
    try:
        bot = await _bot_in_call(fake, client)
        sender = ChatSender(client, engine, retry_delays=(0.01, 0.01))
        text = " ".join(f"Point {i}: the budget line {i} stays as Maria said." for i in range(25))
        expected = split_message(text)
        assert len(expected) >= 2
        # The first part fails twice with their documented 500, then goes through.
        bot.chat_failures = 2
        result = await sender.send(MEETING, bot.bot_id, text, "answer-1")
        assert (result.status, result.parts, result.sent) == ("sent", len(expected), len(expected))
        assert bot.chat_sent == expected
        # The same post again (the agent retrying after a lost reply): nothing is resent.
        again = await sender.send(MEETING, bot.bot_id, text, "answer-1")
        assert again.status == "sent" and bot.chat_sent == expected

        # Retries run out on the second part: the first stays sent, the second is not lost,
        # a later retry of the same key sends only what is missing.
        bot.chat_failures = 0
        other = "First sentence here. " + "Second one is longer. " * 30
        parts = split_message(other)
        before = len(bot.chat_sent)
        bot.chat_fail_plan = {before + 1: 3}  # more than the sender's two retries
        partial = await sender.send(MEETING, bot.bot_id, other, "answer-2")
        assert (partial.status, partial.sent) == ("failed", 1)
        assert bot.chat_sent[before:] == parts[:1]
        done = await sender.send(MEETING, bot.bot_id, other, "answer-2")
        assert (done.status, done.sent) == ("sent", len(parts))
        assert bot.chat_sent[before:] == parts
    finally:
        await client.close()


async def test_disabled_chat_and_a_bot_not_in_the_call_are_reported(
    fake: FakeMeetingBaas, engine: AsyncEngine
) -> None:
    client = MeetingBaasClient(fake.api_key, fake.base_url)
    try:
        bot = await _bot_in_call(fake, client)
        sender = ChatSender(client, engine, retry_delays=(0.01,))
        bot.chat_enabled = False
        disabled = await sender.send(MEETING, bot.bot_id, "Hello.", "k1")
        assert disabled.status == "chat_disabled" and bot.chat_sent == []
        bot.chat_enabled = True
        bot.set_status("call_ended")
        gone = await sender.send(MEETING, bot.bot_id, "Hello.", "k2")
        assert gone.status == "not_in_call" and bot.chat_sent == []
        codes = [status for method, path, status in fake.requests if path.endswith("chat-message")]
        assert codes == [422, 409]
    finally:
        await client.close()


async def test_the_fake_validates_send_chat_message_like_meeting_baas(
    fake: FakeMeetingBaas,
) -> None:
    client = MeetingBaasClient(fake.api_key, fake.base_url)
    try:
        bot = await _bot_in_call(fake, client)
        async with httpx.AsyncClient(base_url=fake.base_url) as http:
            path = f"/v2/bots/{bot.bot_id}/send-chat-message"
            key = {"x-meeting-baas-api-key": fake.api_key}
            ok = await http.post(path, json={"message": "x" * 500}, headers=key)
            assert ok.status_code == 200 and ok.json()["success"] is True
            for body in ({"message": "x" * 501}, {"message": "  "}, {}, {"message": 5}):
                resp = await http.post(path, json=body, headers=key)
                assert resp.status_code == 400, body
                assert resp.json()["code"] == "FST_ERR_VALIDATION"
            assert (await http.post(path, json={"message": "hi"})).status_code == 403
            gone = "/v2/bots/nope/send-chat-message"
            assert (await http.post(gone, json={"message": "hi"}, headers=key)).status_code == 404
        assert bot.chat_sent == ["x" * 500]
        assert bot.chat_log[-1]["sender_id"] is None and bot.chat_log[-1]["sender_name"] == "Parley"
    finally:
        await client.close()
