import { useState } from 'react';
import { meetingsApi, type Meeting, type MeetingDetail as Detail, type TranscriptTurn } from '../api';
import { AskBox } from './AskBox';
import { MeetingChat } from './MeetingChat';
import { MeetingTranscript } from './MeetingTranscript';
import { StatusBadge } from './StatusBadge';
import { Timeline } from './Timeline';
import { formatDateTime, platformLabel } from './format';

interface Props {
  apiKey: string;
  meeting: Meeting;
  detail: Detail | undefined;
  turns: TranscriptTurn[] | undefined;
  onChanged: () => void;
  onError: (err: unknown) => void;
}

/** One meeting: status, transcript beside the chat, ask box, leave button and timeline. */
export function MeetingDetail({ apiKey, meeting, detail, turns, onChanged, onError }: Props) {
  const m = detail ?? meeting;
  const [leaving, setLeaving] = useState(false);
  const [leaveNote, setLeaveNote] = useState<string | null>(null);
  // Chat messages are part of the transcript the backend returns; shown beside it.
  const isChat = (t: TranscriptTurn) => t.role === 'chat' || t.role === 'agent_chat';
  const spoken = turns?.filter((t) => !isChat(t));
  const chat = turns?.filter(isChat);

  const leave = async () => {
    setLeaving(true);
    setLeaveNote(null);
    try {
      await meetingsApi.leave(apiKey, m.id);
      setLeaveNote('The bot is leaving the meeting.');
      onChanged();
    } catch (err) {
      onError(err);
    } finally {
      setLeaving(false);
    }
  };

  return (
    <section className="card detail-card" aria-labelledby="detail-heading">
      <div className="detail-head">
        <div>
          <h2 id="detail-heading" className="card-title">
            {m.bot_name || 'Parley bot'} · {platformLabel(m.platform)}
          </h2>
          <a className="detail-url" href={m.meeting_url} target="_blank" rel="noreferrer noopener">
            {m.meeting_url}
          </a>
          <p className="hint">Started {formatDateTime(m.created_at)}</p>
        </div>
        <div className="detail-actions">
          <StatusBadge status={m.status} testId="meeting-status" />
          <button type="button" className="btn btn-danger" data-testid="leave-meeting" onClick={leave} disabled={leaving}>
            {leaving ? 'Leaving…' : 'Leave'}
          </button>
        </div>
      </div>
      {leaveNote && (
        <p className="hint" role="status">
          {leaveNote}
        </p>
      )}
      <div className="transcript-and-chat">
        <div>
          <h3 className="section-title">Live transcript</h3>
          <MeetingTranscript turns={spoken} />
        </div>
        <div>
          <h3 className="section-title">Chat</h3>
          <MeetingChat
            key={m.id}
            apiKey={apiKey}
            meetingId={m.id}
            messages={chat}
            disabled={m.status !== 'in_call'}
            onSent={onChanged}
            onError={onError}
          />
        </div>
      </div>
      <AskBox key={m.id} apiKey={apiKey} meetingId={m.id} disabled={false} onError={onError} />
      <Timeline events={detail?.timeline} />
    </section>
  );
}
