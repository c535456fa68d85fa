import { useEffect, useState } from 'react';

export type Route = 'talk' | 'meetings';

export function routeFromHash(hash: string): Route {
  return hash.replace(/^#/, '').replace(/\/+$/, '') === '/meetings' ? 'meetings' : 'talk';
}

/** Minimal hash router: `#/` is the talk page, `#/meetings` the meeting console. */
export function useHashRoute(): Route {
  const [route, setRoute] = useState<Route>(() => routeFromHash(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(routeFromHash(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
