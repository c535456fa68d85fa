import { useEffect, useRef } from 'react';
import type { TranscriptTurn } from '../api';
import { formatTime } from './format';

interface Props {
  turns: TranscriptTurn[] | undefined;
}

/** Live transcript of the meeting, with speaker names. */
export function MeetingTranscript({ turns }: Props) {
  const ref = useRef<HTMLOListElement>(null);
  const stick = useRef(true);

  useEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [turns]);

  return (
    <ol
      ref={ref}
      className="transcript meeting-transcript"
      data-testid="meeting-transcript"
      role="log"
      aria-live="polite"
      aria-relevant="additions"
      aria-label="Meeting transcript"
      tabIndex={0}
      onScroll={() => {
        const el = ref.current;
        if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
      }}
    >
      {!turns || turns.length === 0 ? (
        <li className="transcript-empty">{turns ? 'Nothing said yet.' : 'Loading transcript…'}</li>
      ) : (
        turns.map((t, i) => (
          <li key={`${i}-${t.started_at ?? ''}`} className={`bubble bubble-${t.role === 'agent' ? 'agent' : 'user'}`} data-role={t.role}>
            <span className="bubble-speaker">
              {t.speaker || (t.role === 'agent' ? 'Parley' : 'Participant')}
              {t.started_at && <time dateTime={t.started_at}>{formatTime(t.started_at)}</time>}
            </span>
            <span className="bubble-text">{t.text}</span>
          </li>
        ))
      )}
    </ol>
  );
}
