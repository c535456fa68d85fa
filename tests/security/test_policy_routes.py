"""Every route declares its caller kind through the access policy, and each kind holds.

The walk fails for a route added without a policy dependency, and for a management route
that quietly became public; then every management route is called without a key, with an
invented one, from a remote address in keyless development and through a proxy header.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from parley_backend.access_policy import CallerKind, route_policies
from parley_backend.app import create_app
from tests.backend.conftest import AGENT_TOKEN, make_settings, running_app

pytestmark = pytest.mark.security

K = CallerKind
PUBLIC = frozenset({K.ANONYMOUS, K.TOKEN_KEY, K.MANAGEMENT})
# What each route must declare: the first pattern that matches the path decides.
EXPECTED: list[tuple[str, frozenset[CallerKind]]] = [
    (r"^/api/token$", PUBLIC),
    (r"^/api/capabilities$", frozenset({K.ANONYMOUS})),
    (r"^/api/agent/", frozenset({K.AGENT})),
    (r"^/api/webhooks/livekit$", frozenset({K.LIVEKIT})),
    (r"^/api/webhooks/meeting-baas$", frozenset({K.MEETING_BAAS})),
    (r"^/api/meetings/\{meeting_id\}/callback$", frozenset({K.MEETING_BAAS})),
    (r"^/ws/meetings/", frozenset({K.MEETING_BAAS})),
    (r"^/api/(rooms|sessions|meetings)", frozenset({K.MANAGEMENT})),
    (r"^/(health|ready|metrics|)$", frozenset({K.ANONYMOUS})),
]
MANAGEMENT_CALLS = [
    ("GET", "/api/rooms"),
    ("POST", "/api/rooms"),
    ("GET", "/api/rooms/r1"),
    ("DELETE", "/api/rooms/r1"),
    ("POST", "/api/rooms/r1/dispatches"),
    ("GET", "/api/rooms/r1/dispatches"),
    ("DELETE", "/api/rooms/r1/dispatches/d1"),
    ("POST", "/api/rooms/r1/invites"),
    ("GET", "/api/sessions"),
    ("GET", "/api/sessions/RM_x"),
    ("GET", "/api/sessions/RM_x/events"),
    ("GET", "/api/sessions/RM_x/transcript"),
    ("POST", "/api/meetings"),
    ("GET", "/api/meetings"),
    ("GET", "/api/meetings/0123456789abcdef"),
    ("DELETE", "/api/meetings/0123456789abcdef"),
    ("POST", "/api/meetings/0123456789abcdef/ask"),
    ("GET", "/api/meetings/0123456789abcdef/transcript"),
]


def _expected(path: str) -> frozenset[CallerKind] | None:
    return next((kinds for pattern, kinds in EXPECTED if re.search(pattern, path)), None)


def test_every_route_declares_the_expected_caller_kind(tmp_path: Path) -> None:
    policies = route_policies(create_app(make_settings(tmp_path)))
    assert len(policies) >= 30, "the walk found too few routes: is it still walking them?"
    problems = []
    for policy in policies:
        expected = _expected(policy.path)
        if not policy.kinds:
            problems.append(f"{sorted(policy.methods)} {policy.path}: no access policy")
        elif expected is None:
            problems.append(f"{policy.path}: new route, add it to EXPECTED")
        elif policy.kinds != expected:
            problems.append(
                f"{policy.path}: declares {sorted(policy.kinds)}, not {sorted(expected)}"
            )
    assert not problems, "\n".join(problems)
    covered = {p.path for p in policies}
    for _, path in MANAGEMENT_CALLS:
        template = re.sub(r"/(r1|d1|RM_x|0123456789abcdef)(?=/|$)", "/{x}", path)
        assert any(re.sub(r"\{[^}]+\}", "{x}", c) == template for c in covered), path


def _assert_refused(resp: httpx.Response) -> None:
    assert resp.status_code == 401, (resp.request.method, resp.request.url, resp.text)
    assert resp.json()["error"]["code"] == "unauthorized"


async def test_management_routes_refuse_missing_and_invented_keys(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PARLEY_API_KEYS="mgmt-key", PARLEY_TOKEN_API_KEYS="tk")
    async with running_app(settings) as c:
        for method, path in MANAGEMENT_CALLS:
            for headers in (
                {},
                {"X-API-Key": "invented"},
                {"Authorization": "Bearer tk"},  # a token-endpoint key is no management key
                {"Authorization": f"Bearer {AGENT_TOKEN}"},  # nor is the agent's token
                {"X-API-Key": "mgmt-key", "Authorization": "Bearer invented"},  # one bad
            ):
                _assert_refused(await c.request(method, path, headers=headers, json={}))
            ok = await c.request(method, path, headers={"X-API-Key": "mgmt-key"}, json={})
            # Past the policy. No LiveKit server runs here: routes that need one say 502.
            assert ok.status_code not in (401, 403), ok.text
            assert ok.status_code < 500 or ok.json()["error"]["code"] == "upstream_error"


REMOTE = [
    ("203.0.113.7", {}),
    ("10.0.0.5", {}),
    ("::ffff:198.51.100.1", {}),
    ("127.0.0.1", {"X-Forwarded-For": "198.51.100.9"}),
    ("127.0.0.1", {"X-Forwarded-For": "127.0.0.1, 198.51.100.9"}),
    ("127.0.0.1", {"X-Real-IP": "198.51.100.9"}),
    ("127.0.0.1", {"Forwarded": 'for="[2001:db8::1]";proto=https'}),
]


def _from(c: httpx.AsyncClient, host: str) -> httpx.AsyncClient:
    """Another client on the same running app, from another address."""
    transport = httpx.ASGITransport(app=c.app, client=(host, 40000))  # type: ignore[attr-defined]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_keyless_development_answers_loopback_only(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as local:
        for host, headers in REMOTE:
            async with _from(local, host) as c:
                for method, path in MANAGEMENT_CALLS[:3] + MANAGEMENT_CALLS[8:10]:
                    resp = await c.request(method, path, headers=headers, json={})
                    _assert_refused(resp)
                    assert "loopback" in resp.json()["error"]["message"]
        for host in ("127.0.0.1", "::1"):
            async with _from(local, host) as c:
                resp = await c.get("/api/sessions", headers={"X-Forwarded-For": "127.0.0.1"})
                assert resp.status_code == 200, resp.text


async def test_production_management_never_open(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PARLEY_ENV="production", PARLEY_API_KEYS="mgmt-key")
    async with running_app(settings) as c:
        _assert_refused(await c.get("/api/sessions"))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-the-agent"},
        {"X-API-Key": "mgmt-key"},  # a management key is not the agent
        {"Authorization": f"Bearer {AGENT_TOKEN}", "X-API-Key": "invented"},
    ],
)
async def test_agent_api_takes_only_the_agent_token(
    tmp_path: Path, headers: dict[str, str]
) -> None:
    async with running_app(make_settings(tmp_path, PARLEY_API_KEYS="mgmt-key")) as c:
        _assert_refused(await c.get("/api/agent/context?room_name=r1", headers=headers))
