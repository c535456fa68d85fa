"""Parsing of the Meeting BaaS streaming socket's text frames (pure functions, no I/O).

Text frames are either the handshake (a JSON object with ``protocol_version``) or a speaker
update (a JSON array). Anything else is malformed: the caller logs it and carries on.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

# A text frame past this is skipped as malformed (room for ~3,000 speaker entries).
MAX_TEXT_FRAME = 256 * 1024
# Speakers kept per update: a larger array is truncated, never dropped, keeping everyone
# who is speaking first (so the current speaker is never lost), then the others in their
# order. 200 entries keep the re-published data packet under LiveKit's ~15 KiB reliable
# message size. See docs/meeting-bridge.md.
MAX_SPEAKERS = 200
# Binary (audio) frames past this close the socket with 1009 (message too big): at 16 kHz
# it is 8 s of audio, at 48 kHz 2.7 s, where the bot sends 100 ms chunks.
MAX_BINARY_FRAME = 256 * 1024
CLOSE_TOO_BIG = 1009
SAMPLE_RATES = range(8000, 96001)


class MalformedFrame(ValueError):
    pass


@dataclass(frozen=True)
class Handshake:
    protocol_version: int
    bot_id: str | None
    offset: float
    sample_rate: int | None  # v1 bots send none


@dataclass(frozen=True)
class SpeakerState:
    name: str
    id: int | None
    timestamp: float | None
    speaking: bool

    def as_json(self) -> dict:
        """The Meeting BaaS shape, re-serialised from validated fields."""
        return {
            "name": self.name,
            "id": self.id,
            "timestamp": self.timestamp,
            "isSpeaking": self.speaking,
        }


def _handshake(obj: dict) -> Handshake:
    version = obj.get("protocol_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise MalformedFrame("handshake protocol_version must be a positive integer")
    bot_id = obj.get("bot_id")
    offset = obj.get("offset", 0.0)
    if not isinstance(offset, int | float) or isinstance(offset, bool) or not math.isfinite(offset):
        offset = 0.0
    rate = obj.get("sample_rate")
    if rate is not None:
        if not isinstance(rate, int | float) or isinstance(rate, bool) or int(rate) != rate:
            raise MalformedFrame("handshake sample_rate must be an integer")
        if int(rate) not in SAMPLE_RATES:
            raise MalformedFrame(f"handshake sample_rate {rate} out of range")
        rate = int(rate)
    return Handshake(
        version, str(bot_id)[:128] if bot_id is not None else None, float(offset), rate
    )


def _speaker(item: object) -> SpeakerState | None:
    if not isinstance(item, dict):
        return None
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        return None
    raw_id = item.get("id")
    speaker_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None
    ts = item.get("timestamp")
    timestamp = (
        float(ts)
        if isinstance(ts, int | float) and not isinstance(ts, bool) and math.isfinite(ts)
        else None
    )
    speaking = item.get("isSpeaking")
    if not isinstance(speaking, bool):
        return None
    return SpeakerState(name.strip()[:255], speaker_id, timestamp, speaking)


def truncate_speakers(speakers: list[SpeakerState]) -> list[SpeakerState]:
    """At most ``MAX_SPEAKERS``: every speaking entry first (up to the limit), then the
    rest, each group in the order the bot sent."""
    if len(speakers) <= MAX_SPEAKERS:
        return speakers
    speaking = [s for s in speakers if s.speaking][:MAX_SPEAKERS]
    room = MAX_SPEAKERS - len(speaking)
    quiet = [s for s in speakers if not s.speaking][:room]
    keep = {id(s) for s in speaking} | {id(s) for s in quiet}
    return [s for s in speakers if id(s) in keep]


def parse_text_frame(text: str) -> Handshake | list[SpeakerState]:
    """Return the handshake or the speaker states; raise ``MalformedFrame`` otherwise.

    Invalid entries inside a speaker array are dropped rather than failing the whole array.
    """
    if len(text) > MAX_TEXT_FRAME:
        raise MalformedFrame(f"text frame larger than {MAX_TEXT_FRAME} characters")
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise MalformedFrame(f"text frame is not JSON: {exc}") from None
    if isinstance(obj, dict):
        if "protocol_version" not in obj:
            raise MalformedFrame("JSON object without protocol_version (unknown message type)")
        return _handshake(obj)
    if isinstance(obj, list):
        parsed = [_speaker(item) for item in obj]
        speakers = [s for s in parsed if s is not None]
        if obj and not speakers:
            raise MalformedFrame("speaker array without one valid entry")
        return truncate_speakers(speakers)
    raise MalformedFrame(f"unknown message type {type(obj).__name__}")
