"""Test and benchmark speech: espeak-ng utterances as int16 mono PCM at any rate.

One synthesiser for every test, fake and benchmark, so "the user said X" sounds the same
whether it reaches the agent through a room, the meeting bridge or an in-process harness.
"""

from __future__ import annotations

import functools
import shutil
import subprocess

import numpy as np

ESPEAK_RATE = 22050


@functools.lru_cache(maxsize=64)
def _espeak_wav(text: str, voice: str, wpm: int) -> bytes:
    binary = shutil.which("espeak-ng") or shutil.which("espeak")
    if binary is None:
        raise RuntimeError("espeak-ng is required to synthesise speech (scripts/setup installs it)")
    # --stdin keeps the text out of the argument list (it may start with "-").
    return subprocess.run(
        [binary, "-v", voice, "-s", str(wpm), "--stdout", "--stdin"],
        input=text.encode(),
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout


def espeak_pcm(text: str, *, rate: int, voice: str = "en-us", wpm: int = 160) -> np.ndarray:
    """int16 mono speech for ``text``, resampled from espeak-ng's 22.05 kHz to ``rate``."""
    import soxr

    wav = _espeak_wav(text, voice, wpm)
    pcm = np.frombuffer(wav[44:], dtype="<i2").astype(np.float32)
    if rate != ESPEAK_RATE:
        pcm = soxr.resample(pcm, ESPEAK_RATE, rate)
    return pcm.clip(-32768, 32767).astype(np.int16)
