import type { TimelineEvent } from '../api';
import { formatTime } from './format';

function summarize(data: TimelineEvent['data']): string {
  if (!data || Object.keys(data).length === 0) return '';
  return Object.entries(data)
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' · ');
}

export function Timeline({ events }: { events: TimelineEvent[] | undefined }) {
  const list = events ?? [];
  return (
    <details className="timeline">
      <summary>Timeline ({list.length})</summary>
      <ol>
        {list.map((e, i) => (
          <li key={`${e.at}-${i}`}>
            <time dateTime={e.at}>{formatTime(e.at)}</time>
            <span className="timeline-kind">{e.kind}</span>
            <span className="timeline-data">{summarize(e.data)}</span>
          </li>
        ))}
      </ol>
    </details>
  );
}
