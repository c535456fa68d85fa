"""``POST /api/webhooks/livekit``: signed events from the LiveKit server, stored once.

The server signs each delivery with a JWT (issuer = its webhook API key) whose ``sha256``
claim is the body's hash; livekit-api's ``WebhookReceiver`` checks both. Nothing is
stored unless that check passes, and a redelivered event id is acknowledged but not
stored again.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from livekit import api

from parley_backend import history_store, redispatch
from parley_backend.access_policy import LiveKitCaller
from parley_backend.errors import ApiError
from parley_backend.observability import Metrics
from parley_backend.schemas import ErrorBody, epoch_in_range

logger = logging.getLogger("parley.backend.webhooks")
router = APIRouter(tags=["webhooks"])


def _check_times(event: api.WebhookEvent) -> None:
    """Signed is not sane: every time we store must be a usable UTC instant (0 = absent)."""
    for name, value in (
        ("createdAt", event.created_at),
        ("room.creationTime", event.room.creation_time),
        ("participant.joinedAt", event.participant.joined_at),
    ):
        if value and not epoch_in_range(float(value)):
            raise ApiError(
                422,
                "validation_error",
                f"webhook {name} is not a plausible UNIX time",
                {"field": name, "value": str(value)[:32]},
            )


@router.post(
    "/api/webhooks/livekit",
    summary="LiveKit server webhooks (signed; idempotent by event id)",
    responses={
        400: {"model": ErrorBody, "description": "Verified but not a usable event"},
        401: {"model": ErrorBody, "description": "Signature, key or body hash is wrong"},
        413: {"model": ErrorBody, "description": "Body too large"},
        422: {"model": ErrorBody, "description": "Verified, but a time is out of range"},
    },
)
async def livekit_webhook(request: Request, _caller: LiveKitCaller) -> dict[str, object]:
    metrics: Metrics = request.app.state.metrics
    receiver: api.WebhookReceiver = request.app.state.webhook_receiver
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        auth = auth[7:]
    if not auth:
        metrics.webhook_events.labels("unknown", "rejected").inc()
        raise ApiError(401, "unauthorized", "missing webhook signature (Authorization header)")
    # The edge middleware (http_edges) cuts the body at its limit while it streams in.
    raw = await request.body()
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        metrics.webhook_events.labels("unknown", "rejected").inc()
        raise ApiError(401, "unauthorized", "webhook body is not UTF-8, cannot verify") from exc
    try:
        # Checks the JWT signature, issuer (API key) and expiry, then the body's hash.
        event = receiver.receive(body, auth)
    except Exception as exc:
        metrics.webhook_events.labels("unknown", "rejected").inc()
        logger.warning("webhook rejected: %s: %s", type(exc).__name__, exc)
        raise ApiError(401, "unauthorized", "webhook signature or body hash is invalid") from exc
    if not event.id or not event.event:
        raise ApiError(400, "bad_request", "webhook event has no id or type")
    _check_times(event)
    result = await history_store.ingest_webhook(request.app.state.engine, event, body)
    outcome = "stored" if result.stored else "duplicate"
    if result.stored:  # an agent lost mid-conversation is dispatched again
        redispatch.schedule(request.app.state.livekit, event, request.app.state.settings.agent_name)
    metrics.webhook_events.labels(event.event, outcome).inc()
    logger.info(
        "webhook %s %s",
        event.event,
        outcome,
        extra={
            "event_id": event.id,
            "room": event.room.name or None,
            "session_id": result.session_id,
        },
    )
    return {"status": outcome, "event_id": event.id}
