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

export function formatTime(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
}

/** A local calendar day as YYYY-MM-DD, for grouping. */
export function dayKey(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** "Today", "Tomorrow", or "Thu 27 Nov". */
export function formatDay(iso: string, now = new Date()): string {
  const key = dayKey(iso);
  if (key === dayKey(now.toISOString())) return 'Today';
  const tomorrow = new Date(now);
  tomorrow.setDate(now.getDate() + 1);
  if (key === dayKey(tomorrow.toISOString())) return 'Tomorrow';
  return new Date(iso).toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' });
}

export function formatDateTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { weekday: 'short', day: 'numeric', month: 'short', hour: 'numeric', minute: '2-digit' });
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
