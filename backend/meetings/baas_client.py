"""A small async client for the Meeting BaaS v2 HTTP API (httpx).

Wire facts: /work/shared/docs/MEETING-BAAS.md, mirrored in docs/meeting-bridge.md.
Retries are limited to what cannot cause a second bot: reads and ``leave`` are retried on
network errors, 5xx and 429; ``create_bot`` is retried only when the request provably never
reached them (connection refused) or they refused it with 429.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httpx

logger = logging.getLogger("parley.meetings.baas")

API_KEY_HEADER = "x-meeting-baas-api-key"
AUDIO_FREQUENCIES = (16000, 24000, 32000, 48000)
# Never wait longer than this for a retry-after; the caller gets the 429 instead.
MAX_RETRY_AFTER_S = 10.0


@dataclass
class MeetingBaasError(Exception):
    """A failed Meeting BaaS call. ``status`` is theirs (0 when they were unreachable)."""

    status: int
    code: str
    message: str
    retry_after: float | None = None
    details: Any = None

    def __str__(self) -> str:
        return f"Meeting BaaS {self.status} {self.code}: {self.message}"


@dataclass(frozen=True)
class StreamingConfig:
    input_url: str
    output_url: str
    audio_frequency: int = 16000


@dataclass(frozen=True)
class CallbackConfig:
    url: str
    secret: str
    method: str = "POST"


def _retry_after(response: httpx.Response, body: dict[str, Any]) -> float | None:
    raw = response.headers.get("retry-after")
    if raw is None:
        raw = body.get("retryAfter")
    if raw is None and isinstance(body.get("details"), dict):
        raw = body["details"].get("retryAfter")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except (TypeError, ValueError):
        return None


def _error_from(response: httpx.Response) -> MeetingBaasError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    message = body.get("message") or body.get("error") or response.reason_phrase or "error"
    return MeetingBaasError(
        status=response.status_code,
        code=str(body.get("code") or f"HTTP_{response.status_code}"),
        message=str(message)[:500],
        retry_after=_retry_after(response, body),
        details=body.get("details"),
    )


class MeetingBaasClient:
    """One per process; reuses its connection pool. ``close()`` on shutdown."""

    def __init__(
        self,
        api_key: str,
        base_url: str = "https://api.meetingbaas.com",
        *,
        timeout: float = 15.0,
        max_attempts: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={API_KEY_HEADER: api_key, "accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )
        self._max_attempts = max_attempts

    async def close(self) -> None:
        await self._client.aclose()

    async def _request(
        self, method: str, path: str, *, json: Any = None, idempotent: bool
    ) -> dict[str, Any]:
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self._max_attempts
            try:
                response = await self._client.request(method, path, json=json)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Nothing was sent: safe to retry even a create.
                if last:
                    raise MeetingBaasError(0, "UNREACHABLE", f"cannot connect: {exc}") from exc
                await asyncio.sleep(0.5 * attempt)
                continue
            except httpx.HTTPError as exc:
                # The request may have been processed (timeout after sending, dropped reply).
                if last or not idempotent:
                    raise MeetingBaasError(0, "UNREACHABLE", f"request failed: {exc}") from exc
                await asyncio.sleep(0.5 * attempt)
                continue
            if response.is_success:
                try:
                    body = response.json()
                except ValueError:
                    body = {}
                return body if isinstance(body, dict) else {"data": body}
            error = _error_from(response)
            retryable = response.status_code == 429 or (idempotent and response.status_code >= 500)
            wait = error.retry_after if error.retry_after is not None else 0.5 * attempt
            if last or not retryable or wait > MAX_RETRY_AFTER_S:
                raise error
            logger.warning(
                "meeting baas %s %s -> %s, retrying in %.1f s",
                method,
                path,
                response.status_code,
                wait,
            )
            await asyncio.sleep(wait)

    async def create_bot(
        self,
        *,
        meeting_url: str,
        bot_name: str,
        streaming: StreamingConfig,
        callback: CallbackConfig | None = None,
        entry_message: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """Send a bot with two-way audio streaming; returns its ``bot_id``."""
        if streaming.audio_frequency not in AUDIO_FREQUENCIES:
            raise ValueError(f"audio_frequency must be one of {AUDIO_FREQUENCIES}")
        body: dict[str, Any] = {
            "bot_name": bot_name,
            "meeting_url": meeting_url,
            "recording_mode": "audio_only",
            "streaming_enabled": True,
            "streaming_config": {
                "input_url": streaming.input_url,
                "output_url": streaming.output_url,
                "audio_frequency": streaming.audio_frequency,
            },
        }
        if entry_message:
            body["entry_message"] = entry_message
        if extra:
            body["extra"] = extra
        if callback is not None:
            body["callback_enabled"] = True
            body["callback_config"] = {
                "url": callback.url,
                "secret": callback.secret,
                "method": callback.method,
            }
        result = await self._request("POST", "/v2/bots", json=body, idempotent=False)
        data = found if isinstance(found := result.get("data"), dict) else {}
        bot_id = data.get("bot_id")
        if not isinstance(bot_id, str) or not bot_id:
            raise MeetingBaasError(502, "BAD_RESPONSE", "create bot answered without a bot_id")
        return bot_id

    async def leave(self, bot_id: str) -> None:
        await self._request("POST", f"/v2/bots/{bot_id}/leave", idempotent=True)

    async def status(self, bot_id: str) -> dict[str, Any]:
        """``data`` of the status call: ``{bot_id, status, updated_at, ...}``."""
        result = await self._request("GET", f"/v2/bots/{bot_id}/status", idempotent=True)
        data = result.get("data")
        return data if isinstance(data, dict) else {}

    async def details(self, bot_id: str) -> dict[str, Any]:
        result = await self._request("GET", f"/v2/bots/{bot_id}", idempotent=True)
        data = result.get("data")
        return data if isinstance(data, dict) else {}

    async def send_chat_message(self, bot_id: str, message: str) -> None:
        """Post ``message`` (1-500 characters) to the meeting chat. Not retried here beyond
        what provably never reached them: the chat sender decides what is safe to resend."""
        await self._request(
            "POST",
            f"/v2/bots/{bot_id}/send-chat-message",
            json={"message": message},
            idempotent=False,
        )
