import { useAudioInputs } from './useAudioInputs';

interface Props {
  value: string;
  onChange: (deviceId: string) => void;
  /** Changes when the device list may have changed (e.g. permission granted). */
  refreshKey?: unknown;
}

export function MicSelect({ value, onChange, refreshKey }: Props) {
  const inputs = useAudioInputs(refreshKey);
  const known = value === '' || inputs.some((d) => d.deviceId === value);
  return (
    <div className="field">
      <label htmlFor="mic-select">Microphone</label>
      <select id="mic-select" data-testid="mic-select" value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">System default</option>
        {inputs
          .filter((d) => d.deviceId !== 'default')
          .map((d) => (
            <option key={d.deviceId} value={d.deviceId}>
              {d.label}
            </option>
          ))}
        {!known && <option value={value}>Selected microphone</option>}
      </select>
    </div>
  );
}
