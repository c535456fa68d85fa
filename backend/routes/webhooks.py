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

from parley_backend import history_store
from parley_backend.access_policy import LiveKitCaller
from parley_backend.errors import ApiError
from parley_backend.observability import Metrics
from parley_backend.schemas import ErrorBody

logger = logging.getLogger("parley.backend.webhooks")
router = APIRouter(tags=["webhooks"])

MAX_WEBHOOK_BYTES = 1024 * 1024


@router.post(
    "/api/webhooks/livekit",
    summary="LiveKit server webhooks (signed; idempotent by event id)",
    responses={
        400: {"model": ErrorBody, "description": "Verified but not a usable event"},
        401: {"model": ErrorBody, "description": "Signature, key or body hash is wrong"},
        413: {"model": ErrorBody, "description": "Body too large"},
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
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
        raise ApiError(413, "payload_too_large", f"webhook body over {MAX_WEBHOOK_BYTES} bytes")
    raw = await request.body()
    if len(raw) > MAX_WEBHOOK_BYTES:
        raise ApiError(413, "payload_too_large", f"webhook body over {MAX_WEBHOOK_BYTES} bytes")
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
    result = await history_store.ingest_webhook(request.app.state.engine, event, body)
    outcome = "stored" if result.stored else "duplicate"
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
