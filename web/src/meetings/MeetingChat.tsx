import { useEffect, useRef, useState, type FormEvent } from 'react';
import { meetingsApi, type TranscriptTurn } from '../api';
import { formatTime } from './format';

// Meeting BaaS takes 500 characters per message; the backend splits longer posts.
const MAX_POST_CHARS = 20000;

interface Props {
  apiKey: string;
  meetingId: string;
  messages: TranscriptTurn[] | undefined;
  disabled: boolean;
  onSent: () => void;
  onError: (err: unknown) => void;
}

/** The meeting chat, both ways: what participants wrote and what the bot posted, and a box
 * to post as the bot. */
export function MeetingChat({ apiKey, meetingId, messages, disabled, onSent, onError }: Props) {
  const ref = useRef<HTMLOListElement>(null);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<string | null>(null);

  useEffect(() => {
    const el = ref.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [messages]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const message = text.trim();
    if (!message) return;
    setBusy(true);
    setNote(null);
    try {
      const r = await meetingsApi.postChat(apiKey, meetingId, message);
      setNote(r.parts > 1 ? `Posted in ${r.parts} messages.` : 'Posted.');
      setText('');
      onSent();
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="meeting-chat">
      <ol ref={ref} className="transcript meeting-chat-log" data-testid="meeting-chat" role="log" aria-label="Meeting chat" tabIndex={0}>
        {!messages || messages.length === 0 ? (
          <li className="transcript-empty">{messages ? 'No chat messages yet.' : 'Loading chat…'}</li>
        ) : (
          messages.map((t, i) => (
            <li key={`${i}-${t.started_at ?? ''}`} className={`bubble bubble-${t.role === 'agent_chat' ? 'agent' : 'user'}`} data-role={t.role}>
              <span className="bubble-speaker">
                {t.speaker || (t.role === 'agent_chat' ? 'Parley' : 'Participant')}
                {t.started_at && <time dateTime={t.started_at}>{formatTime(t.started_at)}</time>}
              </span>
              <span className="bubble-text">{t.text}</span>
            </li>
          ))
        )}
      </ol>
      <form className="ask" onSubmit={submit}>
        <label htmlFor="meeting-chat-input">Post to the meeting chat</label>
        <div className="ask-row">
          <input
            id="meeting-chat-input"
            data-testid="meeting-chat-input"
            type="text"
            autoComplete="off"
            maxLength={MAX_POST_CHARS}
            placeholder="Written in the chat as the bot"
            value={text}
            onChange={(e) => setText(e.target.value)}
            disabled={disabled || busy}
          />
          <button type="submit" className="btn btn-primary" data-testid="meeting-chat-send" disabled={disabled || busy || !text.trim()}>
            {busy ? 'Posting…' : 'Post'}
          </button>
        </div>
        <p className="hint ask-result" role="status" data-testid="meeting-chat-result">
          {note}
        </p>
      </form>
    </div>
  );
}
