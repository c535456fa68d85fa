"""Who is speaking in the meeting, from the bridge's speaker changes.

The meeting audio reaches the agent as one mixed track, so names come separately: Meeting
BaaS sends speaker changes ``[{"name", "id", "timestamp", "isSpeaking"}]`` and the bridge
forwards them. A finished transcript turn is attributed to whoever spoke longest during it
(within the turn's speech window when the VAD gave one). Times are taken on receipt
(monotonic clock) because the bot's timestamp unit is not reliable (seconds in v2 docs,
milliseconds in a v1 example).
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SpeakerEvent:
    name: str
    speaking: bool
    at: float


def parse_speaker_payload(payload: bytes | str) -> list[tuple[str, bool]]:
    """Meeting BaaS speaker JSON (an array, or one object) → ``[(name, is_speaking)]``.

    Malformed entries are skipped, never raised: a bad packet must not hurt the job.
    """
    try:
        data: Any = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return []
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        return []
    out = []
    for entry in data[:50]:
        if not isinstance(entry, dict):
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            continue
        speaking = entry.get("isSpeaking", True)
        out.append((" ".join(name.split())[:100], bool(speaking)))
    return out


class SpeakerTracker:
    def __init__(self, max_events: int = 2000) -> None:
        self._events: deque[SpeakerEvent] = deque(maxlen=max_events)

    def update(self, name: str, speaking: bool = True, at: float | None = None) -> None:
        self._events.append(SpeakerEvent(name, speaking, time.monotonic() if at is None else at))

    def update_from_payload(self, payload: bytes | str, at: float | None = None) -> int:
        entries = parse_speaker_payload(payload)
        for name, speaking in entries:
            self.update(name, speaking, at)
        return len(entries)

    def current(self) -> str | None:
        """The most recent speaker who has not stopped."""
        stopped: set[str] = set()
        for ev in reversed(self._events):
            if not ev.speaking:
                stopped.add(ev.name)
            elif ev.name not in stopped:
                return ev.name
        return None

    def last(self) -> str | None:
        """The most recent speaker to start, stopped or not."""
        for ev in reversed(self._events):
            if ev.speaking:
                return ev.name
        return None

    def dominant(self, since: float, until: float | None = None) -> str | None:
        """Who spoke longest in ``[since, until]``; else the last speaker before ``until``."""
        until = time.monotonic() if until is None else until
        talk: dict[str, float] = {}
        open_at: dict[str, float] = {}
        last: str | None = None
        for ev in self._events:
            if ev.at > until:
                break
            if ev.speaking:
                last = ev.name
                # Mixed audio has one voice at a time in practice: a new speaker ends the
                # previous one even if the bot never sent its "stopped" frame.
                for other in [n for n in open_at if n != ev.name]:
                    started = open_at.pop(other)
                    overlap = min(ev.at, until) - max(started, since)
                    if overlap > 0:
                        talk[other] = talk.get(other, 0.0) + overlap
                open_at.setdefault(ev.name, ev.at)
            elif ev.name in open_at:
                started = open_at.pop(ev.name)
                overlap = min(ev.at, until) - max(started, since)
                if overlap > 0:
                    talk[ev.name] = talk.get(ev.name, 0.0) + overlap
        for name, started in open_at.items():
            overlap = until - max(started, since)
            if overlap > 0:
                talk[name] = talk.get(name, 0.0) + overlap
        if talk:
            return max(talk, key=lambda n: talk[n])
        return last
