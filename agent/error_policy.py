"""What the agent does when a provider fails mid-turn: a short apology, or silence.

Never invented content: the apology is a fixed sentence, not an LLM call, and it is only
spoken when the LLM failed (if speech synthesis itself failed, trying to speak is pointless
and the agent stays silent). Errors are logged with the room and job ids.
"""

from __future__ import annotations

import logging
import time

from livekit.agents import AgentSession, ErrorEvent, llm

logger = logging.getLogger("parley.errors")

APOLOGY = "Sorry, I couldn't answer that just now. Could you say it again?"
# One apology per burst of failures: retries of one turn must not apologise three times.
APOLOGY_COOLDOWN_S = 5.0


class ErrorPolicy:
    def __init__(self, session: AgentSession, *, room: str, job_id: str) -> None:
        self._session = session
        self._ids = {"room": room, "job_id": job_id}
        self._last_apology = 0.0
        self.apologies = 0
        session.on("error", self._on_error)

    def _on_error(self, event: ErrorEvent) -> None:
        error = event.error
        kind = getattr(error, "type", "unknown")
        recoverable = bool(getattr(error, "recoverable", False))
        logger.warning(
            "provider error",
            extra={
                **self._ids,
                "kind": kind,
                "recoverable": recoverable,
                "detail": str(getattr(error, "error", error))[:300],
            },
        )
        if recoverable or kind != "llm_error":
            return
        now = time.monotonic()
        if now - self._last_apology < APOLOGY_COOLDOWN_S:
            return
        self._last_apology = now
        if isinstance(self._session.llm, llm.RealtimeModel):
            return  # the realtime model is the voice: nothing of ours can speak; stay silent
        try:
            self._session.say(APOLOGY, allow_interruptions=True)
            self.apologies += 1
        except RuntimeError as exc:  # session closing
            logger.info("apology skipped: %s", exc, extra=self._ids)
