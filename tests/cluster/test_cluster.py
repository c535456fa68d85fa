"""Two LiveKit nodes on Redis, three workers, two backends on Postgres behind nginx.

One cluster for the module (start-up is the expensive part); the tests that break a part
bring it back before they end. Each test prints what it measured.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections import Counter

import asyncpg
import httpx
import pytest
from livekit import api
from livekit.protocol.models import ParticipantInfo

from parley_common.testing.cluster import Cluster, ClusterWorker, LiveKitNode
from parley_common.testing.devstack import free_port
from parley_common.testing.room_probe import RoomProbe, fetch_token
from parley_common.testing.speaking_probe import SpeakingProbe
from tests.backend.conftest import sign_webhook, webhook_body
from tests.backend.meetings.conftest import rms
from tests.cluster.conftest import (
    converse,
    dispatch_agent,
    mint_token,
    room_name,
    wait_greeted,
    wait_job,
    wait_quiet,
    wait_warm,
)
from tests.fakes.meeting_baas import FakeBot, FakeMeetingBaas
from tests.fakes.speech import speech_pcm
from tests.waiting import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.integration]

FULL_WORKER = 2  # index of the worker whose load threshold is always exceeded
# The two conversation workers count seats (agent/worker_load.py), as a host running
# several workers should: the machine's CPU cannot tell them apart.
SEATS = 4
# A worker under its own agent name with a short drain: only the goodbye test sends it jobs.
GOODBYE_WORKER, GOODBYE_AGENT, DRAIN_S, GOODBYE_WINDOW_S = 3, "parley-drain", 25, 19
# The fake Meeting BaaS listens here once the meeting test starts it; the backends are
# configured with it from the start, like a deployment with its provider URL.
MEETING_BAAS_PORT, MEETING_BAAS_KEY = free_port(), "cluster-baas-key"
CLUSTER_OPTIONS = {
    "workers": 4,
    "per_worker_env": {
        0: {"PARLEY_AGENT_MAX_JOBS": str(SEATS)},
        1: {"PARLEY_AGENT_MAX_JOBS": str(SEATS)},
        # A threshold any CPU use exceeds: that worker reports itself full (WS_FULL).
        FULL_WORKER: {"PARLEY_AGENT_LOAD_THRESHOLD": "0.000001"},
        GOODBYE_WORKER: {
            "PARLEY_AGENT_NAME": GOODBYE_AGENT,
            "PARLEY_AGENT_DRAIN_TIMEOUT": str(DRAIN_S),
            "PARLEY_AGENT_GOODBYE_WINDOW": str(GOODBYE_WINDOW_S),
        },
    },
    # The token bucket is per client; this module is one client asking often (20 tokens in
    # a row at most), and the shared-limit test needs a refill slow enough to count.
    "backend_env": {
        "PARLEY_TOKEN_RATE_BURST": "40",
        "PARLEY_TOKEN_RATE_PER_MINUTE": "120",
        "MEETING_BAAS_API_KEY": MEETING_BAAS_KEY,
        "MEETING_BAAS_BASE_URL": f"http://127.0.0.1:{MEETING_BAAS_PORT}",
    },
}


async def _agents_joined(lk: api.LiveKitAPI, rooms: list[str]) -> None:
    """Wait until each room's agent is in it. A room deleted before its agent joined is
    created again by that join, and the agent would wait there for a user forever."""

    async def joined(room: str) -> bool:
        listing = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
        return any(p.kind == ParticipantInfo.Kind.AGENT for p in listing.participants)

    for room in rooms:
        await wait_until(lambda r=room: joined(r), 120, f"the agent joining {room}", interval=0.2)


async def _delete_rooms(lk: api.LiveKitAPI, rooms: list[str]) -> None:
    for room in rooms:
        try:
            await lk.room.delete_room(api.DeleteRoomRequest(room=room))
        except api.TwirpError:
            pass


async def test_rooms_land_on_both_nodes(cluster: Cluster, lkapi: api.LiveKitAPI) -> None:
    rooms = [room_name("spread") for _ in range(16)]
    started = time.monotonic()
    for room in rooms:
        await lkapi.room.create_room(api.CreateRoomRequest(name=room, empty_timeout=30))
    took = time.monotonic() - started
    try:
        placed = Counter(getattr(cluster.room_node(r), "name", None) for r in rooms)
        print(f"\n16 rooms created through the proxy in {took:.2f} s; placement {dict(placed)}")
        assert None not in placed, f"a room has no node in LiveKit's map: {placed}"
        assert set(placed) == {n.name for n in cluster.nodes}, placed
    finally:
        await _delete_rooms(lkapi, rooms)


async def test_participant_talks_with_an_agent_whose_worker_is_on_the_other_node(
    cluster: Cluster, lkapi: api.LiveKitAPI
) -> None:
    room = room_name("across")
    await wait_warm(cluster)
    await dispatch_agent(lkapi, cluster, room)
    job = await wait_job(lkapi, room, 30)
    worker = cluster.worker_of(job.worker_id)
    assert worker is not None, f"job taken by unknown worker {job.worker_id}"
    other = next(n for n in cluster.nodes if n is not worker.node)
    probe = SpeakingProbe()
    try:
        await probe.connect(other.ws_url, mint_token(cluster, room, "caller"))
        await wait_greeted(probe, 30)
        latency = await converse(probe, cluster, "how far is the moon", 30)
        host = cluster.room_node(room)
        print(
            f"\nparticipant on {other.name}, agent from {worker.name} (registered with "
            f"{worker.node.name}), room hosted on {getattr(host, 'name', None)}: reply voiced "
            f"{latency:.2f} s after the user stopped"
        )
        assert latency < 10
    finally:
        await probe.close()
        await _delete_rooms(lkapi, [room])


async def test_jobs_spread_over_workers_and_a_full_worker_gets_none(
    cluster: Cluster, lkapi: api.LiveKitAPI
) -> None:
    full = cluster.workers[FULL_WORKER]
    assert full.process is not None
    await wait_until(
        lambda: "marking as unavailable" in full.process.output(),  # type: ignore[union-attr]
        30,
        f"{full.name} reporting itself full",
    )
    rooms = [room_name("jobs") for _ in range(6)]
    started = time.monotonic()
    served: Counter[str] = Counter()
    order: list[str] = []
    try:
        # One after another, as calls arrive: each job is in its room (so its worker has
        # reported the seat taken) before the next is dispatched.
        for room in rooms:
            await dispatch_agent(lkapi, cluster, room)
            job = await wait_job(lkapi, room, 60)
            await _agents_joined(lkapi, [room])
            name = getattr(cluster.worker_of(job.worker_id), "name", job.worker_id)
            served[name] += 1
            order.append(name)
        took = time.monotonic() - started
        print(f"\n6 jobs placed in {took:.2f} s, in order {order}; {full.name} is full")
        assert "marking as available" not in full.process.output(), "the full worker recovered"
        assert served[full.name] == 0, served
        # LiveKit sends each job to the node and worker with the most spare seats.
        assert sorted(served.values()) == [3, 3], f"jobs not spread by seats: {order}"
    finally:
        await _delete_rooms(lkapi, rooms)
        await wait_warm(cluster)


def _job_ended(cluster: Cluster, job_id: str) -> str | None:
    """LiveKit's own record of how a job ended (the server logs it as the job leaves its
    books; the dispatch API keeps showing JS_RUNNING in server 1.13.5)."""
    for node in cluster.nodes:
        if node.process is None:
            continue
        for line in node.process.output().splitlines():
            if "job ended" in line and job_id in line:
                return line
    return None


async def test_a_job_whose_user_left_is_recorded_by_livekit_as_a_success(
    cluster: Cluster, lkapi: api.LiveKitAPI
) -> None:
    await wait_warm(cluster)
    room = room_name("leaver")
    await dispatch_agent(lkapi, cluster, room)
    job = await wait_job(lkapi, room, 30)
    probe = SpeakingProbe()
    try:
        await probe.connect(cluster.livekit_url, mint_token(cluster, room, "leaver"))
        await wait_greeted(probe, 30)
        await converse(probe, cluster, "thanks for the help", 30)
    finally:
        await probe.close()  # the user simply leaves
    left = time.monotonic()
    await wait_until(lambda: _job_ended(cluster, job.job_id), 30, f"LiveKit ending {job.job_id}")
    record = _job_ended(cluster, job.job_id) or ""
    print(
        f"\njob {job.job_id} ended {time.monotonic() - left:.1f} s after the user left: "
        f"{record[record.find('status') :][:60]}"
    )
    assert '"status": "JS_SUCCESS"' in record, record
    assert "agent worker left the room" not in record


async def test_sigterm_drains_the_worker(cluster: Cluster, lkapi: api.LiveKitAPI) -> None:
    await wait_warm(cluster)
    room = room_name("drain")
    await dispatch_agent(lkapi, cluster, room)
    job = await wait_job(lkapi, room, 30)
    worker = cluster.worker_of(job.worker_id)
    assert worker is not None and worker.process is not None
    probe = SpeakingProbe()
    try:
        await probe.connect(cluster.livekit_url, mint_token(cluster, room, "stayer"))
        await wait_greeted(probe, 30)
        worker.signal(signal.SIGTERM)
        termed = time.monotonic()
        await wait_until(
            lambda: "draining worker" in worker.process.output(), 10, "the worker draining"
        )
        # No new jobs for it: the next rooms' jobs go to the others.
        rooms = [room_name("during-drain") for _ in range(2)]
        for other in rooms:
            await dispatch_agent(lkapi, cluster, other)
        takers = [(await wait_job(lkapi, other, 60)).worker_id for other in rooms]
        await _agents_joined(lkapi, rooms)
        await _delete_rooms(lkapi, rooms)
        assert worker.worker_id not in takers, takers
        # The live conversation goes on.
        latency = await converse(probe, cluster, "are you still with me", 30)
        assert worker.process.alive(), "the worker quit with a conversation live"
    finally:
        await probe.close()
    left = time.monotonic()
    code = await asyncio.to_thread(worker.process.proc.wait, 60)
    print(
        f"\n{worker.name} SIGTERMed: took no new job, answered its live user "
        f"{latency:.2f} s after they spoke, exited {code} {time.monotonic() - left:.1f} s "
        f"after the user left ({time.monotonic() - termed:.1f} s after SIGTERM)"
    )
    assert code == 0
    worker.stop()
    worker.start()


async def test_sigterm_with_a_user_who_stays_ends_with_a_spoken_goodbye(
    cluster: Cluster, lkapi: api.LiveKitAPI
) -> None:
    """The user never leaves: near the drain deadline the agent says goodbye and ends the
    job (recorded as a success), and the worker exits 0 before the deadline."""
    worker = cluster.workers[GOODBYE_WORKER]
    assert worker.process is not None
    await wait_warm(cluster)
    room = room_name("goodbye")
    await lkapi.room.create_room(api.CreateRoomRequest(name=room, empty_timeout=60))
    await lkapi.agent_dispatch.create_dispatch(
        api.CreateAgentDispatchRequest(agent_name=GOODBYE_AGENT, room=room)
    )
    job = await wait_job(lkapi, room, 30)
    assert job.worker_id == worker.worker_id
    probe = SpeakingProbe()
    try:
        await probe.connect(cluster.livekit_url, mint_token(cluster, room, "stayer"))
        await wait_greeted(probe, 30)
        worker.signal(signal.SIGTERM)
        termed = time.monotonic()

        def goodbye_said() -> bool:
            return any("have to go now" in t["text"].lower() for t in probe.transcriptions)

        await wait_until(goodbye_said, DRAIN_S, "the spoken goodbye")
        said_s = time.monotonic() - termed
        # Not before its time: the conversation had the drain period minus the window.
        assert said_s >= DRAIN_S - GOODBYE_WINDOW_S - 0.5, said_s
        voiced = probe.agent_voice_after(termed + DRAIN_S - GOODBYE_WINDOW_S - 0.5)
        assert voiced is not None, "the goodbye was written but not spoken"
        code = await asyncio.to_thread(worker.process.proc.wait, DRAIN_S)
        exited_s = time.monotonic() - termed
    finally:
        await probe.close()
    await wait_until(lambda: _job_ended(cluster, job.job_id), 30, f"LiveKit ending {job.job_id}")
    record = _job_ended(cluster, job.job_id) or ""
    print(
        f"\n{worker.name} SIGTERMed with its user staying: goodbye {said_s:.1f} s after "
        f"SIGTERM (window {GOODBYE_WINDOW_S} s of {DRAIN_S} s), exited {code} after "
        f"{exited_s:.1f} s"
    )
    assert code == 0
    assert exited_s < DRAIN_S, "the worker waited out its whole drain: the job did not end"
    assert '"status": "JS_SUCCESS"' in record, record


async def test_kill9_of_the_serving_worker_an_agent_returns_with_the_conversation(
    cluster: Cluster, lkapi: api.LiveKitAPI
) -> None:
    await wait_warm(cluster)
    token = fetch_token(
        cluster.backend_url, {"participant_identity": "ada"}, cluster.management_headers
    )
    room = token["room_name"]
    job = await wait_job_after_join(lkapi, cluster, room, token)
    probe, worker = job
    try:
        await converse(probe, cluster, "my name is ada lovelace", 30)
        await wait_quiet(probe, 30)  # the reply played out: later voice is a new agent's
        old_agents = {
            p.identity
            for p in probe.room.remote_participants.values()
            if p.kind == ParticipantInfo.Kind.AGENT
        }
        killed = time.monotonic()
        worker.kill9()

        def new_agent() -> bool:
            return any(
                p.kind == ParticipantInfo.Kind.AGENT and p.identity not in old_agents
                for p in probe.room.remote_participants.values()
            )

        await wait_until(new_agent, 90, "a new agent joining after the worker was killed")
        joined = time.monotonic() - killed
        await wait_until(
            lambda: probe.agent_voice_after(killed + joined) is not None,
            30,
            "the new agent speaking",
        )
        back = (probe.agent_voice_after(killed + joined) or killed) - killed
        await wait_quiet(probe, 30)  # its greeting
        before = len(cluster.stub.state.chat_requests)
        await converse(probe, cluster, "what is my name", 30)
        asked = cluster.stub.state.chat_requests[before:]
        seen = [str(m.get("content")) for r in asked for m in r.get("messages", [])]
        print(
            f"\n{worker.name} killed (-9) mid-conversation: a new agent joined after "
            f"{joined:.1f} s and spoke after {back:.1f} s; its prompt had the earlier turns: "
            f"{any('ada lovelace' in t for t in seen)}"
        )
        assert any("my name is ada lovelace" in t.lower() for t in seen), seen[-6:]
    finally:
        await probe.close()
        worker.stop()
        worker.start()


async def wait_job_after_join(
    lk: api.LiveKitAPI, cluster: Cluster, room: str, token: dict
) -> tuple[SpeakingProbe, ClusterWorker]:
    """Join with the backend's token (which dispatches the agent), greeted, and its worker."""
    probe = SpeakingProbe()
    await probe.connect(cluster.livekit_url, token["participant_token"])
    try:
        await wait_greeted(probe, 30)
        job = await wait_job(lk, room, 10)
    except BaseException:
        await probe.close()
        raise
    worker = cluster.worker_of(job.worker_id)
    assert worker is not None
    return probe, worker


async def _stored_events(db: asyncpg.Connection, room: str, event: str) -> int:
    return await db.fetchval(
        "SELECT count(*) FROM webhook_events WHERE room_name = $1 AND event = $2", room, event
    )


async def test_a_webhook_delivered_to_both_backends_is_stored_once(
    cluster: Cluster, db: asyncpg.Connection
) -> None:
    room = room_name("dup")
    body = webhook_body("room_started", room=room, room_sid=f"RM_{room}")
    auth = sign_webhook(body, key=cluster.api_key, secret=cluster.api_secret)
    headers = {"content-type": "application/webhook+json", "authorization": auth}
    async with httpx.AsyncClient(timeout=10) as http:
        answers = await asyncio.gather(
            *[
                http.post(f"{b.url}/api/webhooks/livekit", content=body, headers=headers)
                for b in cluster.backends
            ]
        )
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert sorted(a.json()["status"] for a in answers) == ["duplicate", "stored"]
    assert await _stored_events(db, room, "room_started") == 1


async def test_rate_limits_hold_across_both_backends(cluster: Cluster) -> None:
    """One client's token bucket lives in Redis: asking each backend in turn gets no more
    than one bucket's worth. Per-process buckets would answer every request (40 each)."""
    burst, per_second = 40, 120 / 60
    # A client of its own, as the proxy would name it (the backends trust the last hop).
    client = {"x-forwarded-for": f"198.51.100.{uuid.uuid4().int % 250 + 1}"}
    codes: dict[str, Counter[int]] = {b.name: Counter() for b in cluster.backends}
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=10) as http:
        for i in range(2 * burst):
            backend = cluster.backends[i % 2]
            answer = await http.post(f"{backend.url}/api/token", json={}, headers=client)
            codes[backend.name][answer.status_code] += 1
            if answer.status_code == 429:
                assert int(answer.headers["retry-after"]) >= 1
    elapsed = time.monotonic() - started
    granted = sum(c[200] for c in codes.values())
    print(f"\nshared limit: {granted}/{2 * burst} granted in {elapsed:.1f} s; {dict(codes)}")
    assert all(set(c) <= {200, 429} for c in codes.values()), codes
    assert granted <= burst + per_second * elapsed + 1, (granted, elapsed)
    assert all(c[429] for c in codes.values()), f"each backend must refuse some: {codes}"


@pytest.mark.parametrize("victim", [0, 1], ids=["backend-1-down", "backend-2-down"])
async def test_either_backend_down_the_other_serves_everything(
    cluster: Cluster, lkapi: api.LiveKitAPI, db: asyncpg.Connection, victim: int
) -> None:
    down = cluster.backends[victim]
    await wait_warm(cluster)
    down.kill()
    try:
        # Tokens: every request answered, none refused.
        started = time.monotonic()
        codes = Counter()
        for _ in range(20):
            codes[fetch_token_status(cluster)] += 1
        token_s = time.monotonic() - started
        assert codes == {200: 20}, codes

        # A real conversation: LiveKit's webhooks and the agent's history posts both go
        # through the proxy to the surviving backend.
        token = fetch_token(
            cluster.backend_url, {"participant_identity": "survivor"}, cluster.management_headers
        )
        room = token["room_name"]
        probe = SpeakingProbe()
        try:
            await probe.connect(cluster.nodes[victim].ws_url, token["participant_token"])
            await wait_greeted(probe, 30)
            await converse(probe, cluster, "is anyone still there", 30)
            started = time.monotonic()
            await wait_until(
                lambda: db.fetchval(
                    "SELECT count(*) FROM turns WHERE room_name = $1 AND text ILIKE $2",
                    room,
                    "%still there%",
                ),
                30,
                "the agent's turns stored",
                interval=0.2,
            )
            turns_s = time.monotonic() - started
        finally:
            await probe.close()
        await wait_until(
            lambda: _stored_events(db, room, "room_started"), 30, "room_started stored"
        )
        assert await _stored_events(db, room, "room_started") == 1
        print(
            f"\n{down.name} down: 20/20 tokens in {token_s:.2f} s; webhook stored once; "
            f"turn stored {turns_s:.2f} s after the agent's reply"
        )
    finally:
        down.start()


def fetch_token_status(cluster: Cluster) -> int:
    try:
        fetch_token(cluster.backend_url, {})
        return 200
    except Exception as exc:
        return getattr(exc, "code", 0)


async def _room_on(lk: api.LiveKitAPI, cluster: Cluster, room: str) -> LiveKitNode | None:
    """Create ``room`` through the proxy; the node hosting it (None if creation failed)."""
    try:
        await asyncio.wait_for(lk.room.create_room(api.CreateRoomRequest(name=room)), 5)
    except (TimeoutError, api.TwirpError, Exception):
        return None
    return cluster.room_node(room)


@pytest.mark.parametrize("how", ["killed", "cut-off"])
async def test_a_lost_livekit_node_new_rooms_go_to_the_survivor_and_a_participant_rejoins(
    cluster: Cluster, lkapi: api.LiveKitAPI, how: str
) -> None:
    await wait_warm(cluster)
    token = fetch_token(
        cluster.backend_url, {"participant_identity": "rejoiner"}, cluster.management_headers
    )
    room = token["room_name"]
    first = RoomProbe()
    await first.connect(cluster.livekit_url, token["participant_token"])
    try:
        await first.wait_for_agent_voice(30)
    finally:
        await first.close()
    lost = cluster.room_node(room)
    assert lost is not None
    survivor = next(n for n in cluster.nodes if n is not lost)

    lost_at = time.monotonic()
    if how == "killed":
        lost.kill()
    else:
        lost.host.cut()
    try:
        # New rooms: created through the proxy until five in a row land on the survivor.
        in_a_row, first_ok = 0, None
        while in_a_row < 5:
            assert time.monotonic() - lost_at < 60, "new rooms still not on the survivor"
            node = await _room_on(lkapi, cluster, room_name("after"))
            if node is survivor:
                in_a_row += 1
                first_ok = first_ok or time.monotonic() - lost_at
            else:
                in_a_row = 0
        rooms_s = time.monotonic() - lost_at

        # The participant of the lost room rejoins (same room name, fresh token) and gets
        # an agent again, from a worker registered with the survivor.
        again = RoomProbe()
        rejoin = None
        while rejoin is None:
            assert time.monotonic() - lost_at < 90, "rejoin never got an agent"
            token = fetch_token(
                cluster.backend_url,
                {"room_name": room, "participant_identity": "rejoiner"},
                cluster.management_headers,
            )
            try:
                await asyncio.wait_for(
                    again.connect(cluster.livekit_url, token["participant_token"]), 10
                )
                await again.wait_for_agent_voice(30)
                rejoin = time.monotonic() - lost_at
            except (TimeoutError, Exception):
                await again.close()
                again = RoomProbe()
        await again.close()
        assert cluster.room_node(room) is survivor
        print(
            f"\n{lost.name} {how}: first new room on {survivor.name} after {first_ok:.1f} s, "
            f"five in a row after {rooms_s:.1f} s; rejoined participant heard an agent "
            f"{rejoin:.1f} s after the loss"
        )
    finally:
        if how == "killed":
            lost.start(cluster.binary)
        else:
            lost.host.heal()


def _bot_heard_voice(bot: FakeBot, since: float) -> bool:
    return any(c.at >= since and rms(c.pcm) >= 300 for c in bot.received)


async def test_a_meeting_bridge_whose_backend_dies_is_resumed_by_the_other(
    cluster: Cluster, lkapi: api.LiveKitAPI
) -> None:
    """The bot's socket goes through the proxy; when the backend serving it dies, the bot
    reconnects (with backoff, as Meeting BaaS bots do), reaches the other backend, and the
    meeting carries on in the same room, both ways, without being ended."""
    await wait_warm(cluster)
    fake = FakeMeetingBaas(api_key=MEETING_BAAS_KEY, join_step_s=0.2, reconnect_delay=0.5)
    fake.port = MEETING_BAAS_PORT
    await fake.start()
    headers = cluster.management_headers
    down: int | None = None
    try:
        async with httpx.AsyncClient(base_url=cluster.backend_url, timeout=30) as http:
            created = await http.post(
                "/api/meetings",
                json={"meeting_url": "https://zoom.us/j/1234567890", "bot_name": "Parley"},
                headers=headers,
            )
            assert created.status_code == 201, created.text
            meeting = created.json()
            mid, room = meeting["id"], meeting["room_name"]
            bot = fake.bot(meeting["bot_id"])
            await bot.wait_connected(timeout=30)
            joined = time.monotonic()
            await wait_until(lambda: _bot_heard_voice(bot, joined), 60, "the agent's greeting")

            # Kill the backend holding the bot's socket (the proxy chose it: try each).
            for i, backend in enumerate(cluster.backends):
                backend.kill()
                killed = time.monotonic()
                try:
                    await wait_until(lambda: bot.connections >= 2, 5, "the bot reconnecting")
                except AssertionError:
                    backend.start()  # not this one
                    continue
                down = i
                break
            assert down is not None, "no backend's death dropped the bot's socket"
            await bot.wait_connected(timeout=30)
            resumed_s = time.monotonic() - killed

            async def bridge_in_room() -> bool:
                listing = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
                names = {p.identity for p in listing.participants}
                kinds = {p.kind for p in listing.participants}
                return f"meeting-{mid}" in names and ParticipantInfo.Kind.AGENT in kinds

            await wait_until(bridge_in_room, 30, "the bridge and the agent in the room")
            status = (await http.get(f"/api/meetings/{mid}", headers=headers)).json()
            assert status["status"] == "in_call", status["status"]

            # Both ways again: the meeting's question reaches the agent, its answer the bot.
            question = "Parley, what is the capital of France?"
            cluster.stub.set_transcript(question)
            bot.send_speakers([{"name": "Ada", "id": 1, "timestamp": 1.0, "isSpeaking": True}])
            bot.say(speech_pcm(question, 16000))
            await bot.wait_spoken(timeout=30)
            bot.send_speakers([{"name": "Ada", "id": 1, "timestamp": 4.0, "isSpeaking": False}])
            spoken = time.monotonic()
            await wait_until(lambda: _bot_heard_voice(bot, spoken), 60, "the agent's answer")
            answer_s = time.monotonic() - spoken

            # ...and it was the answer to that question (the stub LLM quotes what it heard),
            # written to the meeting's transcript by the resumed bridge.
            async def answered() -> bool:
                got = await http.get(f"/api/meetings/{mid}/transcript", headers=headers)
                return any(
                    t["role"] == "agent" and "capital of france" in t["text"].lower()
                    for t in got.json()["turns"]
                )

            await wait_until(answered, 30, "the agent's answer in the meeting transcript")
            kinds = [e["kind"] for e in status["timeline"]]
            assert "meeting.ended" not in kinds and "room.ended" not in kinds, kinds
            print(
                f"\n{cluster.backends[down].name} killed under a live meeting: bot back on "
                f"the other backend {resumed_s:.1f} s later; answer heard {answer_s:.1f} s "
                f"after the question"
            )
            ended = await http.delete(f"/api/meetings/{mid}", headers=headers)
            assert ended.status_code == 200, ended.text
    finally:
        await fake.stop()
        if down is not None:
            cluster.backends[down].start()
