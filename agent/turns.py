"""Turn-taking values: VAD, end of turn, interruptions, preemptive generation.

The numbers are tuned for the targets in docs/voice-pipeline.md (barge-in silent at the
listener within 300 ms p95; end-to-end reply within 1.5 s p50 on the local stack). The
reasoning for each value lives there; each is overridable from the environment.
"""

from __future__ import annotations

from livekit.agents import inference, vad
from livekit.agents.voice.turn import TurnHandlingOptions
from livekit.plugins import silero

from parley_agent.settings import AgentSettings

# Silero: a user pause shorter than this does not end the utterance. 0.55 s (framework
# default) delays every reply by ~0.2 s more than needed; the end-of-turn model, not the
# VAD, decides whether a pause ends the turn, so the VAD may report silence sooner.
VAD_MIN_SILENCE_S = 0.35
# Speech must last this long to count: filters clicks, keeps short words ("no", "stop").
VAD_MIN_SPEECH_S = 0.05
VAD_ACTIVATION = 0.5


def load_vad() -> vad.VAD:
    return silero.VAD.load(
        min_speech_duration=VAD_MIN_SPEECH_S,
        min_silence_duration=VAD_MIN_SILENCE_S,
        activation_threshold=VAD_ACTIVATION,
    )


def turn_handling(settings: AgentSettings, *, has_stt: bool = True) -> TurnHandlingOptions:
    """The session's turn options from the settings (see module docstring)."""
    if settings.turn_detector == "v1-mini":
        # Explicit version: in dev mode the framework would otherwise pick the cloud "v1"
        # detector, which needs LiveKit Cloud and fails on a self-hosted server.
        detection: object = inference.TurnDetector(version="v1-mini")
    elif settings.turn_detector == "stt" and has_stt:
        detection = "stt"
    else:
        detection = "vad"
    return TurnHandlingOptions(
        turn_detection=detection,  # type: ignore[typeddict-item]
        endpointing={
            "mode": "fixed",
            "min_delay": settings.min_endpointing_delay,
            "max_delay": settings.max_endpointing_delay,
        },
        interruption={
            "enabled": True,
            "mode": "vad",  # "adaptive" needs LiveKit Cloud
            "min_duration": settings.min_interruption_duration,
            "min_words": 0,  # words need a transcript: too late for a 300 ms barge-in
            "resume_false_interruption": True,
            "false_interruption_timeout": settings.false_interruption_timeout,
        },
        preemptive_generation={
            "enabled": settings.preemptive_generation,
            "preemptive_tts": False,  # TTS work on a guess wastes the 2 cores we have
            "max_speech_duration": 10.0,
        },
    )


def session_turn_options(settings: AgentSettings, *, has_stt: bool = True) -> dict:
    """Keyword arguments for ``AgentSession``: turn handling plus the AEC warm-up."""
    return {
        "turn_handling": turn_handling(settings, has_stt=has_stt),
        # The framework ignores user audio for the first seconds of agent speech so an echo
        # canceller can converge (default 3 s). Browser WebRTC AEC settles in well under a
        # second; 3 s would make barging into the greeting impossible.
        "aec_warmup_duration": settings.aec_warmup,
    }
