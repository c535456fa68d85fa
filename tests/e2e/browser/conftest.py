"""Browser fixtures: Debian's Chromium driven by Playwright against the real stack.

No browser download ever happens (no ``playwright install``): Playwright launches
``/usr/bin/chromium`` with a fresh profile and a fake microphone that plays a WAV file.

Chromium loops ``--use-file-for-fake-audio-capture`` files (measured: a 3 s file comes
round again at 3 s; a ``%noloop`` suffix plays it once). The fixtures lean on that: the
voice WAV is "long silence, question, long silence", so the first question arrives after
the greeting and, should the agent miss it (slow machine), it is simply asked again.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, Playwright, async_playwright

from parley_common.testing.devstack import REPO_ROOT, Stack

WEB = REPO_ROOT / "web"
# Sources whose change makes web/dist stale (the same list scripts/setup checks).
WEB_SOURCES = ("src", "index.html", "package.json", "vite.config.ts", "public")

FAKE_MIC_RATE = 48000
# Silence before the question: enough for the agent to join and finish its greeting on a
# busy 2-core machine, so the question does not interrupt the greeting under test.
LEAD_SILENCE_S = 9.0
TAIL_SILENCE_S = 12.0
QUESTION = "What is the capital of France?"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
]
# Answers the permission prompt with "allow" (without it Playwright's Chromium denies).
ALLOW_MICROPHONE = "--use-fake-ui-for-media-stream"


def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> None:
    # Remember the call phase's outcome so the browser fixture can save evidence on failure.
    if call.when == "call":
        item.stash[_FAILED] = call.excinfo is not None


_FAILED = pytest.StashKey[bool]()


def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.fail(
            "Chromium not found at /usr/bin/chromium: run `bash scripts/setup --test` "
            "(it installs Debian's chromium package)",
            pytrace=False,
        )
    return path


def _newest_mtime(paths: list[Path]) -> float:
    newest = 0.0
    for root in paths:
        if root.is_file():
            newest = max(newest, root.stat().st_mtime)
        elif root.is_dir():
            for file in root.rglob("*"):
                if file.is_file():
                    newest = max(newest, file.stat().st_mtime)
    return newest


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """web/dist, rebuilt when missing or older than web/src (request it before a stack)."""
    index = WEB / "dist" / "index.html"
    sources = [WEB / name for name in WEB_SOURCES]
    if index.is_file() and index.stat().st_mtime >= _newest_mtime(sources):
        return index.parent
    if not (WEB / "node_modules").is_dir() or not shutil.which("npm"):
        pytest.fail(
            "web/dist is missing or stale and web/node_modules is not installed: run "
            "`bash scripts/setup` (or `make web`) before the browser tests",
            pytrace=False,
        )
    result = subprocess.run(
        ["npm", "run", "build", "--silent"],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0 or not index.is_file():
        pytest.fail(
            f"`npm run build` in web/ failed ({result.returncode}):\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}",
            pytrace=False,
        )
    return index.parent


def _sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True, timeout=60)


def _silence(out: Path, seconds: float, rate: int) -> Path:
    _sox(
        "-n",
        "-r",
        str(rate),
        "-c",
        "1",
        "-b",
        "16",
        "-e",
        "signed-integer",
        str(out),
        "trim",
        "0",
        str(seconds),
    )
    return out


@pytest.fixture
def talk_stack(web_dist: Path, shared_stack: Stack) -> Stack:
    """The session's shared stack, with web/dist built before it starts."""
    return shared_stack


@dataclass(frozen=True)
class FakeMicFiles:
    silence: Path
    question: Path
    question_text: str = QUESTION


@pytest.fixture(scope="session")
def fake_mic(tmp_path_factory: pytest.TempPathFactory) -> FakeMicFiles:
    """WAV files for Chromium's fake microphone (made with espeak-ng and sox)."""
    for tool in ("espeak-ng", "sox"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} not found: run `bash scripts/setup`", pytrace=False)
    root = tmp_path_factory.mktemp("fake-mic")
    silence = _silence(root / "silence.wav", 5.0, FAKE_MIC_RATE)
    spoken = root / "question-espeak.wav"  # espeak-ng writes 22.05 kHz mono
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(spoken), QUESTION],
        check=True,
        capture_output=True,
        timeout=60,
    )
    rate = subprocess.run(
        ["soxi", "-r", str(spoken)], check=True, capture_output=True, text=True, timeout=30
    ).stdout.strip()
    lead = _silence(root / "lead.wav", LEAD_SILENCE_S, int(rate))
    tail = _silence(root / "tail.wav", TAIL_SILENCE_S, int(rate))
    question = root / "question.wav"
    _sox(str(lead), str(spoken), str(tail), "-r", str(FAKE_MIC_RATE), "-b", "16", str(question))
    return FakeMicFiles(silence=silence, question=question)


@pytest.fixture(scope="session")
async def playwright_driver() -> AsyncIterator[Playwright]:
    async with async_playwright() as driver:
        yield driver


@dataclass
class OpenedBrowser:
    context: BrowserContext
    console: list[str] = field(default_factory=list)


@pytest.fixture
async def launch_browser(
    playwright_driver: Playwright,
    tmp_path: Path,
    artifacts_dir: Path,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Callable[..., Awaitable[Page]]]:
    """``await launch_browser(url, mic_wav, ...)``: a fresh Chromium on one page.

    Each call starts its own Chromium (the fake microphone is a process-wide flag) with a
    new profile. On a test failure every page is screenshotted and its console saved to
    test-artifacts/screenshots/failures/.
    """
    opened: list[OpenedBrowser] = []
    executable = chromium_path()

    async def launch(
        url: str,
        mic_wav: Path,
        *,
        viewport: dict[str, int] | None = None,
        allow_microphone: bool = True,
        **options: object,
    ) -> Page:
        profile = tmp_path / f"chromium-profile-{len(opened)}"
        context = await playwright_driver.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            headless=True,
            args=[
                *CHROMIUM_ARGS,
                *([ALLOW_MICROPHONE] if allow_microphone else []),
                f"--use-file-for-fake-audio-capture={mic_wav}",
            ],
            viewport=viewport or {"width": 1280, "height": 860},
            **options,
        )
        browser = OpenedBrowser(context)
        opened.append(browser)
        page = context.pages[0] if context.pages else await context.new_page()
        page.on("console", lambda msg: browser.console.append(f"[{msg.type}] {msg.text}"))
        page.on("pageerror", lambda err: browser.console.append(f"[pageerror] {err}"))
        page.set_default_timeout(30_000)
        response = await page.goto(url, wait_until="load")
        if response is None or response.status != 200:
            status = response.status if response else "no response"
            pytest.fail(
                f"GET {url} answered {status}: was web/dist built before the backend started?",
                pytrace=False,
            )
        return page

    try:
        yield launch
    finally:
        failed = request.node.stash.get(_FAILED, False)
        out = artifacts_dir / "screenshots" / "failures"
        for index, browser in enumerate(opened):
            if failed:
                out.mkdir(parents=True, exist_ok=True)
                stem = f"{request.node.name}-{index}-{int(time.time())}"
                for page in browser.context.pages:
                    try:
                        await page.screenshot(path=str(out / f"{stem}.png"), full_page=True)
                    except Exception as exc:  # the evidence is best effort; keep closing
                        browser.console.append(f"[fixture] screenshot failed: {exc}")
                (out / f"{stem}.console.log").write_text("\n".join(browser.console) + "\n")
            await browser.context.close()


@pytest.fixture(scope="session")
def screenshots_dir(artifacts_dir: Path) -> Iterator[Path]:
    path = artifacts_dir / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    yield path
