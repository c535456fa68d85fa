const PLATFORM_LABELS: Record<string, string> = {
  zoom: 'Zoom',
  google_meet: 'Google Meet',
  meet: 'Google Meet',
  googlemeet: 'Google Meet',
  teams: 'Teams',
  microsoft_teams: 'Teams',
  msteams: 'Teams',
};

export function platformLabel(platform: string | null | undefined): string {
  if (!platform) return 'Unknown';
  return PLATFORM_LABELS[platform.toLowerCase()] ?? platform;
}

/** Best-effort client-side hint; the backend decides. */
export function detectPlatform(url: string): string | null {
  let host: string;
  try {
    host = new URL(url.trim()).hostname.toLowerCase();
  } catch {
    return null;
  }
  if (host === 'zoom.us' || host.endsWith('.zoom.us')) return 'Zoom';
  if (host === 'meet.google.com') return 'Google Meet';
  if (host.endsWith('teams.microsoft.com') || host.endsWith('teams.live.com')) return 'Teams';
  return null;
}

export type StatusTone = 'ok' | 'warn' | 'bad' | 'muted';

export function statusTone(status: string): StatusTone {
  const s = status.toLowerCase();
  if (/fail|error|denied|rejected/.test(s)) return 'bad';
  if (/^(joined|active|in_call|in_meeting|recording|live|ready|running)$/.test(s)) return 'ok';
  if (/ended|left|done|complete|stopped|closed|cancel/.test(s)) return 'muted';
  return 'warn';
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}
