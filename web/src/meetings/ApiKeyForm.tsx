import { useEffect, useRef, useState, type FormEvent } from 'react';

interface Props {
  hasKey: boolean;
  invalid: boolean;
  onSave: (key: string) => void;
  onForget: () => void;
}

/** "Operator key" field; the key is stored for this browser tab only. */
export function ApiKeyForm({ hasKey, invalid, onSave, onForget }: Props) {
  const [value, setValue] = useState('');
  const inputRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (invalid) inputRef.current?.focus();
  }, [invalid]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!value.trim()) return;
    onSave(value);
    setValue('');
  };

  return (
    <form className="key-bar card" onSubmit={submit} aria-describedby="api-key-help">
      <div className="field key-field">
        <label htmlFor="api-key-input">Operator key</label>
        <input
          ref={inputRef}
          id="api-key-input"
          data-testid="api-key-input"
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder={hasKey ? 'Saved — enter a new key to replace it' : 'Paste the operator API key'}
          aria-invalid={invalid || undefined}
          value={value}
          onChange={(e) => setValue(e.target.value)}
        />
      </div>
      <div className="key-actions">
        <button type="submit" className="btn btn-primary" data-testid="api-key-save" disabled={!value.trim()}>
          Save key
        </button>
        {hasKey && (
          <button type="button" className="btn btn-secondary" onClick={onForget}>
            Forget
          </button>
        )}
      </div>
      <p id="api-key-help" className={`hint key-status${hasKey ? ' ok' : ''}`}>
        {hasKey
          ? 'Key saved for this tab only (sessionStorage).'
          : invalid
            ? 'The key was rejected. Enter a valid operator key.'
            : 'Enter the operator key to use the meeting console. It is kept for this tab only.'}
      </p>
    </form>
  );
}
