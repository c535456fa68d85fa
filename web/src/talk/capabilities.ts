import { useEffect, useState } from 'react';
import { request } from '../api';
import { LANGUAGES, type Option } from './options';

/** GET /api/capabilities: what the running agent stack serves (docs/languages.md). */
export interface Capabilities {
  languages: string[];
  tools: { available: boolean | null; reason: string };
  notes: string[];
  source: 'workers' | 'defaults';
  workers: number;
}

export interface LanguageChoice {
  /** The languages the stack serves, in the page's order; never empty (English at worst). */
  offered: Option[];
  /** Why the page's other languages are missing (the backend's notes), or a load error. */
  notes: string[];
  loaded: boolean;
}

export function offeredLanguages(caps: Capabilities | null): Option[] {
  if (!caps) return LANGUAGES.filter((o) => o.value === 'en');
  const served = new Set(caps.languages);
  const offered = LANGUAGES.filter((o) => served.has(o.value));
  return offered.length ? offered : LANGUAGES.filter((o) => o.value === 'en');
}

/** Fetch the capabilities once; until they arrive (or if they fail) only English is offered. */
export function useLanguageChoice(): LanguageChoice {
  const [caps, setCaps] = useState<Capabilities | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const abort = new AbortController();
    request<Capabilities>('/api/capabilities', { signal: abort.signal })
      .then(setCaps)
      .catch((err: unknown) => {
        if (err instanceof DOMException && err.name === 'AbortError') return;
        setError('Could not ask the backend which languages it serves: English only.');
      });
    return () => abort.abort();
  }, []);
  const offered = offeredLanguages(caps);
  const missing = LANGUAGES.filter((o) => !offered.includes(o)).map((o) => o.label);
  const notes = error
    ? [error]
    : caps && missing.length
      ? [`Not offered: ${missing.join(', ')}.`, ...caps.notes]
      : [];
  return { offered, notes, loaded: caps !== null || error !== null };
}
