import { useCallback, useEffect, useState } from 'react';
import { ApiError, errorMessage, meetingsApi, type Meeting } from '../api';
import { ErrorBanner } from '../common/ErrorBanner';
import { ApiKeyForm } from './ApiKeyForm';
import { MeetingDetail } from './MeetingDetail';
import { MeetingList } from './MeetingList';
import { StartMeetingForm } from './StartMeetingForm';
import { useApiKey } from './useApiKey';
import { usePolling } from './usePolling';

const POLL_MS = 2000;

const isUnauthorized = (err: unknown) => err instanceof ApiError && err.isUnauthorized;

/** Operator console for meeting bots (management API, X-API-Key). */
export function MeetingsPage() {
  const apiKey = useApiKey();
  const key = apiKey.key;
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [started, setStarted] = useState<Meeting | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);

  const list = usePolling(key ? `list|${key}` : null, (signal) => meetingsApi.list(key, signal), POLL_MS);
  const detailKey = key && selectedId ? `${key}|${selectedId}` : null;
  const detail = usePolling(detailKey, (signal) => meetingsApi.get(key, selectedId!, signal), POLL_MS);
  const transcript = usePolling(detailKey, (signal) => meetingsApi.transcript(key, selectedId!, signal), POLL_MS);

  const { invalidate } = apiKey;
  const pollErrors = [list.error, detail.error, transcript.error];
  const unauthorized = pollErrors.some(isUnauthorized);
  useEffect(() => {
    if (unauthorized) invalidate();
  }, [unauthorized, invalidate]);

  const reportError = useCallback(
    (err: unknown) => {
      if (isUnauthorized(err)) {
        setActionError(null);
        invalidate();
      } else {
        setActionError(errorMessage(err));
      }
    },
    [invalidate],
  );

  const onStarted = (meeting: Meeting) => {
    setActionError(null);
    setStarted(meeting);
    setSelectedId(meeting.id);
    list.refresh();
  };

  const onSaveKey = (value: string) => {
    setActionError(null);
    apiKey.save(value);
  };

  const pollError = pollErrors.find((e) => e && !isUnauthorized(e));
  const message = apiKey.invalid
    ? 'Invalid key: the backend rejected the operator key. Enter it again.'
    : (actionError ?? (pollError ? `Could not refresh: ${errorMessage(pollError)}` : null));

  const selected =
    list.data?.find((m) => m.id === selectedId) ??
    (detail.data?.id === selectedId ? detail.data : undefined) ??
    (started?.id === selectedId ? started : undefined);

  return (
    <div className="meetings">
      <ApiKeyForm hasKey={!!key} invalid={apiKey.invalid} onSave={onSaveKey} onForget={apiKey.forget} />
      <ErrorBanner
        message={message}
        testId="console-error"
        onDismiss={actionError && !apiKey.invalid ? () => setActionError(null) : undefined}
      />
      <div className="meetings-grid">
        <div className="meetings-col">
          <StartMeetingForm apiKey={key} disabled={!key} onStarted={onStarted} onError={reportError} />
          {key ? (
            <MeetingList meetings={list.data} selectedId={selectedId} onSelect={setSelectedId} />
          ) : null}
        </div>
        <div className="meetings-col">
          {key && selected ? (
            <MeetingDetail
              key={selected.id}
              apiKey={key}
              meeting={selected}
              detail={detail.data}
              turns={transcript.data}
              onChanged={() => {
                list.refresh();
                detail.refresh();
              }}
              onError={reportError}
            />
          ) : (
            <div className="card empty-card">
              <p className="hint">{key ? 'Select a meeting to see its live transcript.' : 'Save the operator key to get started.'}</p>
            </div>
          )}
        </div>
      </div>
    </div>
  );
}
