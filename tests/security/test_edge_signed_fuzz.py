"""Valid signatures around hostile values: a seeded fuzz of LiveKit webhooks and agent turns.

A schema fuzzer cannot sign, so it never gets past the signature check; here every body is
signed with livekit-api's own token (as livekit-server signs) or carries the agent's
token, its values drawn from a hostile pool (extreme and negative integers, calendar
edges, odd unicode, wrong types), and after each write every read that could show it must
still answer without a server error.
"""

from __future__ import annotations

import datetime
import json
import random
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.backend.conftest import AGENT_AUTH, make_settings, post_webhook, running_app

pytestmark = pytest.mark.security

CASES = 100
EVENTS = [
    "room_started",
    "room_finished",
    "participant_joined",
    "participant_left",
    "participant_connection_aborted",
    "track_published",
    "track_unpublished",
    "egress_started",
    "ingress_ended",
    "mystery_event",
]
HOSTILE_INTS = [
    0,
    -1,
    1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    -(2**63),
    253402300800,
    946684799,
    4102444800,
]
HOSTILE_STRINGS = [
    "",
    " ",
    "a" * 300,
    "\u202etxt.exe",
    "名前",
    "🙂" * 50,
    "x\ny",
    "../../etc/passwd",
    "'; DROP TABLE sessions; --",
    "\ud7ff",
]
HOSTILE_TIMES = [
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59.999999Z",
    "1970-01-01T00:00:00Z",
    "2026-01-01T00:00:00",
    "2026-01-01T00:00:00+14:00",
    "2026-02-30T00:00:00Z",
    "yesterday",
    1e20,
    -1,
    None,
]


NOW = int(time.time())
RECENT = datetime.datetime.fromtimestamp(NOW - 60, datetime.UTC).isoformat()


def _pick(rng: random.Random, pool: list[Any], sane: Any = None) -> Any:
    """Half the time a sane value (when one is given), else one from the hostile pool."""
    if sane is not None and rng.random() < 0.5:
        return sane
    return pool[rng.randrange(len(pool))]


def _webhook(rng: random.Random, n: int) -> dict[str, Any]:
    room = {
        "sid": rng.choice(["RM_a", "RM_b", _pick(rng, HOSTILE_STRINGS)[:64] or "RM_c"]),
        "name": rng.choice(["room-a", _pick(rng, HOSTILE_STRINGS)]),
        "creationTime": str(_pick(rng, HOSTILE_INTS, NOW - 100)),
        "metadata": _pick(rng, HOSTILE_STRINGS),
    }
    payload: dict[str, Any] = {
        "event": _pick(rng, EVENTS),
        "id": rng.choice([f"EV_{n}", f"EV_{n % 7}", _pick(rng, HOSTILE_STRINGS)[:100]]),
        "createdAt": str(_pick(rng, HOSTILE_INTS, NOW)),
        "room": room,
    }
    if rng.random() < 0.7:
        payload["participant"] = {
            "sid": f"PA_{n}",
            "identity": _pick(rng, HOSTILE_STRINGS) or "who",
            "name": _pick(rng, HOSTILE_STRINGS),
            "joinedAt": str(_pick(rng, HOSTILE_INTS, NOW - 50)),
            "kind": rng.choice(["STANDARD", "AGENT", "SIP", 7, "NOPE"]),
        }
    if rng.random() < 0.2:
        payload["roomEndReason"] = rng.choice(["ROOM_DELETED", 99, "???"])
    return payload


def _turn(rng: random.Random, n: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "turn_id": f"fuzz:{n % 40}",
        "room_name": rng.choice(["room-a", "room-b"]),
        "room_sid": rng.choice([None, "RM_a", "RM_b"]),
        "speaker_identity": rng.choice(["alice", _pick(rng, HOSTILE_STRINGS)]),
        "role": _pick(rng, ["narrator", 1, None], rng.choice(["user", "agent"])),
        "text": _pick(rng, HOSTILE_STRINGS) or "hi",
        "started_at": _pick(rng, HOSTILE_TIMES, RECENT),
        "ended_at": _pick(rng, HOSTILE_TIMES, RECENT),
    }
    if rng.random() < 0.3:
        body["latency"] = {"e2e": rng.choice([0.5, -1, 1e308, "slow"])}
    return {k: v for k, v in body.items() if v is not None}


async def _reads(c: httpx.AsyncClient) -> None:
    for path, params in (
        ("/api/sessions", {}),
        ("/api/sessions/RM_a", {}),
        ("/api/sessions/RM_a/events", {}),
        ("/api/sessions/RM_b/transcript", {}),
        ("/api/agent/context", {"room_name": "room-a"}),
        ("/api/agent/context", {"participant_identity": "alice"}),
    ):
        resp = await c.get(path, params=params, headers=AGENT_AUTH)
        assert resp.status_code < 500, (path, resp.status_code, resp.text[:300])


async def test_signed_hostile_writes_never_break_a_read(tmp_path: Path) -> None:
    rng = random.Random(20261201)
    statuses: dict[int, int] = {}
    async with running_app(make_settings(tmp_path)) as c:
        for n in range(CASES):
            if n % 2:
                resp = await post_webhook(c, json.dumps(_webhook(rng, n)))
            else:
                resp = await c.post("/api/agent/turns", json=_turn(rng, n), headers=AGENT_AUTH)
            assert resp.status_code < 500, (n, resp.status_code, resp.text[:300])
            assert "error" in resp.json() or resp.status_code in (200, 201)
            statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
            if n % 10 == 9:
                await _reads(c)
        await _reads(c)
    # The pool is hostile, not hopeless: some writes are accepted and some refused.
    assert statuses.get(422, 0) > 0 and (statuses.get(200, 0) + statuses.get(201, 0)) > 0
