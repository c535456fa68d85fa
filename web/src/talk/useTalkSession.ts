import { useCallback, useEffect, useRef, useState } from 'react';
import {
  ConnectionState,
  DisconnectReason,
  MediaDeviceFailure,
  ParticipantKind,
  Room,
  RoomEvent,
  type RemoteParticipant,
} from 'livekit-client';
import { errorMessage, fetchToken, type TokenRequest } from '../api';
import { TranscriptStore } from './transcriptStore';
import { agentAudioMeter, setTestRoom } from './testHooks';

/** How long to wait for an agent participant after joining the room. */
export const AGENT_JOIN_TIMEOUT_MS = 8000;

export type Phase = 'idle' | 'connecting' | 'connected';

export interface SessionErrors {
  connection?: string;
  microphone?: string;
  agent?: string;
}

export interface ConnectOptions extends TokenRequest {
  microphoneId?: string;
}

function isAgent(p: RemoteParticipant): boolean {
  return p.kind === ParticipantKind.AGENT;
}

export function describeMicrophoneError(err: unknown): string {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    return 'Microphone access needs a secure page (HTTPS or localhost). You can still type messages.';
  }
  switch (MediaDeviceFailure.getFailure(err)) {
    case MediaDeviceFailure.PermissionDenied:
      return 'Microphone permission was denied. Allow microphone access for this site in your browser settings, then reconnect. You can still type messages.';
    case MediaDeviceFailure.NotFound:
      return 'No microphone was found. Connect one and pick it in the microphone list, or type your messages.';
    case MediaDeviceFailure.DeviceInUse:
      return 'The microphone is being used by another application. Close it and try again.';
    default:
      return `Could not start the microphone: ${errorMessage(err)}`;
  }
}

function describeDisconnect(reason: DisconnectReason | undefined): string {
  switch (reason) {
    case DisconnectReason.ROOM_DELETED:
      return 'The session ended: the room was closed.';
    case DisconnectReason.PARTICIPANT_REMOVED:
      return 'The session ended: you were removed from the room.';
    case DisconnectReason.DUPLICATE_IDENTITY:
      return 'The session ended: the same identity joined from somewhere else.';
    case DisconnectReason.SERVER_SHUTDOWN:
      return 'The session ended: the LiveKit server shut down.';
    case DisconnectReason.JOIN_FAILURE:
      return 'Could not join the room.';
    default:
      return 'Lost the connection to the voice server and could not reconnect.';
  }
}

/**
 * Owns the LiveKit Room of the talk page: token fetch, connect, microphone,
 * reconnect tracking, "agent did not join" timeout and disconnect.
 */
export function useTalkSession() {
  const [room, setRoom] = useState<Room>(() => new Room());
  const [store, setStore] = useState<TranscriptStore>(() => new TranscriptStore());
  const [phase, setPhase] = useState<Phase>('idle');
  const [reconnecting, setReconnecting] = useState(false);
  const [errors, setErrors] = useState<SessionErrors>({});
  const cleanupRef = useRef<(() => void) | null>(null);
  const userLeavingRef = useRef(false);
  const roomRef = useRef(room);
  roomRef.current = room;

  const setError = useCallback((key: keyof SessionErrors, message: string | undefined) => {
    setErrors((prev) => (prev[key] === message ? prev : { ...prev, [key]: message }));
  }, []);

  const teardown = useCallback(() => {
    cleanupRef.current?.();
    cleanupRef.current = null;
    agentAudioMeter.detach();
    setReconnecting(false);
    setPhase('idle');
  }, []);

  const enableMicrophone = useCallback(
    async (r: Room) => {
      try {
        await r.localParticipant.setMicrophoneEnabled(true);
        setError('microphone', undefined);
      } catch (err) {
        setError('microphone', describeMicrophoneError(err));
      }
    },
    [setError],
  );

  const connect = useCallback(
    async ({ microphoneId, ...tokenRequest }: ConnectOptions) => {
      if (cleanupRef.current) return;
      setErrors({});
      setPhase('connecting');
      userLeavingRef.current = false;

      let token;
      try {
        token = await fetchToken(tokenRequest);
      } catch (err) {
        setError('connection', `Could not start a session: ${errorMessage(err)}`);
        setPhase('idle');
        return;
      }

      const r = new Room({
        adaptiveStream: true,
        dynacast: true,
        audioCaptureDefaults: {
          deviceId: microphoneId || undefined,
          echoCancellation: true,
          noiseSuppression: true,
          autoGainControl: true,
        },
      });
      const s = new TranscriptStore();
      const detachStore = s.attach(r);
      let agentTimer: number | undefined;

      const onConnectionState = (state: ConnectionState) =>
        setReconnecting(state === ConnectionState.Reconnecting || state === ConnectionState.SignalReconnecting);
      const onReconnecting = () => setReconnecting(true);
      const onReconnected = () => setReconnecting(false);
      const onParticipant = (p: RemoteParticipant) => {
        if (isAgent(p)) setError('agent', undefined);
      };
      const onParticipantLeft = (p: RemoteParticipant) => {
        if (isAgent(p) && !userLeavingRef.current && r.state !== ConnectionState.Disconnected) {
          setError('agent', 'The agent left the conversation. Disconnect and connect again to start a new one.');
        }
      };
      const onDeviceError = (err: Error) => setError('microphone', describeMicrophoneError(err));
      const onDisconnected = (reason?: DisconnectReason) => {
        if (!userLeavingRef.current && reason !== DisconnectReason.CLIENT_INITIATED) {
          setError('connection', describeDisconnect(reason));
        }
        teardown();
      };

      r.on(RoomEvent.ConnectionStateChanged, onConnectionState)
        .on(RoomEvent.Reconnecting, onReconnecting)
        .on(RoomEvent.SignalReconnecting, onReconnecting)
        .on(RoomEvent.Reconnected, onReconnected)
        .on(RoomEvent.ParticipantConnected, onParticipant)
        .on(RoomEvent.ParticipantDisconnected, onParticipantLeft)
        .on(RoomEvent.MediaDevicesError, onDeviceError)
        .on(RoomEvent.Disconnected, onDisconnected);

      cleanupRef.current = () => {
        window.clearTimeout(agentTimer);
        r.off(RoomEvent.ConnectionStateChanged, onConnectionState)
          .off(RoomEvent.Reconnecting, onReconnecting)
          .off(RoomEvent.SignalReconnecting, onReconnecting)
          .off(RoomEvent.Reconnected, onReconnected)
          .off(RoomEvent.ParticipantConnected, onParticipant)
          .off(RoomEvent.ParticipantDisconnected, onParticipantLeft)
          .off(RoomEvent.MediaDevicesError, onDeviceError)
          .off(RoomEvent.Disconnected, onDisconnected);
        detachStore();
      };

      agentAudioMeter.detach();
      agentAudioMeter.reset();
      setTestRoom(r);
      setRoom(r);
      setStore(s);

      try {
        await r.connect(token.server_url, token.participant_token);
      } catch (err) {
        if (!userLeavingRef.current) {
          setError('connection', `Could not connect to the voice server (${token.server_url}): ${errorMessage(err)}`);
        }
        teardown();
        return;
      }
      if (userLeavingRef.current) return;
      setPhase('connected');
      void r.startAudio().catch(() => undefined);

      agentTimer = window.setTimeout(() => {
        if (r.state === ConnectionState.Disconnected) return;
        if (![...r.remoteParticipants.values()].some(isAgent)) {
          setError(
            'agent',
            `The agent did not join within ${AGENT_JOIN_TIMEOUT_MS / 1000} seconds. Check that the Parley agent worker is running, then reconnect.`,
          );
        }
      }, AGENT_JOIN_TIMEOUT_MS);

      await enableMicrophone(r);
    },
    [enableMicrophone, setError, teardown],
  );

  const disconnect = useCallback(async () => {
    userLeavingRef.current = true;
    setError('agent', undefined);
    try {
      await roomRef.current.disconnect();
    } finally {
      teardown();
    }
  }, [setError, teardown]);

  // Leave the room when the page goes away or the component unmounts.
  useEffect(() => {
    const leave = () => {
      userLeavingRef.current = true;
      cleanupRef.current?.();
      cleanupRef.current = null;
      agentAudioMeter.detach();
      void roomRef.current.disconnect();
    };
    window.addEventListener('pagehide', leave);
    return () => {
      window.removeEventListener('pagehide', leave);
      leave();
    };
  }, []);

  const dismissError = useCallback((key: keyof SessionErrors) => setError(key, undefined), [setError]);

  return {
    room,
    store,
    phase,
    reconnecting,
    errors,
    connect,
    disconnect,
    dismissError,
    retryMicrophone: () => enableMicrophone(roomRef.current),
  };
}
