"""Room invites: short-lived, single-room, HMAC-signed, opaque to their holder.

A management caller mints one (``POST /api/rooms/{room}/invites``); a public caller
presents it to ``POST /api/token`` and joins that room under an identity the backend
assigns. The invite is ``pinv1.<payload>.<mac>``: ``payload`` is base64url JSON
``{"r": room, "e": expiry (epoch s), "n": nonce}`` and ``mac`` its HMAC-SHA256 under a
server secret, so nothing in it can be changed without the secret. Invites are stateless
(any backend replica verifies them); they are bounded by their expiry, not by a use count.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass

from parley_backend.validation import NAME_PATTERN

VERSION = "pinv1"
MAX_INVITE_CHARS = 512
_SHAPE = re.compile(r"^pinv1\.[A-Za-z0-9_-]{1,400}\.[A-Za-z0-9_-]{43}$")


class InviteError(Exception):
    """The invite is malformed, forged, expired or otherwise unusable (the message says)."""


@dataclass(frozen=True)
class Invite:
    room_name: str
    expires_at: float
    nonce: str


def invite_key(invite_secret: str, livekit_api_secret: str) -> bytes:
    """The MAC key: the configured secret, else one derived from the LiveKit secret (so a
    deployment needs no extra setup, and invites never verify under another secret)."""
    if invite_secret:
        return hashlib.sha256(b"parley-invite-v1:" + invite_secret.encode()).digest()
    return hmac.new(livekit_api_secret.encode(), b"parley-invite-v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, signed: str) -> str:
    return _b64(hmac.new(key, signed.encode(), hashlib.sha256).digest())


def mint_invite(room_name: str, ttl_s: int, *, now: float | None = None) -> Invite:
    now = time.time() if now is None else now
    return Invite(
        room_name=room_name, expires_at=float(int(now) + ttl_s), nonce=secrets.token_hex(8)
    )


def encode_invite(key: bytes, invite: Invite) -> str:
    payload = json.dumps(
        {"r": invite.room_name, "e": int(invite.expires_at), "n": invite.nonce},
        separators=(",", ":"),
    )
    signed = f"{VERSION}.{_b64(payload.encode())}"
    return f"{signed}.{_mac(key, signed)}"


def verify_invite(key: bytes, text: str, *, now: float | None = None) -> Invite:
    """The invite's content if the MAC is right and it has not expired; else InviteError."""
    if len(text) > MAX_INVITE_CHARS or not _SHAPE.fullmatch(text):
        raise InviteError("invite is malformed")
    signed, _, mac = text.rpartition(".")
    if not hmac.compare_digest(mac, _mac(key, signed)):
        raise InviteError("invite signature is invalid")
    try:
        data = json.loads(_unb64(signed.split(".", 1)[1]))
    except (binascii.Error, ValueError):
        raise InviteError("invite is malformed") from None
    if not isinstance(data, dict):
        raise InviteError("invite is malformed")
    room, expiry, nonce = data.get("r"), data.get("e"), data.get("n")
    if (
        not isinstance(room, str)
        or not re.fullmatch(NAME_PATTERN, room)
        or not isinstance(expiry, int)
        or not isinstance(nonce, str)
    ):
        raise InviteError("invite is malformed")
    if (time.time() if now is None else now) >= expiry:
        raise InviteError("invite has expired")
    return Invite(room_name=room, expires_at=float(expiry), nonce=nonce)
