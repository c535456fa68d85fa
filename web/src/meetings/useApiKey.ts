import { useCallback, useState } from 'react';

const STORAGE_KEY = 'parley.operatorKey';

function read(): string {
  try {
    return window.sessionStorage.getItem(STORAGE_KEY) ?? '';
  } catch {
    return '';
  }
}

function write(value: string | null): void {
  try {
    if (value) window.sessionStorage.setItem(STORAGE_KEY, value);
    else window.sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    /* storage unavailable: the key lives in memory for this page only */
  }
}

/** The operator API key: kept in sessionStorage only, never in the bundle. */
export function useApiKey() {
  const [key, setKey] = useState(read);
  const [invalid, setInvalid] = useState(false);

  const save = useCallback((value: string) => {
    const v = value.trim();
    write(v || null);
    setKey(v);
    setInvalid(false);
  }, []);

  /** The backend answered 401: forget the key and ask again. */
  const invalidate = useCallback(() => {
    write(null);
    setKey('');
    setInvalid(true);
  }, []);

  const forget = useCallback(() => {
    write(null);
    setKey('');
    setInvalid(false);
  }, []);

  return { key, invalid, save, invalidate, forget };
}
