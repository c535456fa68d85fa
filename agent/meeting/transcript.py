"""A speaker-attributed meeting transcript kept in memory for the length of a job."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

Role = Literal["participant", "agent", "console"]

MAX_SEGMENT_CHARS = 4000


@dataclass
class Segment:
    speaker: str
    text: str
    start: float
    end: float
    role: Role = "participant"
    # A request to the agent ("Parley, what was decided?"): part of the record, never evidence.
    to_agent: bool = False

    @property
    def is_evidence(self) -> bool:
        """Something a participant said to the meeting (what questions are answered from)."""
        return self.role == "participant" and not self.to_agent

    def line(self) -> str:
        return f"{self.speaker}: {self.text}"


class TranscriptStore:
    """Append-only, bounded (a very long meeting drops its oldest segments, never crashes)."""

    def __init__(self, max_segments: int = 5000) -> None:
        self._segments: deque[Segment] = deque(maxlen=max_segments)

    def add(
        self,
        speaker: str,
        text: str,
        *,
        start: float | None = None,
        end: float | None = None,
        role: Role = "participant",
    ) -> Segment | None:
        text = " ".join((text or "").split())[:MAX_SEGMENT_CHARS]
        if not text:
            return None
        now = time.time()
        speaker = " ".join((speaker or "").split())[:100] or "Unknown speaker"
        segment = Segment(
            speaker,
            text,
            start if start is not None else now,
            end if end is not None else now,
            role,
        )
        self._segments.append(segment)
        return segment

    def copy(self) -> TranscriptStore:
        """A snapshot to read off the event loop while this one keeps growing."""
        snapshot = TranscriptStore(max_segments=self._segments.maxlen or len(self._segments))
        snapshot._segments.extend(self._segments)
        return snapshot

    @property
    def segments(self) -> list[Segment]:
        return list(self._segments)

    def __len__(self) -> int:
        return len(self._segments)

    def speakers(self) -> list[str]:
        """Distinct participant names in order of first appearance."""
        seen: dict[str, None] = {}
        for seg in self._segments:
            if seg.role == "participant":
                seen.setdefault(seg.speaker, None)
        return list(seen)

    def evidence(self) -> list[Segment]:
        return [s for s in self._segments if s.is_evidence]

    def render(self, segments: list[Segment] | None = None, max_chars: int = 6000) -> str:
        """Lines ``Speaker: text``, newest kept when over ``max_chars``."""
        lines = [s.line() for s in (segments if segments is not None else self.segments)]
        out: list[str] = []
        total = 0
        for line in reversed(lines):
            total += len(line) + 1
            if total > max_chars:
                break
            out.append(line)
        return "\n".join(reversed(out))
