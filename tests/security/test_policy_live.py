"""The access policy against the real stack: a real LiveKit server, the backend on a real
port with management keys set, the fake Meeting BaaS bot in a live meeting, and second
participants who try to get in, take identities over, publish what they may not, forge
their own attributes, and read other people's history through the agent API.

No agent worker: the policy is the backend's and LiveKit's, and the context look-ups are
made the way the worker's ``lookup_context`` tool makes them.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from livekit import api, rtc

from parley_backend.invites import encode_invite, invite_key, mint_invite
from parley_common.testing.devstack import LiveKitServer, free_port
from tests.backend.conftest import AGENT_AUTH, make_settings
from tests.backend.meetings.conftest import lk_server, serve_backend  # noqa: F401 (fixture)
from tests.fakes.meeting_baas import FakeMeetingBaas
from tests.waiting import wait_until

pytestmark = [pytest.mark.security, pytest.mark.integration]

MGMT = {"X-API-Key": "mgmt-key"}
MEET = "https://meet.google.com/abc-defg-hij"


async def _no_server_errors(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.request.url, await response.aread())


@dataclass
class Live:
    url: str
    app: FastAPI
    lk: LiveKitServer
    fake: FakeMeetingBaas
    http: httpx.AsyncClient
    lkapi: api.LiveKitAPI

    async def token(self, body: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
        return await self.http.post("/api/token", json=body or {}, headers=headers)

    async def participants(self, room: str) -> dict[str, api.ParticipantInfo]:
        found = await self.lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
        return {p.identity: p for p in found.participants}


@pytest.fixture
async def live(lk_server: LiveKitServer, tmp_path: Path) -> AsyncIterator[Live]:  # noqa: F811
    port = free_port()
    async with FakeMeetingBaas(join_step_s=0.1, callback_retry_delays=(0.2, 0.5)) as fake:
        settings = make_settings(
            tmp_path,
            LIVEKIT_URL=lk_server.ws_url,
            LIVEKIT_API_KEY=lk_server.api_key,
            LIVEKIT_API_SECRET=lk_server.api_secret,
            MEETING_BAAS_API_KEY=fake.api_key,
            MEETING_BAAS_BASE_URL=fake.base_url,
            PARLEY_PUBLIC_URL=f"http://127.0.0.1:{port}",
            PARLEY_API_KEYS="mgmt-key",
            PARLEY_TOKEN_OPEN="true",
            PARLEY_TOKEN_RATE_BURST="1000",
        )
        async with serve_backend(settings) as (url, app):
            async with (
                httpx.AsyncClient(
                    base_url=url, timeout=30, event_hooks={"response": [_no_server_errors]}
                ) as http,
                api.LiveKitAPI(lk_server.http_url, lk_server.api_key, lk_server.api_secret) as lk,
            ):
                yield Live(url, app, lk_server, fake, http, lk)


async def _join(live: Live, token: dict[str, Any]) -> rtc.Room:
    room = rtc.Room()
    await room.connect(token["server_url"], token["participant_token"])
    return room


async def _start_meeting(live: Live) -> dict[str, Any]:
    resp = await live.http.post("/api/meetings", json={"meeting_url": MEET}, headers=MGMT)
    assert resp.status_code == 201, resp.text
    meeting = resp.json()
    await live.fake.bot(meeting["bot_id"]).wait_connected(timeout=15)
    bridge = f"meeting-{meeting['id']}"
    room = meeting["room_name"]

    async def bridge_in_room() -> bool:
        return bridge in await live.participants(room)

    await _wait_async(bridge_in_room, 15, "the bridge in the meeting's room")
    return meeting


async def _wait_async(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_a_stranger_cannot_reach_a_meeting_room_or_its_bridge(live: Live) -> None:
    meeting = await _start_meeting(live)
    mid, room = meeting["id"], meeting["room_name"]
    bridge = f"meeting-{mid}"

    # Nothing about meetings without a key: not the list, not one, not its transcript.
    for path in ("/api/meetings", f"/api/meetings/{mid}", f"/api/meetings/{mid}/transcript"):
        assert (await live.http.get(path)).status_code == 401
    assert (await live.http.delete(f"/api/meetings/{mid}")).status_code == 401
    # The room name leaked anyway: it still opens nothing.
    for body in (
        {"room_name": room},
        {"participant_identity": bridge},
        {"room_name": room, "participant_identity": bridge},
        {"room_name": room, "participant_name": "Parley"},
        {"agent_config": {"mode": "meeting", "meeting_id": mid}},
    ):
        for headers in ({}, {"X-API-Key": "guess"}):
            resp = await live.token(body, **headers)
            assert resp.status_code in (401, 403), (body, resp.text)
    # Not even a management caller can mint an invite into a meeting, or take the bridge.
    invite = await live.http.post(f"/api/rooms/{room}/invites", json={}, headers=MGMT)
    assert invite.status_code == 403, invite.text
    takeover = await live.token({"room_name": room, "participant_identity": bridge}, **MGMT)
    assert takeover.status_code == 403, takeover.text
    # A forged-valid invite for the meeting room (as if the secret leaked) is refused too.
    settings = live.app.state.settings
    forged = encode_invite(
        invite_key(settings.invite_secret, settings.livekit_api_secret), mint_invite(room, 600)
    )
    assert (await live.token({"invite": forged})).status_code == 403

    # What a stranger does get: a room of their own, far from the meeting.
    mine = (await live.token({"participant_name": bridge})).json()
    assert mine["room_name"] != room and mine["participant_identity"] != bridge
    stranger = await _join(live, mine)
    try:
        assert stranger.name == mine["room_name"]
        participants = await live.participants(room)
        assert bridge in participants and mine["participant_identity"] not in participants
        assert not stranger.remote_participants
        detail = (await live.http.get(f"/api/meetings/{mid}", headers=MGMT)).json()
        assert detail["status"] != "ended"
        assert not any(e["kind"] == "room.ended" for e in detail["timeline"])
    finally:
        await stranger.disconnect()

    # The management caller may join the meeting room, under a free, unreserved identity.
    ada = await live.token({"room_name": room, "participant_identity": "ada"}, **MGMT)
    assert ada.status_code == 200, ada.text
    ada_room = await _join(live, ada.json())
    try:
        await wait_until(lambda: bridge in ada_room.remote_participants, 10, "the bridge")
        second = await live.token({"room_name": room, "participant_identity": "ada"}, **MGMT)
        assert second.status_code == 409, second.text
        assert bridge in await live.participants(room)
    finally:
        await ada_room.disconnect()
    await live.http.delete(f"/api/meetings/{mid}", headers=MGMT)


async def test_no_second_participant_takes_over_an_identity(live: Live) -> None:
    room = f"team-{uuid.uuid4().hex[:8]}"
    first = await live.token({"room_name": room, "participant_identity": "alice"}, **MGMT)
    alice = await _join(live, first.json())
    try:
        for body, headers in (
            ({"room_name": room, "participant_identity": "alice"}, MGMT),
            ({"room_name": room, "participant_identity": "alice"}, {}),
            ({"participant_identity": "alice"}, {}),
        ):
            resp = await live.token(body, **headers)
            assert resp.status_code in (403, 409), (body, resp.text)
        assert "alice" in await live.participants(room)
        # Two public callers through one invite: two identities, both stay connected.
        invite = await live.http.post(
            f"/api/rooms/{room}/invites", json={"ttl_seconds": 60}, headers=MGMT
        )
        assert invite.status_code == 201, invite.text
        guests = [(await live.token({"invite": invite.json()["invite"]})).json() for _ in "ab"]
        assert len({g["participant_identity"] for g in guests} | {"alice"}) == 3
        rooms = [await _join(live, g) for g in guests]
        try:

            async def all_three() -> bool:
                return len(await live.participants(room)) == 3

            await _wait_async(all_three, 10, "alice and both guests")
            assert all(r.connection_state == rtc.ConnectionState.CONN_CONNECTED for r in rooms)
            assert alice.connection_state == rtc.ConnectionState.CONN_CONNECTED
        finally:
            for r in rooms:
                await r.disconnect()
    finally:
        await alice.disconnect()
    # Once alice has left, the identity is free again.
    again = await live.token({"room_name": room, "participant_identity": "alice"}, **MGMT)
    assert again.status_code == 200, again.text


async def test_invites_are_bound_to_their_room_and_expire(live: Live) -> None:
    made = await live.http.post(
        "/api/rooms", json={"name": "room-one", "dispatch_agent": False}, headers=MGMT
    )
    assert made.status_code == 201, made.text
    await live.http.post(
        "/api/rooms", json={"name": "room-two", "dispatch_agent": False}, headers=MGMT
    )
    resp = await live.http.post("/api/rooms/room-one/invites", headers=MGMT)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["room_name"] == "room-one"
    invite = body["invite"]
    # Public callers cannot mint invites; there is none for a room that does not exist,
    # and none into a meeting room's name space.
    assert (await live.http.post("/api/rooms/room-one/invites")).status_code == 401
    assert (await live.http.post("/api/rooms/no-such/invites", headers=MGMT)).status_code == 404
    reserved = await live.http.post(
        "/api/rooms", json={"name": "parley-meeting-0123456789abcdef"}, headers=MGMT
    )
    assert reserved.status_code == 403
    # Bound to its room: it never opens another one.
    other = await live.token({"invite": invite, "room_name": "room-two"})
    assert other.status_code == 403
    joined = (await live.token({"invite": invite})).json()
    assert joined["room_name"] == "room-one"
    guest = await _join(live, joined)
    try:
        assert guest.name == "room-one"
    finally:
        await guest.disconnect()
    # Expired: a minute-long invite minted (by the same secret) two minutes ago.
    settings = live.app.state.settings
    key = invite_key(settings.invite_secret, settings.livekit_api_secret)
    stale = encode_invite(key, mint_invite("room-one", 60, now=time.time() - 120))
    expired = await live.token({"invite": stale})
    assert expired.status_code == 403 and "expired" in expired.json()["error"]["message"]


async def test_a_public_participant_publishes_its_microphone_only_and_keeps_its_attributes(
    live: Live,
) -> None:
    token = (await live.token({})).json()
    room = await _join(live, token)
    attempts: list[asyncio.Task[Any]] = []
    try:
        mic = rtc.LocalAudioTrack.create_audio_track("mic", rtc.AudioSource(48000, 1))
        await room.local_participant.publish_track(
            mic, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        # Camera and screen share: the server never answers such a publish (the SDK would
        # wait forever), so try in the background and check what the server holds.
        for source in (rtc.TrackSource.SOURCE_CAMERA, rtc.TrackSource.SOURCE_SCREENSHARE):
            video = rtc.VideoSource(64, 64)
            video.capture_frame(rtc.VideoFrame(64, 64, rtc.VideoBufferType.RGBA, bytes(16384)))
            track = rtc.LocalVideoTrack.create_video_track(f"sneaky-{source}", video)
            options = rtc.TrackPublishOptions(source=source)
            attempts.append(
                asyncio.create_task(room.local_participant.publish_track(track, options))
            )
        # A participant cannot promote itself: its attributes are the backend's.
        try:
            await asyncio.wait_for(
                room.local_participant.set_attributes({"parley.caller": "management"}), 5
            )
        except Exception:
            pass  # refused outright, or silently dropped by the server: both are fine
        await asyncio.sleep(2.0)
        info = (await live.participants(token["room_name"]))[token["participant_identity"]]
        assert dict(info.attributes) == {"parley.caller": "anonymous"}
        sources = {t.source for t in info.tracks}
        assert sources == {rtc.TrackSource.SOURCE_MICROPHONE}, sources
        assert not any(a.done() and not a.exception() for a in attempts)
    finally:
        for attempt in attempts:
            attempt.cancel()
        await asyncio.gather(*attempts, return_exceptions=True)
        await room.disconnect()


def _turn(n: int, room: str, identity: str, text: str) -> dict[str, Any]:
    return {
        "turn_id": f"job-{room}:item_{n}",
        "room_name": room,
        "room_sid": f"RM_{room}",
        "job_id": f"job-{room}",
        "seq": n,
        "speaker_identity": identity,
        "role": "user",
        "text": text,
        "language": "en",
        "started_at": "2026-01-01T10:00:00Z",
        "ended_at": "2026-01-01T10:00:02Z",
    }


async def _context(live: Live, **params: str) -> dict[str, Any]:
    resp = await live.http.get("/api/agent/context", params=params, headers=AGENT_AUTH)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _texts(ctx: dict[str, Any]) -> list[str]:
    return [t["text"] for t in ctx["turns"]]


async def test_context_look_ups_see_only_what_the_backend_vouched_for(live: Live) -> None:
    # Alice (identity chosen by a management caller) talked in two rooms.
    for n, (room, text) in enumerate([("alice-a", "my pin is 1234"), ("alice-b", "flight at 6")]):
        resp = await live.http.post(
            "/api/agent/turns", json=_turn(n, room, "alice", text), headers=AGENT_AUTH
        )
        assert resp.status_code == 201, resp.text
    alice = await _join(
        live,
        (
            await live.token({"room_name": "alice-a", "participant_identity": "alice"}, **MGMT)
        ).json(),
    )
    anon_token = (await live.token({})).json()
    anon_room, anon_id = anon_token["room_name"], anon_token["participant_identity"]
    await live.http.post(
        "/api/agent/turns", json=_turn(9, anon_room, anon_id, "hello there"), headers=AGENT_AUTH
    )
    anon = await _join(live, anon_token)
    try:
        # Vouched-for alice, live in her room: her history everywhere.
        mine = await _context(
            live, room_name="alice-a", participant_identity="alice", about="participant"
        )
        assert sorted(_texts(mine)) == ["flight at 6", "my pin is 1234"]
        # The anonymous participant, asking (through a confused agent) about alice or her
        # room: nothing of hers, only its own room's turns, or nothing at all.
        hostile = [
            (
                {"room_name": anon_room, "participant_identity": anon_id, "about": "participant"},
                ["hello there"],
            ),
            ({"room_name": anon_room, "participant_identity": anon_id}, ["hello there"]),
            ({"room_name": anon_room, "participant_identity": "alice", "about": "participant"}, []),
            ({"room_name": "alice-a", "participant_identity": anon_id, "about": "participant"}, []),
            ({"room_name": "alice-a", "participant_identity": anon_id}, []),
            ({"room_name": "alice-b", "participant_identity": "alice", "about": "participant"}, []),
        ]
        for params, expected in hostile:
            ctx = await _context(live, **params)
            assert _texts(ctx) == expected, (params, ctx)
            assert ctx["summaries"] == [] or expected, params
        # Once alice has left, her identity vouches for nothing.
        await alice.disconnect()

        async def alice_gone() -> bool:
            return "alice" not in await live.participants("alice-a")

        await _wait_async(alice_gone, 10, "alice to leave")
        gone = await _context(
            live, room_name="alice-a", participant_identity="alice", about="participant"
        )
        assert _texts(gone) == []
    finally:
        await alice.disconnect()
        await anon.disconnect()
