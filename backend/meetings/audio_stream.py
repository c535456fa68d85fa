"""A per-track ``rtc.AudioStream`` that only receives its own frames.

livekit (rtc) 1.1.21 subscribes every ``AudioStream`` to *all* audio-stream events of the
process and drops the foreign ones on the asyncio loop: with N bridges in one backend that
is N^2 deliveries a second (at 50 bridges x 50 frames/s, ~125k wasted loop callbacks). Here
the subscription is narrowed to the stream's own handle, so the filter runs in the FFI
thread and only the stream's frames reach the loop. If the SDK's internals change, the
stream is left as the SDK made it (correct, just slower).
"""

from __future__ import annotations

import logging

from livekit import rtc
from livekit.rtc._ffi_client import FfiClient

logger = logging.getLogger("parley.meetings.audio_stream")


def own_frames_audio_stream(
    track: rtc.Track, *, sample_rate: int, frame_size_ms: int
) -> rtc.AudioStream:
    stream = rtc.AudioStream(
        track, sample_rate=sample_rate, num_channels=1, frame_size_ms=frame_size_ms
    )
    try:
        handle = stream._ffi_handle.handle
        ffi_queue = FfiClient.instance.queue
        narrowed = ffi_queue.subscribe(
            stream._loop,
            filter_fn=lambda e: (
                e.WhichOneof("message") == "audio_stream_event"
                and e.audio_stream_event.stream_handle == handle
            ),
        )
        # Safe before the first await: the stream's reader task has not started yet.
        ffi_queue.unsubscribe(stream._ffi_queue)
        stream._ffi_queue = narrowed
    except AttributeError as exc:  # a different SDK version: keep the stock behaviour
        logger.debug("cannot narrow the audio stream subscription: %s", exc)
    return stream
