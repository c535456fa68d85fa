"""The real worker publishes what the keyless stack serves; the talk page offers only that."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from parley_common.testing.devstack import Stack

from .conftest import FakeMicFiles

pytestmark = [pytest.mark.integration, pytest.mark.browser]

LaunchBrowser = Callable[..., Awaitable[Page]]


async def _published(backend_url: str, within: float) -> dict[str, Any]:
    """The backend's answer once a worker reported (the worker posts as it starts)."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=backend_url, timeout=10) as client:
        while True:
            body = (await client.get("/api/capabilities")).json()
            if body["source"] == "workers" or time.monotonic() > deadline:
                return body
            await asyncio.sleep(0.2)


async def test_talk_page_offers_only_the_languages_the_keyless_stack_serves(
    talk_stack: Stack, fake_mic: FakeMicFiles, launch_browser: LaunchBrowser
) -> None:
    body = await _published(talk_stack.backend.url, within=30)
    assert body["source"] == "workers" and body["workers"] == 1, body
    # Whisper tiny.en and the English Piper voice; SmolLM2 makes no tool calls.
    assert body["languages"] == ["en"]
    assert body["tools"]["available"] is False
    assert body["detail"]["stt"] == {
        "provider": "faster-whisper",
        "model": "model",  # the offline pack's directory name, never its path
        "languages": ["en"],
        "multi": False,
    }

    page = await launch_browser(talk_stack.backend.url, fake_mic.silence)
    options = page.get_by_test_id("language-select").locator("option")
    await expect(options).to_have_text(["English"])
    notes = page.get_by_test_id("language-notes")
    await expect(notes).to_contain_text(
        "Not offered: Español, Français, Deutsch, Follow my language."
    )
    await expect(notes).to_contain_text("French is not offered: the speech recognition")
    await expect(notes).to_contain_text("Tools (such as the weather) are unavailable")
