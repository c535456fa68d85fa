import { useEffect, useState } from 'react';

export interface AudioInput {
  deviceId: string;
  label: string;
}

/** Lists microphones; labels appear once the page has microphone permission. */
export function useAudioInputs(refreshKey?: unknown): AudioInput[] {
  const [inputs, setInputs] = useState<AudioInput[]>([]);

  useEffect(() => {
    const md = navigator.mediaDevices;
    if (!md?.enumerateDevices) return;
    let alive = true;
    const load = () =>
      md
        .enumerateDevices()
        .then((all) => {
          if (!alive) return;
          const mics = all.filter((d) => d.kind === 'audioinput' && d.deviceId);
          setInputs(mics.map((d, i) => ({ deviceId: d.deviceId, label: d.label || `Microphone ${i + 1}` })));
        })
        .catch(() => undefined);
    void load();
    md.addEventListener('devicechange', load);
    return () => {
      alive = false;
      md.removeEventListener('devicechange', load);
    };
  }, [refreshKey]);

  return inputs;
}
