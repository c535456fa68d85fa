import { PERSONAS, type Option } from './options';

export interface Settings {
  name: string;
  language: string;
  persona: string;
}

interface Props {
  value: Settings;
  /** The languages the running stack serves (GET /api/capabilities). */
  languages: Option[];
  /** Why other languages are missing. */
  languageNotes: string[];
  onChange: (next: Settings) => void;
  disabled: boolean;
}

/** Name, language and persona, chosen before connecting. */
export function SessionSettings({ value, languages, languageNotes, onChange, disabled }: Props) {
  return (
    <fieldset className="settings" disabled={disabled}>
      <legend>Session</legend>
      <div className="field">
        <label htmlFor="participant-name">Your name</label>
        <input
          id="participant-name"
          type="text"
          autoComplete="nickname"
          placeholder="Optional"
          maxLength={64}
          value={value.name}
          onChange={(e) => onChange({ ...value, name: e.target.value })}
        />
      </div>
      <div className="field-row">
        <div className="field">
          <label htmlFor="language-select">Language</label>
          <select
            id="language-select"
            data-testid="language-select"
            value={value.language}
            onChange={(e) => onChange({ ...value, language: e.target.value })}
          >
            {languages.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
          {languageNotes.length > 0 && (
            <ul className="hint" data-testid="language-notes">
              {languageNotes.map((note) => (
                <li key={note}>{note}</li>
              ))}
            </ul>
          )}
        </div>
        <div className="field">
          <label htmlFor="persona-select">Persona</label>
          <select
            id="persona-select"
            data-testid="persona-select"
            value={value.persona}
            onChange={(e) => onChange({ ...value, persona: e.target.value })}
          >
            {PERSONAS.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </div>
      </div>
    </fieldset>
  );
}
