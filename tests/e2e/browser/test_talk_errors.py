"""What the talk page tells a person when something is missing: the backend, the mic."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Page, Route, expect

from parley_common.testing.devstack import Stack

from .conftest import FakeMicFiles

pytestmark = [pytest.mark.integration, pytest.mark.browser]

LaunchBrowser = Callable[..., Awaitable[Page]]


async def test_unreachable_backend_is_reported_and_connect_stays_available(
    talk_stack: Stack, fake_mic: FakeMicFiles, launch_browser: LaunchBrowser
) -> None:
    page = await launch_browser(talk_stack.backend.url, fake_mic.silence)

    async def refuse(route: Route) -> None:
        await route.abort("connectionrefused")

    # The page is loaded; then the backend goes away (as seen from this browser).
    await page.route("**/api/token", refuse)
    await page.get_by_test_id("connect-button").click()
    banner = page.get_by_test_id("error-banner")
    await expect(banner).to_contain_text("Cannot reach the Parley backend")
    await expect(page.get_by_test_id("connect-button")).to_be_enabled()
    await expect(page.get_by_test_id("agent-state")).to_have_text("disconnected")

    # Back again: the next Connect works and clears the message.
    await page.unroute("**/api/token", refuse)
    await page.get_by_test_id("connect-button").click()
    await expect(page.get_by_test_id("disconnect-button")).to_be_visible(timeout=60_000)
    await expect(banner).to_have_count(0)
    await page.get_by_test_id("disconnect-button").click()
    await expect(page.get_by_test_id("connect-button")).to_be_enabled(timeout=30_000)


async def test_denied_microphone_is_reported_and_typing_still_works(
    talk_stack: Stack, fake_mic: FakeMicFiles, launch_browser: LaunchBrowser
) -> None:
    page = await launch_browser(talk_stack.backend.url, fake_mic.silence, allow_microphone=False)
    await page.get_by_test_id("connect-button").click()
    await expect(page.get_by_test_id("disconnect-button")).to_be_visible(timeout=60_000)
    await expect(page.get_by_test_id("error-banner")).to_contain_text(
        "Microphone permission was denied", timeout=30_000
    )
    # Still in the room: the agent greets, and the chat box is usable.
    agent = page.locator('[data-testid="transcript-entry"][data-role="agent"]').first
    await expect(agent).to_contain_text("Parley", timeout=90_000)
    await expect(page.get_by_test_id("chat-input")).to_be_enabled()
    await page.get_by_test_id("disconnect-button").click()
    await expect(page.get_by_test_id("connect-button")).to_be_enabled(timeout=30_000)
