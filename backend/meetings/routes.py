"""The meetings API, the bot's callback, the Svix account webhook and the bridge socket."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, WebSocket
from pydantic import BaseModel, ConfigDict, Field
from svix.webhooks import Webhook, WebhookVerificationError

from parley_backend.access_policy import (
    MeetingBaasCaller,
    agent_caller,
    management_caller,
)
from parley_backend.errors import ApiError
from parley_backend.meetings import store
from parley_backend.meetings.baas_client import MeetingBaasClient
from parley_backend.meetings.livekit_rooms import LiveKitAccess
from parley_backend.meetings.platforms import MeetingUrlError, detect_platform
from parley_backend.meetings.service import MeetingService
from parley_backend.settings import BackendSettings
from parley_common.agent_config import AgentConfig
from parley_common.wire import (
    IDEMPOTENCY_HEADER,
    MAX_CHAT_POST_CHARS,
    MAX_QUESTION_CHARS,
    MEETING_CHAT_PATH,
    MeetingChatPost,
    MeetingChatReply,
)

logger = logging.getLogger("parley.meetings.routes")

MeetingId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="meeting id")]
MAX_CALLBACK_BYTES = 1024 * 1024
_SECRET_IN_PATH = re.compile(r"(/ws/meetings/[^/\s\"]+/)[^\s\"?]+")


class _RedactStreamSecret(logging.Filter):
    """uvicorn logs WebSocket paths; the per-meeting secret in them must not reach logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        if "/ws/meetings/" in message:
            record.msg, record.args = _SECRET_IN_PATH.sub(r"\1***", message), ()
        return True


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: BackendSettings = app.state.settings
    redact = _RedactStreamSecret()
    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(redact)
    client = None
    if settings.meeting_baas_api_key:
        client = MeetingBaasClient(settings.meeting_baas_api_key, settings.meeting_baas_base_url)
    access = LiveKitAccess(
        settings.livekit_url,
        settings.livekit_api_key,
        settings.livekit_api_secret,
        settings.agent_name,
    )
    service = MeetingService(app.state.engine, settings, client, access)
    app.state.meetings = service
    await service.resume()
    try:
        yield
    finally:
        await service.close()
        for name in ("uvicorn.error", "uvicorn.access"):
            logging.getLogger(name).removeFilter(redact)


router = APIRouter(tags=["meetings"], lifespan=_lifespan)


def _service(request: Request) -> MeetingService:
    service: MeetingService = request.app.state.meetings
    return service


class CreateMeeting(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    meeting_url: str = Field(min_length=1, max_length=2048)
    bot_name: str | None = Field(default=None, min_length=1, max_length=255)
    agent_config: AgentConfig | None = None


class AskBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)


def _with_timeline(row: dict[str, Any], timeline: list[dict[str, Any]]) -> dict[str, Any]:
    return {**store.public_meeting(row), "timeline": timeline}


@router.post(
    "/api/meetings",
    status_code=201,
    dependencies=[Depends(management_caller)],
    summary="Send the agent into a Zoom, Google Meet or Teams meeting",
)
async def create_meeting(body: CreateMeeting, request: Request) -> dict[str, Any]:
    try:
        platform = detect_platform(body.meeting_url)
    except MeetingUrlError as exc:
        raise ApiError(422, "invalid_meeting_url", str(exc)) from None
    service = _service(request)
    row = await service.create(
        meeting_url=body.meeting_url,
        platform=platform,
        bot_name=body.bot_name,
        agent_config=body.agent_config,
        request_base_url=str(request.base_url),
    )
    return _with_timeline(row, await store.timeline(service.engine, row["id"]))


@router.get("/api/meetings", dependencies=[Depends(management_caller)], summary="List meetings")
async def list_meetings(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    rows = await store.list_meetings(_service(request).engine, limit, offset)
    return {"meetings": [store.public_meeting(r) for r in rows]}


@router.get(
    "/api/meetings/{meeting_id}",
    dependencies=[Depends(management_caller)],
    summary="One meeting with its timeline",
)
async def get_meeting(meeting_id: MeetingId, request: Request) -> dict[str, Any]:
    service = _service(request)
    row = await service.get(meeting_id)
    return _with_timeline(row, await store.timeline(service.engine, meeting_id))


@router.delete(
    "/api/meetings/{meeting_id}",
    dependencies=[Depends(management_caller)],
    summary="The bot leaves, the bridge ends, the room closes",
)
async def delete_meeting(meeting_id: MeetingId, request: Request) -> dict[str, Any]:
    service = _service(request)
    row = await service.leave(meeting_id)
    return _with_timeline(row, await store.timeline(service.engine, meeting_id))


@router.post(
    "/api/meetings/{meeting_id}/ask",
    dependencies=[Depends(management_caller)],
    summary="Have the agent put a question to the meeting (RPC parley.ask)",
)
async def ask(meeting_id: MeetingId, body: AskBody, request: Request) -> dict[str, Any]:
    reply = await _service(request).ask(meeting_id, body.question)
    return {"ok": bool(reply.get("ok", True)), "reply": reply}


@router.get(
    "/api/meetings/{meeting_id}/transcript",
    dependencies=[Depends(management_caller)],
    summary="What was said, speaker-attributed",
)
async def transcript(meeting_id: MeetingId, request: Request) -> dict[str, Any]:
    return await _service(request).transcript(meeting_id)


class ChatBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    message: str = Field(min_length=1, max_length=MAX_CHAT_POST_CHARS)


_CHAT_ERRORS = {
    "chat_disabled": (422, "chat_disabled", "the host has disabled chat in this meeting"),
    "not_in_call": (409, "bot_not_in_call", "the bot is not in the call, it cannot chat"),
    "failed": (502, "chat_send_failed", "Meeting BaaS could not deliver the message"),
}


@router.get(
    "/api/meetings/{meeting_id}/chat",
    dependencies=[Depends(management_caller)],
    summary="The meeting chat, both ways (participants' messages and the bot's)",
)
async def chat_log(meeting_id: MeetingId, request: Request) -> dict[str, Any]:
    return {"messages": await _service(request).chat_log(meeting_id)}


@router.post(
    "/api/meetings/{meeting_id}/chat",
    dependencies=[Depends(management_caller)],
    summary="Post to the meeting chat as the bot (split into 500-character messages)",
)
async def post_chat(meeting_id: MeetingId, body: ChatBody, request: Request) -> dict[str, Any]:
    key = request.headers.get(IDEMPOTENCY_HEADER) or secrets.token_hex(8)
    if not re.fullmatch(r"[A-Za-z0-9_.:@/-]{1,200}", key):
        raise ApiError(422, "validation_error", f"{IDEMPOTENCY_HEADER} must be 1-200 id characters")
    result = await _service(request).send_chat(meeting_id, body.message, f"console:{key}")
    if result.status != "sent":
        status, code, message = _CHAT_ERRORS[result.status]
        details = {"parts": result.parts, "sent": result.sent, "meeting_baas": result.detail}
        raise ApiError(status, code, message, details)
    return {"ok": True, "parts": result.parts, "sent": result.sent}


agent_chat_router = APIRouter(tags=["agent"], dependencies=[Depends(agent_caller)])


@agent_chat_router.post(
    MEETING_CHAT_PATH,
    response_model=MeetingChatReply,
    summary="The agent writes to its meeting's chat (idempotent by message_id)",
)
async def agent_chat(body: MeetingChatPost, request: Request) -> MeetingChatReply:
    service = _service(request)
    row = await store.get_meeting_by_room(service.engine, body.room_name)
    if row is None:
        raise ApiError(404, "not_found", f"room {body.room_name} is not a meeting's")
    result = await service.send_chat(row["id"], body.text, f"agent:{body.message_id}")
    logger.info(
        "agent chat %s (%d/%d parts)",
        result.status,
        result.sent,
        result.parts,
        extra={"meeting_id": row["id"], "room": body.room_name},
    )
    return MeetingChatReply(status=result.status, parts=result.parts, sent=result.sent)


async def _limited_body(request: Request) -> bytes:
    """The body, refusing to buffer more than ``MAX_CALLBACK_BYTES`` (these routes are
    reachable without an API key)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_CALLBACK_BYTES:
            raise ApiError(413, "payload_too_large", "body too large")
        chunks.append(chunk)
    return b"".join(chunks)


async def _json_body(request: Request, raw: bytes | None = None) -> dict[str, Any]:
    if raw is None:
        raw = await _limited_body(request)
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "bad_request", "body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "body must be a JSON object")
    return body


@router.post(
    "/api/meetings/{meeting_id}/callback",
    operation_id="meeting_callback_post",
    summary="Meeting BaaS per-bot callback (x-mb-secret)",
)
@router.put(
    "/api/meetings/{meeting_id}/callback",
    operation_id="meeting_callback_put",
    summary="Meeting BaaS per-bot callback (x-mb-secret)",
)
async def bot_callback(
    meeting_id: MeetingId, request: Request, _caller: MeetingBaasCaller
) -> dict[str, Any]:
    service = _service(request)
    row = await service.verify_callback(meeting_id, request.headers.get("x-mb-secret"))
    body = await _json_body(request)
    event = body.get("event")
    data = body.get("data")
    if event not in ("bot.completed", "bot.failed") or not isinstance(data, dict):
        raise ApiError(
            422,
            "validation_error",
            'expected {"event": "bot.completed"|"bot.failed", "data": {...}}',
        )
    if row["bot_id"] and data.get("bot_id") not in (None, row["bot_id"]):
        raise ApiError(409, "conflict", "callback is for another bot")
    event_id = data.get("event_id")
    dedupe = f"cb:{event_id}" if isinstance(event_id, str) and event_id else None
    fresh = await service.bot_event(row, event, data, source="callback", dedupe=dedupe)
    return {"ok": True, "duplicate": not fresh}


@router.post("/api/webhooks/meeting-baas", summary="Meeting BaaS account webhook (Svix-signed)")
async def account_webhook(request: Request, _caller: MeetingBaasCaller) -> dict[str, Any]:
    settings: BackendSettings = request.app.state.settings
    if not settings.meeting_baas_webhook_secret:
        raise ApiError(404, "not_found", "account webhooks are not configured")
    raw = await _limited_body(request)
    headers = {
        k: request.headers.get(k, "") for k in ("svix-id", "svix-timestamp", "svix-signature")
    }
    try:
        Webhook(settings.meeting_baas_webhook_secret).verify(raw, headers)
    except WebhookVerificationError:
        raise ApiError(401, "unauthorized", "webhook signature invalid") from None
    body = await _json_body(request, raw)
    result = await _service(request).account_webhook(body, headers["svix-id"])
    return {"ok": True, "result": result}


@router.websocket("/ws/meetings/{meeting_id}/{secret}")
async def bridge_socket(
    websocket: WebSocket, meeting_id: str, secret: str, _caller: MeetingBaasCaller
) -> None:
    service: MeetingService = websocket.app.state.meetings
    bridge = None
    if re.fullmatch(r"[0-9a-f]{16}", meeting_id) and len(secret) <= 128:
        bridge = await service.bridge_for_socket(meeting_id, secret)
    if bridge is None:
        await websocket.close(code=1008)  # before accept: the bot sees HTTP 403
        return
    await websocket.accept()
    try:
        await bridge.serve_socket(websocket)
    except Exception:
        logger.exception("bridge failed", extra={"meeting_id": meeting_id})
        with contextlib.suppress(Exception):
            await websocket.close(code=1011)
