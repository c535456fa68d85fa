"""Wire facts of the access policy that the agent and the backend both read.

The backend signs these attributes into every participant token it mints (LiveKit copies
them onto the participant; a participant without ``canUpdateOwnMetadata`` cannot change
them), so the agent can tell how far to trust the person it talks to without trusting
anything that person says. docs/security.md has the whole policy.
"""

from __future__ import annotations

from typing import Literal

# Participant attribute: which kind of caller the backend issued this token to.
CALLER_ATTRIBUTE = "parley.caller"
CallerAttribute = Literal["anonymous", "key", "management"]
CALLER_ANONYMOUS: CallerAttribute = "anonymous"
CALLER_KEY: CallerAttribute = "key"
CALLER_MANAGEMENT: CallerAttribute = "management"

# Identities only their owners hold: the meeting bridge (``meeting-<id>``), the agent
# workers (LiveKit Agents names them ``agent-<job id>``) and the backend's own helpers
# (``parley-ask-...`` for the console's questions). Compared case-insensitively.
RESERVED_IDENTITY_PREFIXES: tuple[str, ...] = ("meeting-", "agent-", "parley-")

# Rooms the meetings service creates (``parley-meeting-<id>``): nobody else names them.
MEETING_ROOM_PREFIX = "parley-meeting-"


def is_reserved_identity(identity: str) -> bool:
    return identity.lower().startswith(RESERVED_IDENTITY_PREFIXES)


def is_meeting_room(room_name: str) -> bool:
    return room_name.lower().startswith(MEETING_ROOM_PREFIX)


def trusted_with_history(attributes: dict[str, str] | None) -> bool:
    """Whether a participant's identity was chosen by a management caller (and so may be
    used to look up what that identity said elsewhere). Anything else sees its own room."""
    return attributes is not None and attributes.get(CALLER_ATTRIBUTE) == CALLER_MANAGEMENT
