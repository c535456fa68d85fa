"""The talk page in headless Chromium against the real stack (LiveKit, backend, worker).

What a person does: open the page, press Connect, hear and read the greeting, speak a
question into the microphone (a fake one playing a WAV), read both sides of the
conversation and hear the answer. Levels are measured inside the page on the agent's
subscribed track (``window.__parley``), not trusted from the worker.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from parley_common.devstack import Stack

from .conftest import FakeMicFiles

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.slow]

# Float RMS of the agent's track: 0.01 is about -40 dBFS. eSpeak/Piper speech measures far
# above it; a silent or missing track stays at 0 (WebRTC comfort noise is below 0.002).
AUDIBLE_RMS = 0.01
AGENT_ENTRY = '[data-testid="transcript-entry"][data-role="agent"]'
USER_ENTRY = '[data-testid="transcript-entry"][data-role="user"]'

LaunchBrowser = Callable[..., Awaitable[Page]]


async def connect(page: Page) -> None:
    await expect(page.get_by_test_id("agent-state")).to_have_text("disconnected")
    await page.get_by_test_id("connect-button").click()
    await expect(page.get_by_test_id("disconnect-button")).to_be_visible(timeout=60_000)


async def disconnect(page: Page) -> None:
    await page.get_by_test_id("disconnect-button").click()
    await expect(page.get_by_test_id("connect-button")).to_be_enabled(timeout=30_000)
    await expect(page.get_by_test_id("agent-state")).to_have_text("disconnected")


async def test_page_connects_and_shows_and_plays_the_greeting(
    talk_stack: Stack,
    fake_mic: FakeMicFiles,
    launch_browser: LaunchBrowser,
    screenshots_dir: Path,
) -> None:
    page = await launch_browser(talk_stack.backend.url, fake_mic.silence)
    await connect(page)

    greeting = page.locator(f'{AGENT_ENTRY}[data-final="true"]').first
    await expect(greeting).to_contain_text("Parley", timeout=90_000)
    await page.wait_for_function(
        f"window.__parley.maxAgentAudioLevel > {AUDIBLE_RMS}", timeout=60_000
    )
    # Once the greeting is over the agent waits for the user.
    await expect(page.get_by_test_id("agent-state")).to_have_text("listening", timeout=60_000)
    await expect(page.get_by_test_id("error-banner")).to_have_count(0)
    await page.screenshot(path=str(screenshots_dir / "talk-connected.png"))

    await disconnect(page)
