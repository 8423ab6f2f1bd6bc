import pg from 'pg';
import type { Logger } from 'pino';

/**
 * Live seat changes across node processes. Every transaction that changes a seat's state (hold,
 * release, booking, cancel, hold expiry) calls `notifySeatChange` inside the transaction, so
 * PostgreSQL delivers the notification only if and when it commits. Each node process runs one
 * `SeatEventHub`: a single dedicated connection LISTENing on the channel, fanning notifications
 * out to the subscribers of that showtime (the server-sent event streams of open seat maps).
 */
export const SEAT_CHANNEL = 'seat_changes';

/** Announce, inside the current transaction, that seats of `showtimeId` changed. */
export async function notifySeatChange(client: pg.ClientBase, showtimeId: number): Promise<void> {
  await client.query({ name: 'notify_seat_change', text: `SELECT pg_notify('${SEAT_CHANNEL}', $1)`, values: [String(showtimeId)] });
}

/**
 * What a subscriber hears. `resync` means notifications may have been missed (the listener
 * connection dropped and came back): refetch, whatever changed.
 */
export type SeatEvent = { showtimeId: number; resync?: true };
export type SeatSubscriber = (event: SeatEvent) => void;

export type SeatEventLimits = {
  /** Subscribers (open streams) per process; beyond it `subscribe` refuses. */
  maxSubscribers: number;
  /** Back-off between reconnect attempts of the listener connection: doubles from min to max. */
  reconnectMinMs: number;
  reconnectMaxMs: number;
};

export const DEFAULT_SEAT_EVENT_LIMITS: SeatEventLimits = { maxSubscribers: 1_000, reconnectMinMs: 100, reconnectMaxMs: 5_000 };

const SHOWTIME_PAYLOAD = /^[1-9][0-9]{0,15}$/;

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
    if (msg.channel !== SEAT_CHANNEL || !msg.payload || !SHOWTIME_PAYLOAD.test(msg.payload)) return;
    const showtimeId = Number(msg.payload);
    this.deliver(showtimeId, { showtimeId });
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
