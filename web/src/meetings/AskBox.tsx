import { useState, type FormEvent } from 'react';
import { meetingsApi } from '../api';

interface Props {
  apiKey: string;
  meetingId: string;
  disabled: boolean;
  onError: (err: unknown) => void;
}

/** "Ask the meeting": the bot answers the question in the meeting. */
export function AskBox({ apiKey, meetingId, disabled, onError }: Props) {
  const [question, setQuestion] = useState('');
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const q = question.trim();
    if (!q) return;
    setBusy(true);
    setSent(null);
    try {
      await meetingsApi.ask(apiKey, meetingId, q);
      setSent(`Asked: “${q}”`);
      setQuestion('');
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="ask" onSubmit={submit}>
      <label htmlFor="ask-input">Ask the meeting</label>
      <div className="ask-row">
        <input
          id="ask-input"
          data-testid="ask-input"
          type="text"
          autoComplete="off"
          placeholder="e.g. What did we decide about the launch date?"
          value={question}
          onChange={(e) => setQuestion(e.target.value)}
          disabled={disabled || busy}
        />
        <button type="submit" className="btn btn-primary" data-testid="ask-send" disabled={disabled || busy || !question.trim()}>
          {busy ? 'Asking…' : 'Ask'}
        </button>
      </div>
      <p className="hint ask-result" role="status" data-testid="ask-result">
        {sent}
      </p>
    </form>
  );
}
