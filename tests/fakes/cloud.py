"""The cloud fakes together: Deepgram, Cartesia and OpenAI on loopback, in tests or by hand.

``python -m tests.fakes.cloud`` runs them until Ctrl-C and prints the ``.env`` lines that
point Parley at them (keys and base URLs), so a person can try the cloud path offline:
``make dev`` with those lines in the root ``.env``. Tests use ``CloudFakes`` directly.

The fakes themselves cite their protocol sources: ``tests/fakes/deepgram.py``,
``tests/fakes/cartesia.py``, ``parley_common/testing/openai_stub.py`` (OpenAI REST),
``tests/fakes/openai_realtime.py`` (OpenAI Realtime, on the OpenAI fake's port).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from aiohttp import web

from parley_common.testing.openai_stub import StubDelays, StubState, ToolRule
from parley_common.testing.openai_stub import build_app as build_openai_app
from tests.fakes.cartesia import FakeCartesia
from tests.fakes.deepgram import FakeDeepgram
from tests.fakes.openai_realtime import FakeRealtime

T = TypeVar("T")

# Realistic first-result delays (see scripts/bench_voice.py for where each figure comes from).
REALISTIC = {"deepgram_final_s": 0.25, "openai_ttft_s": 0.35, "cartesia_ttfb_s": 0.10}


class CloudFakes:
    """All three fakes on one background event loop; usable from sync and async code."""

    def __init__(
        self,
        *,
        deepgram_final_s: float = 0.25,
        openai_ttft_s: float = 0.05,
        cartesia_ttfb_s: float = 0.05,
        host: str = "127.0.0.1",
    ) -> None:
        self.host = host
        self.deepgram = FakeDeepgram(endpoint_silence_s=deepgram_final_s)
        self.cartesia = FakeCartesia(ttfb_s=cartesia_ttfb_s)
        self.openai = StubState(delays=StubDelays(ttft_s=openai_ttft_s, stt_s=0.25, ttfb_s=0.1))
        # The Realtime WebSocket lives on the OpenAI host, as at api.openai.com/v1/realtime.
        self.realtime = FakeRealtime(ttft_s=openai_ttft_s)
        self.ports: dict[str, int] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runners: list[web.AppRunner] = []

    # --- lifecycle -----------------------------------------------------------------------
    def start(self, ports: dict[str, int] | None = None) -> CloudFakes:
        self._thread.start()
        apps = {
            "deepgram": self.deepgram.build_app(),
            "cartesia": self.cartesia.build_app(),
            "openai": build_openai_app(self.openai),
        }
        apps["openai"].router.add_get("/v1/realtime", self.realtime._realtime)
        for name, app in apps.items():
            self.ports[name] = self.run(self._serve(app, (ports or {}).get(name, 0)))
        return self

    async def _serve(self, app: web.Application, port: int) -> int:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, port)
        await site.start()
        self._runners.append(runner)
        return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        """Run a coroutine on the fakes' loop (e.g. ``fakes.run(fakes.deepgram.drop...())``)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self) -> None:
        for runner in self._runners:
            try:
                self.run(runner.cleanup())
            except Exception:
                pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    # --- what Parley needs to reach them ------------------------------------------------
    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.ports[name]}"

    def env(self, *, stack: str = "deepgram-openai-cartesia") -> dict[str, str]:
        """Settings that point Parley at the fakes (what goes in the root ``.env``)."""
        keys = {
            "OPENAI_API_KEY": "fake-openai-key",
            "PARLEY_OPENAI_BASE_URL": f"{self.url('openai')}/v1",
            "PARLEY_LOCAL_FALLBACK": "true",
        }
        if stack == "openai":
            return {**keys, "PARLEY_CLOUD_STT": "openai", "PARLEY_CLOUD_TTS": "openai"}
        if stack == "realtime":
            return {**keys, "PARLEY_REALTIME": "true"}
        return {
            **keys,
            "DEEPGRAM_API_KEY": "fake-deepgram-key",
            "PARLEY_DEEPGRAM_BASE_URL": self.url("deepgram"),
            "CARTESIA_API_KEY": "fake-cartesia-key",
            "PARLEY_CARTESIA_BASE_URL": self.url("cartesia"),
            "PARLEY_CARTESIA_VOICE": "fake-voice-id",
        }

    def set_transcript(self, text: str) -> None:
        """What both fake STTs report for the next utterances."""
        self.deepgram.set_transcript(text)
        self.openai.transcript = text
        self.realtime.transcript = text


def weather_rule(location: str = "Berlin") -> ToolRule:
    return ToolRule(keyword="weather", tool="weather", arguments={"location": location})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transcript", default="What is the weather like in Berlin today?")
    parser.add_argument("--deepgram-port", type=int, default=0)
    parser.add_argument("--cartesia-port", type=int, default=0)
    parser.add_argument("--openai-port", type=int, default=0)
    parser.add_argument("--stack", choices=["deepgram-openai-cartesia", "openai", "realtime"])
    args = parser.parse_args()
    fakes = CloudFakes(
        deepgram_final_s=REALISTIC["deepgram_final_s"],
        openai_ttft_s=REALISTIC["openai_ttft_s"],
        cartesia_ttfb_s=REALISTIC["cartesia_ttfb_s"],
    ).start(
        {
            "deepgram": args.deepgram_port,
            "cartesia": args.cartesia_port,
            "openai": args.openai_port,
        }
    )
    fakes.set_transcript(args.transcript)
    print("# cloud fakes running; put these lines in the root .env:")
    for key, value in fakes.env(stack=args.stack or "deepgram-openai-cartesia").items():
        print(f"{key}={value}")
    print(f"# every utterance is transcribed as {args.transcript!r}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    fakes.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
