/** Formatting for the pages. Money is integer cents; dates are shown in the visitor's time zone. */

const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });

export function formatMoney(cents: number): string {
  return money.format(cents / 100);
}

export function formatDuration(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h ? `${h}h ${String(m).padStart(2, '0')}m` : `${m}m`;
}

/**
 * Where dates are shown: the visitor's own locale and time zone (`VISITOR_ZONE`) — except in what
 * the server renders and the browser's first render over it (hydration), which must agree, so both
 * use `SERVER_ZONE`; the page switches to the visitor's right after (see use-display-zone.ts).
 */
export type DateZone = { locale?: string; timeZone?: string };
export const VISITOR_ZONE: DateZone = {};
export const SERVER_ZONE: DateZone = { locale: 'en-US', timeZone: 'UTC' };

export function formatTime(iso: string, zone: DateZone = VISITOR_ZONE): string {
  return new Date(iso).toLocaleTimeString(zone.locale, {
    hour: 'numeric',
    minute: '2-digit',
    timeZone: zone.timeZone,
  });
}

/** A calendar day in `zone` as YYYY-MM-DD, for grouping. */
export function dayKey(iso: string, zone: DateZone = VISITOR_ZONE): string {
  return new Intl.DateTimeFormat('en-CA', {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    timeZone: zone.timeZone,
  }).format(new Date(iso));
}

/** "Today", "Tomorrow", or "Thu 27 Nov". */
export function formatDay(iso: string, now = new Date(), zone: DateZone = VISITOR_ZONE): string {
  const key = dayKey(iso, zone);
  if (key === dayKey(now.toISOString(), zone)) return 'Today';
  if (key === dayKey(new Date(now.getTime() + 86_400_000).toISOString(), zone)) return 'Tomorrow';
  return new Date(iso).toLocaleDateString(zone.locale, {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    timeZone: zone.timeZone,
  });
}

export function formatDateTime(iso: string, zone: DateZone = VISITOR_ZONE): string {
  return new Date(iso).toLocaleString(zone.locale, {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: 'numeric',
    minute: '2-digit',
    timeZone: zone.timeZone,
  });
}

export function formatCountdown(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** Seat ids in seat-map order (row letters, then number): A2 before A10 before B1. */
export function compareSeatIds(a: string, b: string): number {
  const [, ra = '', na = '0'] = /^([A-Z]+)(\d+)$/.exec(a) ?? [];
  const [, rb = '', nb = '0'] = /^([A-Z]+)(\d+)$/.exec(b) ?? [];
  return ra.length - rb.length || ra.localeCompare(rb) || Number(na) - Number(nb);
}
