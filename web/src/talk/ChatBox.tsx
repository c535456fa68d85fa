import { useState, type FormEvent } from 'react';
import type { Room } from 'livekit-client';
import { errorMessage } from '../api';
import { CHAT_TOPIC, type TranscriptStore } from './transcriptStore';

interface Props {
  room: Room;
  store: TranscriptStore;
  connected: boolean;
}

/** Sends typed messages to the agent on the lk.chat topic. */
export function ChatBox({ room, store, connected }: Props) {
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const message = text.trim();
    if (!message || !connected || sending) return;
    setSending(true);
    setError(null);
    try {
      await room.localParticipant.sendText(message, { topic: CHAT_TOPIC });
      store.addChat(message);
      setText('');
    } catch (err) {
      setError(`Message not sent: ${errorMessage(err)}`);
    } finally {
      setSending(false);
    }
  };

  return (
    <form className="chat" onSubmit={submit}>
      <label htmlFor="chat-input" className="visually-hidden">
        Message to the agent
      </label>
      <input
        id="chat-input"
        data-testid="chat-input"
        type="text"
        autoComplete="off"
        placeholder={connected ? 'Type a message…' : 'Connect to send messages'}
        value={text}
        onChange={(e) => setText(e.target.value)}
        disabled={!connected}
      />
      <button type="submit" className="btn btn-primary" data-testid="chat-send" disabled={!connected || sending || !text.trim()}>
        Send
      </button>
      {error && (
        <p className="chat-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
