import type { Room } from 'livekit-client';
import { AudioLevelMeter } from './audioLevelMeter';

export interface ParleyTestHooks {
  /** The current (or last) LiveKit Room, null before the first connect. */
  readonly room: Room | null;
  /** RMS level (0..1) of the agent's remote audio track, measured now. */
  agentAudioLevel(): number;
  /** Highest agentAudioLevel() sampled since the last connect. */
  readonly maxAgentAudioLevel: number;
}

declare global {
  interface Window {
    __parley: ParleyTestHooks;
  }
}

/** One meter for the agent's audio, shared by the talk page and the test hooks. */
export const agentAudioMeter = new AudioLevelMeter();

let currentRoom: Room | null = null;

export function setTestRoom(room: Room | null): void {
  currentRoom = room;
}

window.__parley = {
  get room() {
    return currentRoom;
  },
  agentAudioLevel: () => agentAudioMeter.level(),
  get maxAgentAudioLevel() {
    return agentAudioMeter.max;
  },
};
