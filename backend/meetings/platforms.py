"""Which meeting links we accept: Zoom, Google Meet and Microsoft Teams, https only.

Meeting BaaS would reject other links after we had already created a room and a dispatch;
checking first keeps a typo from costing a LiveKit room and a paid bot request.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

Platform = Literal["zoom", "google_meet", "teams"]

MAX_URL_LENGTH = 2048

_ZOOM_HOST = re.compile(r"^([a-z0-9-]+\.)*(zoom\.us|zoomgov\.com|zoom\.com)$")
_ZOOM_PATH = re.compile(r"^/(j|s|w|my)/[A-Za-z0-9._-]+/?$|^/wc/(join/)?\d+(/[a-z]+)?/?$")
_MEET_PATH = re.compile(r"^/[a-z]{3}-[a-z]{4}-[a-z]{3}/?$|^/lookup/[A-Za-z0-9_-]+/?$")
_TEAMS_HOSTS = frozenset(
    {"teams.microsoft.com", "teams.live.com", "gov.teams.microsoft.us", "dod.teams.microsoft.us"}
)
_TEAMS_PATH = re.compile(r"^/(l/meetup-join/|meet/|v2/)\S+$")


class MeetingUrlError(ValueError):
    """The link is not a meeting link we can send a bot to; the message says why."""


def detect_platform(meeting_url: str) -> Platform:
    """Return the platform of a Zoom/Meet/Teams link or raise ``MeetingUrlError``."""
    url = meeting_url.strip()
    if not url:
        raise MeetingUrlError("meeting_url is empty")
    if len(url) > MAX_URL_LENGTH:
        raise MeetingUrlError(f"meeting_url is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() for ch in url):
        raise MeetingUrlError("meeting_url must not contain spaces")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        _ = parts.port  # raises on a malformed port
    except ValueError as exc:
        raise MeetingUrlError(f"meeting_url is not a valid URL: {exc}") from None
    if parts.scheme.lower() != "https":
        raise MeetingUrlError("meeting_url must be an https:// link")
    if parts.username or parts.password:
        raise MeetingUrlError("meeting_url must not carry credentials")
    path = parts.path or "/"
    if _ZOOM_HOST.match(host):
        if _ZOOM_PATH.match(path):
            return "zoom"
        raise MeetingUrlError("a Zoom link needs a meeting path such as /j/<meeting id>")
    if host == "meet.google.com":
        if _MEET_PATH.match(path):
            return "google_meet"
        raise MeetingUrlError("a Google Meet link looks like https://meet.google.com/abc-defg-hij")
    if host in _TEAMS_HOSTS:
        # Teams links sometimes carry the meeting path in the fragment (/_#/l/meetup-join/...).
        if _TEAMS_PATH.match(path) or _TEAMS_PATH.match(parts.fragment.lstrip("_#")):
            return "teams"
        raise MeetingUrlError("a Teams link needs a /l/meetup-join/... or /meet/... path")
    raise MeetingUrlError("meeting_url must be a Zoom, Google Meet or Microsoft Teams link")
