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

from parley_common.testing.devstack import Stack

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


# The transcript as the page shows it, in order: [{role, source, final, text}].
ENTRIES_JS = """() => [...document.querySelectorAll('[data-testid="transcript-entry"]')].map(e => ({
    role: e.dataset.role, source: e.dataset.source, final: e.dataset.final === 'true',
    text: (e.querySelector('.bubble-text')?.textContent ?? '').trim(),
}))"""

# Index of the first final entry of `role`/`source` whose text matches `pattern`, else -1.
FIND_JS = f"""([role, source, pattern]) => ({ENTRIES_JS})().findIndex(
    e => e.role === role && e.source === source && e.final
        && new RegExp(pattern, 'i').test(e.text))"""

# True once an agent entry with text (and, if asked, final) follows entry `index`.
AGENT_AFTER_JS = f"""([index, final]) => ({ENTRIES_JS})().slice(index + 1).some(
    e => e.role === 'agent' && e.text.length > 0 && (e.final || !final))"""

# Sample the agent's track from now on (20 ms), independently of the page's own maximum.
START_SAMPLER_JS = """() => {
    const s = { max: 0 };
    s.timer = setInterval(() => {
        s.max = Math.max(s.max, window.__parley.agentAudioLevel());
    }, 20);
    window.__e2eSampler = s;
}"""


async def wait_for_entry(page: Page, role: str, source: str, pattern: str, timeout: float) -> int:
    handle = await page.wait_for_function(
        f"(args) => {{ const i = ({FIND_JS})(args); return i >= 0 ? i + 1 : 0; }}",
        arg=[role, source, pattern],
        timeout=timeout,
    )
    return int(await handle.json_value()) - 1


async def expect_spoken_reply_after(
    page: Page, index: int, timeout: float, *, until_final: bool = True
) -> None:
    """An agent reply follows entry ``index`` in the transcript, is heard, and ends final."""
    await page.wait_for_function(AGENT_AFTER_JS, arg=[index, False], timeout=timeout)
    # The agent's text is released in step with its audio, so the reply's sound is still
    # playing (or about to) when its first words appear: measure from here.
    await page.evaluate(START_SAMPLER_JS)
    await page.wait_for_function(
        f"window.__e2eSampler.max > {AUDIBLE_RMS}", timeout=60_000, polling=100
    )
    await page.evaluate("clearInterval(window.__e2eSampler.timer)")
    if until_final:
        # Interim words are replaced by the final text once the reply has been spoken.
        await page.wait_for_function(AGENT_AFTER_JS, arg=[index, True], timeout=90_000)


async def test_spoken_question_appears_as_user_text_and_gets_a_spoken_reply(
    talk_stack: Stack,
    fake_mic: FakeMicFiles,
    launch_browser: LaunchBrowser,
    screenshots_dir: Path,
) -> None:
    page = await launch_browser(talk_stack.backend.url, fake_mic.question)
    await connect(page)

    # The fake microphone asks "What is the capital of France?" after its lead silence;
    # the local Whisper model transcribes it and the page shows it as the user's words.
    asked = await wait_for_entry(page, "user", "voice", "capital|france", timeout=120_000)
    await expect_spoken_reply_after(page, asked, timeout=120_000)

    await page.screenshot(path=str(screenshots_dir / "talk-transcript.png"))
    await disconnect(page)


async def test_chat_box_gets_an_answer_on_a_phone(
    talk_stack: Stack,
    fake_mic: FakeMicFiles,
    launch_browser: LaunchBrowser,
    screenshots_dir: Path,
) -> None:
    page = await launch_browser(
        talk_stack.backend.url,
        fake_mic.silence,  # nothing is said: any reply can only answer the typed message
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the talk page scrolls sideways on a phone by {overflow} px"

    await connect(page)
    await wait_for_entry(page, "agent", "voice", "Parley", timeout=90_000)

    message = "What is the capital of France?"
    await page.get_by_test_id("chat-input").fill(message)
    await page.get_by_test_id("chat-send").click()
    await expect(page.get_by_test_id("chat-input")).to_have_value("")
    sent = await wait_for_entry(page, "user", "chat", "capital of France", timeout=10_000)
    await expect_spoken_reply_after(page, sent, timeout=120_000)

    # From the top, so the sticky header sits where a phone shows it.
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(screenshots_dir / "talk-phone.png"), full_page=True)
    await disconnect(page)
