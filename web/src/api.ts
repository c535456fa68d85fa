// HTTP calls to the Parley backend (same origin) and parsing of its error shape:
//   {"error": {"code": str, "message": str, "details": object}}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }

  get isUnauthorized(): boolean {
    return this.status === 401;
  }

  get isNetwork(): boolean {
    return this.status === 0;
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validation details look like [{"loc": ["body", "meeting_url"], "msg": "...", "type": "..."}]. */
function describeFieldErrors(details: unknown): string {
  if (!Array.isArray(details)) return '';
  return details
    .filter(isObject)
    .slice(0, 3)
    .map((d) => {
      const loc = Array.isArray(d.loc) ? d.loc.filter((p) => p !== 'body').join('.') : '';
      const msg = typeof d.msg === 'string' ? d.msg : '';
      return loc && msg ? `${loc} — ${msg}` : msg || loc;
    })
    .filter(Boolean)
    .join('; ');
}

/** Turn a non-2xx response body into an ApiError (backend shape first, then FastAPI's default). */
export function errorFromBody(status: number, statusText: string, body: unknown): ApiError {
  if (isObject(body) && isObject(body.error)) {
    const e = body.error;
    const code = typeof e.code === 'string' ? e.code : `http_${status}`;
    let message = typeof e.message === 'string' && e.message ? e.message : `Request failed (${status})`;
    const fields = describeFieldErrors(e.details);
    if (fields) message = `${message}: ${fields}`;
    return new ApiError(status, code, message, e.details);
  }
  if (isObject(body) && 'detail' in body) {
    const d = body.detail;
    const message = typeof d === 'string' ? d : `Request failed (${status})`;
    return new ApiError(status, `http_${status}`, message, d);
  }
  if (status === 502 || status === 503 || status === 504) {
    return new ApiError(status, 'backend_unavailable', `The Parley backend is unavailable (HTTP ${status}).`);
  }
  const text = typeof body === 'string' && body.trim() ? `: ${body.trim().slice(0, 200)}` : '';
  return new ApiError(status, `http_${status}`, `Request failed (HTTP ${status}${statusText ? ' ' + statusText : ''})${text}`);
}

interface RequestOptions {
  method?: 'GET' | 'POST' | 'DELETE';
  body?: unknown;
  apiKey?: string;
  signal?: AbortSignal;
}

export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.apiKey) headers['X-API-Key'] = opts.apiKey;

  let res: Response;
  try {
    res = await fetch(path, {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      signal: opts.signal,
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network_error', 'Cannot reach the Parley backend. Is it running?');
  }

  const raw = await res.text();
  let body: unknown = raw;
  if (raw) {
    try {
      body = JSON.parse(raw);
    } catch {
      /* keep raw text */
    }
  }
  if (!res.ok) throw errorFromBody(res.status, res.statusText, body);
  if (raw && typeof body === 'string') {
    throw new ApiError(res.status, 'bad_response', 'The backend sent an unexpected (non-JSON) response.');
  }
  return (raw ? body : {}) as T;
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

// ---------------------------------------------------------------- talk

/** What a public caller may choose (the backend's allowlist, docs/security.md). */
export interface AgentConfig {
  language?: string;
  /** A named preset defined by the operator (PARLEY_AGENT_PRESETS). */
  preset?: string;
}

/**
 * The backend picks the room and the identity: a new room, or the room of an `invite`
 * (minted by a management caller with POST /api/rooms/{room}/invites).
 */
export interface TokenRequest {
  participant_name?: string;
  agent_config?: AgentConfig;
  invite?: string;
}

export interface TokenResponse {
  server_url: string;
  participant_token: string;
  room_name: string;
  participant_identity: string;
}

export async function fetchToken(req: TokenRequest): Promise<TokenResponse> {
  const res = await request<TokenResponse>('/api/token', { method: 'POST', body: req });
  if (!res.server_url || !res.participant_token) {
    throw new ApiError(200, 'bad_response', 'The backend returned an incomplete token response.');
  }
  return res;
}

// ---------------------------------------------------------------- meetings

export interface Meeting {
  id: string;
  meeting_url: string;
  platform: string;
  bot_name: string | null;
  status: string;
  room_name: string | null;
  bot_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface TimelineEvent {
  at: string;
  kind: string;
  data: Record<string, unknown> | null;
}

export interface MeetingDetail extends Meeting {
  timeline: TimelineEvent[];
}

export interface TranscriptTurn {
  speaker: string;
  text: string;
  started_at: string | null;
  // 'chat': a participant's chat message; 'agent_chat': what the bot posted in the chat.
  role: 'user' | 'agent' | 'chat' | 'agent_chat';
}

export interface StartMeetingRequest {
  meeting_url: string;
  bot_name?: string;
  agent_config?: { persona?: string };
}

const meetingPath = (id: string) => `/api/meetings/${encodeURIComponent(id)}`;

export const meetingsApi = {
  list: (apiKey: string, signal?: AbortSignal) =>
    request<{ meetings: Meeting[] }>('/api/meetings', { apiKey, signal }).then((r) => r.meetings ?? []),

  start: (apiKey: string, body: StartMeetingRequest) =>
    request<Meeting>('/api/meetings', { method: 'POST', apiKey, body }),

  get: (apiKey: string, id: string, signal?: AbortSignal) =>
    request<MeetingDetail>(meetingPath(id), { apiKey, signal }),

  transcript: (apiKey: string, id: string, signal?: AbortSignal) =>
    request<{ turns: TranscriptTurn[] }>(`${meetingPath(id)}/transcript`, { apiKey, signal }).then(
      (r) => r.turns ?? [],
    ),

  ask: (apiKey: string, id: string, question: string) =>
    request<Json>(`${meetingPath(id)}/ask`, { method: 'POST', apiKey, body: { question } }),

  postChat: (apiKey: string, id: string, message: string) =>
    request<{ ok: boolean; parts: number; sent: number }>(`${meetingPath(id)}/chat`, {
      method: 'POST',
      apiKey,
      body: { message },
    }),

  leave: (apiKey: string, id: string) => request<Json>(meetingPath(id), { method: 'DELETE', apiKey }),
};
