import { useEffect } from 'react';
import { BarVisualizer, useVoiceAssistant } from '@livekit/components-react';
import type { RemoteAudioTrack } from 'livekit-client';
import { agentAudioMeter } from './testHooks';

const HINTS: Record<string, string> = {
  disconnected: 'Press Connect to start talking.',
  connecting: 'Waiting for the agent to join…',
  'pre-connect-buffering': 'Recording while the agent joins…',
  initializing: 'The agent is getting ready…',
  idle: 'The agent is idle.',
  listening: 'Go ahead, the agent is listening.',
  thinking: 'The agent is thinking…',
  speaking: 'The agent is speaking.',
  failed: 'The agent failed to start.',
};

/** Agent state (from the lk.agent.state attribute) with an audio visualizer. */
export function AgentStatus() {
  const { state, audioTrack } = useVoiceAssistant();
  const track = audioTrack?.publication?.track as RemoteAudioTrack | undefined;
  const mediaStreamTrack = track?.mediaStreamTrack;

  // Feed the agent's audio to the page-level meter used by window.__parley.
  useEffect(() => {
    if (!mediaStreamTrack) return;
    agentAudioMeter.attach(mediaStreamTrack);
    return () => agentAudioMeter.detach();
  }, [mediaStreamTrack]);

  return (
    <div className="agent-status" data-state={state}>
      <BarVisualizer state={state} track={audioTrack} barCount={7} options={{ minHeight: 12 }} />
      <div className="agent-state-line" aria-live="polite" aria-atomic="true">
        <span className="visually-hidden">Agent state: </span>
        <span className="state-pill" data-testid="agent-state">
          {state}
        </span>
        <p className="hint">{HINTS[state] ?? ''}</p>
      </div>
    </div>
  );
}
