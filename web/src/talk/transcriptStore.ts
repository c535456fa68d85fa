import type { Room, TextStreamReader } from 'livekit-client';

export const TRANSCRIPTION_TOPIC = 'lk.transcription';
export const CHAT_TOPIC = 'lk.chat';

const ATTR_SEGMENT_ID = 'lk.segment_id';
const ATTR_FINAL = 'lk.transcription_final';

export type Role = 'user' | 'agent';

export interface TranscriptEntry {
  /** Stable key: the transcription segment id, or a local id for typed messages. */
  id: string;
  role: Role;
  text: string;
  final: boolean;
  source: 'voice' | 'chat';
}

/**
 * Conversation transcript of one session, in the order segments first appeared.
 *
 * Listens to `lk.transcription` text streams. The agent publishes the user's STT
 * results as one stream per update sharing an `lk.segment_id` (interim ones with
 * `lk.transcription_final: "false"`, then a final one), and its own speech as a
 * single growing stream whose trailer sets `lk.transcription_final: "true"`.
 * Either way the entry for a segment is replaced in place, and once final it is
 * never downgraded by a late interim update.
 */
export class TranscriptStore {
  private entries: TranscriptEntry[] = [];
  private readonly listeners = new Set<() => void>();
  private chatCounter = 0;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): TranscriptEntry[] => this.entries;

  /** Register the text-stream handler; call before room.connect() so nothing is missed. */
  attach(room: Room): () => void {
    room.registerTextStreamHandler(TRANSCRIPTION_TOPIC, (reader, participant) => {
      const role: Role = participant.identity === room.localParticipant.identity ? 'user' : 'agent';
      void this.consume(reader, role);
    });
    return () => room.unregisterTextStreamHandler(TRANSCRIPTION_TOPIC);
  }

  /** Add a message the user typed (sent on lk.chat). */
  addChat(text: string): void {
    this.chatCounter += 1;
    this.upsert({ id: `chat-${this.chatCounter}`, role: 'user', text, final: true, source: 'chat' });
  }

  private async consume(reader: TextStreamReader, role: Role): Promise<void> {
    const header = reader.info.attributes ?? {};
    const id = `${role}:${header[ATTR_SEGMENT_ID] ?? reader.info.id}`;
    const headerFinal = header[ATTR_FINAL] === 'true';
    let text = '';
    try {
      for await (const chunk of reader) {
        text += chunk;
        if (text.trim()) this.upsert({ id, role, text, final: headerFinal, source: 'voice' });
      }
    } catch (err) {
      console.warn('[parley] transcription stream ended abnormally', err);
    }
    // Trailer attributes are merged into reader.info when the stream closes.
    const closed = reader.info.attributes ?? {};
    const final = closed[ATTR_FINAL] === undefined ? true : closed[ATTR_FINAL] === 'true';
    if (text.trim()) this.upsert({ id, role, text, final, source: 'voice' });
  }

  private upsert(entry: TranscriptEntry): void {
    const index = this.entries.findIndex((e) => e.id === entry.id);
    if (index === -1) {
      this.entries = [...this.entries, entry];
    } else {
      const current = this.entries[index];
      if (current.final && !entry.final) return;
      if (current.text === entry.text && current.final === entry.final) return;
      const next = this.entries.slice();
      next[index] = entry;
      this.entries = next;
    }
    this.listeners.forEach((l) => l());
  }
}
