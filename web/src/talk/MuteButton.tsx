import { useLocalParticipant } from '@livekit/components-react';

interface Props {
  connected: boolean;
  onEnable: () => Promise<void>;
}

/** Mutes/unmutes the published microphone (turning it on again retries permission). */
export function MuteButton({ connected, onEnable }: Props) {
  const { localParticipant, isMicrophoneEnabled } = useLocalParticipant();
  const live = connected && isMicrophoneEnabled;
  const toggle = () => {
    if (live) void localParticipant.setMicrophoneEnabled(false);
    else void onEnable();
  };
  return (
    <button
      type="button"
      className={`btn ${live || !connected ? 'btn-secondary' : 'btn-warn'}`}
      data-testid="mute-button"
      aria-pressed={connected ? !isMicrophoneEnabled : undefined}
      disabled={!connected}
      onClick={toggle}
    >
      <MicIcon muted={connected && !live} />
      <span>{live || !connected ? 'Mute' : 'Unmute'}</span>
    </button>
  );
}

function MicIcon({ muted }: { muted: boolean }) {
  return (
    <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round">
      <rect x="9" y="3" width="6" height="11" rx="3" />
      <path d="M5 11a7 7 0 0 0 14 0M12 18v3" />
      {muted && <path d="M4 4l16 16" />}
    </svg>
  );
}
