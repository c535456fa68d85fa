"""A draining worker says goodbye before its time runs out, instead of going silent.

On SIGTERM the framework drains: no new jobs, and live conversations get
``PARLEY_AGENT_DRAIN_TIMEOUT`` seconds to end on their own; after that it shuts the job
processes down, and the user just hears the agent stop mid-conversation. Job processes
ignore SIGTERM and the framework tells them nothing about the drain, so the worker process
tells each room itself, through LiveKit: ``PARLEY_AGENT_GOODBYE_WINDOW`` seconds before the
deadline it sends a data packet (topic ``parley.drain``) to the agent of each job it still
runs. The agent then says a fixed goodbye and ends the session, so LiveKit records the
job as done (``job_status.end_job``) and the worker exits 0 before the deadline.

The packet is only obeyed when the LiveKit server sent it (server API, no sender
participant): a participant cannot publish on the topic to hang the agent up.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from livekit import api, rtc
from livekit.agents import AgentServer, AgentSession, JobContext
from livekit.agents.types import NOT_GIVEN, NotGivenOr

logger = logging.getLogger("parley.drain")

DRAIN_TOPIC = "parley.drain"
GOODBYE = (
    "I'm sorry, I have to go now: this service is restarting. "
    "Please call again in a moment. Goodbye."
)


class GoodbyeOnDrainServer(AgentServer):
    """``AgentServer`` whose drain tells live jobs to say goodbye before the deadline."""

    def __init__(self, *, goodbye_window: float, **options: Any) -> None:
        super().__init__(**options)
        self._goodbye_window = goodbye_window
        self._goodbye_task: asyncio.Task[None] | None = None

    async def drain(self, timeout: NotGivenOr[int | None] = NOT_GIVEN) -> None:
        limit = timeout if isinstance(timeout, int) else self._drain_timeout
        if limit and self._goodbye_task is None:
            wait = max(0.0, limit - self._goodbye_window)
            self._goodbye_task = asyncio.create_task(self._goodbye_after(wait))
        try:
            await super().drain(timeout)
        finally:
            if self._goodbye_task is not None:
                self._goodbye_task.cancel()

    async def _goodbye_after(self, wait: float) -> None:
        await asyncio.sleep(wait)
        jobs = [j for j in self.active_jobs if not j.fake_job]
        if not jobs:
            return
        logger.info("drain deadline near: asking %d live job(s) to say goodbye", len(jobs))
        async with api.LiveKitAPI(self._ws_url, self._api_key, self._api_secret) as lk:
            for job in jobs:
                try:
                    await lk.room.send_data(
                        api.SendDataRequest(
                            room=job.job.room.name,
                            data=b"goodbye",
                            kind=api.DataPacket.Kind.RELIABLE,
                            topic=DRAIN_TOPIC,
                            destination_identities=[job.accept_arguments.identity],
                        )
                    )
                except Exception as exc:  # that job is shut down at the deadline anyway
                    logger.warning(
                        "could not ask for a goodbye: %s",
                        exc,
                        extra={"room": job.job.room.name, "job_id": job.job.id},
                    )


def leave_when_drained(ctx: JobContext, session: AgentSession, ids: dict[str, str]) -> None:
    """In the job: on the worker's drain packet, say goodbye, then end the session."""
    started: list[asyncio.Task[None]] = []

    async def goodbye() -> None:
        logger.info("worker draining: saying goodbye", extra=ids)
        try:
            handle = session.say(GOODBYE, allow_interruptions=False, add_to_chat_ctx=True)
            await asyncio.wait_for(handle.wait_for_playout(), 20)
        except Exception as exc:
            logger.warning("goodbye not fully spoken: %s", exc, extra=ids)
        session.shutdown(drain=True)

    def on_data(packet: rtc.DataPacket) -> None:
        if packet.topic != DRAIN_TOPIC or packet.participant is not None or started:
            return
        started.append(asyncio.create_task(goodbye()))

    ctx.room.on("data_received", on_data)
