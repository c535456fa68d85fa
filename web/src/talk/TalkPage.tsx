import { useState } from 'react';
import { RoomAudioRenderer, RoomContext, StartAudio } from '@livekit/components-react';
import { AgentStatus } from './AgentStatus';
import { ChatBox } from './ChatBox';
import { MicSelect } from './MicSelect';
import { MuteButton } from './MuteButton';
import { SessionSettings, type Settings } from './SessionSettings';
import { Transcript } from './Transcript';
import { useTalkSession, type SessionErrors } from './useTalkSession';
import { PERSONAS } from './options';
import { useLanguageChoice } from './capabilities';

const ERROR_ORDER: (keyof SessionErrors)[] = ['connection', 'agent', 'microphone'];

export function TalkPage() {
  const session = useTalkSession();
  const { room, store, phase, reconnecting, errors } = session;
  const [settings, setSettings] = useState<Settings>({
    name: '',
    language: 'en',
    persona: PERSONAS[0].value,
  });
  const [micId, setMicId] = useState('');
  // Only languages the running stack serves; a choice it stopped serving falls back to the
  // first one it does (never a room in a language its STT cannot hear: docs/languages.md).
  const languageChoice = useLanguageChoice();
  const offered = languageChoice.offered;
  const language = offered.some((o) => o.value === settings.language)
    ? settings.language
    : offered[0].value;
  const connected = phase === 'connected';

  const connect = () =>
    session.connect({
      participant_name: settings.name.trim() || undefined,
      agent_config: { language, preset: settings.persona },
      microphoneId: micId,
    });

  const chooseMic = (deviceId: string) => {
    setMicId(deviceId);
    if (connected) void room.switchActiveDevice('audioinput', deviceId || 'default').catch(() => undefined);
  };

  const errorList = ERROR_ORDER.filter((k) => errors[k]);

  return (
    <RoomContext.Provider value={room}>
      <div className="talk">
        <div className="banners">
          {errorList.length > 0 && (
            <div className="banner banner-error" role="alert" data-testid="error-banner">
              <ul>
                {errorList.map((k) => (
                  <li key={k}>
                    <span className="banner-text">{errors[k]}</span>
                    <button
                      type="button"
                      className="btn-icon"
                      aria-label="Dismiss"
                      onClick={() => session.dismissError(k)}
                    >
                      ×
                    </button>
                  </li>
                ))}
              </ul>
            </div>
          )}
          {reconnecting && (
            <div className="banner banner-warn" role="status" data-testid="reconnecting-banner">
              <span className="spinner" aria-hidden="true" /> Connection lost — reconnecting…
            </div>
          )}
        </div>

        <section className="card agent-card" aria-labelledby="agent-heading">
          <h1 id="agent-heading" className="card-title">
            Talk to Parley
          </h1>
          <AgentStatus />

          <div className="controls">
            {phase === 'idle' ? (
              <button type="button" className="btn btn-primary btn-lg" data-testid="connect-button" onClick={connect}>
                Connect
              </button>
            ) : phase === 'connecting' ? (
              <button type="button" className="btn btn-primary btn-lg" data-testid="connect-button" disabled aria-busy="true">
                <span className="spinner" aria-hidden="true" /> Connecting…
              </button>
            ) : (
              <button type="button" className="btn btn-danger btn-lg" data-testid="disconnect-button" onClick={() => void session.disconnect()}>
                Disconnect
              </button>
            )}
            <MuteButton connected={connected} onEnable={session.retryMicrophone} />
            <StartAudio label="Enable agent audio" className="btn btn-warn" />
          </div>

          <MicSelect value={micId} onChange={chooseMic} refreshKey={phase} />
          <SessionSettings
            value={{ ...settings, language }}
            languages={offered}
            languageNotes={languageChoice.notes}
            onChange={setSettings}
            disabled={phase !== 'idle'}
          />
          {phase !== 'idle' && <p className="hint">Disconnect to change language or persona.</p>}
        </section>

        <section className="card convo-card" aria-labelledby="convo-heading">
          <h2 id="convo-heading" className="card-title">
            Conversation
          </h2>
          <Transcript store={store} />
          <ChatBox room={room} store={store} connected={connected} />
        </section>
      </div>
      <RoomAudioRenderer />
    </RoomContext.Provider>
  );
}
