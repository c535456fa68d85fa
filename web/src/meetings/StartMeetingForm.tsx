import { useState, type FormEvent } from 'react';
import { meetingsApi, type Meeting } from '../api';
import { PERSONAS } from '../talk/options';
import { detectPlatform } from './format';

interface Props {
  apiKey: string;
  disabled: boolean;
  onStarted: (meeting: Meeting) => void;
  onError: (err: unknown) => void;
}

/** Sends a bot into a Zoom / Google Meet / Teams meeting. */
export function StartMeetingForm({ apiKey, disabled, onStarted, onError }: Props) {
  const [url, setUrl] = useState('');
  const [botName, setBotName] = useState('');
  const [persona, setPersona] = useState('');
  const [busy, setBusy] = useState(false);
  const platform = detectPlatform(url);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const meetingUrl = url.trim();
    if (!meetingUrl) {
      onError(new Error('Enter a meeting link (Zoom, Google Meet or Teams).'));
      return;
    }
    setBusy(true);
    try {
      const meeting = await meetingsApi.start(apiKey, {
        meeting_url: meetingUrl,
        bot_name: botName.trim() || undefined,
        agent_config: persona.trim() ? { persona: persona.trim() } : undefined,
      });
      setUrl('');
      onStarted(meeting);
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card start-form" onSubmit={submit} noValidate aria-labelledby="start-heading">
      <h2 id="start-heading" className="card-title">
        Send a bot to a meeting
      </h2>
      <fieldset disabled={disabled || busy}>
        <div className="field">
          <label htmlFor="meeting-url-input">Meeting link</label>
          <input
            id="meeting-url-input"
            data-testid="meeting-url-input"
            type="text"
            inputMode="url"
            autoComplete="off"
            spellCheck={false}
            placeholder="https://zoom.us/j/… · meet.google.com/… · teams.microsoft.com/…"
            aria-describedby="meeting-url-hint"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
          />
          <p id="meeting-url-hint" className="hint">
            {platform ? `Detected: ${platform}` : 'Zoom, Google Meet or Microsoft Teams link.'}
          </p>
        </div>
        <div className="field-row">
          <div className="field">
            <label htmlFor="bot-name-input">Bot name</label>
            <input
              id="bot-name-input"
              data-testid="bot-name-input"
              type="text"
              autoComplete="off"
              placeholder="Parley"
              maxLength={64}
              value={botName}
              onChange={(e) => setBotName(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="persona-input">Persona</label>
            <input
              id="persona-input"
              data-testid="persona-input"
              type="text"
              list="persona-suggestions"
              autoComplete="off"
              placeholder="friendly assistant"
              value={persona}
              onChange={(e) => setPersona(e.target.value)}
            />
            <datalist id="persona-suggestions">
              {/* Management callers set the persona itself: suggest the presets' personas. */}
              {PERSONAS.map((p) => (
                <option key={p.value} value={p.label.toLowerCase()} />
              ))}
            </datalist>
          </div>
        </div>
        <button type="submit" className="btn btn-primary" data-testid="start-meeting">
          {busy ? 'Starting…' : 'Start bot'}
        </button>
      </fieldset>
    </form>
  );
}
