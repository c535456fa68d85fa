import { useHashRoute } from './common/useHashRoute';
import { TalkPage } from './talk/TalkPage';
import { MeetingsPage } from './meetings/MeetingsPage';

export function App() {
  const route = useHashRoute();
  return (
    <div className="app">
      <header className="app-header">
        <a className="brand" href="#/">
          <svg viewBox="0 0 32 32" width="26" height="26" aria-hidden="true">
            <rect width="32" height="32" rx="8" fill="currentColor" opacity="0.15" />
            <path
              d="M8 10h16a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2h-9l-5 4v-4H8a2 2 0 0 1-2-2v-8a2 2 0 0 1 2-2z"
              fill="currentColor"
            />
          </svg>
          <span>Parley</span>
        </a>
        <nav aria-label="Main">
          <a href="#/" className="tab" aria-current={route === 'talk' ? 'page' : undefined}>
            Talk
          </a>
          <a href="#/meetings" className="tab" aria-current={route === 'meetings' ? 'page' : undefined}>
            Meetings
          </a>
        </nav>
      </header>
      <main className="app-main">
        {/* The talk page stays mounted so a call survives a visit to the console. */}
        <div hidden={route !== 'talk'}>
          <TalkPage />
        </div>
        {route === 'meetings' && <MeetingsPage />}
      </main>
    </div>
  );
}
