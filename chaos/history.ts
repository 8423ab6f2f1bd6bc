import fs from 'node:fs';
import path from 'node:path';
import type { Consistency } from '../core/vocabulary';

/**
 * The chaos run's history: every operation a client performed, as an `invoke` event when it was
 * sent and a `complete` event when its outcome was known (Jepsen's model), plus the nemesis's
 * fault windows, election samples and the post-heal convergence measurement. One JSON object per
 * line. The checker reads only this and a snapshot of the database.
 *
 * `t` is milliseconds since the run started (monotonic clock of the runner).
 */

export type OpKind = 'signup' | 'hold' | 'release' | 'book' | 'cancel' | 'read-bookings' | 'read-seats';

/**
 * The outcome of one request:
 * - `ok`: the system acknowledged it (2xx);
 * - `fail`: the system refused it definitively, nothing changed (4xx, the gateway had no node to send it to, or a
 *   read refused with 503 REPLICA_UNAVAILABLE — e.g. a strong read without its quorum);
 * - `info`: unknown — a timeout, a broken connection or a 5xx; it may or may not have taken effect.
 */
export type OpStatus = 'ok' | 'fail' | 'info';

export type BookArgs = { showtimeId: number; seats: string[]; holdId?: string };

export type InvokeEvent = {
  type: 'invoke';
  t: number;
  /** Unique per request (each retry is a request of its own). */
  op: number;
  /** The client (one session each). */
  process: string;
  f: OpKind;
  /** Idempotency-Key of a booking: retries of one logical booking share it. */
  key?: string;
  attempt?: number;
  consistency?: Consistency;
  args?: Record<string, unknown>;
  /** The session token sent (decoded: node → counter), if any. */
  token?: Record<string, number>;
};

export type BookingView = [id: string, status: 'confirmed' | 'cancelled'];

export type CompleteEvent = {
  type: 'complete';
  t: number;
  op: number;
  process: string;
  f: OpKind;
  status: OpStatus;
  /** HTTP status, when an answer came. */
  http?: number;
  /** The error code of the answer (docs/errors.md), or TIMEOUT / NETWORK when none came. */
  code?: string;
  /** The error's `details.reason` (REPLICA_UNAVAILABLE: no-quorum, no-master, stale-session, timeout, busy). */
  reason?: string;
  servedBy?: string;
  replicaServedBy?: string;
  /** The session token the answer carried (decoded), if any. */
  token?: Record<string, number>;
  /**
   * signup: { userId }; hold: { holdId, showtimeId, seats }; book: { bookingId, showtimeId, seats, replayed };
   * cancel: { bookingId, status }; read-bookings: { bookings: BookingView[] }; read-seats: { showtimeId, booked: string[], held: string[] }.
   */
  value?: Record<string, unknown>;
};

export type FaultKind = 'kill' | 'pause' | 'partition' | 'clock-bump' | 'clock-strobe' | 'replication-mode' | 'lb-algorithm';
export const FAULT_KINDS: readonly FaultKind[] = ['kill', 'pause', 'partition', 'clock-bump', 'clock-strobe', 'replication-mode', 'lb-algorithm'];

export type NemesisEvent = {
  type: 'nemesis';
  t: number;
  /** start/stop bound a fault window; error: an action that failed (the heal retries). */
  phase: 'start' | 'stop' | 'error';
  id: number;
  fault: FaultKind;
  targets?: string[];
  detail?: Record<string, unknown>;
};

export type ElectionSample = { type: 'election'; t: number; node: string; leader: string | null; epoch: number };

export type MetaEvent = {
  type: 'meta';
  t: number;
  seed: number;
  nodes: string[];
  durationMs: number;
  clients: number;
  startedAt: string;
  showtimes: { hot: number; warm: number };
  schedule?: unknown[];
};

export type HealEvent = { type: 'heal'; t: number; detail?: Record<string, unknown> };

export type ConvergenceEvent = {
  type: 'convergence';
  t: number;
  converged: boolean;
  waitedMs: number;
  boundMs: number;
  detail?: Record<string, unknown>;
};

/**
 * A version of a booking document seen in some node's persisted replica during the run (the
 * runner polls the database): the dot (origin, seq) of the write that made it. The checker uses
 * the first version of each status to tell whether a session token covered the write.
 */
export type VersionEvent = { type: 'version'; t: number; booking: string; status: string; origin: string; seq: number };

export type EndEvent = { type: 'end'; t: number };

export type HistoryEvent = InvokeEvent | CompleteEvent | NemesisEvent | ElectionSample | MetaEvent | HealEvent | ConvergenceEvent | VersionEvent | EndEvent;

/** Appends events to a JSON-lines file as they happen (a crash of the runner still leaves the history so far). */
export class HistoryWriter {
  private readonly started = performance.now();
  private readonly fd: number;
  private nextOp = 1;
  private closed = false;
  count = 0;

  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(file, 'w');
  }

  /** Milliseconds since the run started. */
  now(): number {
    return Math.round((performance.now() - this.started) * 10) / 10;
  }

  newOp(): number {
    return this.nextOp++;
  }

  // A distributive Omit keeps each event's own fields.
  record<E extends HistoryEvent>(event: E extends unknown ? Omit<E, 't'> & { t?: number } : never): void {
    if (this.closed) return;
    const line = JSON.stringify({ ...event, t: event.t ?? this.now() });
    fs.writeSync(this.fd, `${line}\n`);
    this.count += 1;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}

/** Parse a JSON-lines history. A torn last line (the runner died mid-write) is ignored; any other bad line is an error. */
export function parseHistory(text: string): HistoryEvent[] {
  const lines = text.split('\n');
  const events: HistoryEvent[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      events.push(JSON.parse(line) as HistoryEvent);
    } catch (err) {
      if (i === lines.length - 1) return;
      throw new Error(`history line ${i + 1} is not JSON: ${String(err)}`);
    }
  });
  return events;
}

export function readHistory(file: string): HistoryEvent[] {
  return parseHistory(fs.readFileSync(file, 'utf8'));
}
