#!/usr/bin/env python3
"""Does the meeting agent hear its name? Recall and false triggers on synthetic speech.

Every utterance is spoken by several voices (eSpeak NG voices and the agent's Piper voice),
padded with silence as a live track would be, and pushed through the path the meeting agent
uses: Silero VAD (the worker's settings) cutting utterances for the Whisper STT built as the
worker builds it in meeting mode (the agent's name as a hotword, the start of a nameless
request decoded again), then the copilot's turn decision. In-process: this measures
recognition and decision, not the network. Utterances address the agent at the start, in
the middle or at the end, or not at all, and some use near-miss names ("Harley",
"barely", "party") that must not trigger.

    .venv/bin/python scripts/bench_addressing.py [--quick] [--verbose] [--baseline]

``--quick``: two eSpeak voices and Piper instead of six and Piper. ``--baseline``: the STT
as it was before the second look (hotword only), to see what the second look buys.

Per-voice lines, then ``RESULT addressed_recall=… false_trigger_rate=…``
(targets: recall >= 0.97, false triggers <= 0.02).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import soxr  # noqa: E402
from livekit import rtc  # noqa: E402
from livekit.agents import stt  # noqa: E402

from parley_agent.meeting.addressing import AddressDetector  # noqa: E402
from parley_agent.meeting.copilot import MeetingCopilot  # noqa: E402
from parley_agent.providers.factory import piper_voice, whisper_model  # noqa: E402
from parley_agent.providers.whisper_stt import WhisperSTT  # noqa: E402
from parley_agent.settings import AgentSettings  # noqa: E402
from parley_agent.turns import load_vad  # noqa: E402
from parley_common.testing.speech_synth import espeak_pcm  # noqa: E402

NAME = "Parley"
RATE = 16000
FRAME = RATE // 50  # 20 ms, as a room track delivers it

# (utterance, addressed?, kind)
UTTERANCES: list[tuple[str, bool, str]] = [
    ("Parley, what was decided?", True, "start"),
    ("Parley, can you summarise the last ten minutes?", True, "start"),
    ("Hey Parley, who owns the budget?", True, "start"),
    ("Parley, what did Maria say about the launch?", True, "start"),
    ("Parley, remind us of the action items.", True, "start"),
    ("Okay Parley, when is the next review?", True, "start"),
    ("Parley, who is presenting on Thursday?", True, "start"),
    ("Tell us, Parley, what was decided?", True, "middle"),
    ("So Parley, did we agree on the venue?", True, "middle"),
    ("Quick question for you Parley, who owns the budget?", True, "middle"),
    ("What was decided, Parley?", True, "end"),
    ("Can you recap the action items, Parley?", True, "end"),
    ("Who owns the budget, Parley?", True, "end"),
    ("We agreed to launch in March.", False, "none"),
    ("Good, then the budget stays as it is.", False, "none"),
    ("What was decided about the venue?", False, "none"),
    ("Can you send me the slides later?", False, "none"),
    ("Maria will call the supplier tomorrow.", False, "none"),
    ("Let's move on to the next item.", False, "none"),
    ("Harley, what was decided?", False, "near-miss"),
    ("I barely heard what was decided.", False, "near-miss"),
    ("The party is on Friday, who is coming?", False, "near-miss"),
    ("Charlie, can you summarise the notes?", False, "near-miss"),
    ("Barely anyone came to the review.", False, "near-miss"),
    ("Harley, can you share your screen?", False, "near-miss"),
]
ESPEAK_VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-029", "en-us+f3", "en-gb-x-rp"]
QUICK_VOICES = ["en-us", "en-us+f3"]


@dataclass
class Outcome:
    voice: str
    text: str
    addressed: bool
    kind: str
    heard: str
    triggered: bool


def piper_synth(settings: AgentSettings) -> Callable[[str], np.ndarray]:
    voice, _ = piper_voice(settings)

    def synth(text: str) -> np.ndarray:
        pcm = np.concatenate(
            [np.frombuffer(c.audio_int16_bytes, dtype=np.int16) for c in voice.synthesize(text)]
        ).astype(np.float32)
        pcm = soxr.resample(pcm, voice.config.sample_rate, RATE)
        return pcm.clip(-32768, 32767).astype(np.int16)

    return synth


async def hear(recogniser: stt.STT, pcm: np.ndarray) -> str:
    """Everything the VAD + STT made of one utterance, joined as the session joins finals."""
    adapter = stt.StreamAdapter(stt=recogniser, vad=load_vad())
    stream = adapter.stream()
    clip = np.concatenate([np.zeros(RATE // 2, np.int16), pcm, np.zeros(RATE * 2, np.int16)])

    async def feed() -> None:
        for i in range(0, clip.size, FRAME):
            chunk = clip[i : i + FRAME]
            stream.push_frame(rtc.AudioFrame(chunk.tobytes(), RATE, 1, chunk.size))
        stream.end_input()

    feeder = asyncio.create_task(feed())
    finals: list[str] = []
    async for event in stream:
        if event.type == stt.SpeechEventType.FINAL_TRANSCRIPT:
            finals.append(event.alternatives[0].text)
    await feeder
    await stream.aclose()
    return " ".join(finals)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two eSpeak voices and Piper")
    parser.add_argument("--verbose", action="store_true", help="print every wrong decision")
    parser.add_argument(
        "--baseline", action="store_true", help="without the second look at a nameless start"
    )
    args = parser.parse_args()

    settings = AgentSettings(_env_file=None)
    model, resolved = whisper_model(settings)
    # As the worker builds it in meeting mode (providers.factory._build_stt).
    recogniser = WhisperSTT(
        model,
        model_name=resolved.describe(),
        language="en",
        hotwords=NAME,
        **({} if args.baseline else {"name_spotter": AddressDetector(NAME)}),
    )
    voices: dict[str, Callable[[str], np.ndarray]] = {
        v: (lambda text, v=v: espeak_pcm(text, rate=RATE, voice=v))
        for v in (QUICK_VOICES if args.quick else ESPEAK_VOICES)
    }
    voices["piper"] = piper_synth(settings)
    copilot = MeetingCopilot(NAME)

    outcomes: list[Outcome] = []
    started = time.perf_counter()
    for voice, synth in voices.items():
        for text, addressed, kind in UTTERANCES:
            heard = await hear(recogniser, synth(text))
            triggered = copilot.decide(heard).action != "ignore"
            outcome = Outcome(voice, text, addressed, kind, heard, triggered)
            outcomes.append(outcome)
            if args.verbose and triggered != addressed:
                print(f"  WRONG {voice}: {text!r} heard as {heard!r}", flush=True)
        print(line(voice, [o for o in outcomes if o.voice == voice]), flush=True)
    for kind in ("start", "middle", "end", "none", "near-miss"):
        print(line(f"kind={kind}", [o for o in outcomes if o.kind == kind]))
    elapsed = time.perf_counter() - started
    print(f"{len(outcomes)} utterances in {elapsed:.0f} s")
    recall, false_rate = rates(outcomes)
    print(f"RESULT addressed_recall={recall:.3f} false_trigger_rate={false_rate:.3f}")
    return 0


def rates(outcomes: list[Outcome]) -> tuple[float, float]:
    addressed = [o for o in outcomes if o.addressed]
    others = [o for o in outcomes if not o.addressed]
    recall = sum(o.triggered for o in addressed) / len(addressed) if addressed else float("nan")
    false_rate = sum(o.triggered for o in others) / len(others) if others else float("nan")
    return recall, false_rate


def line(label: str, outcomes: list[Outcome]) -> str:
    recall, false_rate = rates(outcomes)
    return (
        f"{label}: n={len(outcomes)} addressed_recall={recall:.3f} "
        f"false_trigger_rate={false_rate:.3f}"
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
