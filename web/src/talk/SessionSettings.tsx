import { LANGUAGES, PERSONAS } from './options';

export interface Settings {
  name: string;
  language: string;
  persona: string;
}

interface Props {
  value: Settings;
  onChange: (next: Settings) => void;
  disabled: boolean;
}

/** Name, language and persona, chosen before connecting. */
export function SessionSettings({ value, onChange, disabled }: Props) {
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
            {LANGUAGES.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
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
