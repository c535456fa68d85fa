"""Whisper gets every utterance with the same short quiet margin around the speech."""

from __future__ import annotations

import numpy as np

from parley_agent.providers.whisper_stt import EDGE_MARGIN_S, WHISPER_RATE, trim_quiet_edges

MARGIN = int(EDGE_MARGIN_S * WHISPER_RATE)


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * WHISPER_RATE)) / WHISPER_RATE
    return (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)


def _quiet_edges(samples: np.ndarray) -> tuple[int, int]:
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    return int(loud[0]), int(samples.size - 1 - loud[-1])


def test_long_silence_is_cut_to_the_margin() -> None:
    noise = np.random.default_rng(1).standard_normal(WHISPER_RATE).astype(np.float32) * 0.001
    out = trim_quiet_edges(np.concatenate([noise, _tone(0.5), noise[: WHISPER_RATE // 2]]))
    lead, tail = _quiet_edges(out)
    assert abs(lead - MARGIN) <= WHISPER_RATE // 100
    assert abs(tail - MARGIN) <= WHISPER_RATE // 100


def test_missing_margin_is_padded() -> None:
    out = trim_quiet_edges(_tone(0.5))
    lead, tail = _quiet_edges(out)
    assert lead >= MARGIN - WHISPER_RATE // 200 and tail >= MARGIN - WHISPER_RATE // 200
    assert out.size == int(0.5 * WHISPER_RATE) + 2 * MARGIN


def test_audio_without_speech_is_left_alone() -> None:
    quiet = np.zeros(WHISPER_RATE, dtype=np.float32)
    assert trim_quiet_edges(quiet) is quiet
    assert trim_quiet_edges(np.zeros(0, dtype=np.float32)).size == 0
