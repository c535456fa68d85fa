"""The access policy: who is calling, which rooms it may join, which identities it may hold
and which agent settings it may choose. Every route declares its caller kind here.

Caller kinds (docs/security.md has the table):

- ``anonymous``: no key, on a token endpoint the operator opened (development default);
- ``token_key``: a key from ``PARLEY_TOKEN_API_KEYS`` (a frontend team's server);
- ``management``: a key from ``PARLEY_API_KEYS`` (or, in development with no keys, a
  loopback client);
- ``agent``: the worker, with ``PARLEY_AGENT_TOKEN``;
- ``livekit``: the LiveKit server, proven by the webhook signature (checked with the body
  in the route);
- ``meeting_baas``: the meeting bot service, proven by the per-meeting secret or the Svix
  signature (checked in the route, which needs the meeting row or the raw body).

Routes take one of the ``Annotated`` aliases below (``ManagementCaller``, ...) or list the
matching dependency; tests/security/test_policy_routes.py fails for a route without one.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute
from livekit import api
from starlette.requests import HTTPConnection

from parley_backend.auth import matches_any, presented_keys
from parley_backend.errors import ApiError
from parley_backend.invites import InviteError, invite_key, verify_invite
from parley_backend.livekit_service import livekit_errors
from parley_backend.settings import BackendSettings
from parley_backend.validation import new_identity, new_room_name
from parley_common.access import (
    CALLER_ANONYMOUS,
    CALLER_ATTRIBUTE,
    CALLER_KEY,
    CALLER_MANAGEMENT,
    CallerAttribute,
    is_meeting_room,
    is_reserved_identity,
)
from parley_common.agent_config import NEVER_PUBLIC_FIELDS, AgentConfig

logger = logging.getLogger("parley.backend.access")

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class CallerKind(StrEnum):
    ANONYMOUS = "anonymous"
    TOKEN_KEY = "token_key"
    MANAGEMENT = "management"
    AGENT = "agent"
    LIVEKIT = "livekit"
    MEETING_BAAS = "meeting_baas"


PUBLIC_KINDS = frozenset({CallerKind.ANONYMOUS, CallerKind.TOKEN_KEY})


@dataclass(frozen=True)
class Caller:
    kind: CallerKind
    # Short hash of the verified key (never the key): what the caller is counted by.
    key_id: str | None = None

    @property
    def is_public(self) -> bool:
        return self.kind in PUBLIC_KINDS

    @property
    def attribute(self) -> CallerAttribute:
        """The ``parley.caller`` attribute signed into this caller's participant tokens."""
        if self.kind == CallerKind.MANAGEMENT:
            return CALLER_MANAGEMENT
        return CALLER_KEY if self.kind == CallerKind.TOKEN_KEY else CALLER_ANONYMOUS


def _key_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _settings(conn: HTTPConnection) -> BackendSettings:
    settings: BackendSettings = conn.app.state.settings
    return settings


def _unauthorized(message: str = "a valid API key is required") -> ApiError:
    return ApiError(401, "unauthorized", message, headers=_CHALLENGE)


# --------------------------------------------------------------------------- loopback


_FORWARD_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded")


def _loopback(host: str) -> bool:
    host = host.strip().strip('"[]')
    if host.lower().startswith("for="):
        host = host[4:].strip('"[]')
    try:
        return ipaddress.ip_address(host.rsplit("%", 1)[0]).is_loopback
    except ValueError:
        return False


def is_loopback_client(conn: HTTPConnection) -> bool:
    """The peer is this machine and no proxy header says the request came from elsewhere
    (headers can only make this stricter: a client that adds one only locks itself out)."""
    if conn.client is None or not _loopback(conn.client.host):
        return False
    for name in _FORWARD_HEADERS:
        value = conn.headers.get(name)
        if value is None:
            continue
        hops = (
            [h.split(";")[0] for h in value.split(",")] if name == "forwarded" else value.split(",")
        )
        if not all(_loopback(h) for h in hops):
            return False
    return True


def management_open(settings: BackendSettings) -> bool:
    """Development with no management keys: the management API is open to loopback only."""
    return settings.environment == "development" and not settings.api_key_set


# --------------------------------------------------------------------------- dependencies

PolicyDependency = Callable[[HTTPConnection], Awaitable[Caller]]


def _declares(*kinds: CallerKind) -> Callable[[PolicyDependency], PolicyDependency]:
    def mark(func: PolicyDependency) -> PolicyDependency:
        func.caller_kinds = frozenset(kinds)  # type: ignore[attr-defined]
        return func

    return mark


def _verified(conn: HTTPConnection, allowed: frozenset[str]) -> str | None:
    """The first presented key, if every presented key is in ``allowed``.

    All of them, not any: a request that carries one good key and one invented one is
    refused, so nothing downstream (rate limits, logs) can ever act on an unverified key.
    """
    keys = presented_keys(conn)
    if not keys or not allowed or not all(matches_any(k, allowed) for k in keys):
        return None
    return keys[0]


@_declares(CallerKind.MANAGEMENT)
async def management_caller(conn: HTTPConnection) -> Caller:
    """Management routes: a ``PARLEY_API_KEYS`` key; open to loopback in keyless dev."""
    settings = _settings(conn)
    if management_open(settings):
        if is_loopback_client(conn):
            return Caller(CallerKind.MANAGEMENT)
        raise _unauthorized(
            "the keyless development API answers loopback clients only; set PARLEY_API_KEYS"
        )
    key = _verified(conn, settings.api_key_set)
    if key is None:
        raise _unauthorized()
    return Caller(CallerKind.MANAGEMENT, _key_id(key))


@_declares(CallerKind.ANONYMOUS, CallerKind.TOKEN_KEY, CallerKind.MANAGEMENT)
async def token_caller(conn: HTTPConnection) -> Caller:
    """``POST /api/token``: anonymous (when the endpoint is open), a token key or a
    management key. A key that is presented but matches nothing is refused, open or not."""
    settings = _settings(conn)
    presented = presented_keys(conn)
    if presented:
        key = _verified(conn, settings.token_key_set)  # management keys are in it too
        if key is None:
            raise _unauthorized("the API key is not valid")
        if any(matches_any(k, settings.api_key_set) for k in presented):
            return Caller(CallerKind.MANAGEMENT, _key_id(key))
        return Caller(CallerKind.TOKEN_KEY, _key_id(key))
    if settings.token_endpoint_open:
        return Caller(CallerKind.ANONYMOUS)
    raise _unauthorized()


@_declares(CallerKind.AGENT)
async def agent_caller(conn: HTTPConnection) -> Caller:
    """The agent API: ``Authorization: Bearer <PARLEY_AGENT_TOKEN>``."""
    if _verified(conn, frozenset({_settings(conn).agent_token})) is None:
        raise _unauthorized("a valid agent token is required")
    return Caller(CallerKind.AGENT)


@_declares(CallerKind.ANONYMOUS)
async def anonymous_caller(conn: HTTPConnection) -> Caller:
    """Routes anyone may call (liveness, readiness, the bundled web page)."""
    return Caller(CallerKind.ANONYMOUS)


@_declares(CallerKind.LIVEKIT)
async def livekit_caller(conn: HTTPConnection) -> Caller:
    """The LiveKit webhook: the route verifies the signature against the body it reads."""
    return Caller(CallerKind.LIVEKIT)


@_declares(CallerKind.MEETING_BAAS)
async def meeting_baas_caller(conn: HTTPConnection) -> Caller:
    """Meeting BaaS: the route checks the per-meeting secret or the Svix signature."""
    return Caller(CallerKind.MEETING_BAAS)


ManagementCaller = Annotated[Caller, Depends(management_caller)]
TokenCaller = Annotated[Caller, Depends(token_caller)]
AgentCaller = Annotated[Caller, Depends(agent_caller)]
AnonymousCaller = Annotated[Caller, Depends(anonymous_caller)]
LiveKitCaller = Annotated[Caller, Depends(livekit_caller)]
MeetingBaasCaller = Annotated[Caller, Depends(meeting_baas_caller)]


@dataclass(frozen=True)
class RoutePolicy:
    path: str
    methods: frozenset[str]
    kinds: frozenset[CallerKind]


def route_policies(app: FastAPI) -> list[RoutePolicy]:
    """Every API and WebSocket route of ``app`` with the caller kinds it declares (empty:
    none, which tests/security/test_policy_routes.py refuses). FastAPI's own documentation
    routes and static mounts are not API routes and are not listed."""
    found: list[RoutePolicy] = []
    for route in app.routes:
        # FastAPI keeps included routers as branches that expand into route contexts.
        expand = getattr(route, "effective_route_contexts", None)
        for ctx in expand() if expand is not None else [route]:
            original = getattr(ctx, "original_route", ctx)
            if not isinstance(original, APIRoute | APIWebSocketRoute):
                continue
            dependant = getattr(ctx, "dependant", None) or original.dependant
            methods = frozenset(getattr(ctx, "methods", None) or {"WEBSOCKET"})
            path = getattr(ctx, "path", "") or original.path
            found.append(RoutePolicy(path, methods, frozenset(declared_kinds(dependant))))
    return found


def declared_kinds(dependant: Any) -> set[CallerKind]:
    """The caller kinds a route's dependency tree declares (for the route audit)."""
    found: set[CallerKind] = set()
    stack = list(dependant.dependencies)
    while stack:
        dep = stack.pop()
        found |= getattr(dep.call, "caller_kinds", frozenset())
        stack.extend(dep.dependencies)
    return found


# --------------------------------------------------------------------------- agent_config


def _forbidden_field(field: str, why: str) -> ApiError:
    return ApiError(
        403,
        "forbidden",
        f"agent_config.{field} {why}",
        {"field": f"agent_config.{field}"},
    )


def agent_config_for(
    caller: Caller, requested: AgentConfig | None, settings: BackendSettings
) -> AgentConfig:
    """What the agent will be told: the caller's request checked against the allowlist,
    with a named preset expanded (fields the caller set win over the preset's)."""
    requested = requested or AgentConfig()
    named = requested.fields_set()
    if caller.is_public:
        allowed = settings.public_agent_field_set - NEVER_PUBLIC_FIELDS
        for field in sorted(named - allowed):
            raise _forbidden_field(field, "is chosen by the operator, not by a public caller")
    if requested.preset is None:
        return requested
    preset = settings.presets.get(requested.preset)
    if preset is None:
        raise ApiError(
            422,
            "validation_error",
            f"unknown preset {requested.preset!r}",
            {"field": "agent_config.preset", "known": sorted(settings.presets)},
        )
    merged = {
        **preset.model_dump(exclude_unset=True),
        **requested.model_dump(exclude_unset=True),
    }
    return AgentConfig.model_validate(merged)


# --------------------------------------------------------------------------- joining rooms


@dataclass(frozen=True)
class JoinRequest:
    room_name: str | None
    identity: str | None
    invite: str | None


@dataclass(frozen=True)
class JoinGrant:
    room_name: str
    identity: str
    attributes: dict[str, str]
    invited: bool


def _forbidden(field: str, message: str) -> ApiError:
    return ApiError(403, "forbidden", message, {"field": field})


def _invite_room(settings: BackendSettings, text: str) -> str:
    key = invite_key(settings.invite_secret, settings.livekit_api_secret)
    try:
        invite = verify_invite(key, text)
    except InviteError as exc:
        raise _forbidden("invite", str(exc)) from None
    if is_meeting_room(invite.room_name):  # never minted; refuse even a forged-valid one
        raise _forbidden("invite", "meeting rooms do not accept invites")
    return invite.room_name


def check_identity_allowed(identity: str) -> None:
    """Reserved prefixes belong to the bridge, the agents and the backend's helpers."""
    if is_reserved_identity(identity):
        raise _forbidden(
            "participant_identity",
            f"identity {identity!r} uses a reserved prefix (bridge, agent or backend)",
        )


async def ensure_identity_free(lkapi: api.LiveKitAPI, room_name: str, identity: str) -> None:
    """409 when a live participant of ``room_name`` already holds ``identity`` (LiveKit
    would evict it for the newcomer)."""
    try:
        async with livekit_errors("get participant"):
            await lkapi.room.get_participant(
                api.RoomParticipantIdentity(room=room_name, identity=identity)
            )
    except ApiError as exc:
        if exc.status == 404:  # no such participant (or no such room): free
            return
        raise
    raise ApiError(
        409,
        "conflict",
        f"identity {identity!r} is already in room {room_name!r}",
        {"field": "participant_identity"},
    )


async def grant_join(
    caller: Caller, request: JoinRequest, settings: BackendSettings, lkapi: api.LiveKitAPI
) -> JoinGrant:
    """Which room and identity a token caller gets (or a 403/409 saying why not).

    Public callers get a fresh server-named room, or the room of a valid invite, and always
    a backend-assigned identity. Management callers may name both (meeting rooms too), but
    never a reserved identity, nor one a live participant of that room holds.
    """
    invited = request.invite is not None
    if request.invite is not None:
        room = _invite_room(settings, request.invite)
        if request.room_name is not None and request.room_name != room:
            raise _forbidden("room_name", "room_name differs from the invite's room")
    elif request.room_name is not None:
        if caller.kind != CallerKind.MANAGEMENT:
            raise _forbidden(
                "room_name",
                "naming a room needs a management key or an invite; leave room_name out "
                "to get a new room",
            )
        room = request.room_name
    else:
        room = new_room_name()
    if request.identity is not None:
        if caller.kind != CallerKind.MANAGEMENT:
            raise _forbidden(
                "participant_identity",
                "identities are assigned by the backend; use participant_name for a display name",
            )
        check_identity_allowed(request.identity)
        await ensure_identity_free(lkapi, room, request.identity)
        identity = request.identity
    else:
        identity = new_identity()  # 48 random bits: unique among live participants
    return JoinGrant(
        room_name=room,
        identity=identity,
        attributes={CALLER_ATTRIBUTE: caller.attribute},
        invited=invited,
    )


def invite_ttl(settings: BackendSettings, requested: int | None) -> datetime.timedelta:
    return datetime.timedelta(seconds=requested or settings.invite_ttl_seconds)
