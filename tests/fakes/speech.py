"""Test utterances: espeak-ng speech as raw signed 16-bit mono little-endian PCM."""

from __future__ import annotations

import functools
import math
import shutil
import subprocess

import numpy as np


@functools.lru_cache(maxsize=32)
def speech_pcm(text: str, sample_rate: int, voice: str = "en-us") -> bytes:
    """Synthesize ``text`` with espeak-ng and convert it with sox to ``sample_rate``."""
    if not shutil.which("espeak-ng") or not shutil.which("sox"):
        raise RuntimeError("espeak-ng and sox are needed (scripts/setup installs them)")
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", "160", "--stdout", text],
        check=True, capture_output=True, timeout=30,
    ).stdout  # fmt: skip
    raw = subprocess.run(
        ["sox", "-t", "wav", "-", "-t", "raw", "-r", str(sample_rate), "-c", "1", "-b", "16",
         "-e", "signed-integer", "-L", "-"],
        input=wav, check=True, capture_output=True, timeout=30,
    ).stdout  # fmt: skip
    return raw


def tone_pcm(freq: float, seconds: float, sample_rate: int, amplitude: int = 12000) -> bytes:
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    return (amplitude * np.sin(2 * math.pi * freq * t)).astype("<i2").tobytes()


def pcm_rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
    if samples.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
