"""The meeting console in headless Chromium: a bot goes into a meeting, the console reads
and writes the meeting chat beside the transcript, and the bot leaves again.

The stack is real (LiveKit, backend, worker); Meeting BaaS is the fake from tests/fakes,
which speaks their v2 wire protocol: its bot walks through the join statuses, dials the
backend's streaming WebSocket, and leaves on ``POST /v2/bots/{id}/leave``. The console
authenticates with an operator key typed into the page, as an operator would.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from parley_common.testing.devstack import Stack
from tests.fakes.meeting_baas import FakeBot, FakeMeetingBaas
from tests.fakes.speech import pcm_rms
from tests.waiting import wait_until

from .conftest import FakeMicFiles

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.slow]

MEETING_URL = "https://zoom.us/j/1234567890"
BOT_NAME = "Parley Browser Test"
# int16 RMS: eSpeak/Piper speech is in the thousands, the bridge's silence is 0.
VOICE_RMS = 300.0


def voiced_since(bot: FakeBot, since: float) -> bool:
    return any(c.at >= since and pcm_rms(c.pcm) >= VOICE_RMS for c in bot.received)


def quiet_for(bot: FakeBot, seconds: float) -> bool:
    """The bot has heard nothing voiced from the agent for ``seconds``."""
    return not voiced_since(bot, time.monotonic() - seconds)


async def test_console_starts_a_bot_shows_its_status_and_leaves(
    web_dist: Path,
    stack_factory: Callable[..., Stack],
    fake_mic: FakeMicFiles,
    launch_browser: Callable[..., Awaitable[Page]],
    screenshots_dir: Path,
) -> None:
    operator_key = secrets.token_urlsafe(24)
    webhook_secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    fake = await FakeMeetingBaas(join_step_s=0.5, account_webhook_secret=webhook_secret).start()
    try:
        stack = await asyncio.to_thread(
            stack_factory,
            {
                "MEETING_BAAS_API_KEY": fake.api_key,
                "MEETING_BAAS_BASE_URL": fake.base_url,
                "PARLEY_API_KEYS": operator_key,
                "MEETING_BAAS_WEBHOOK_SECRET": webhook_secret,
            },
        )
        fake.account_webhook_url = f"{stack.backend.url}/api/webhooks/meeting-baas"
        page = await launch_browser(f"{stack.backend.url}/#/meetings", fake_mic.silence)

        # A wrong key is refused by the backend and the console says so.
        await page.get_by_test_id("api-key-input").fill("not-the-key")
        await page.get_by_test_id("api-key-save").click()
        await expect(page.get_by_test_id("console-error")).to_contain_text("Invalid key")

        await page.get_by_test_id("api-key-input").fill(operator_key)
        await page.get_by_test_id("api-key-save").click()
        # Accepted: the (empty) list loads through the management API with this key.
        await expect(page.get_by_text("No meetings yet")).to_be_visible()
        await expect(page.get_by_test_id("console-error")).to_have_count(0)

        await page.get_by_test_id("meeting-url-input").fill(MEETING_URL)
        await page.get_by_test_id("bot-name-input").fill(BOT_NAME)
        await page.get_by_test_id("persona-input").fill("meeting assistant")
        await page.get_by_test_id("start-meeting").click()

        row = page.get_by_test_id("meeting-row").first
        await expect(row).to_be_visible(timeout=30_000)
        status = page.get_by_test_id("meeting-status")
        # The fake bot joins, then dials the bridge; the console follows by polling.
        await expect(status).to_have_text("in_call", timeout=60_000)
        await expect(row).to_have_attribute("data-status", "in_call", timeout=10_000)

        bot = fake.bot()
        assert bot.body["bot_name"] == BOT_NAME
        assert bot.body["meeting_url"] == MEETING_URL
        assert bot.connections >= 1, "the fake bot never reached the streaming bridge"

        # The agent joins the meeting's room and its greeting reaches the live transcript.
        agent_turn = page.get_by_test_id("meeting-transcript").locator('[data-role="agent"]')
        await expect(agent_turn.first).to_contain_text("Hello everyone", timeout=120_000)

        # "Ask the meeting": the backend reaches the agent, which says it into the meeting.
        await wait_until(lambda: quiet_for(bot, 1.5), 60, "the greeting to finish in the meeting")
        asked_at = time.monotonic()
        await page.get_by_test_id("ask-input").fill("Does anyone have a question for me?")
        await page.get_by_test_id("ask-send").click()
        await expect(page.get_by_test_id("ask-result")).to_contain_text("Asked:", timeout=30_000)
        await expect(page.get_by_test_id("console-error")).to_have_count(0)
        await wait_until(
            lambda: voiced_since(bot, asked_at), 90, "the asked question in the meeting"
        )

        # The chat beside the transcript: a participant's message shows; the console posts.
        await bot.post_chat("Maria Lopez", "The budget for March is final.", sender_id=2)
        chat = page.get_by_test_id("meeting-chat")
        await expect(chat.locator('[data-role="chat"]').first).to_contain_text(
            "The budget for March is final.", timeout=30_000
        )
        await page.get_by_test_id("meeting-chat-input").fill("Notes will follow after the call.")
        await page.get_by_test_id("meeting-chat-send").click()
        await expect(page.get_by_test_id("meeting-chat-result")).to_contain_text(
            "Posted", timeout=30_000
        )
        await expect(chat.locator('[data-role="agent_chat"]').first).to_contain_text(
            "Notes will follow after the call.", timeout=30_000
        )
        assert bot.chat_sent == ["Notes will follow after the call."]
        await page.screenshot(path=str(screenshots_dir / "meeting-console.png"), full_page=True)

        await page.get_by_test_id("leave-meeting").click()
        await expect(status).to_have_text("ended", timeout=60_000)
        await expect(row).to_have_attribute("data-status", "ended", timeout=10_000)
        assert ("POST", f"/v2/bots/{bot.bot_id}/leave", 200) in fake.requests
        assert "call_ended" in bot.status_history
    finally:
        await fake.stop()
