/**
 * Fixed-window rate limiting, the pure core (no I/O, time passed in). A key's window opens with
 * its first hit and lasts `windowMs`; within it at most `limit` hits are allowed. A hit after the
 * window has ended opens a new one. The PostgreSQL shell (./store.ts) runs exactly `advance` in
 * one upsert and hands the resulting window to `decide`.
 *
 * Why a fixed window: one row and one round trip per check, an exact Retry-After (the window's
 * end), and refused hits never extend a lockout. Its known price: a client may land up to
 * 2 × limit hits around a window boundary — harmless for limits meant to stop floods and guessing.
 */
export type Rule = { limit: number; windowMs: number };
export type Window = { hits: number; endsAtMs: number };
export type Decision =
  { allowed: true; remaining: number } | { allowed: false; retryAfterS: number };

/** The window after one more hit at `nowMs` (`current` absent: the key has none yet). */
export function advance(current: Window | undefined, nowMs: number, windowMs: number): Window {
  if (!current || current.endsAtMs <= nowMs) return { hits: 1, endsAtMs: nowMs + windowMs };
  return { hits: current.hits + 1, endsAtMs: current.endsAtMs };
}

/**
 * Whether the hit that produced `window` is allowed; if not, the whole seconds until it would be.
 */
export function decide(window: Window, limit: number, nowMs: number): Decision {
  if (window.hits <= limit) return { allowed: true, remaining: limit - window.hits };
  return { allowed: false, retryAfterS: Math.max(1, Math.ceil((window.endsAtMs - nowMs) / 1000)) };
}

/** Hits counted in `window` as seen at `nowMs` (an ended window counts none). */
export function hitsAt(window: Window | undefined, nowMs: number): number {
  return window && window.endsAtMs > nowMs ? window.hits : 0;
}
