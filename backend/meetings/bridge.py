"""One meeting's bridge: the bot's WebSocket on one side, a LiveKit participant on the other.

The bridge joins the meeting's room as participant ``meeting-<id>`` and keeps that
connection across bot reconnects, so a new socket (with a new handshake) resumes at once.
Meeting audio (s16le mono at the bot's rate, any even length) is resampled to 48 kHz and
published as a microphone track; the agent's audio is resampled to the bot's rate and sent
back as 20 ms binary frames, paced to real time. Speaker arrays are re-published as
reliable data packets on topic ``parley.speakers`` (the validated array, Meeting BaaS
shape) and as the participant attributes ``parley.speaker`` (current speaker, "" when
nobody speaks) and ``parley.active_speakers`` (JSON list of names). A malformed frame is
logged and skipped, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from livekit import api, rtc
from starlette.websockets import WebSocket, WebSocketDisconnect

from parley_backend.meetings.audio_stream import own_frames_audio_stream
from parley_backend.meetings.livekit_rooms import LiveKitAccess, participant_token
from parley_backend.meetings.protocol import (
    CLOSE_TOO_BIG,
    MAX_BINARY_FRAME,
    Handshake,
    MalformedFrame,
    parse_text_frame,
)
from parley_common.wire import CHAT_TOPIC, SPEAKER_ATTRIBUTE, SPEAKERS_TOPIC, bridge_identity

logger = logging.getLogger("parley.meetings.bridge")

ROOM_RATE = 48000
OUT_FRAME_MS = 20
# How far ahead of real time we may send the bot audio (absorbs scheduling jitter); audio
# beyond that is dropped, not delayed, so a stall never turns into lasting latency.
MAX_LEAD_S = 0.06
# Meeting audio (bot → room) waits in our own buffer and is fed to the room's audio source
# by a pump task, never by the socket's receive loop (which must keep reading however long
# playback takes). The pump keeps at most PUMP_AHEAD_S handed to the source ahead of
# playout. When audio arrives and what is waiting (buffer + source) exceeds the new chunk
# (itself at most MAX_CHUNK_KEEP_S) plus MAX_IN_BACKLOG_S, the *oldest* waiting audio is
# dropped: latency stays bounded and the newest (live) speech always survives.
PUMP_AHEAD_S = 0.1
MAX_IN_BACKLOG_S = 0.04
MAX_CHUNK_KEEP_S = 1.0
# Eviction from the room (duplicate identity, removed through the API, a server hiccup)
# is not the meeting's end: the bridge rejoins, retrying at these intervals (seconds).
REJOIN_DELAYS_S = (0.0, 0.2, 0.5, 1.0, 2.0, 5.0)
# Only these mean the room itself is gone, which does end the meeting.
_ROOM_GONE = frozenset({rtc.DisconnectReason.ROOM_DELETED, rtc.DisconnectReason.ROOM_CLOSED})
ATTR_ROLE = "parley.role"
ATTR_MEETING = "parley.meeting_id"
ATTR_PLATFORM = "parley.platform"
ATTR_ACTIVE_SPEAKERS = "parley.active_speakers"
ATTR_SPEAKER = SPEAKER_ATTRIBUTE  # read by the agent: named in the wire contract
TRANSCRIPTION_TOPIC = "lk.transcription"
MAX_LOGGED_MALFORMED = 10

EventHook = Callable[[str, dict[str, Any]], Awaitable[None]]
TurnHook = Callable[[str, str, str, datetime.datetime], Awaitable[None]]
EndHook = Callable[[str], Awaitable[None]]


@dataclass
class BridgeStats:
    sockets: int = 0
    frames_in: int = 0
    bytes_in: int = 0
    frames_out: int = 0
    malformed: int = 0
    dropped_in_ms: float = 0.0
    dropped_out_ms: float = 0.0
    speaker_updates: int = 0
    oversized_frames: int = 0
    rejoins: int = 0
    handshakes: list[dict[str, Any]] = field(default_factory=list)


class MeetingBridge:
    def __init__(
        self,
        *,
        meeting_id: str,
        room_name: str,
        platform: str,
        bot_rate: int,
        agent_name: str,
        access: LiveKitAccess,
        on_event: EventHook,
        on_turn: TurnHook,
        on_room_ended: EndHook,
        idle_timeout: float = 180.0,
    ) -> None:
        self.meeting_id = meeting_id
        self.room_name = room_name
        self.platform = platform
        self.identity = bridge_identity(meeting_id)
        self.bot_rate = bot_rate
        self.agent_name = agent_name
        self.stats = BridgeStats()
        self._access = access
        self._on_event = on_event
        self._on_turn = on_turn
        self._on_room_ended = on_room_ended
        self._idle_timeout = idle_timeout
        self._room: rtc.Room | None = None
        self._source: rtc.AudioSource | None = None
        self._room_lock = asyncio.Lock()
        self._socket: WebSocket | None = None
        self._in_rate = bot_rate
        self._out_rate = bot_rate
        self._resampler: rtc.AudioResampler | None = None
        self._resampler_rate = 0
        self._out_clock = 0.0
        self._forwarders: dict[str, asyncio.Task] = {}
        self._tasks: set[asyncio.Task] = set()
        self._idle_task: asyncio.Task | None = None
        self._speakers: dict[str, Any] = {}
        self._active: list[str] = []
        self._current = ""
        self._last_active: list[str] = []
        self._seen_speakers: set[str] = set()
        self._pending_arrays: list[list[dict[str, Any]]] = []
        self._publish_wakeup = asyncio.Event()
        self._publish_task: asyncio.Task | None = None
        self._in_pcm = bytearray()  # meeting audio at _in_rate, waiting for the pump
        self._in_wakeup = asyncio.Event()
        self._pump_task: asyncio.Task | None = None
        self._rejoin_task: asyncio.Task | None = None
        self._closed = False
        self._log = logging.LoggerAdapter(logger, {"meeting_id": meeting_id, "room": room_name})

    # --- public -------------------------------------------------------------------------

    @property
    def room(self) -> rtc.Room | None:
        return self._room if self._room is not None and self._room.isconnected() else None

    async def publish_chat(self, payload: str) -> bool:
        """Relay one meeting chat message (a ``MeetingChatMessage`` as JSON) to the agent on
        ``CHAT_TOPIC``; False when the bridge is not in the room (the message stays stored)."""
        room = self.room
        if room is None:
            return False
        try:
            await room.local_participant.publish_data(payload, reliable=True, topic=CHAT_TOPIC)
        except Exception as exc:  # the room went away meanwhile
            self._log.warning("relaying a chat message failed: %s", exc)
            return False
        return True

    @property
    def active_speakers(self) -> list[str]:
        return list(self._active)

    async def serve_socket(self, ws: WebSocket) -> None:
        """Carry one accepted bot connection until it closes (or is replaced)."""
        if self._closed:
            await ws.close(code=1001)
            return
        await self._ensure_room()
        previous, self._socket = self._socket, ws
        if previous is not None:
            # A reconnect can arrive before we noticed the old socket died: newest wins.
            self._spawn(self._close_socket(previous, 1000, "replaced by a new connection"))
        if self._idle_task is not None:
            self._idle_task.cancel()
            self._idle_task = None
        self.stats.sockets += 1
        self._in_rate = self._out_rate = self.bot_rate
        self._out_clock = 0.0
        socket_malformed = 0
        await self._event("bridge.connected", {"connection": self.stats.sockets})
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                data = message.get("bytes")
                if data is not None:
                    if len(data) > MAX_BINARY_FRAME:
                        await self._refuse_oversized(ws, len(data))
                        break
                    if not self._audio_in(data):
                        socket_malformed += 1
                        self._malformed(f"binary frame of odd length {len(data)}")
                    continue
                text = message.get("text")
                if text is not None and not await self._text_in(text):
                    socket_malformed += 1
        except WebSocketDisconnect:
            pass
        except Exception:
            self._log.exception("bridge socket failed")
        finally:
            if self._socket is ws:
                self._socket = None
                if not self._closed:
                    self._idle_task = asyncio.create_task(self._idle_close())
            if not self._closed:
                await self._event(
                    "bridge.disconnected",
                    {"connection": self.stats.sockets, "malformed_frames": socket_malformed},
                )

    async def _refuse_oversized(self, ws: WebSocket, size: int) -> None:
        """One frame larger than any real chunk: close 1009 (the bot reconnects)."""
        self.stats.oversized_frames += 1
        self._log.warning("binary frame of %d bytes over %d: closing 1009", size, MAX_BINARY_FRAME)
        await self._event("bridge.frame_too_large", {"bytes": size, "limit": MAX_BINARY_FRAME})
        await self._close_socket(ws, CLOSE_TOO_BIG, f"binary frame over {MAX_BINARY_FRAME} bytes")

    async def close(self, reason: str) -> None:
        """Tear everything down: the socket, the forwarders, the room connection."""
        if self._closed:
            return
        self._closed = True
        self._log.info("closing bridge: %s", reason)
        if self._idle_task is not None:
            self._idle_task.cancel()
        socket, self._socket = self._socket, None
        if socket is not None:
            await self._close_socket(socket, 1000, reason)
        await self._disconnect_room()
        # close() may run inside one of our own tasks (room ended → service → close).
        others = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    # --- room side ----------------------------------------------------------------------

    async def _ensure_room(self) -> None:
        async with self._room_lock:
            if self._room is not None and self._room.isconnected():
                return
            room = rtc.Room()
            room.on("track_published", self._on_track_published)
            room.on("track_subscribed", self._on_track_subscribed)
            room.on("track_unsubscribed", self._on_track_unsubscribed)
            room.on("disconnected", lambda reason=None: self._on_disconnected(room, reason))
            room.register_text_stream_handler(TRANSCRIPTION_TOPIC, self._on_transcription)
            token = participant_token(
                self._access,
                room_name=self.room_name,
                identity=self.identity,
                name=f"Meeting ({self.platform})",
                attributes={
                    ATTR_ROLE: "meeting-bridge",
                    ATTR_MEETING: self.meeting_id,
                    ATTR_PLATFORM: self.platform,
                    ATTR_ACTIVE_SPEAKERS: json.dumps(self._active),
                    ATTR_SPEAKER: self._current,
                },
            )
            # Only the agent's audio is wanted: subscribe explicitly, not to everyone.
            await room.connect(self._access.url, token, rtc.RoomOptions(auto_subscribe=False))
            source = rtc.AudioSource(ROOM_RATE, 1, queue_size_ms=500)
            track = rtc.LocalAudioTrack.create_audio_track("meeting-audio", source)
            options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
            await room.local_participant.publish_track(track, options)
            self._room, self._source = room, source
            for participant in room.remote_participants.values():
                for publication in participant.track_publications.values():
                    self._on_track_published(publication, participant)
            if self._publish_task is None:
                self._publish_task = self._spawn(self._publish_speakers())
            if self._pump_task is None:
                self._pump_task = self._spawn(self._pump_audio())
            self._in_wakeup.set()
            self._log.info("bridge joined room as %s", self.identity)

    async def _disconnect_room(self) -> None:
        room, self._room = self._room, None
        for task in self._forwarders.values():
            task.cancel()
        self._forwarders.clear()
        if room is not None:
            with contextlib.suppress(Exception):
                await room.disconnect()
        self._source = None

    def _on_track_published(
        self, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
    ) -> None:
        if (
            participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT
            and publication.kind == rtc.TrackKind.KIND_AUDIO
        ):
            publication.set_subscribed(True)

    def _on_track_subscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if track.kind != rtc.TrackKind.KIND_AUDIO:
            return
        if participant.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            return
        old = self._forwarders.pop(publication.sid, None)
        if old is not None:
            old.cancel()
        self._forwarders[publication.sid] = self._spawn(self._forward(track))

    def _on_track_unsubscribed(
        self,
        _track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        _participant: rtc.RemoteParticipant,
    ) -> None:
        task = self._forwarders.pop(publication.sid, None)
        if task is not None:
            task.cancel()

    def _on_disconnected(self, room: rtc.Room, reason: Any) -> None:
        if self._closed or room is not self._room:
            return  # we left on purpose (idle or teardown)
        name = _reason_name(reason)
        if reason in _ROOM_GONE:
            self._log.info("bridge room connection ended: %s", name)
            self._spawn(self._on_room_ended(name))
            return
        self._log.warning("bridge evicted from the room (%s): rejoining", name)
        if self._rejoin_task is None or self._rejoin_task.done():
            self._rejoin_task = self._spawn(self._rejoin(room, name))

    async def _rejoin(self, old: rtc.Room, reason: str) -> None:
        """Back into the room after an eviction, unless the room itself is gone."""
        self._drop_room(old)
        with contextlib.suppress(Exception):  # frees the SDK's side of the dead connection
            await old.disconnect()
        await self._event("bridge.evicted", {"reason": reason})
        for attempt, delay in enumerate(_backoff(REJOIN_DELAYS_S)):
            if self._closed:
                return
            await asyncio.sleep(delay)
            try:
                if not await self._room_exists():
                    self._log.info("room is gone after eviction: ending")
                    await self._on_room_ended(f"{reason}; room gone")
                    return
                await self._ensure_room()
            except Exception as exc:  # LiveKit unreachable or refusing: try again
                self._log.warning("rejoin attempt %d failed: %s", attempt + 1, exc)
                continue
            self.stats.rejoins += 1
            await self._event("bridge.rejoined", {"reason": reason, "attempts": attempt + 1})
            return

    def _drop_room(self, room: rtc.Room) -> None:
        """Forget a room connection the server ended (its tracks and forwarders are dead)."""
        if self._room is room:
            self._room, self._source = None, None
            for task in self._forwarders.values():
                task.cancel()
            self._forwarders.clear()

    async def _room_exists(self) -> bool:
        lk = self._access.api()
        try:
            listed = await lk.room.list_rooms(api.ListRoomsRequest(names=[self.room_name]))
        finally:
            await lk.aclose()
        return any(r.name == self.room_name for r in listed.rooms)

    def _on_transcription(self, reader: rtc.TextStreamReader, participant_identity: str) -> None:
        attributes = reader.info.attributes or {}
        # The meeting's speech comes as whole segments marked final on open (interim ones
        # are skipped); the agent's comes as one delta stream per segment, complete at close.
        if (
            participant_identity == self.identity
            and attributes.get("lk.transcription_final") != "true"
        ):
            return
        started = datetime.datetime.now(datetime.UTC)
        # A final segment usually lands after the speaker stopped: use who spoke last.
        speakers = list(self._active or self._last_active)
        self._spawn(self._record_turn(reader, participant_identity, speakers, started))

    async def _record_turn(
        self,
        reader: rtc.TextStreamReader,
        sender: str,
        speakers: list[str],
        started: datetime.datetime,
    ) -> None:
        text = (await reader.read_all()).strip()
        if not text:
            return
        if sender == self.identity:
            await self._on_turn(", ".join(speakers) or "Meeting", "user", text, started)
            return
        # Agent participants usually have no display name: use the one the meeting sees.
        room = self._room
        participant = room.remote_participants.get(sender) if room is not None else None
        name = (participant.name if participant is not None else "") or self.agent_name
        await self._on_turn(name, "agent", text, started)

    # --- bot → room ---------------------------------------------------------------------

    def _audio_in(self, data: bytes) -> bool:
        """Queue one binary frame for the pump; never waits. False when malformed."""
        if len(data) % 2:
            return False
        if not data:
            return True
        self.stats.frames_in += 1
        self.stats.bytes_in += len(data)
        rate = self._in_rate
        self._in_pcm += data
        # Input and playout run at the same rate, so any backlog (a stall, a burst from the
        # network, one long frame) would stay as latency for good: drop the oldest audio.
        chunk_s = min(len(data) / 2 / rate, MAX_CHUNK_KEEP_S)
        queued = self._source.queued_duration if self._source is not None else 0.0
        excess = queued + len(self._in_pcm) / 2 / rate - chunk_s - MAX_IN_BACKLOG_S
        if excess > 0:
            drop = min(len(self._in_pcm), int(excess * rate) * 2)
            del self._in_pcm[:drop]
            self.stats.dropped_in_ms += 1000 * drop / 2 / rate
        self._in_wakeup.set()
        return True

    async def _pump_audio(self) -> None:
        """Feed buffered meeting audio to the room at playout speed, a little ahead."""
        while True:
            await self._in_wakeup.wait()
            self._in_wakeup.clear()
            while self._in_pcm:
                source = self._source
                if source is None:
                    break  # not in the room (rejoining): the trim keeps the buffer bounded
                queued = source.queued_duration
                room_s = PUMP_AHEAD_S - queued
                if room_s < 0.01:
                    await asyncio.sleep(queued - PUMP_AHEAD_S + 0.02)
                    continue
                rate = self._in_rate
                n = min(len(self._in_pcm), max(2, int(room_s * rate) * 2))
                chunk = bytes(self._in_pcm[:n])
                del self._in_pcm[:n]
                try:
                    for frame in self._resample_in(chunk, rate):
                        await source.capture_frame(frame)
                except Exception as exc:  # the source went away under us (eviction)
                    self._log.debug("capturing meeting audio failed: %s", exc)

    def _resample_in(self, data: bytes, rate: int) -> list[rtc.AudioFrame]:
        if rate == ROOM_RATE:
            return [rtc.AudioFrame(data, ROOM_RATE, 1, len(data) // 2)]
        else:
            if self._resampler is None or self._resampler_rate != rate:
                # QUICK holds back ~0.1 ms; MEDIUM ~9 ms (measured), which the target of
                # 20 ms added latency cannot afford. Upsampling speech needs no more.
                self._resampler = rtc.AudioResampler(
                    rate,
                    ROOM_RATE,
                    num_channels=1,
                    quality=rtc.AudioResamplerQuality.QUICK,
                )
                self._resampler_rate = rate
            return self._resampler.push(bytearray(data))

    async def _text_in(self, text: str) -> bool:
        try:
            parsed = parse_text_frame(text)
        except MalformedFrame as exc:
            self._malformed(str(exc))
            return False
        if isinstance(parsed, Handshake):
            await self._handshake(parsed)
        else:
            await self._speaker_update(parsed)
        return True

    async def _handshake(self, handshake: Handshake) -> None:
        rate = handshake.sample_rate or self.bot_rate
        if rate != self._in_rate:
            self._in_pcm.clear()  # audio of the old rate cannot be played at the new one
        self._in_rate = self._out_rate = rate
        info = {
            "protocol_version": handshake.protocol_version,
            "bot_id": handshake.bot_id,
            "offset": handshake.offset,
            "sample_rate": rate,
            "sample_rate_in_handshake": handshake.sample_rate is not None,
        }
        self.stats.handshakes.append(info)
        self._log.info("bot handshake: %s", info)
        await self._event("bridge.handshake", info)

    def _malformed(self, why: str) -> None:
        self.stats.malformed += 1
        n = self.stats.malformed
        if n <= MAX_LOGGED_MALFORMED or n % 100 == 0:
            self._log.warning("skipped malformed frame #%d: %s", n, why)

    async def _speaker_update(self, speakers: list[Any]) -> None:
        # Each array is taken as the complete current state (see docs/meeting-bridge.md).
        self.stats.speaker_updates += 1
        self._speakers = {s.name: s for s in speakers}
        new = []
        for speaker in speakers:
            if speaker.name not in self._seen_speakers and len(self._seen_speakers) < 500:
                self._seen_speakers.add(speaker.name)
                new.append({"name": speaker.name, "id": speaker.id})
        if new:
            # Recorded off the receive loop: a big meeting's first array is hundreds of rows.
            self._spawn(self._record_seen(new))
        speaking = [s for s in speakers if s.speaking]
        self._active = sorted(s.name for s in speaking)
        if self._active:
            self._last_active = list(self._active)
        # The current speaker is the one who started last (timestamps may be missing).
        latest = max(speaking, key=lambda s: s.timestamp or 0.0, default=None)
        self._current = latest.name if latest else ""
        self._pending_arrays.append([s.as_json() for s in speakers])
        self._publish_wakeup.set()

    async def _record_seen(self, speakers: list[dict[str, Any]]) -> None:
        for speaker in speakers:
            await self._event("speaker.seen", speaker)

    async def _publish_speakers(self) -> None:
        """Every array goes out as a data packet; attributes only when they changed."""
        published: dict[str, str] = {}
        while True:
            await self._publish_wakeup.wait()
            self._publish_wakeup.clear()
            arrays, self._pending_arrays = self._pending_arrays[-20:], []
            room = self.room
            if room is None:
                continue
            try:
                for array in arrays:
                    await room.local_participant.publish_data(
                        json.dumps(array), reliable=True, topic=SPEAKERS_TOPIC
                    )
                attrs = {
                    ATTR_ACTIVE_SPEAKERS: json.dumps(self._active),
                    ATTR_SPEAKER: self._current,
                }
                if attrs != published:
                    await room.local_participant.set_attributes(attrs)
                    published = attrs
            except Exception as exc:  # a failed publish must not stop later ones
                self._log.warning("publishing speakers failed: %s", exc)

    # --- room → bot ---------------------------------------------------------------------

    async def _forward(self, track: rtc.Track) -> None:
        """Agent audio to the bot, resampled by the SDK to the bot's rate (restarted if a
        new handshake changes the rate)."""
        while True:
            rate = self._out_rate
            stream = own_frames_audio_stream(track, sample_rate=rate, frame_size_ms=OUT_FRAME_MS)
            try:
                async for event in stream:
                    if self._out_rate != rate:
                        break
                    ws = self._socket
                    if ws is None:
                        continue  # audio during a gap is lost, as on their side
                    await self._send_paced(ws, event.frame.data.tobytes(), rate)
                else:
                    return  # the track ended
            finally:
                await stream.aclose()

    async def _send_paced(self, ws: WebSocket, pcm: bytes, rate: int) -> None:
        """Send now unless that would put the bot more than ``MAX_LEAD_S`` ahead."""
        if not pcm:
            return
        now = time.monotonic()
        duration = len(pcm) / 2 / rate
        clock = max(self._out_clock, now) + duration
        if clock - now > MAX_LEAD_S + duration:
            self.stats.dropped_out_ms += 1000 * duration  # a burst after a stall
            return
        self._out_clock = clock
        try:
            await ws.send_bytes(pcm)
            self.stats.frames_out += 1
        except Exception as exc:  # the socket died under us; the read loop will notice
            self._log.debug("send to bot failed: %s", exc)

    # --- helpers ------------------------------------------------------------------------

    async def _idle_close(self) -> None:
        await asyncio.sleep(self._idle_timeout)
        if self._socket is None and not self._closed:
            self._log.info("no bot connection for %.0f s: leaving the room", self._idle_timeout)
            await self._disconnect_room()

    async def _close_socket(self, ws: WebSocket, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await ws.close(code=code, reason=reason[:120])

    async def _event(self, kind: str, data: dict[str, Any]) -> None:
        try:
            await self._on_event(kind, data)
        except Exception:
            self._log.exception("recording %s failed", kind)

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _reason_name(reason: Any) -> str:
    try:
        return rtc.DisconnectReason.Name(reason)
    except (ValueError, TypeError):
        return str(reason)


def _backoff(delays: tuple[float, ...]) -> Iterator[float]:
    """The delays, then the last one for ever."""
    yield from delays
    while True:
        yield delays[-1]
