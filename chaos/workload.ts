import { randomBytes } from 'node:crypto';
import type { BookingView, HistoryWriter, OpKind, OpStatus } from './history';
import { Random } from './random';
import type { Consistency } from '../core/vocabulary';
import type { AnswerOf } from '../contract/operations';

/**
 * The workload: concurrent clients, each one user with one session, talking to the gateway only.
 * They sign up, hold, book (mostly the same few hot seats, always with an Idempotency-Key,
 * retrying an unanswered booking with the same key), cancel, and read seat maps and their own
 * bookings at every consistency level, passing their session token along. Every request is an
 * invoke/complete pair in the history.
 */

export type Showtime = { id: number; seats: string[] };

export type WorkloadOptions = {
  gatewayUrl: string;
  history: HistoryWriter;
  seed: number;
  clients: number;
  /** True once clients should stop starting new operations. */
  done: () => boolean;
  hot: Showtime;
  warm: Showtime;
  requestTimeoutMs?: number;
  /** Think time between operations, [min, max] ms. */
  thinkMs?: [number, number];
  log?: (msg: string) => void;
};

const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
const BOOK_ATTEMPTS = 4;
const CANCEL_ATTEMPTS = 3;
/** Signups are retried until the run ends, but never more often than this (a bound on the loop). */
const SIGNUP_ATTEMPTS_MAX = 1_000;
/** Clients start this far apart, so they do not all sign up (scrypt) in the same instant. */
const CLIENT_START_STAGGER_MS = 150;
const RETRY_BASE_MS = 150;
/** A client with this many live bookings cancels one more often than not. */
const LIVE_BOOKINGS_SOFT_LIMIT = 3;
/**
 * After this many acknowledged bookings a client cancels what it holds and signs up as a new user
 * (a new session): booking lists stay short, so the history stays small, and signups continue
 * throughout the run.
 */
const BOOKINGS_PER_USER = 20;
const LEVELS: readonly Consistency[] = ['causal', 'causal', 'causal', 'eventual', 'strong'];

type Answer = { status: OpStatus; http?: number; code?: string; body: unknown; retriable: boolean };

/** A session token as the history records it: `X-Session-Token` is base64url JSON of [node, counter] pairs. */
function decodeToken(token: string | undefined): Record<string, number> | undefined {
  if (!token) return undefined;
  try {
    const pairs = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as [string, number][];
    return Object.fromEntries(pairs);
  } catch {
    return { undecodable: 1 };
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const READS: readonly OpKind[] = ['read-bookings', 'read-seats'];

/**
 * ok: 2xx. fail: a definite refusal — a 4xx, the gateway's 503 NO_HEALTHY_NODE (never sent to
 * a node), or a read's 503 REPLICA_UNAVAILABLE (a read changes nothing; refusing a strong read
 * without its quorum is a legal answer). info: no answer (timeout, broken connection) or any
 * other 5xx — it may have happened.
 */
function classify(f: OpKind, http: number, code: string | undefined): { status: OpStatus; retriable: boolean } {
  if (http >= 200 && http < 300) return { status: 'ok', retriable: false };
  if (http === 503 && code === 'NO_HEALTHY_NODE') return { status: 'fail', retriable: true };
  if (http === 503 && code === 'REPLICA_UNAVAILABLE' && READS.includes(f)) return { status: 'fail', retriable: true };
  if (http >= 500) return { status: 'info', retriable: true };
  return { status: 'fail', retriable: false };
}

export class Client {
  /** The session's name in the history: c<index>, then c<index>.<generation> for later users. */
  name: string;
  private generation = 1;
  private bookedAsThisUser = 0;
  private readonly rng: Random;
  private authToken: string | undefined;
  /** X-Session-Token: what this session has written and read so far. */
  private sessionToken: string | undefined;
  userId: string | undefined;
  /** Bookings this client believes are live (acknowledged, or seen in its list), by id. */
  private readonly live = new Map<string, { showtimeId: number; seats: string[] }>();
  private readonly timeoutMs: number;

  constructor(private readonly options: WorkloadOptions, readonly index: number) {
    this.name = `c${index + 1}`;
    this.rng = Random.derive(options.seed, index);
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  private async request(
    f: OpKind,
    method: string,
    path: string,
    body: unknown,
    extra: { key?: string; attempt?: number; consistency?: Consistency; args?: Record<string, unknown> } = {},
    summarize: (body: unknown) => Record<string, unknown> | undefined = () => undefined,
  ): Promise<Answer> {
    const h = this.options.history;
    const op = h.newOp();
    const sent = decodeToken(this.sessionToken);
    h.record({ type: 'invoke', op, process: this.name, f, ...extra, ...(sent ? { token: sent } : {}) });
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.authToken) headers.authorization = `Bearer ${this.authToken}`;
    if (this.sessionToken) headers['x-session-token'] = this.sessionToken;
    if (extra.key) headers['idempotency-key'] = extra.key;
    try {
      const res = await fetch(this.options.gatewayUrl + path, {
        method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = text;
      }
      const error = (parsed as { error?: { code?: string; details?: { reason?: unknown } } } | undefined)?.error;
      const code = error?.code;
      const reason = typeof error?.details?.reason === 'string' ? error.details.reason : undefined;
      const { status, retriable } = classify(f, res.status, code);
      const token = res.headers.get('x-session-token');
      if (status === 'ok' && token) this.sessionToken = token;
      const value = status === 'ok' ? summarize(parsed) : undefined;
      const received = decodeToken(token ?? undefined);
      h.record({
        type: 'complete', op, process: this.name, f, status, http: res.status,
        ...(code ? { code } : {}),
        ...(reason ? { reason } : {}),
        ...(res.headers.get('x-served-by') ? { servedBy: res.headers.get('x-served-by')! } : {}),
        ...(res.headers.get('x-replica-served-by') ? { replicaServedBy: res.headers.get('x-replica-served-by')! } : {}),
        ...(value ? { value } : {}),
        ...(received ? { token: received } : {}),
      });
      return { status, http: res.status, ...(code ? { code } : {}), body: parsed, retriable };
    } catch (err) {
      const name = (err as { name?: string }).name;
      const code = name === 'TimeoutError' || name === 'AbortError'
        ? 'TIMEOUT'
        : String((err as { cause?: { code?: string } }).cause?.code ?? 'NETWORK');
      h.record({ type: 'complete', op, process: this.name, f, status: 'info', code });
      return { status: 'info', code, body: undefined, retriable: true };
    }
  }

  private backoff(attempt: number): Promise<void> {
    return sleep(RETRY_BASE_MS * 2 ** (attempt - 1) + this.rng.int(0, RETRY_BASE_MS));
  }

  /**
   * Sign up (a retried signup whose first attempt did go through logs in instead), retrying until
   * it works or the run is over.
   */
  async signUp(): Promise<boolean> {
    const email = `chaos-${this.name}-${randomBytes(4).toString('hex')}@example.test`;
    const password = `chaos ${randomBytes(8).toString('hex')}`;
    const user = (b: unknown) => {
      const body = b as { token?: string; user?: { id?: string } };
      return body?.user?.id ? { userId: body.user.id } : undefined;
    };
    for (let attempt = 1; attempt <= SIGNUP_ATTEMPTS_MAX && !this.options.done(); attempt++) {
      let res = await this.request('signup', 'POST', '/api/auth/signup', { email, name: `Chaos ${this.name}`, password }, { attempt }, user);
      if (res.code === 'EMAIL_TAKEN') res = await this.request('signup', 'POST', '/api/auth/login', { email, password }, { attempt, args: { login: true } }, user);
      if (res.status === 'ok') {
        const body = res.body as AnswerOf<'POST /api/auth/signup'>;
        this.authToken = body.token;
        this.userId = body.user.id;
        this.bookedAsThisUser = 0;
        return true;
      }
      await this.backoff(Math.min(attempt, 4));
    }
    if (!this.options.done()) this.options.log?.(`${this.name}: could not sign up`);
    return false;
  }

  /** Operations until the deadline. */
  async run(): Promise<void> {
    const [thinkMin, thinkMax] = this.options.thinkMs ?? [10, 80];
    while (!this.options.done()) {
      if (this.bookedAsThisUser >= BOOKINGS_PER_USER && !(await this.becomeNewUser())) return;
      await this.step();
      await sleep(this.rng.int(thinkMin, thinkMax));
    }
  }

  /** Cancel what this user holds, then continue as a fresh user with a fresh session. */
  private async becomeNewUser(): Promise<boolean> {
    for (const id of [...this.live.keys()]) await this.cancelBooking(id);
    this.generation += 1;
    this.name = `c${this.index + 1}.${this.generation}`;
    this.authToken = undefined;
    this.sessionToken = undefined;
    this.userId = undefined;
    this.live.clear();
    return this.signUp();
  }

  private async step(): Promise<void> {
    if (this.live.size >= LIVE_BOOKINGS_SOFT_LIMIT && this.rng.chance(0.7)) return this.cancel();
    const r = this.rng.next();
    if (r < 0.3) return this.bookDirect();
    if (r < 0.42) return this.holdThenBook();
    if (r < 0.5) return this.cancel();
    if (r < 0.78) return void (await this.readBookings(this.rng.pick(LEVELS)));
    return void (await this.readSeats(this.rng.chance(0.7) ? this.options.hot : this.options.warm, this.rng.pick(LEVELS)));
  }

  private chooseSeats(): { showtime: Showtime; seats: string[] } {
    const showtime = this.rng.chance(0.7) ? this.options.hot : this.options.warm;
    const count = this.rng.chance(0.7) ? 1 : 2;
    return { showtime, seats: this.rng.shuffle(showtime.seats).slice(0, count) };
  }

  private async bookDirect(): Promise<void> {
    const { showtime, seats } = this.chooseSeats();
    await this.book({ showtimeId: showtime.id, seats }, { showtimeId: showtime.id, seats });
  }

  private async holdThenBook(): Promise<void> {
    const { showtime, seats } = this.chooseSeats();
    const res = await this.request('hold', 'POST', '/api/holds', { showtimeId: showtime.id, seats }, { args: { showtimeId: showtime.id, seats } }, (b) => {
      const hold = (b as { hold?: { id?: string; seats?: string[] } })?.hold;
      return hold?.id ? { holdId: hold.id, showtimeId: showtime.id, seats: hold.seats ?? seats } : undefined;
    });
    if (res.status !== 'ok') return;
    const hold = (res.body as AnswerOf<'POST /api/holds'>).hold;
    if (this.rng.chance(0.15)) {
      await this.request('release', 'DELETE', `/api/holds/${hold.id}`, undefined, { args: { holdId: hold.id } });
      return;
    }
    await this.book({ holdId: hold.id }, { showtimeId: showtime.id, seats: hold.seats ?? seats, holdId: hold.id });
  }

  /** One logical booking: the same Idempotency-Key and body on every attempt, retried while the outcome is unknown. */
  private async book(body: Record<string, unknown>, args: { showtimeId: number; seats: string[]; holdId?: string }): Promise<void> {
    const key = `${this.name}-${randomBytes(8).toString('hex')}`;
    for (let attempt = 1; attempt <= BOOK_ATTEMPTS; attempt++) {
      const res = await this.request('book', 'POST', '/api/bookings', body, { key, attempt, args }, (b) => {
        const booking = (b as { booking?: { id?: string; showtimeId?: number; seats?: { id: string }[] } })?.booking;
        return booking?.id
          ? { bookingId: booking.id, showtimeId: booking.showtimeId ?? args.showtimeId, seats: (booking.seats ?? []).map((s) => s.id) }
          : undefined;
      });
      if (res.status === 'ok') {
        const booking = (res.body as AnswerOf<'POST /api/bookings'>).booking;
        this.live.set(booking.id, { showtimeId: booking.showtimeId, seats: booking.seats.map((s) => s.id) });
        this.bookedAsThisUser += 1;
        // Read-your-writes, right away, half of the time.
        if (this.rng.chance(0.5)) await this.readBookings('causal');
        return;
      }
      if (!res.retriable) return;
      await this.backoff(attempt);
    }
  }

  private async cancel(): Promise<void> {
    const ids = [...this.live.keys()];
    if (!ids.length) return void (await this.readBookings('causal'));
    await this.cancelBooking(this.rng.pick(ids));
  }

  private async cancelBooking(id: string): Promise<void> {
    for (let attempt = 1; attempt <= CANCEL_ATTEMPTS; attempt++) {
      const res = await this.request('cancel', 'POST', `/api/bookings/${id}/cancel`, undefined, { attempt, args: { bookingId: id } }, (b) => {
        const booking = (b as { booking?: { id?: string; status?: string } })?.booking;
        return booking?.id ? { bookingId: booking.id, status: booking.status } : undefined;
      });
      if (res.status === 'ok' || !res.retriable) {
        this.live.delete(id);
        return;
      }
      await this.backoff(attempt);
    }
  }

  async readBookings(consistency: Consistency): Promise<OpStatus> {
    const res = await this.request('read-bookings', 'GET', `/api/bookings?consistency=${consistency}`, undefined, { consistency }, (b) => {
      const list = (b as { bookings?: { id: string; status: 'confirmed' | 'cancelled' }[] })?.bookings ?? [];
      return { bookings: list.map((x): BookingView => [x.id, x.status]) };
    });
    if (res.status === 'ok' && consistency !== 'eventual') {
      // A booking whose request timed out may have gone through: once it shows up, it is ours to cancel.
      for (const b of (res.body as AnswerOf<'GET /api/bookings'>).bookings) {
        if (b.status === 'confirmed' && !this.live.has(b.id)) this.live.set(b.id, { showtimeId: b.showtimeId, seats: b.seats.map((s) => s.id) });
      }
    }
    return res.status;
  }

  async readSeats(showtime: Showtime, consistency: Consistency): Promise<OpStatus> {
    const res = await this.request('read-seats', 'GET', `/api/showtimes/${showtime.id}?consistency=${consistency}`, undefined, { consistency, args: { showtimeId: showtime.id } }, (b) => {
      const seats = (b as { seats?: { id: string; status: string }[] })?.seats ?? [];
      const having = (status: string) => seats.filter((s) => s.status === status).map((s) => s.id);
      return { showtimeId: showtime.id, booked: having('booked'), held: having('held') };
    });
    return res.status;
  }

  /**
   * After the heal and convergence, with no writes any more: a read of everything the session
   * cares about at every level. The strong and eventual ones must show exactly PostgreSQL's state.
   */
  async finalReads(): Promise<void> {
    for (const level of ['causal', 'strong', 'eventual'] as const) {
      await this.readBookings(level);
      await this.readSeats(this.options.hot, level);
      await this.readSeats(this.options.warm, level);
    }
  }
}

/** Sign every client up, then run them all until the deadline. */
export async function runWorkload(options: WorkloadOptions): Promise<Client[]> {
  const clients = Array.from({ length: options.clients }, (_, i) => new Client(options, i));
  await Promise.all(clients.map(async (c, i) => {
    await sleep(i * CLIENT_START_STAGGER_MS);
    if (await c.signUp()) await c.run();
  }));
  return clients.filter((c) => c.userId !== undefined);
}
