from __future__ import annotations

import pytest

from parley_backend.meetings.platforms import MeetingUrlError, detect_platform


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://zoom.us/j/1234567890?pwd=abc", "zoom"),
        ("https://us02web.zoom.us/j/85012345678", "zoom"),
        ("https://zoom.us/wc/join/1234567890", "zoom"),
        ("https://meet.google.com/abc-defg-hij", "google_meet"),
        ("https://meet.google.com/abc-defg-hij?authuser=0", "google_meet"),
        (
            "https://teams.microsoft.com/l/meetup-join/19%3ameeting_X%40thread.v2/0?context=%7b%7d",
            "teams",
        ),
        ("https://teams.live.com/meet/9876543210?p=abc", "teams"),
        ("https://teams.microsoft.com/_#/l/meetup-join/19:meeting@thread.v2/0", "teams"),
    ],
)
def test_accepts_meeting_links(url: str, platform: str) -> None:
    assert detect_platform(url) == platform


@pytest.mark.parametrize(
    "url",
    [
        "",
        "http://zoom.us/j/123456789",  # not https
        "https://zoom.us/",  # no meeting
        "https://evilzoom.us/j/123",  # look-alike host
        "https://zoom.us.evil.com/j/123",
        "https://meet.google.com/not-a-code",
        "https://teams.microsoft.com/",
        "https://example.com/j/123",
        "https://user:pw@zoom.us/j/123456789",
        "https://zoom.us/j/1 23",
        "javascript:alert(1)",
        "https://zoom.us:99999/j/123",
        "https://zoom.us/j/" + "1" * 3000,
    ],
)
def test_rejects_everything_else(url: str) -> None:
    with pytest.raises(MeetingUrlError):
        detect_platform(url)
