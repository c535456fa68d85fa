"""The talk page survives a dropped connection: it says so, reconnects, and keeps talking."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Page, expect

from parley_common.testing.devstack import Stack

from .conftest import FakeMicFiles
from .test_talk_page import connect, disconnect, expect_spoken_reply_after, wait_for_entry

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.slow]

LaunchBrowser = Callable[..., Awaitable[Page]]

# Count the room's reconnect events from now on.
WATCH_RECONNECTS_JS = """() => {
    const seen = window.__e2eReconnects = [];
    const room = window.__parley.room;
    for (const name of ['reconnecting', 'signalReconnecting', 'reconnected', 'disconnected']) {
        room.on(name, () => seen.push(name));
    }
}"""


async def test_conversation_survives_a_reconnect(
    talk_stack: Stack,
    fake_mic: FakeMicFiles,
    launch_browser: LaunchBrowser,
) -> None:
    page = await launch_browser(talk_stack.backend.url, fake_mic.silence)
    await connect(page)
    await wait_for_entry(page, "agent", "voice", "Parley", timeout=90_000)

    await page.evaluate(WATCH_RECONNECTS_JS)
    # livekit-client's own fault injection: drops the signalling connection the way a
    # network blip does; the client resumes the session.
    await page.evaluate("window.__parley.room.simulateScenario('signal-reconnect')")
    await page.wait_for_function("window.__e2eReconnects.includes('reconnected')", timeout=60_000)
    await expect(page.get_by_test_id("reconnecting-banner")).to_have_count(0, timeout=30_000)
    await expect(page.get_by_test_id("error-banner")).to_have_count(0)

    await page.get_by_test_id("chat-input").fill("Are you still there?")
    await page.get_by_test_id("chat-send").click()
    sent = await wait_for_entry(page, "user", "chat", "still there", timeout=10_000)
    await expect_spoken_reply_after(page, sent, timeout=120_000, until_final=False)
    await disconnect(page)
