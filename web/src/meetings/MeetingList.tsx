import type { Meeting } from '../api';
import { formatDateTime, platformLabel } from './format';
import { StatusBadge } from './StatusBadge';

interface Props {
  meetings: Meeting[] | undefined;
  selectedId: string | null;
  onSelect: (id: string) => void;
}

/** Meetings with their live status, newest first. */
export function MeetingList({ meetings, selectedId, onSelect }: Props) {
  const sorted = [...(meetings ?? [])].sort((a, b) => (b.created_at ?? '').localeCompare(a.created_at ?? ''));
  return (
    <section className="card list-card" aria-labelledby="list-heading">
      <h2 id="list-heading" className="card-title">
        Meetings
      </h2>
      {meetings === undefined ? (
        <p className="hint">Loading…</p>
      ) : sorted.length === 0 ? (
        <p className="hint">No meetings yet. Start a bot above.</p>
      ) : null}
      <ul className="meeting-list" data-testid="meeting-list">
        {sorted.map((m) => (
          <li key={m.id} data-testid="meeting-row" data-status={m.status} data-id={m.id}>
            <button
              type="button"
              className="meeting-row"
              aria-current={m.id === selectedId ? 'true' : undefined}
              onClick={() => onSelect(m.id)}
            >
              <span className="meeting-row-main">
                <span className="meeting-row-title">
                  <span className="platform">{platformLabel(m.platform)}</span>
                  {m.bot_name && <span className="bot-name">{m.bot_name}</span>}
                </span>
                <span className="meeting-row-url">{m.meeting_url}</span>
                <span className="meeting-row-time">{formatDateTime(m.created_at)}</span>
              </span>
              <StatusBadge status={m.status} />
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
