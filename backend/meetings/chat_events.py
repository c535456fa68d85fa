"""Incoming meeting chat: the ``bot.chat_message`` account webhook's data, validated.

The public docs do not pin the payload down (see /work/shared/docs/MEETING-BAAS.md,
"Meeting chat (v2)"), so both shapes seen are accepted: ``data.message.{sender_id,
sender_name, text, timestamp}`` and the same fields flat in ``data``; a sender may also be
an object ``{"name": ...}`` or a plain string under ``sender``.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

from parley_common.wire import MAX_CHAT_POST_CHARS, MeetingChatMessage


class ChatEventError(ValueError):
    pass


def _sender(message: dict[str, Any]) -> str | None:
    for key in ("sender_name", "participant_name", "name"):
        if isinstance(message.get(key), str) and message[key].strip():
            return str(message[key])
    sender = message.get("sender")
    if isinstance(sender, dict) and isinstance(sender.get("name"), str):
        return str(sender["name"])
    if isinstance(sender, str):
        return sender
    return None


def _time(raw: Any) -> datetime.datetime | None:
    try:
        if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
            return datetime.datetime.fromtimestamp(raw, datetime.UTC)
        if isinstance(raw, str) and raw.strip():
            parsed = datetime.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def parse_chat_event(data: dict[str, Any], msg_id: str) -> MeetingChatMessage:
    """The chat message in ``data``; ``ChatEventError`` when it has no sender or text.

    An unusable timestamp is dropped (the time of arrival is used), not refused: the text
    is what matters. The bot's own messages (``sender_id`` null, which their artifact uses
    for them) are marked with a ``self:`` id so the caller can skip them.
    """
    message = data.get("message") if isinstance(data.get("message"), dict) else data
    text = message.get("text")
    if not isinstance(text, str) and isinstance(message.get("message"), str):
        text = message["message"]
    if not isinstance(text, str) or not text.strip():
        raise ChatEventError("bot.chat_message without text")
    sender = _sender(message)
    if sender is None or not " ".join(sender.split()):
        raise ChatEventError("bot.chat_message without a sender name")
    own = "sender_id" in message and message["sender_id"] is None
    return MeetingChatMessage(
        id=("self:" if own else "") + msg_id[:190],
        sender=" ".join(sender.split())[:255],
        text=text.strip().replace("\x00", "")[:MAX_CHAT_POST_CHARS],
        at=_time(message.get("timestamp") or message.get("created_at")),
    )
