"""Test utterances: espeak-ng speech as raw signed 16-bit mono little-endian PCM."""

from __future__ import annotations

import math

import numpy as np

from parley_common.testing.speech_synth import espeak_pcm


def speech_pcm(text: str, sample_rate: int, voice: str = "en-us") -> bytes:
    """``text`` spoken by espeak-ng as little-endian PCM at ``sample_rate``."""
    return espeak_pcm(text, rate=sample_rate, voice=voice).astype("<i2").tobytes()


def tone_pcm(freq: float, seconds: float, sample_rate: int, amplitude: int = 12000) -> bytes:
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    return (amplitude * np.sin(2 * math.pi * freq * t)).astype("<i2").tobytes()


def pcm_rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
    if samples.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
