"""Only the LiveKit server (the worker, through the server API) can make the agent leave."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from livekit import rtc

from parley_agent.drain_goodbye import DRAIN_TOPIC, GOODBYE, leave_when_drained


class _Handle:
    async def wait_for_playout(self) -> None:
        await asyncio.sleep(0)


class _Session:
    def __init__(self) -> None:
        self.said: list[str] = []
        self.closed = False

    def say(self, text: str, **_: Any) -> _Handle:
        self.said.append(text)
        return _Handle()

    def shutdown(self, *, drain: bool = True) -> None:
        self.closed = drain


def _packet(participant: object | None, topic: str = DRAIN_TOPIC) -> rtc.DataPacket:
    return rtc.DataPacket(
        data=b"goodbye", kind=rtc.DataPacketKind.KIND_RELIABLE, participant=participant, topic=topic
    )  # type: ignore[arg-type]


async def _run(*packets: rtc.DataPacket) -> _Session:
    room = rtc.EventEmitter[str]()
    session = _Session()
    leave_when_drained(SimpleNamespace(room=room), session, {"room": "r"})  # type: ignore[arg-type]
    for packet in packets:
        room.emit("data_received", packet)
    await asyncio.sleep(0.05)
    return session


async def test_the_servers_drain_packet_gets_one_goodbye_then_the_end() -> None:
    session = await _run(_packet(None), _packet(None))
    assert session.said == [GOODBYE]
    assert session.closed


async def test_a_participant_cannot_hang_the_agent_up() -> None:
    session = await _run(_packet(SimpleNamespace(identity="mallory")))
    assert session.said == [] and not session.closed


async def test_other_topics_are_ignored() -> None:
    session = await _run(_packet(None, topic="lk.chat"))
    assert session.said == [] and not session.closed
