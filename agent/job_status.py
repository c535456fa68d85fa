"""End a finished conversation's job so that LiveKit records it as a success.

LiveKit (server 1.13) fails a job, ``JS_FAILED`` "agent worker left the room", when the
agent's participant leaves while the job is still running on the server's books. The
framework only reports ``JS_SUCCESS`` once the job *process* has exited, which is after it
left the room, so every conversation whose user simply hung up was recorded as failed.

So, when the session ended normally (the user left, or the agent ended the call), the job
deletes its own dispatch before it leaves: the server then terminates the job as requested
and records ``JS_SUCCESS``; the leave that follows finds no running job left to fail. A
session that ended in an error is left alone, and stays recorded as the failure it was.

This runs as the framework's ``on_session_end`` hook, which comes after the session closed
and before the room is disconnected.
"""

from __future__ import annotations

import asyncio
import logging

from livekit.agents import AgentSession, JobContext
from livekit.agents.voice.events import CloseEvent, CloseReason

logger = logging.getLogger("parley.job_status")

# The reason each job's session closed (one job per process; keyed by job id anyway).
_close_reasons: dict[str, CloseReason] = {}
SUCCESSFUL = {
    CloseReason.PARTICIPANT_DISCONNECTED,
    CloseReason.USER_INITIATED,
    CloseReason.TASK_COMPLETED,
}


def track_close(session: AgentSession, job_id: str) -> None:
    """Remember why ``session`` closed, for ``end_job`` (call before ``session.start``)."""

    def on_close(ev: CloseEvent) -> None:
        _close_reasons[job_id] = ev.reason

    session.on("close", on_close)


async def end_job(ctx: JobContext, timeout: float = 3.0) -> None:
    """``on_session_end``: report a normally ended job as done before the room is left."""
    ids = {"room": ctx.room.name, "job_id": ctx.job.id}
    reason = _close_reasons.pop(ctx.job.id, None)
    if reason not in SUCCESSFUL or not ctx.job.dispatch_id:
        logger.info("job ends without a success report (session: %s)", reason, extra=ids)
        return
    if not ctx.room.isconnected():
        # The room was deleted under the job: the server has dropped its dispatches, and the
        # call would only hold the job's seat until its timeout ("no response from servers").
        logger.info("job ends with its room already gone (session: %s)", reason.value, extra=ids)
        return
    try:
        await asyncio.wait_for(
            ctx.api.agent_dispatch.delete_dispatch(ctx.job.dispatch_id, ctx.room.name), timeout
        )
        logger.info("job reported done (session: %s)", reason.value, extra=ids)
    except Exception as exc:  # the server then records the leave as a failure, no worse
        logger.warning("could not report the job done: %s", exc, extra=ids)
