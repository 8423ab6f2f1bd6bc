/**
 * Per-client-address limits at the edge, as pure cores with the time passed in (no clock, no I/O):
 *
 * - `gcraDelayMs` / `RateLimiter`: the generic cell rate algorithm (a token bucket kept as one
 *   number per address, its "theoretical arrival time"): `rate` requests per period on average,
 *   up to `burst` at once;
 * - `ConcurrencyLimiter`: at most `max` things open at once per address (event streams,
 *   connections);
 * - `limitOf`: which rate limit, if any, a request (method and URL) falls under.
 *
 * One gateway process sees all traffic, so the counts are exact (per worker process when
 * GATEWAY_WORKERS > 1). Memory has a bound too: at most `maxAddresses` addresses are remembered,
 * the least recently seen forgotten first (a forgotten address starts again with a full burst).
 */

export type RateLimit = {
  /** Requests allowed per `periodMs` on average; 0 disables the limit. */
  rate: number;
  periodMs: number;
  /** Requests allowed at once (at least 1). */
  burst: number;
};

/** Intervals like 1000/3 ms do not add up exactly in floating point: this much early is on time. */
const ROUNDING_TOLERANCE_MS = 1e-6;

/**
 * GCRA: how long (ms) a request arriving at `nowMs` must wait to conform, 0 if it may pass now.
 * `tatMs` is the address's theoretical arrival time (0 for an address never seen).
 */
export function gcraDelayMs(
  tatMs: number,
  nowMs: number,
  intervalMs: number,
  burst: number,
): number {
  const over = Math.max(tatMs, nowMs) + intervalMs - nowMs - burst * intervalMs;
  return over > ROUNDING_TOLERANCE_MS ? over : 0;
}

/** The theoretical arrival time after a request at `nowMs` has passed. */
export function gcraNextTatMs(tatMs: number, nowMs: number, intervalMs: number): number {
  return Math.max(tatMs, nowMs) + intervalMs;
}

export class RateLimiter {
  private readonly tats = new Map<string, number>();
  private readonly intervalMs: number;
  private readonly burst: number;
  readonly enabled: boolean;

  constructor(
    limit: RateLimit,
    private readonly maxAddresses: number,
  ) {
    this.enabled = limit.rate > 0;
    this.intervalMs = this.enabled ? limit.periodMs / limit.rate : 0;
    this.burst = Math.max(1, limit.burst);
  }

  /** 0: the request may pass (and is counted); otherwise the milliseconds until it would. */
  take(address: string, nowMs: number): number {
    if (!this.enabled) return 0;
    const tat = this.tats.get(address) ?? 0;
    const delay = gcraDelayMs(tat, nowMs, this.intervalMs, this.burst);
    if (delay > 0) return delay;
    // Delete and set again: the Map's order is then least recently seen first.
    this.tats.delete(address);
    this.tats.set(address, gcraNextTatMs(tat, nowMs, this.intervalMs));
    if (this.tats.size > this.maxAddresses) this.tats.delete(this.tats.keys().next().value!);
    return 0;
  }

  get size(): number {
    return this.tats.size;
  }
}

/** At most `max` open at once per address; 0 disables the limit. */
export class ConcurrencyLimiter {
  private readonly open = new Map<string, number>();

  constructor(readonly max: number) {}

  acquire(address: string): boolean {
    if (this.max <= 0) return true;
    const n = this.open.get(address) ?? 0;
    if (n >= this.max) return false;
    this.open.set(address, n + 1);
    return true;
  }

  release(address: string): void {
    if (this.max <= 0) return;
    const n = this.open.get(address) ?? 0;
    if (n <= 1) this.open.delete(address);
    else this.open.set(address, n - 1);
  }

  count(address: string): number {
    return this.open.get(address) ?? 0;
  }

  /** Addresses with something open (entries are removed at 0, so memory follows what is open). */
  get size(): number {
    return this.open.size;
  }
}

export type LimitName = 'login' | 'signup' | 'write' | 'read' | 'events';

/**
 * The limit a request falls under, by method and URL (query string ignored):
 * login and signup; holds and bookings (writes); the costly public reads (a showtime's seat map,
 * the movie list and a movie); a showtime's live event stream (a concurrency limit).
 */
export function limitOf(method: string, url: string): LimitName | undefined {
  if (!url.startsWith('/api/')) return undefined;
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (method === 'POST') {
    if (path === '/api/auth/login') return 'login';
    if (path === '/api/auth/signup') return 'signup';
    if (path === '/api/holds' || path === '/api/bookings') return 'write';
    return undefined;
  }
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  if (path.startsWith('/api/showtimes/')) {
    const rest = path.slice('/api/showtimes/'.length);
    const slash = rest.indexOf('/');
    if (slash === -1) return rest ? 'read' : undefined;
    return rest.slice(slash) === '/events' ? 'events' : undefined;
  }
  if (
    path === '/api/movies' ||
    (path.startsWith('/api/movies/') && path.indexOf('/', '/api/movies/'.length) === -1)
  )
    return 'read';
  return undefined;
}

/** `Retry-After` in whole seconds (at least 1) for a delay in milliseconds. */
export function retryAfterSeconds(delayMs: number): number {
  return Math.max(1, Math.ceil(delayMs / 1000));
}

/**
 * Paths only nodes talk to each other on (HMAC-signed peer messages): never proxied from outside.
 * Judged on the path as a node's router would see it — %-decoded, any case, repeated or trailing
 * slashes — so no spelling of it slips through.
 */
export function isPeerOnlyPath(url: string): boolean {
  const q = url.indexOf('?');
  let path = q === -1 ? url : url.slice(0, q);
  // Cheap first: nearly every path has neither "peer" in any case nor a %-escape.
  if (!/peer|%/i.test(path)) return false;
  try {
    path = decodeURIComponent(path);
  } catch {
    /* broken %-encoding: judged as it is (a node refuses it anyway) */
  }
  path = path
    .toLowerCase()
    .replace(/\/{2,}/g, '/')
    .replace(/\/+$/, '');
  return path === '/api/peer' || path.startsWith('/api/peer/') || path.startsWith('/api/peer;');
}
