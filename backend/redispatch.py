"""Bring the agent back to a conversation whose job died (its worker was killed).

LiveKit (server 1.13) does not re-dispatch a job whose worker vanished: the agent's
participant times out of the room, the job is failed, and the user is left alone. A job
that ended normally deletes its own dispatch before leaving (``parley_agent.job_status``),
so an agent leaving a room whose dispatch still exists, while a user is still there and no
other agent is, was lost: the backend dispatches the agent again with the same metadata.
The new job loads the room's turns so far from the history (``parley_agent.continuation``).

Driven by the ``participant_left`` webhook, which LiveKit delivers once to one backend
(duplicates are not stored, so only the backend that stored it acts).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from livekit import api
from livekit.protocol.models import ParticipantInfo
from livekit.protocol.webhook import WebhookEvent

logger = logging.getLogger("parley.backend.redispatch")

# Per room, per process: a job that keeps dying (a crash on start) is not re-dispatched
# forever.
MAX_REDISPATCHES = 3
_redispatched: Counter[str] = Counter()
_tasks: set[asyncio.Task[None]] = set()


def is_agent_left(event: WebhookEvent) -> bool:
    return (
        event.event == "participant_left"
        and event.participant.kind == ParticipantInfo.Kind.AGENT
        and bool(event.room.name)
    )


async def redispatch_if_lost(lkapi: api.LiveKitAPI, room: str, agent_name: str) -> bool:
    """Dispatch ``agent_name`` again into ``room`` if its job was lost; True if it did."""
    dispatches = [
        d
        for d in await lkapi.agent_dispatch.list_dispatch(room_name=room)
        if d.agent_name == agent_name
    ]
    if not dispatches:
        return False  # the job ended normally (or was never ours)
    listing = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
    kinds = [p.kind for p in listing.participants]
    if ParticipantInfo.Kind.AGENT in kinds or not any(
        k != ParticipantInfo.Kind.AGENT for k in kinds
    ):
        return False  # another agent is there, or nobody is left to talk to
    if _redispatched[room] >= MAX_REDISPATCHES:
        logger.warning("agent lost again; not re-dispatching", extra={"room": room})
        return False
    _redispatched[room] += 1
    lost = dispatches[-1]
    await lkapi.agent_dispatch.delete_dispatch(lost.id, room)
    await lkapi.agent_dispatch.create_dispatch(
        api.CreateAgentDispatchRequest(agent_name=agent_name, room=room, metadata=lost.metadata)
    )
    logger.info("agent lost mid-conversation: dispatched again", extra={"room": room})
    return True


def schedule(lkapi: api.LiveKitAPI, event: WebhookEvent, agent_name: str) -> None:
    """From the webhook route: check in the background (the webhook is answered now)."""
    if not is_agent_left(event):
        return

    async def run() -> None:
        try:
            await redispatch_if_lost(lkapi, event.room.name, agent_name)
        except api.TwirpError as exc:  # the room is gone (deleted, or closed meanwhile)
            logger.info("re-dispatch check skipped: %s", exc, extra={"room": event.room.name})
        except Exception as exc:  # a failed check must never fail the webhook
            logger.warning("re-dispatch check failed: %s", exc, extra={"room": event.room.name})

    task = asyncio.create_task(run())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
