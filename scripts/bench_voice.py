#!/usr/bin/env python
"""Voice-to-voice latency and barge-in, measured at a listening participant on a real
LiveKit server on loopback.

Three modes:
  (default)     the local stack: Silero + end-of-turn model, faster-whisper, the embedded
                llama.cpp runtime (SmolLM2), Piper.
  --stub-cloud  OpenAI-compatible stub providers (STT, LLM, TTS) with fixed delays
                (default STT final 250 ms, TTFT 350 ms, TTFB 100 ms): what Parley adds.
  --cloud-fakes the default cloud path (Deepgram live STT, OpenAI LLM, Cartesia TTS) through
                the protocol fakes in tests/fakes/, with realistic provider delays:
                  Deepgram final ~250 ms after speech ends: Deepgram's streaming docs put
                    finals within a few hundred ms of the endpoint (endpointing default
                    10 ms server-side, the plugin asks 25 ms) and advertise sub-300 ms;
                  OpenAI first token ~350 ms: typical time-to-first-token of
                    gpt-4.1-mini / gpt-4o-mini on short prompts in public latency
                    trackers (0.3-0.5 s);
                  Cartesia first audio ~100 ms: Cartesia's published Sonic model latency
                    (~90 ms time-to-first-audio).
                Change them with --stt-ms, --ttft-ms, --ttfb-ms.

Per turn the participant speaks a question (espeak-ng), then barges in on the reply.
  v2v      end of the user's speech → first voiced agent audio at the listener
  parts    end-of-utterance delay, transcription delay, LLM TTFT, TTS TTFB (the worker's
           per-turn record, from its structured log)
  overhead v2v - (end-of-utterance + TTFT + TTFB)
  barge-in onset of the user's interrupting speech → agent audio silent at the listener

Last line: RESULT v2v_p50_ms=… v2v_p95_ms=… overhead_p95_ms=… bargein_p95_ms=…
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from parley_common.testing.devstack import start_stack  # noqa: E402
from parley_common.testing.openai_stub import OpenAIStub, StubDelays  # noqa: E402
from parley_common.testing.room_probe import fetch_token  # noqa: E402
from parley_common.testing.speaking_probe import SpeakingProbe, espeak_clip  # noqa: E402
from tests.fakes.cloud import CloudFakes  # noqa: E402

QUESTIONS = [
    "What is the weather like in Paris today?",
    "Tell me a fun fact about the ocean.",
    "How do I make a good cup of tea?",
    "What time does the museum open?",
    "Can you recommend a short book?",
    "Why is the sky blue?",
    "How far away is the moon?",
    "What should I cook for dinner?",
    "Give me a tip for sleeping better.",
    "What is your favourite colour?",
]
BARGE_IN = "Wait, stop please."


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def ms(value: float) -> str:
    return "nan" if value != value else f"{value * 1000:.0f}"


def turn_records(worker_output: str) -> list[dict]:
    records = []
    for line in worker_output.splitlines():
        if '"turn latency"' not in line:
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


async def run_turns(
    url: str, token: str, stub: OpenAIStub | CloudFakes | None, turns: int, budget: float
):
    probe = SpeakingProbe()
    await probe.connect(url, token)
    started = time.monotonic()
    results: list[dict] = []
    try:
        await probe.wait_for_agent_voice(timeout=60)
        await probe.wait_quiet(0.6, 30)
        barge_clip = espeak_clip(BARGE_IN)
        for i in range(turns):
            if time.monotonic() - started > budget:
                break
            question = QUESTIONS[i % len(QUESTIONS)]
            if stub:
                stub.set_transcript(question)
            await probe.say(espeak_clip(question))
            end_mono, end_wall = probe.clip_ended_at or time.monotonic(), time.time()
            first = None
            deadline = time.monotonic() + 20
            while first is None and time.monotonic() < deadline:
                first = probe.agent_voice_after(end_mono)
                await asyncio.sleep(0.02)
            result = {
                "question": question,
                "end_wall": end_wall,
                "v2v": None if first is None else first - end_mono,
            }
            if first is not None:
                # Barge in once the reply is well under way (0.6 s of it heard).
                await asyncio.sleep(max(0.0, first + 0.6 - time.monotonic()))
                if stub:
                    stub.set_transcript(BARGE_IN)
                await probe.say(barge_clip, wait=False)
                await asyncio.sleep(0.05)
                onset = probe.clip_started_at or time.monotonic()
                silent = None
                deadline = time.monotonic() + 5
                while silent is None and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                    silent = probe.agent_silent_after(onset, hold_s=0.25)
                result["bargein"] = None if silent is None else max(0.0, silent - onset)
            results.append(result)
            # Let the agent answer the interruption, then start the next turn in quiet.
            await asyncio.sleep(0.5)
            await probe.wait_quiet(0.8, 15)
    finally:
        await probe.close()
    return results


def attach_parts(results: list[dict], records: list[dict]) -> None:
    for result in results:
        best, best_gap = None, 3.0
        for rec in records:
            stopped = rec.get("user_stopped_at") or None
            # The log line has no user_stopped_at; pair by the reply's e2e instead.
            if stopped is None:
                continue
            gap = abs(stopped - result["end_wall"])
            if gap < best_gap:
                best, best_gap = rec, gap
        result["parts"] = best


def summarise(mode: str, results: list[dict]) -> str:
    v2v = [r["v2v"] for r in results if r.get("v2v") is not None]
    barge = [r["bargein"] for r in results if r.get("bargein") is not None]
    overhead, parts_rows = [], []
    for r in results:
        p = r.get("parts")
        if not p or r.get("v2v") is None:
            continue
        eou, ttft, ttfb = p.get("eou_delay"), p.get("llm_ttft"), p.get("tts_ttfb")
        parts_rows.append(
            (p.get("eou_delay"), p.get("transcription_delay"), ttft, ttfb, p.get("e2e"))
        )
        if None not in (eou, ttft, ttfb):
            overhead.append(r["v2v"] - (eou + ttft + ttfb))
    print(f"[{mode}] turns={len(results)} answered={len(v2v)} barge-ins={len(barge)}")
    for r in results:
        p = r.get("parts") or {}
        print(
            f"  v2v={ms(r['v2v'] if r.get('v2v') is not None else float('nan'))} ms  "
            f"bargein={ms(r['bargein'] if r.get('bargein') is not None else float('nan'))} ms  "
            f"eou={p.get('eou_delay')} stt={p.get('transcription_delay')} "
            f"ttft={p.get('llm_ttft')} ttfb={p.get('tts_ttfb')} e2e(agent)={p.get('e2e')}  "
            f"{r['question']!r}"
        )
    if parts_rows:
        cols = list(zip(*parts_rows, strict=True))
        names = ("eou", "transcription", "llm_ttft", "tts_ttfb", "e2e_agent")
        line = "  ".join(
            f"{n}_p50_ms={ms(pct([v for v in c if v is not None], 50))}"
            for n, c in zip(names, cols, strict=True)
        )
        print(f"[{mode}] parts: {line}")
    return (
        f"RESULT v2v_p50_ms={ms(pct(v2v, 50))} v2v_p95_ms={ms(pct(v2v, 95))} "
        f"overhead_p95_ms={ms(pct(overhead, 95))} bargein_p95_ms={ms(pct(barge, 95))}"
    )


def mode_env(stub: OpenAIStub | CloudFakes | None) -> dict[str, str]:
    if isinstance(stub, CloudFakes):
        return {
            **stub.env(),
            "PARLEY_STT": "cloud",
            "PARLEY_LLM": "cloud",
            "PARLEY_TTS": "cloud",
            "PARLEY_LOCAL_FALLBACK": "false",
        }
    if stub is None:
        return {
            "PARLEY_STT": "local",
            "PARLEY_LLM": "local",
            "PARLEY_TTS": "local",
            "PARLEY_LLM_MAX_TOKENS": "60",
        }
    return stub.provider_env()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stub-cloud", action="store_true")
    parser.add_argument("--cloud-fakes", action="store_true")
    parser.add_argument("--quick", action="store_true", help="3 turns, within ~60 s")
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--stt-ms", type=float, default=250)
    parser.add_argument("--ttft-ms", type=float, default=350)
    parser.add_argument("--ttfb-ms", type=float, default=100)
    args = parser.parse_args()
    turns = 3 if args.quick else args.turns
    budget = 40.0 if args.quick else 600.0
    mode = "cloud-fakes" if args.cloud_fakes else "stub-cloud" if args.stub_cloud else "local"

    stub: OpenAIStub | CloudFakes | None = None
    if args.cloud_fakes:
        stub = CloudFakes(
            deepgram_final_s=args.stt_ms / 1000,
            openai_ttft_s=args.ttft_ms / 1000,
            cartesia_ttfb_s=args.ttfb_ms / 1000,
        ).start()
    elif args.stub_cloud:
        delays = StubDelays(
            stt_s=args.stt_ms / 1000, ttft_s=args.ttft_ms / 1000, ttfb_s=args.ttfb_ms / 1000
        )
        stub = OpenAIStub(delays).start()
    log_dir = Path(tempfile.mkdtemp(prefix="parley-bench-voice-"))
    t0 = time.monotonic()
    stack = start_stack(
        log_dir, extra_env={"PARLEY_DATA_DIR": str(log_dir / "data"), **mode_env(stub)}
    )
    try:
        print(f"[{mode}] stack up in {time.monotonic() - t0:.1f} s (logs: {log_dir})")
        token = fetch_token(stack.backend.url, {"participant_name": "Bench"})
        results = asyncio.run(
            run_turns(token["server_url"], token["participant_token"], stub, turns, budget)
        )
        time.sleep(1.0)  # let the last turn's record reach the log
        attach_parts(results, turn_records(stack.worker.process.output()))
    finally:
        stack.stop()
        if stub:
            stub.stop()
    print(f"[{mode}] total {time.monotonic() - t0:.1f} s")
    print(summarise(mode, results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
