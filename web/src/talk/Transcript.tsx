import { useEffect, useRef, useSyncExternalStore } from 'react';
import type { TranscriptStore } from './transcriptStore';

interface Props {
  store: TranscriptStore;
}

/** Both sides of the conversation, in order; interim text is shown dimmed until final. */
export function Transcript({ store }: Props) {
  const entries = useSyncExternalStore(store.subscribe, store.getSnapshot);
  const listRef = useRef<HTMLOListElement>(null);
  const stickRef = useRef(true);

  useEffect(() => {
    const el = listRef.current;
    if (el && stickRef.current) el.scrollTop = el.scrollHeight;
  }, [entries]);

  const onScroll = () => {
    const el = listRef.current;
    if (el) stickRef.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  };

  return (
    <ol
      ref={listRef}
      className="transcript"
      data-testid="transcript"
      role="log"
      aria-live="polite"
      aria-relevant="additions"
      aria-label="Conversation transcript"
      tabIndex={0}
      onScroll={onScroll}
    >
      {entries.length === 0 && <li className="transcript-empty">The conversation will appear here.</li>}
      {entries.map((e) => (
        <li
          key={e.id}
          className={`bubble bubble-${e.role}${e.final ? '' : ' interim'}`}
          data-testid="transcript-entry"
          data-role={e.role}
          data-final={e.final ? 'true' : 'false'}
          data-source={e.source}
        >
          <span className="bubble-speaker">{e.role === 'user' ? 'You' : 'Agent'}</span>
          <span className="bubble-text">{e.text}</span>
        </li>
      ))}
    </ol>
  );
}
