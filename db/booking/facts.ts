import type pg from 'pg';
import type { SeatStatus } from '../../core/vocabulary';

/**
 * The committed facts every node replicates: one document per booking and per hold (keys
 * prefixed by showtime, so a showtime's seat map is a key range), plus movies and showtimes.
 * Each document is written whole by the transaction that changed it, and its status only moves
 * forward (active → released | booked | expired; confirmed → cancelled); `factRank` carries that
 * order into the replicas, so they never move a document back. Seat sales never depend on the
 * replicas anyway: PostgreSQL's constraint decides them.
 */
export type BookingFact = {
  id: string;
  userId: string;
  showtimeId: number;
  seats: string[];
  totalCents: number;
  status: 'confirmed' | 'cancelled';
  createdAt: string;
  cancelledAt: string | null;
  processedBy: string;
  logicalClock: number;
  vectorClock: Record<string, number>;
  /** The seats whose state this version of the document set, and the version it gave them (see `deriveSeatStates`). */
  seatVersions?: SeatVersions;
};

export type HoldFact = {
  id: string;
  userId: string;
  showtimeId: number;
  seats: string[];
  expiresAt: string;
  status: 'active' | 'released' | 'expired' | 'booked';
  /** As for bookings: the seats this version set (a release frees only the seats still held by it). */
  seatVersions?: SeatVersions;
};

/** Seat id → the version (`showtime_seats.version`) a change gave that seat. */
export type SeatVersions = Record<string, number>;

/** The same version for every seat of `seats`. */
export function versionsOf(seats: string[], version: number): SeatVersions {
  return Object.fromEntries(seats.map((s) => [s, version]));
}

export type Fact = { key: string; value: BookingFact | HoldFact | Record<string, unknown> };

export const bookingKey = (showtimeId: number, id: string) => `booking:${showtimeId}:${id}`;
export const holdKey = (showtimeId: number, id: string) => `hold:${showtimeId}:${id}`;
export const showtimePrefixes = (showtimeId: number) => [`booking:${showtimeId}:`, `hold:${showtimeId}:`];

/**
 * The compaction rule (docs/replication.md): a showtime's bookings and holds leave the replicas
 * once it started more than `retentionMs` before `now`; the system of record keeps them and reads
 * of them fall back to it. Showtimes are taken from the replica's own `showtime:` documents, so a
 * replica never retires a showtime it does not know.
 */
export function pastShowtimeGroups(showtimes: Iterable<unknown>, now: number, retentionMs: number): string[] {
  const out: string[] = [];
  for (const s of showtimes) {
    const { id, startsAt } = (s ?? {}) as { id?: unknown; startsAt?: unknown };
    const started = typeof startsAt === 'string' ? Date.parse(startsAt) : NaN;
    if (Number.isSafeInteger(id) && Number.isFinite(started) && started + retentionMs < now) out.push(...showtimePrefixes(id as number));
  }
  return out;
}

/**
 * A fact's rank in its document's own order, replicated with it (`Entry.rank`): a replica keeps
 * the higher-ranked version whatever the vector clocks or timestamps say, so a cancellation is
 * never undone by a confirmed version published later (an orphaned outbox row, a retry) or
 * stamped by a node whose clock runs ahead. Movies and showtimes have no order: 0, plain LWW.
 */
export function factRank(key: string, value: unknown): number {
  const status = (value as { status?: unknown } | null)?.status;
  if (key.startsWith('booking:')) return status === 'cancelled' ? 2 : 1;
  if (key.startsWith('hold:')) return status === 'active' ? 1 : 2;
  return 0;
}

/** Outbox rows written by no node (seeding): any node adopts and publishes them. */
export const SEED_ORIGIN = 'seed';

export function movieFact(m: { id: number } & Record<string, unknown>): Fact {
  return { key: `movie:${m.id}`, value: m };
}

export function showtimeFact(s: { id: number; movieId: number; screenId: number; startsAt: string }): Fact {
  return { key: `showtime:${s.id}`, value: s };
}

export function bookingFact(b: BookingFact): Fact {
  return { key: bookingKey(b.showtimeId, b.id), value: b };
}

export function holdFact(h: HoldFact): Fact {
  return { key: holdKey(h.showtimeId, h.id), value: h };
}

/** Record facts in the transaction that commits them (the replication outbox). */
export async function recordFacts(client: pg.ClientBase | pg.Pool, origin: string, facts: Fact[]): Promise<void> {
  if (!facts.length) return;
  await client.query(
    `INSERT INTO replication_outbox (key, value, node_id)
     SELECT f.key, f.value, $1 FROM jsonb_to_recordset($2::jsonb) AS f(key text, value jsonb)`,
    [origin, JSON.stringify(facts)],
  );
}

export type SeatState = { status: SeatStatus; userId?: string; version: number };
export type SeatStates = Record<string, SeatState>;

const PRECEDENCE: Record<SeatState['status'], number> = { available: 0, held: 1, booked: 2 };

/** What a document says about seats: its `seatVersions`, or (written before versions) every seat at version 0. */
function claims(fact: { seats?: unknown; seatVersions?: unknown }): [string, number][] {
  if (fact.seatVersions && typeof fact.seatVersions === 'object') {
    return Object.entries(fact.seatVersions as Record<string, unknown>).map(([seat, v]) => [seat, Number.isSafeInteger(v) ? (v as number) : 0]);
  }
  return Array.isArray(fact.seats) ? fact.seats.map((seat) => [String(seat), 0]) : [];
}

/**
 * A showtime's seat states as a replica knows them, from its booking and hold documents. Each
 * document version claims the seats it changed at the version that change gave them; a seat is
 * in the state of its newest claim: a confirmed booking's seats are booked, a cancelled one's
 * available, an active hold's held until it lapses (then available), a released or expired
 * hold's available; a booked hold claims nothing (its booking does). A replica that misses a
 * later change shows the seat as it was, at that older version — which a live seat map can tell
 * from a newer event. Documents written before versions claim their seats at version 0, where
 * booked > held > available (the rule before versions).
 */
export function deriveSeatStates(documents: Iterable<{ key: string; value: unknown }>, nowMs: number): SeatStates {
  const states: SeatStates = {};
  const claim = (seat: string, state: SeatState) => {
    const known = states[seat];
    if (!known || state.version > known.version || (state.version === known.version && PRECEDENCE[state.status] > PRECEDENCE[known.status])) {
      states[seat] = state;
    }
  };
  for (const { key, value } of documents) {
    if (key.startsWith('booking:')) {
      const b = value as BookingFact;
      for (const [seat, version] of claims(b)) {
        claim(seat, b.status === 'confirmed' ? { status: 'booked', userId: b.userId, version } : { status: 'available', version });
      }
    } else if (key.startsWith('hold:')) {
      const h = value as HoldFact;
      if (h.status === 'booked' && !h.seatVersions) continue;
      const live = h.status === 'active' && Date.parse(h.expiresAt) > nowMs;
      for (const [seat, version] of claims(h)) claim(seat, live ? { status: 'held', userId: h.userId, version } : { status: 'available', version });
    }
  }
  return states;
}
