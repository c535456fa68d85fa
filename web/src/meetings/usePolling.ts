import { useCallback, useEffect, useRef, useState } from 'react';

interface State<T> {
  key: string | null;
  data?: T;
  error?: unknown;
}

/**
 * Runs `fetcher` now and then `intervalMs` after each completion while `key`
 * is non-null; a new key restarts polling and drops the old data.
 */
export function usePolling<T>(key: string | null, fetcher: (signal: AbortSignal) => Promise<T>, intervalMs = 2000) {
  const [state, setState] = useState<State<T>>({ key: null });
  const [generation, setGeneration] = useState(0);
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;

  useEffect(() => {
    if (key === null) return;
    const ctrl = new AbortController();
    let timer: number | undefined;
    const run = async () => {
      try {
        const data = await fetcherRef.current(ctrl.signal);
        if (!ctrl.signal.aborted) setState({ key, data });
      } catch (error) {
        if (ctrl.signal.aborted) return;
        setState((prev) => ({ key, data: prev.key === key ? prev.data : undefined, error }));
      }
      if (!ctrl.signal.aborted) timer = window.setTimeout(run, intervalMs);
    };
    void run();
    return () => {
      ctrl.abort();
      window.clearTimeout(timer);
    };
  }, [key, intervalMs, generation]);

  const refresh = useCallback(() => setGeneration((g) => g + 1), []);
  const current = state.key === key && key !== null;
  return {
    data: current ? state.data : undefined,
    error: current ? state.error : undefined,
    refresh,
  };
}
