import type pg from 'pg';

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
};

export type HoldFact = {
  id: string;
  userId: string;
  showtimeId: number;
  seats: string[];
  expiresAt: string;
  status: 'active' | 'released' | 'expired' | 'booked';
};

export type Fact = { key: string; value: BookingFact | HoldFact | Record<string, unknown> };

export const bookingKey = (showtimeId: number, id: string) => `booking:${showtimeId}:${id}`;
export const holdKey = (showtimeId: number, id: string) => `hold:${showtimeId}:${id}`;
export const showtimePrefixes = (showtimeId: number) => [`booking:${showtimeId}:`, `hold:${showtimeId}:`];

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

export type SeatStates = Record<string, { status: 'held' | 'booked'; userId: string }>;

/** A showtime's seat states as a replica knows them, from its booking and hold documents. */
export function deriveSeatStates(documents: Iterable<{ key: string; value: unknown }>, nowMs: number): SeatStates {
  const states: SeatStates = {};
  const holds: HoldFact[] = [];
  for (const { key, value } of documents) {
    if (key.startsWith('booking:')) {
      const b = value as BookingFact;
      if (b.status === 'confirmed') for (const seat of b.seats) states[seat] = { status: 'booked', userId: b.userId };
    } else if (key.startsWith('hold:')) {
      holds.push(value as HoldFact);
    }
  }
  for (const h of holds) {
    if (h.status !== 'active' || Date.parse(h.expiresAt) <= nowMs) continue;
    for (const seat of h.seats) if (!states[seat]) states[seat] = { status: 'held', userId: h.userId };
  }
  return states;
}
