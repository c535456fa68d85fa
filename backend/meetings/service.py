"""A meeting's life: create (room, dispatch, bot), watch (poll, callbacks), bridge, leave.

One ``MeetingService`` per backend process (``app.state.meetings``). It owns the live
bridges and status pollers; everything a user can see is in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import json
import logging
import secrets
from typing import Any

from livekit import api, rtc
from sqlalchemy.ext.asyncio import AsyncEngine

from parley_backend.errors import ApiError
from parley_backend.meetings import store
from parley_backend.meetings.baas_client import (
    CallbackConfig,
    MeetingBaasClient,
    MeetingBaasError,
    StreamingConfig,
)
from parley_backend.meetings.bridge import MeetingBridge
from parley_backend.meetings.chat import ChatResult, ChatSender
from parley_backend.meetings.chat_events import ChatEventError, parse_chat_event
from parley_backend.meetings.livekit_rooms import (
    AgentNotPresent,
    LiveKitAccess,
    ask_agent,
    ask_agent_transient,
    create_room_with_agent,
    delete_room,
    wrap_up_agent,
)
from parley_backend.meetings.platforms import Platform
from parley_backend.schemas import normalise_timestamp, ts_to_datetime
from parley_backend.settings import BackendSettings
from parley_common.agent_config import AgentConfig
from parley_common.wire import WRAP_UP_TIMEOUT_S, MeetingChatMessage

logger = logging.getLogger("parley.meetings.service")

POLL_INTERVAL_S = 2.0
POLL_MAX_S = 20 * 60  # longer than their default waiting-room timeout (600 s)

JOINING = frozenset(
    {"queued", "pickup_delayed", "joining_call", "in_waiting_room", "in_waiting_for_host"}
)
IN_CALL = frozenset(
    {"in_call_not_recording", "in_call_recording", "recording_paused", "recording_resumed"}
)
ENDED = frozenset(
    {
        "call_ended",
        "recording_succeeded",
        "api_request_stop",
        "bot_removed",
        "transcribing",
        "completed",
    }
)
FAILED = frozenset(
    {
        "recording_failed",
        "bot_rejected",
        "bot_removed_too_early",
        "waiting_room_timeout",
        "invalid_meeting_url",
        "meeting_error",
        "failed",
    }
)
_DUMMY_HASH = hashlib.sha256(b"no such meeting").hexdigest()


def meeting_status_for(bot_status: str) -> str | None:
    """Our coarse status for one of theirs; None for codes we do not know."""
    if bot_status in JOINING:
        return "joining"
    if bot_status in IN_CALL:
        return "in_call"
    if bot_status in ENDED:
        return "ended"
    if bot_status in FAILED:
        return "failed"
    return None


# Our statuses only move forward: a replayed or late update never rolls a meeting back.
_STATUS_RANK = {"creating": 0, "joining": 1, "in_call": 2, "ended": 3, "failed": 3}


def status_time_of(value: Any) -> datetime.datetime | None:
    """``status.created_at`` (ISO 8601 or UNIX seconds) as aware UTC; None when absent.

    Raises ``ApiError`` 422 for a time that is present but unusable (checked at the edge
    like every other timestamp).
    """
    raw = value.get("created_at") if isinstance(value, dict) else None
    return parse_event_time(raw, "status.created_at")


def parse_event_time(raw: Any, name: str) -> datetime.datetime | None:
    """A time Meeting BaaS sent (ISO 8601 or UNIX seconds) as aware UTC in range; None when
    absent; ``ApiError`` 422 when present but unusable."""
    if raw is None or raw == "":
        return None
    try:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            parsed = datetime.datetime.fromtimestamp(raw, datetime.UTC)
        elif isinstance(raw, str):
            parsed = datetime.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        else:
            raise ValueError("not a time")
        return normalise_timestamp(parsed)
    except (ValueError, OverflowError, OSError) as exc:
        raise ApiError(422, "validation_error", f"{name} is not a usable time: {exc}") from None


def status_code_of(value: Any) -> str | None:
    """Status fields come as a string or as ``{"code": ...}``: accept both."""
    if isinstance(value, dict):
        value = value.get("code")
    if isinstance(value, str) and value.strip():
        return value.strip()[:40]
    return None


def baas_api_error(exc: MeetingBaasError) -> ApiError:
    """Their failure in our words: what went wrong and whether retrying can help."""
    details = {"meeting_baas_status": exc.status, "meeting_baas_code": exc.code}
    headers = None
    if exc.status == 400:
        return ApiError(
            422,
            "meeting_baas_rejected",
            f"Meeting BaaS rejected the request: {exc.message}",
            details,
        )
    if exc.status == 402:
        return ApiError(
            402, "meeting_baas_out_of_tokens", "the Meeting BaaS account is out of tokens", details
        )
    if exc.status in (401, 403):
        return ApiError(
            502,
            "meeting_baas_forbidden",
            "Meeting BaaS refused our API key (check MEETING_BAAS_API_KEY)",
            details,
        )
    if exc.status == 404:
        return ApiError(404, "bot_not_found", "Meeting BaaS does not know this bot", details)
    if exc.status == 409:
        return ApiError(409, "bot_conflict", f"Meeting BaaS: {exc.message}", details)
    if exc.status == 429:
        if exc.retry_after is not None:
            headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
        return ApiError(
            429,
            "meeting_baas_rate_limited",
            "Meeting BaaS rate limit reached; retry later",
            details,
            headers=headers,
        )
    if exc.status == 0:
        return ApiError(502, "meeting_baas_unreachable", exc.message, details)
    return ApiError(502, "meeting_baas_error", f"Meeting BaaS failed: {exc.message}", details)


def _websocket_base(http_base: str) -> str:
    if http_base.startswith("https://"):
        return "wss://" + http_base[len("https://") :]
    if http_base.startswith("http://"):
        return "ws://" + http_base[len("http://") :]
    return http_base


class MeetingService:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: BackendSettings,
        client: MeetingBaasClient | None,
        access: LiveKitAccess,
        *,
        poll_interval: float = POLL_INTERVAL_S,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.client = client
        self.access = access
        self.lk = access.api()
        self.bridges: dict[str, MeetingBridge] = {}
        self._pollers: dict[str, asyncio.Task] = {}
        self._tasks: set[asyncio.Task] = set()
        self._poll_interval = poll_interval
        self._bridge_lock = asyncio.Lock()
        self.chat = (
            ChatSender(client, engine, on_sent=self._chat_sent) if client is not None else None
        )

    async def resume(self) -> None:
        """After a restart: keep watching bots that were joining; settle half-made meetings."""
        for row in await store.active_meetings(self.engine):
            if row["status"] == "creating":
                # The process died between creating the row and getting a bot id.
                await self._fail(row["id"], "meeting.interrupted", {"reason": "backend restart"})
                with contextlib.suppress(Exception):
                    await delete_room(self.lk, row["room_name"])
            elif row["status"] == "joining" and row["bot_id"] and self.client is not None:
                self._start_poller(row["id"], row["bot_id"])

    async def close(self) -> None:
        for task in self._pollers.values():
            task.cancel()
        for bridge in list(self.bridges.values()):
            await bridge.close("backend shutting down")
        self.bridges.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._pollers.values(), *self._tasks, return_exceptions=True)
        if self.client is not None:
            await self.client.close()
        await self.lk.aclose()

    # --- create / read / leave ----------------------------------------------------------

    async def create(
        self,
        *,
        meeting_url: str,
        platform: Platform,
        bot_name: str | None,
        agent_config: AgentConfig | None,
        request_base_url: str,
    ) -> dict[str, Any]:
        if self.client is None:
            raise ApiError(
                503,
                "meeting_baas_not_configured",
                "set MEETING_BAAS_API_KEY to send bots into meetings",
            )
        meeting_id = secrets.token_hex(8)
        room_name = f"parley-meeting-{meeting_id}"
        bot_name = bot_name or self.settings.meeting_bot_name
        config = agent_config or AgentConfig()
        update: dict[str, Any] = {"mode": "meeting", "meeting_id": meeting_id}
        if "agent_display_name" not in config.model_fields_set:
            # People address the bot by the name they see in the meeting.
            update["agent_display_name"] = bot_name[:64]
        config = AgentConfig.model_validate({**config.model_dump(), **update})
        stream_secret = secrets.token_urlsafe(32)
        callback_secret = secrets.token_urlsafe(32)
        base = (self.settings.public_url or request_base_url).rstrip("/")
        stream_url = f"{_websocket_base(base)}/ws/meetings/{meeting_id}/{stream_secret}"
        callback_url = f"{base}/api/meetings/{meeting_id}/callback"
        now = store.utcnow()
        await store.insert_meeting(
            self.engine,
            {
                "id": meeting_id,
                "meeting_url": meeting_url,
                "platform": platform,
                "bot_name": bot_name,
                "status": "creating",
                "room_name": room_name,
                "stream_secret_hash": store.secret_hash(stream_secret),
                "callback_secret_hash": store.secret_hash(callback_secret),
                "audio_frequency": self.settings.meeting_audio_frequency,
                "agent_config": json.loads(config.to_metadata() or "{}"),
                "created_at": now,
                "updated_at": now,
            },
        )
        log = {"meeting_id": meeting_id, "room": room_name}
        await store.add_event(
            self.engine,
            meeting_id,
            "meeting.created",
            {"meeting_url": meeting_url, "platform": platform},
        )
        try:
            dispatch_id = await create_room_with_agent(self.lk, self.access, room_name, config)
        except Exception as exc:
            logger.warning("creating room/dispatch failed: %s", exc, extra=log)
            await self._fail(meeting_id, "livekit.failed", {"error": str(exc)[:300]})
            raise ApiError(502, "upstream_error", "LiveKit room or dispatch failed") from exc
        await store.update_meeting(self.engine, meeting_id, dispatch_id=dispatch_id)
        await store.add_event(
            self.engine,
            meeting_id,
            "room.created",
            {"room_name": room_name, "dispatch_id": dispatch_id},
        )
        try:
            bot_id = await self.client.create_bot(
                meeting_url=meeting_url,
                bot_name=bot_name,
                streaming=StreamingConfig(
                    stream_url, stream_url, self.settings.meeting_audio_frequency
                ),
                callback=CallbackConfig(callback_url, callback_secret),
                extra={"parley_meeting_id": meeting_id},
            )
        except MeetingBaasError as exc:
            logger.warning("creating the bot failed: %s", exc, extra=log)
            await self._fail(
                meeting_id,
                "bot.create_failed",
                {"status": exc.status, "code": exc.code, "message": exc.message},
            )
            with contextlib.suppress(Exception):
                await delete_room(self.lk, room_name)
            raise baas_api_error(exc) from exc
        await store.update_meeting(self.engine, meeting_id, bot_id=bot_id, status="joining")
        await store.add_event(self.engine, meeting_id, "bot.created", {"bot_id": bot_id})
        logger.info("meeting created, bot %s joining", bot_id, extra=log)
        self._start_poller(meeting_id, bot_id)
        row = await store.get_meeting(self.engine, meeting_id)
        assert row is not None
        return row

    async def _fail(self, meeting_id: str, kind: str, data: dict[str, Any]) -> None:
        await store.add_event(self.engine, meeting_id, kind, data)
        await store.set_status(self.engine, meeting_id, "failed")

    async def get(self, meeting_id: str) -> dict[str, Any]:
        row = await store.get_meeting(self.engine, meeting_id)
        if row is None:
            raise ApiError(404, "not_found", f"no meeting {meeting_id}")
        return row

    async def leave(self, meeting_id: str) -> dict[str, Any]:
        """The bot leaves, the bridge ends, the room closes. Repeating it is harmless."""
        row = await self.get(meeting_id)
        if row["status"] not in store.FINAL_STATUSES:
            if row["status"] == "in_call" and self.settings.meeting_chat_summary:
                await self._summary_to_chat(meeting_id)
            if row["bot_id"] and self.client is not None:
                try:
                    await self.client.leave(row["bot_id"])
                    await store.add_event(self.engine, meeting_id, "bot.leave_requested", {})
                except MeetingBaasError as exc:
                    if exc.status not in (404, 409):  # 404/409: the bot is already gone
                        raise baas_api_error(exc) from exc
                    await store.add_event(
                        self.engine,
                        meeting_id,
                        "bot.already_gone",
                        {"status": exc.status, "code": exc.code},
                    )
            await store.set_status(self.engine, meeting_id, "ended")
            await store.add_event(self.engine, meeting_id, "meeting.ended", {"by": "api"})
        await self._teardown(meeting_id, row["room_name"], "meeting left")
        return await self.get(meeting_id)

    async def _teardown(self, meeting_id: str, room_name: str, reason: str) -> None:
        poller = self._pollers.pop(meeting_id, None)
        if poller is not None and poller is not asyncio.current_task():
            poller.cancel()
        bridge = self.bridges.pop(meeting_id, None)
        if bridge is not None:
            await bridge.close(reason)
            stats = bridge.stats
            summary = {
                "reason": reason,
                "connections": stats.sockets,
                "frames_in": stats.frames_in,
                "frames_out": stats.frames_out,
                "malformed_frames": stats.malformed,
                "speaker_updates": stats.speaker_updates,
                "dropped_in_ms": round(stats.dropped_in_ms),
                "dropped_out_ms": round(stats.dropped_out_ms),
            }
            logger.info("bridge closed: %s", summary, extra={"meeting_id": meeting_id})
            await store.add_event(self.engine, meeting_id, "bridge.closed", summary)
        try:
            await delete_room(self.lk, room_name)
        except Exception as exc:  # the room also closes by itself once empty
            logger.warning("deleting room %s failed: %s", room_name, exc)

    # --- bot status ---------------------------------------------------------------------

    def _start_poller(self, meeting_id: str, bot_id: str) -> None:
        task = asyncio.create_task(self._poll(meeting_id, bot_id), name=f"poll-{meeting_id}")
        self._pollers[meeting_id] = task
        task.add_done_callback(
            lambda t: (
                self._pollers.pop(meeting_id, None) if self._pollers.get(meeting_id) is t else None
            )
        )

    async def _poll(self, meeting_id: str, bot_id: str) -> None:
        """Status changes are not sent to per-bot callbacks: poll while the bot joins."""
        assert self.client is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + POLL_MAX_S
        while loop.time() < deadline:
            try:
                data = await self.client.status(bot_id)
            except MeetingBaasError as exc:
                logger.warning("status poll failed: %s", exc, extra={"meeting_id": meeting_id})
                if exc.status == 404:
                    return
                await asyncio.sleep(self._poll_interval)
                continue
            code = status_code_of(data.get("status"))
            try:
                at = status_time_of(data.get("status"))
            except ApiError:
                at = None  # their own API: a bad time must not stop the poll
            if code:
                await self.apply_bot_status(meeting_id, code, source="poll", at=at)
                if code in IN_CALL or code in ENDED or code in FAILED:
                    return
            await asyncio.sleep(self._poll_interval)

    async def apply_bot_status(
        self,
        meeting_id: str,
        code: str,
        *,
        source: str,
        at: datetime.datetime | None = None,
    ) -> str:
        """Apply one of their status codes; returns "applied", "unchanged" or "stale".

        A status older than the last one applied (by its ``created_at``), or one that would
        move our status backwards (in_call → joining, ended → anything), is recorded as
        stale and changes nothing: deliveries arrive late, twice and out of order.
        """
        row = await store.get_meeting(self.engine, meeting_id)
        if row is None:
            return "unchanged"
        final = row["status"] in store.FINAL_STATUSES
        if row.get("bot_status") == code and not final:
            return "unchanged"
        status = meeting_status_for(code)
        last_at = await store.last_status_time(self.engine, meeting_id)
        older = at is not None and last_at is not None and at < last_at
        backwards = status is not None and (
            _STATUS_RANK.get(status, 0) < _STATUS_RANK.get(row["status"], 0)
        )
        if final or older or backwards:
            # Our own polls lag behind the socket (in_call) every 2 s: not worth a row each.
            if source != "poll":
                await store.add_event(
                    self.engine,
                    meeting_id,
                    "bot.status_stale",
                    {"status": code, "source": source, "current": row["status"]},
                )
            return "stale"
        data: dict[str, Any] = {"status": code, "source": source}
        if at is not None:
            data["at"] = at.isoformat()
        await store.add_event(self.engine, meeting_id, "bot.status", data)
        if status is None:
            await store.update_meeting(self.engine, meeting_id, bot_status=code)
            return "applied"
        changed = await store.set_status(self.engine, meeting_id, status, bot_status=code)
        if changed and status in store.FINAL_STATUSES:
            await self._teardown(meeting_id, row["room_name"], f"bot status {code}")
        return "applied"

    # --- callbacks and webhooks ---------------------------------------------------------

    async def verify_callback(self, meeting_id: str, presented: str | None) -> dict[str, Any]:
        row = await store.get_meeting(self.engine, meeting_id)
        stored = row["callback_secret_hash"] if row else _DUMMY_HASH
        ok = store.secret_matches(presented or "", stored)
        if row is None or not presented or not ok:
            raise ApiError(401, "unauthorized", "missing or wrong x-mb-secret")
        return row

    async def bot_event(
        self,
        row: dict[str, Any],
        event: str,
        data: dict[str, Any],
        *,
        source: str,
        dedupe: str | None,
    ) -> bool:
        """``bot.completed`` / ``bot.failed``; False when it was a repeat delivery."""
        keep = (
            "bot_id",
            "event_id",
            "error_code",
            "error_message",
            "sent_at",
            "duration_seconds",
            "participants",
            "speakers",
            "mp4",
            "audio",
        )
        summary = {k: data[k] for k in keep if k in data}
        if "sent_at" in summary:
            # Kept as text for the timeline, but only a usable time (checked at the edge).
            summary["sent_at"] = _checked_time_text(summary["sent_at"], "sent_at")
        summary["source"] = source
        text = json.dumps(summary, default=str)
        if len(text) > 8000:  # participants lists can be long; keep the timeline small
            summary = {k: summary[k] for k in summary if k not in ("participants", "speakers")}
        fresh = await store.add_event(self.engine, row["id"], event, summary, dedupe_key=dedupe)
        if not fresh:
            return False
        status = "ended" if event == "bot.completed" else "failed"
        if await store.set_status(self.engine, row["id"], status):
            await self._teardown(row["id"], row["room_name"], event)
        return True

    async def account_webhook(self, payload: dict[str, Any], msg_id: str) -> str:
        """A verified Svix delivery; returns what was done with it.

        Every delivery, of every event kind, is claimed once by its Svix message id before
        anything is applied: a replay (theirs on retry, or an attacker's within the
        signature's tolerance) is acknowledged as "duplicate" and changes nothing.
        """
        event = payload.get("event")
        data = found if isinstance(found := payload.get("data"), dict) else {}
        extra = payload.get("extra") if isinstance(payload.get("extra"), dict) else None
        if extra is None and isinstance(data.get("extra"), dict):
            extra = data["extra"]  # `extra` is sometimes inside `data`
        row = None
        bot_id = data.get("bot_id")
        if isinstance(bot_id, str):
            row = await store.get_meeting_by_bot(self.engine, bot_id)
        if row is None and extra and isinstance(extra.get("parley_meeting_id"), str):
            row = await store.get_meeting(self.engine, extra["parley_meeting_id"])
        if row is None:
            return "ignored: not one of our meetings"
        code = at = None
        chat: MeetingChatMessage | None = None
        if event == "bot.status_change":
            code = status_code_of(data.get("status"))
            if code is None:
                raise ApiError(422, "validation_error", "bot.status_change without status code")
            at = status_time_of(data.get("status"))
        elif event == "bot.chat_message":
            try:
                chat = parse_chat_event(data, msg_id)
            except ChatEventError as exc:  # 422 before it is claimed
                raise ApiError(422, "validation_error", str(exc)) from None
        elif event in ("bot.completed", "bot.failed") and "sent_at" in data:
            _checked_time_text(data["sent_at"], "sent_at")  # 422 before it is claimed
        fresh = await store.add_event(
            self.engine,
            row["id"],
            "webhook.received",
            {"event": str(event)[:60], "svix_id": msg_id[:100]},
            dedupe_key=f"svix:{msg_id}"[:128],
        )
        if not fresh:
            return "duplicate"
        if code is not None:
            return await self.apply_bot_status(row["id"], code, source="webhook", at=at)
        if chat is not None:
            return await self.chat_received(row, chat)
        if event in ("bot.completed", "bot.failed"):
            # Claimed above; the callback path may deliver the same event under its own id,
            # and set_status keeps a final status final.
            await self.bot_event(row, event, data, source="webhook", dedupe=None)
            return "applied"
        return "recorded"

    # --- meeting chat -------------------------------------------------------------------

    async def chat_received(self, row: dict[str, Any], message: MeetingChatMessage) -> str:
        """A participant's chat message: into the transcript, and to the agent in the room."""
        if message.sender == row["bot_name"] and message.id.startswith("self:"):
            return "ignored: the bot's own message"
        await store.add_turn(
            self.engine,
            row["id"],
            speaker=message.sender,
            role="chat",
            text=message.text,
            started_at=message.at or store.utcnow(),
        )
        bridge = self.bridges.get(row["id"])
        relayed = bridge is not None and await bridge.publish_chat(message.model_dump_json())
        await store.add_event(
            self.engine,
            row["id"],
            "chat.received",
            {"sender": message.sender, "chars": len(message.text), "relayed": relayed},
        )
        return "chat relayed" if relayed else "chat stored"

    async def send_chat(self, meeting_id: str, text: str, key: str) -> ChatResult:
        """Post ``text`` to the meeting chat (split, retried, once per ``key``)."""
        row = await self.get(meeting_id)
        if self.chat is None:
            raise ApiError(
                503, "meeting_baas_not_configured", "set MEETING_BAAS_API_KEY to use meetings"
            )
        if row["status"] != "in_call" or not row["bot_id"]:
            return ChatResult("not_in_call", 0, 0, f"meeting is {row['status']}")
        return await self.chat.send(meeting_id, row["bot_id"], text, key)

    async def _summary_to_chat(self, meeting_id: str) -> None:
        """The agent posts its summary to the chat while the bot is still in the call. Best
        effort: leaving never waits more than ``WRAP_UP_TIMEOUT_S`` or fails because of it."""
        bridge = self.bridges.get(meeting_id)
        room = bridge.room if bridge is not None else None
        try:
            if room is None:
                raise AgentNotPresent
            reply = await wrap_up_agent(room, WRAP_UP_TIMEOUT_S)
            kind, data = "chat.summary", {"status": reply.get("status"), "ok": reply.get("ok")}
        except AgentNotPresent:
            kind, data = "chat.summary_skipped", {"reason": "no agent in the room"}
        except (rtc.RpcError, OSError) as exc:
            kind, data = "chat.summary_skipped", {"reason": str(exc)[:200]}
        await store.add_event(self.engine, meeting_id, kind, data)

    async def _chat_sent(self, meeting_id: str, text: str) -> None:
        row = await store.get_meeting(self.engine, meeting_id)
        await store.add_turn(
            self.engine,
            meeting_id,
            speaker=row["bot_name"] if row else "Parley",
            role="agent_chat",
            text=text,
            started_at=store.utcnow(),
        )

    async def chat_log(self, meeting_id: str) -> list[dict[str, Any]]:
        await self.get(meeting_id)
        return await store.chat_turns(self.engine, meeting_id)

    # --- the bridge ---------------------------------------------------------------------

    async def bridge_for_socket(self, meeting_id: str, secret: str) -> MeetingBridge | None:
        """The meeting's bridge when ``secret`` is right and the meeting is live, else None."""
        row = await store.get_meeting(self.engine, meeting_id)
        ok = store.secret_matches(secret, row["stream_secret_hash"] if row else _DUMMY_HASH)
        if row is None or not ok or row["status"] in store.FINAL_STATUSES:
            return None
        async with self._bridge_lock:
            bridge = self.bridges.get(meeting_id)
            if bridge is None:
                bridge = MeetingBridge(
                    meeting_id=meeting_id,
                    room_name=row["room_name"],
                    platform=row["platform"],
                    bot_rate=row["audio_frequency"],
                    agent_name=(row["agent_config"] or {}).get("agent_display_name")
                    or row["bot_name"],
                    access=self.access,
                    on_event=lambda kind, data: self._bridge_event(meeting_id, kind, data),
                    on_turn=lambda *turn: self._bridge_turn(meeting_id, *turn),
                    on_room_ended=lambda reason: self._room_ended(meeting_id, reason),
                )
                self.bridges[meeting_id] = bridge
        return bridge

    async def _bridge_event(self, meeting_id: str, kind: str, data: dict[str, Any]) -> None:
        await store.add_event(self.engine, meeting_id, kind, data)
        if kind == "bridge.connected":
            # Streaming starts once the bot is in the call, whatever the last poll said.
            row = await store.get_meeting(self.engine, meeting_id)
            if row is not None and row["status"] in ("creating", "joining"):
                await store.set_status(self.engine, meeting_id, "in_call")

    async def _bridge_turn(
        self, meeting_id: str, speaker: str, role: str, text: str, started: datetime.datetime
    ) -> None:
        await store.add_turn(
            self.engine, meeting_id, speaker=speaker, role=role, text=text, started_at=started
        )

    async def _room_ended(self, meeting_id: str, reason: str) -> None:
        row = await store.get_meeting(self.engine, meeting_id)
        if row is None or row["status"] in store.FINAL_STATUSES:
            return
        await store.add_event(self.engine, meeting_id, "room.ended", {"reason": reason})
        try:
            await self.leave(meeting_id)
        except ApiError as exc:
            logger.warning(
                "bot leave after room end failed: %s", exc.message, extra={"meeting_id": meeting_id}
            )
            await store.set_status(self.engine, meeting_id, "ended")
            await self._teardown(meeting_id, row["room_name"], "room ended")

    # --- console ------------------------------------------------------------------------

    async def ask(self, meeting_id: str, question: str) -> dict[str, Any]:
        row = await self.get(meeting_id)
        if row["status"] in store.FINAL_STATUSES:
            raise ApiError(409, "meeting_ended", f"meeting {meeting_id} is {row['status']}")
        bridge = self.bridges.get(meeting_id)
        room = bridge.room if bridge is not None else None
        try:
            if room is not None:
                reply = await ask_agent(room, question)
            else:
                reply = await ask_agent_transient(self.access, row["room_name"], question)
        except AgentNotPresent:
            raise ApiError(
                409, "agent_not_in_room", "no agent is in the meeting's room (yet)"
            ) from None
        except rtc.RpcError as exc:
            raise _rpc_api_error(exc) from exc
        except (rtc.ConnectError, OSError, api.ServerError) as exc:
            raise ApiError(502, "upstream_error", f"cannot reach the room: {exc}") from exc
        await store.add_event(
            self.engine, meeting_id, "console.ask", {"question": question, "reply": reply}
        )
        return reply

    async def transcript(self, meeting_id: str) -> dict[str, Any]:
        row = await self.get(meeting_id)
        turns = await store.turns(self.engine, meeting_id)
        if turns:
            return {"turns": turns, "source": "bridge"}
        return {"turns": await _history_turns(self.engine, row["room_name"]), "source": "history"}


def _checked_time_text(value: Any, name: str) -> str:
    """A time they sent, as normalised ISO 8601 text; 422 when it is not a usable time."""
    parsed = parse_event_time(value, name)
    return parsed.isoformat() if parsed is not None else ""


def _rpc_api_error(exc: rtc.RpcError) -> ApiError:
    codes = rtc.RpcError.ErrorCode
    details = {"rpc_code": exc.code, "rpc_message": exc.message}
    if exc.code == codes.UNSUPPORTED_METHOD and "support" in exc.message.lower():
        return ApiError(
            409,
            "agent_cannot_ask",
            "the agent in this room does not take questions (no parley.ask)",
            details,
        )
    if exc.code in (codes.RECIPIENT_NOT_FOUND, codes.RECIPIENT_DISCONNECTED):
        return ApiError(409, "agent_not_in_room", "the agent left the room", details)
    if exc.code in (codes.CONNECTION_TIMEOUT, codes.RESPONSE_TIMEOUT):
        return ApiError(504, "agent_timeout", "the agent did not answer in time", details)
    if exc.code < 1500:
        return ApiError(422, "agent_rejected_question", exc.message, details)
    return ApiError(502, "agent_error", f"the agent failed: {exc.message}", details)


async def _history_turns(engine: AsyncEngine, room_name: str) -> list[dict[str, Any]]:
    """Turns the agent posted to the history API for the room (another engineer's store)."""
    try:
        from parley_backend.history_store import room_transcript
    except ImportError:  # history not part of this build
        return []
    rows = await room_transcript(engine, room_name, limit=1000)
    out = []
    for r in rows:
        started = r.get("started_at") or r.get("received_at")
        out.append(
            {
                "speaker": r.get("speaker_identity"),
                "text": r.get("text"),
                "started_at": _iso_or_none(ts_to_datetime(started) if started else None),
                "role": r.get("role"),
            }
        )
    return out


def _iso_or_none(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
