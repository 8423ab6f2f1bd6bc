import pg from 'pg';
import type { Logger } from 'pino';
import { z } from 'zod';
import { SEAT_STATUSES, type SeatStatus } from '../../core/vocabulary';

/**
 * Live seat changes across node processes. Every transaction that changes a seat's state (hold,
 * release, booking, cancel, hold expiry) notifies inside the transaction, so PostgreSQL delivers
 * the notification only if and when it commits — and, to each listener, in commit order. Each
 * node process runs one `SeatEventHub`: a single dedicated connection LISTENing on the channel,
 * fanning notifications out to the subscribers of that showtime (the server-sent event streams of
 * open seat maps).
 *
 * A notification says what changed: the seats, the state they are all in now, the version the
 * change gave them (`showtime_seats.version`: every change sets the seats it touches to one new
 * version, greater than each of their previous ones, after taking their row locks — so a seat's
 * versions follow the order of its commits) and, for a hold, the holder. Its payload is built by
 * the SQL function `seat_change_payload` (migration 007), which announces a change too big for a
 * notification (8000 bytes) as a resync instead:
 *
 *   {"showtimeId": 42, "version": 17, "status": "held", "seats": ["F7", "F8"], "holder": "<user id>"}
 *   {"showtimeId": 42, "resync": true}
 */
export const SEAT_CHANNEL = 'seat_changes';

/** One committed change of a showtime's seats, as notified. `holder` only for `held`. */
export type SeatChange = { showtimeId: number; version: number; status: SeatStatus; seats: string[]; holder?: string };

/** The SQL expression that notifies a change (arguments: SQL expressions of its fields). */
export function notifySql(showtime: string, version: string, status: string, holder: string, seats: string): string {
  return `pg_notify('${SEAT_CHANNEL}', seat_change_payload(${showtime}, ${version}, ${status}, ${holder}, ${seats}))`;
}

/** Announce, inside the current transaction, a change of seats (delivered when it commits). */
export async function notifySeatChange(client: pg.ClientBase, change: SeatChange): Promise<void> {
  if (!change.seats.length) return;
  await client.query({
    name: 'notify_seat_change',
    text: `SELECT ${notifySql('$1::bigint', '$2::bigint', '$3::text', '$4::uuid', '$5::text[]')}`,
    values: [change.showtimeId, change.version, change.status, change.holder ?? null, change.seats],
  });
}

/**
 * What a subscriber hears: a change, or `resync` — something changed that this event does not
 * describe (the listener connection dropped and came back, so notifications may have been
 * missed; a change too big for one notification; a node of an older version): refetch.
 */
export type SeatEvent = SeatChange | { showtimeId: number; resync: true };
export type SeatSubscriber = (event: SeatEvent) => void;

const showtimeId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const payloadSchema = z.union([
  z.object({
    showtimeId,
    version: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    status: z.enum(SEAT_STATUSES),
    seats: z.array(z.string().min(1).max(8)).min(1).max(10_000),
    holder: z.uuid().optional(),
  }).strict(),
  z.object({ showtimeId, resync: z.literal(true) }).strict(),
]);
/** What nodes of an older version notified: only the showtime's id. */
const BARE_SHOWTIME_PAYLOAD = /^[1-9][0-9]{0,15}$/;

/** A notification's payload as an event, or undefined if it is not one of ours. */
export function parseSeatPayload(payload: string): SeatEvent | undefined {
  if (BARE_SHOWTIME_PAYLOAD.test(payload)) return { showtimeId: Number(payload), resync: true };
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    return undefined;
  }
  const parsed = payloadSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

export type SeatEventLimits = {
  /** Subscribers (open streams) per process; beyond it `subscribe` refuses. */
  maxSubscribers: number;
  /** Back-off between reconnect attempts of the listener connection: doubles from min to max. */
  reconnectMinMs: number;
  reconnectMaxMs: number;
};

export const DEFAULT_SEAT_EVENT_LIMITS: SeatEventLimits = { maxSubscribers: 1_000, reconnectMinMs: 100, reconnectMaxMs: 5_000 };

export class SeatEventHub {
  private readonly subscribers = new Map<number, Set<SeatSubscriber>>();
  private subscriberCount = 0;
  private client: pg.Client | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private reconnectDelayMs: number;
  private started = false;
  private stopped = false;
  /** Connected and LISTENing right now. */
  listening = false;
  /** Successful (re)connections so far. */
  connections = 0;

  constructor(
    private readonly connectionString: string,
    private readonly log: Logger,
    private readonly limits: SeatEventLimits = DEFAULT_SEAT_EVENT_LIMITS,
  ) {
    this.reconnectDelayMs = limits.reconnectMinMs;
  }

  get size(): number {
    return this.subscriberCount;
  }

  /** Connect and LISTEN in the background; a failure is retried with back-off, never thrown. */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    this.listening = false;
    await client?.end().catch(() => {});
  }

  /** Returns the unsubscribe function, or undefined when this process has no room for another. */
  subscribe(showtimeId: number, subscriber: SeatSubscriber): (() => void) | undefined {
    if (this.subscriberCount >= this.limits.maxSubscribers) return undefined;
    let set = this.subscribers.get(showtimeId);
    if (!set) this.subscribers.set(showtimeId, (set = new Set()));
    set.add(subscriber);
    this.subscriberCount += 1;
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      set.delete(subscriber);
      if (set.size === 0) this.subscribers.delete(showtimeId);
      this.subscriberCount -= 1;
    };
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.connectionString, keepAlive: true });
    this.client = client;
    client.on('notification', (msg) => this.onNotification(msg));
    client.on('error', (err) => this.dropped(client, err));
    client.on('end', () => this.dropped(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${SEAT_CHANNEL}`);
    } catch (err) {
      this.dropped(client, err);
      return;
    }
    if (this.client !== client) return; // stopped or dropped meanwhile
    this.listening = true;
    this.connections += 1;
    this.reconnectDelayMs = this.limits.reconnectMinMs;
    // Whatever happened while we were not listening was not heard: everyone refetches.
    this.resyncAll();
  }

  private dropped(client: pg.Client, err?: unknown): void {
    if (this.client !== client) return; // already handled, or stopped
    this.client = undefined;
    this.listening = false;
    client.end().catch(() => {});
    if (this.stopped) return;
    const delayMs = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, this.limits.reconnectMaxMs);
    this.log.warn({ err }, `seat events: listener connection lost, reconnecting in ${delayMs} ms`);
    this.retryTimer = setTimeout(() => void this.connect(), delayMs);
    this.retryTimer.unref();
  }

  private onNotification(msg: pg.Notification): void {
    if (msg.channel !== SEAT_CHANNEL || !msg.payload) return;
    const event = parseSeatPayload(msg.payload);
    if (event) this.deliver(event.showtimeId, event);
  }

  private resyncAll(): void {
    for (const showtimeId of [...this.subscribers.keys()]) this.deliver(showtimeId, { showtimeId, resync: true });
  }

  private deliver(showtimeId: number, event: SeatEvent): void {
    const set = this.subscribers.get(showtimeId);
    if (!set) return;
    for (const subscriber of [...set]) {
      try {
        subscriber(event);
      } catch (err) {
        this.log.warn({ err }, 'seat events: a subscriber failed');
      }
    }
  }
}
