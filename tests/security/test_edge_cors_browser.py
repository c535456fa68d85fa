"""CORS from a real Chromium page on another origin (Debian's /usr/bin/chromium, Playwright).

The backend allows one origin (``PARLEY_CORS_ORIGINS``). A page served from that origin
mints a token with ``fetch``; a page from any other origin cannot read the answer, and its
"simple" cross-site post (``text/plain``, no preflight, what an HTML form sends) is
refused with 415 before any route runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import async_playwright
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from parley_backend.app import create_app
from parley_common.testing.devstack import free_port
from tests.backend.conftest import make_settings
from tests.e2e.browser.conftest import CHROMIUM_ARGS, chromium_path
from tests.serving import serve_asgi

pytestmark = [pytest.mark.security, pytest.mark.browser]

_PAGE = "<!doctype html><title>frontend</title><p>another team's app</p>"


def _frontend() -> Starlette:
    return Starlette(routes=[Route("/", lambda _request: HTMLResponse(_PAGE))])


_MINT = """async (url) => {
  try {
    const r = await fetch(url + "/api/token", {
      method: "POST", headers: {"content-type": "application/json"}, body: "{}"});
    const body = await r.json();
    return {ok: true, status: r.status, token: !!body.participant_token,
            requestId: r.headers.get("x-request-id")};
  } catch (e) { return {ok: false, error: String(e)}; }
}"""

_FORM_POST = """async (url) => {
  await fetch(url + "/api/token", {
    method: "POST", mode: "no-cors", headers: {"content-type": "text/plain"}, body: "{}"});
  return true;
}"""


async def test_cors_allowlist_from_a_real_browser(tmp_path: Path) -> None:
    front_port, evil_port = free_port(), free_port()
    allowed = f"http://127.0.0.1:{front_port}"
    backend_app = create_app(
        make_settings(tmp_path, PARLEY_CORS_ORIGINS=allowed, PARLEY_TOKEN_OPEN="true")
    )
    async with (
        serve_asgi(backend_app, free_port()) as backend,
        serve_asgi(_frontend(), front_port) as front,
        serve_asgi(_frontend(), evil_port) as evil,
        async_playwright() as pw,
    ):
        browser = await pw.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page()
            await page.goto(front)
            minted = await page.evaluate(_MINT, backend)
            assert minted == {
                "ok": True,
                "status": 200,
                "token": True,
                "requestId": minted.get("requestId"),
            }, minted
            assert minted["requestId"], "exposed headers are readable by the allowed origin"

            other = await browser.new_page()
            await other.goto(evil)
            refused = await other.evaluate(_MINT, backend)
            assert refused["ok"] is False and "Failed to fetch" in refused["error"], refused
            await other.evaluate(_FORM_POST, backend)
        finally:
            await browser.close()
    requests = backend_app.state.metrics.requests
    counted = {
        (labels["route"], labels["status"]): sample.value
        for metric in requests.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
        for labels in [sample.labels]
    }
    # One token minted (the allowed origin). The other origin's JSON post was stopped by
    # the browser at its preflight (a 405 OPTIONS, no CORS headers), and its form-style
    # post reached the backend only to be refused with 415.
    assert counted.get(("/api/token", "200")) == 1.0, counted
    assert sum(v for (route, status), v in counted.items() if status == "415") == 1.0, counted
