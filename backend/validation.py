"""Shared field constraints for names that end up in LiveKit (rooms, identities)."""

from __future__ import annotations

import secrets
from typing import Annotated

from pydantic import Field

# Room names cross to the agent, so their rule is the wire contract's.
from parley_common.wire import NAME_PATTERN, RoomName

__all__ = ["NAME_PATTERN", "DisplayName", "Identity", "RoomName", "new_identity", "new_room_name"]

Identity = Annotated[str, Field(pattern=NAME_PATTERN, description="1-64 of A-Z a-z 0-9 _ . : -")]
DisplayName = Annotated[str, Field(min_length=1, max_length=128)]


def new_room_name(prefix: str = "parley") -> str:
    # 64 random bits: nobody is handed (or can guess) a room another caller was given.
    return f"{prefix}-{secrets.token_hex(8)}"


def new_identity(prefix: str = "user") -> str:
    # 48 random bits: unique among live participants (docs/security.md).
    return f"{prefix}-{secrets.token_hex(6)}"
