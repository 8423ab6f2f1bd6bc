import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { AppError } from '../../core/errors';
import { inRetryingTransaction, sqlState, withDeadlockRetry, type Db } from '../pool';
import type { User } from '../../contract/accounts';
import type { Booking, Hold, HoldStatus, SeatStatus } from '../../contract/booking';
import type { DistributedInfo } from '../../contract/shapes';
import { getShowtimeInfo, type ShowtimeInfo } from './catalog';
import { notifySeatChange, notifySql } from './seat-events';
import { bookingFact, deriveSeatStates, holdFact, recordFacts, versionsOf, type BookingFact, type SeatVersions } from './facts';
import { resolveSeats } from './seats';

/**
 * Per-node settings of the reservation services; `origin` is the node recorded with replicated
 * facts; `maxHeldSeats` caps the seats one account holds at once, over all showtimes.
 */
export type ReservationLimits = { holdTtlS: number; maxSeatsPerBooking: number; maxHeldSeats: number; origin: string };

function assertNotStarted(info: ShowtimeInfo, now = new Date()): void {
  if (info.startsAt <= now) throw new AppError('SHOWTIME_STARTED', 'This showtime has already started');
}

function seatsUnavailable(requested: string[], got: string[]): AppError {
  const gotSet = new Set(got);
  const taken = requested.filter((s) => !gotSet.has(s));
  return new AppError('SEATS_UNAVAILABLE', `Seats no longer available: ${taken.join(', ')}`, { seats: taken });
}

// Lock the requested seat rows in one canonical order (no deadlocks between overlapping
// requests), then take exactly those that are free. A hold whose held_until has passed counts as
// free here, so an expired hold blocks nobody even before the sweeper clears it.
//
// Every statement that changes seats gives the seats it changes one new version, greater than
// each of their previous ones: the largest version among the locked rows, plus one, read after
// the row locks were granted — so a seat's versions follow the order in which its changes
// committed (see db/booking/seat-events.ts).
const TAKE_SEATS_FOR_HOLD = `
  WITH locked AS (
    SELECT seat_id, version FROM showtime_seats WHERE showtime_id = $1 AND seat_id = ANY($2::text[])
    ORDER BY seat_id FOR UPDATE
  ), v AS (
    SELECT max(version) + 1 AS version FROM locked
  )
  UPDATE showtime_seats s SET hold_id = $3, held_by = $4, held_until = now() + make_interval(secs => $5), version = v.version
  FROM locked, v
  WHERE s.showtime_id = $1 AND s.seat_id = locked.seat_id AND s.booking_id IS NULL
    AND (s.hold_id IS NULL OR s.held_until <= now() OR s.held_by = $4)
  RETURNING s.seat_id, s.held_until, s.version`;

export async function createHold(
  db: Db, user: User, input: { showtimeId: number; seats: string[] }, limits: ReservationLimits,
): Promise<Hold> {
  const info = await getShowtimeInfo(db, input.showtimeId);
  const seats = resolveSeats(info, input.seats, limits.maxSeatsPerBooking);
  assertNotStarted(info);
  const seatIds = seats.map((s) => s.id);
  const holdId = randomUUID();
  return inRetryingTransaction(db, async (client) => {
    await assertUnderHoldCap(client, user.id, info.id, seatIds, limits.maxHeldSeats);
    const taken = await client.query<{ seat_id: string; held_until: Date; version: number }>({
      name: 'take_seats_for_hold', text: TAKE_SEATS_FOR_HOLD, values: [info.id, seatIds, holdId, user.id, limits.holdTtlS],
    });
    if (taken.rowCount !== seatIds.length) {
      throw seatsUnavailable(seatIds, taken.rows.map((r) => r.seat_id));
    }
    const { held_until: expiresAt, version } = taken.rows[0]!;
    await client.query(
      'INSERT INTO seat_holds (id, showtime_id, user_id, seat_ids, expires_at) VALUES ($1, $2, $3, $4, $5)',
      [holdId, info.id, user.id, seatIds, expiresAt],
    );
    await recordFacts(client, limits.origin, [holdFact({
      id: holdId, userId: user.id, showtimeId: info.id, seats: seatIds, expiresAt: expiresAt.toISOString(), status: 'active',
      seatVersions: versionsOf(seatIds, version),
    })]);
    await notifySeatChange(client, { showtimeId: info.id, version, status: 'held', seats: seatIds, holder: user.id });
    return {
      id: holdId, showtimeId: info.id, seats: seatIds, expiresAt: expiresAt.toISOString(),
      totalCents: seats.reduce((sum, s) => sum + s.priceCents, 0),
    };
  }).catch(rethrowAsRollback);
}

// The account's row lock serialises its holds across every node, so two concurrent holds cannot
// both see room under the cap. The count is a statement of its own: under READ COMMITTED it then
// reads with a snapshot taken after the lock was granted, so it sees the hold that held the lock.
// Seats of the request this account already holds (a new hold taking over its own seats) count once.
const HELD_ELSEWHERE = `
  SELECT count(*)::int AS held FROM showtime_seats
  WHERE held_by = $1 AND held_until > now() AND booking_id IS NULL AND NOT (showtime_id = $2 AND seat_id = ANY($3::text[]))`;

async function assertUnderHoldCap(client: pg.PoolClient, userId: string, showtimeId: number, seatIds: string[], cap: number): Promise<void> {
  await client.query({ name: 'lock_account', text: 'SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE', values: [userId] });
  const { rows } = await client.query<{ held: number }>({ name: 'held_elsewhere', text: HELD_ELSEWHERE, values: [userId, showtimeId, seatIds] });
  const heldNow = rows[0]!.held;
  if (heldNow + seatIds.length > cap) {
    throw new AppError('HOLD_LIMIT_REACHED', `One account may hold at most ${cap} seats at once; you hold ${heldNow} other seats. Book or release them first`, {
      heldNow, requested: seatIds.length, cap,
    });
  }
}

// Free the seats still held by a hold (a seat its holder took over into a newer hold stays
// there), at one new version.
const FREE_HELD_SEATS = `
  WITH locked AS (
    SELECT seat_id, version FROM showtime_seats
    WHERE showtime_id = $1 AND seat_id = ANY($2::text[]) AND hold_id = $3 AND booking_id IS NULL
    ORDER BY seat_id FOR UPDATE
  ), v AS (
    SELECT max(version) + 1 AS version FROM locked
  )
  UPDATE showtime_seats s SET hold_id = NULL, held_by = NULL, held_until = NULL, version = v.version
  FROM locked, v WHERE s.showtime_id = $1 AND s.seat_id = locked.seat_id
  RETURNING s.seat_id, s.version`;

/** Release a hold: its seats become available at once. Releasing twice is harmless. */
export async function releaseHold(db: Db, user: User, holdId: string, origin: string): Promise<{ id: string; status: HoldStatus }> {
  return inRetryingTransaction(db, async (client) => {
    const hold = await client.query<{ status: HoldStatus; user_id: string; showtime_id: number; seat_ids: string[]; expires_at: Date }>(
      'SELECT status, user_id, showtime_id, seat_ids, expires_at FROM seat_holds WHERE id = $1 FOR UPDATE', [holdId],
    );
    const row = hold.rows[0];
    if (!row || (row.user_id !== user.id && user.role !== 'admin')) throw new AppError('HOLD_NOT_FOUND', 'No such hold');
    if (row.status !== 'active') return { id: holdId, status: row.status };
    const freed = await client.query<{ seat_id: string; version: number }>({
      name: 'free_held_seats', text: FREE_HELD_SEATS, values: [row.showtime_id, row.seat_ids, holdId],
    });
    await client.query("UPDATE seat_holds SET status = 'released' WHERE id = $1", [holdId]);
    const freedSeats = new Set(freed.rows.map((r) => r.seat_id));
    const seats = row.seat_ids.filter((s) => freedSeats.has(s));
    const version = freed.rows[0]?.version ?? 0;
    await recordFacts(client, origin, [holdFact({
      id: holdId, userId: row.user_id, showtimeId: row.showtime_id, seats: row.seat_ids, expiresAt: row.expires_at.toISOString(), status: 'released',
      seatVersions: versionsOf(seats, version),
    })]);
    await notifySeatChange(client, { showtimeId: row.showtime_id, version, status: 'available', seats });
    return { id: holdId, status: 'released' };
  });
}

// One statement, one round trip: lock the requested seats in one canonical order, and only if
// every one is free (or held by this same user) take them, record the booking and its seats, mark
// the hold booked and announce the change. Nothing is written when a seat is taken. The UNIQUE
// constraint on booking_seats still has the last word on a double sale.
// The booking's fact gets the seats' new version here (`seatVersions`), the hold's fact claims none.
const BOOK_SEATS = `
  WITH locked AS (
    SELECT seat_id, booking_id, hold_id, held_until, held_by, version FROM showtime_seats
    WHERE showtime_id = $1 AND seat_id = ANY($2::text[]) ORDER BY seat_id FOR UPDATE
  ), free AS (
    SELECT seat_id FROM locked
    WHERE booking_id IS NULL AND (hold_id IS NULL OR held_until <= now() OR held_by = $4)
  ), ok AS (
    SELECT count(*) = cardinality($2::text[]) AS all_free FROM free
  ), v AS (
    SELECT max(version) + 1 AS version FROM locked
  ), taken AS (
    UPDATE showtime_seats s SET booking_id = $3, hold_id = NULL, held_by = NULL, held_until = NULL, version = v.version
    FROM free, ok, v WHERE ok.all_free AND s.showtime_id = $1 AND s.seat_id = free.seat_id
  ), booking AS (
    INSERT INTO bookings (id, user_id, showtime_id, hold_id, seat_ids, total_cents, logical_clock, vector_clock, processed_by, "timestamp", seat_version)
    SELECT $3, $4, $1, $5::uuid, $2, $6, $7, $8, $9, $10, v.version FROM ok, v WHERE ok.all_free
  ), sold AS (
    INSERT INTO booking_seats (booking_id, showtime_id, seat_id, price_cents)
    SELECT $3, $1, u.seat, u.price FROM ok, unnest($2::text[], $11::int[]) AS u(seat, price) WHERE ok.all_free
  ), hold AS (
    UPDATE seat_holds h SET status = 'booked' FROM ok
    WHERE ok.all_free AND h.id = $5::uuid AND h.status IN ('active', 'expired')
  ), facts AS (
    INSERT INTO replication_outbox (key, value, node_id)
    SELECT f.key,
           CASE WHEN f.key LIKE 'booking:%'
             THEN f.value || jsonb_build_object('seatVersions', (SELECT jsonb_object_agg(seat, v.version) FROM unnest($2::text[]) AS seat))
             ELSE f.value END,
           $9
    FROM ok, v, jsonb_to_recordset($12::jsonb) AS f(key text, value jsonb) WHERE ok.all_free
  ), notified AS (
    SELECT ${notifySql('$1::bigint', 'v.version', "'booked'", 'NULL', '$2::text[]')} FROM ok, v WHERE ok.all_free
  )
  SELECT ok.all_free, ARRAY(SELECT seat_id FROM free) AS free_seats, (SELECT count(*) FROM notified) AS notified FROM ok`;

export type BookingRequest =
  | { holdId: string; showtimeId?: undefined; seats?: undefined }
  | { holdId?: undefined; showtimeId: number; seats: string[] };

export type BookingResult = { status: 201; booking: Booking; replayed: boolean };

/**
 * Book seats, from a hold or in one step. With an idempotency key, a repeated request replays the
 * stored response and the same key with another body is refused. The UNIQUE constraint on
 * booking_seats is the final word on double sales; the conditional UPDATE only makes the
 * common conflict a clean 409.
 */
export async function createBooking(
  db: Db,
  user: User,
  request: BookingRequest,
  options: { limits: ReservationLimits; idempotencyKey?: string; stamp: () => DistributedInfo },
): Promise<BookingResult> {
  // Only a request with a key is compared with an earlier one.
  const requestHash = options.idempotencyKey ? hashRequest(request) : '';
  if (options.idempotencyKey) {
    const replay = await findIdempotentReplay(db, user.id, options.idempotencyKey, requestHash);
    if (replay) return republished(db, options.limits.origin, replay);
  }

  let showtimeId: number;
  let requestedSeats: string[];
  let holdId: string | null = null;
  let requestedHold: { expiresAt: string } | null = null;
  if (request.holdId !== undefined) {
    const hold = await db.query<{ showtime_id: number; seat_ids: string[]; status: string; user_id: string; expires_at: Date }>(
      'SELECT showtime_id, seat_ids, status, user_id, expires_at FROM seat_holds WHERE id = $1', [request.holdId],
    );
    const row = hold.rows[0];
    if (!row || row.user_id !== user.id) throw new AppError('HOLD_NOT_FOUND', 'No such hold');
    // An expired hold is still fine to book from if its seats are still free.
    if (row.status !== 'active' && row.status !== 'expired') {
      throw new AppError('HOLD_NOT_ACTIVE', `This hold was ${row.status}`, { status: row.status });
    }
    showtimeId = row.showtime_id;
    requestedSeats = row.seat_ids;
    holdId = request.holdId;
    requestedHold = { expiresAt: row.expires_at.toISOString() };
  } else {
    showtimeId = request.showtimeId;
    requestedSeats = request.seats;
  }

  const info = await getShowtimeInfo(db, showtimeId);
  const seats = resolveSeats(info, requestedSeats, options.limits.maxSeatsPerBooking);
  assertNotStarted(info);
  const seatIds = seats.map((s) => s.id);
  const bookingId = randomUUID();
  const stamp = options.stamp();
  const booking: Booking = {
    id: bookingId,
    userId: user.id,
    showtimeId: info.id,
    movieTitle: info.movieTitle,
    screenName: info.screenName,
    startsAt: info.startsAt.toISOString(),
    seats: seats.map((s) => ({ id: s.id, category: s.category, priceCents: s.priceCents })),
    totalCents: seats.reduce((sum, s) => sum + s.priceCents, 0),
    status: 'confirmed',
    createdAt: stamp.timestamp,
    cancelledAt: null,
    distributedInfo: stamp,
  };

  const d = booking.distributedInfo;
  const bookSeats = {
    name: 'book_seats',
    text: BOOK_SEATS,
    values: [
      info.id, seatIds, bookingId, user.id, holdId, booking.totalCents, d.logicalClock, JSON.stringify(d.vectorClock), d.processedBy,
      d.timestamp, seats.map((s) => s.priceCents), JSON.stringify(factsOfBooking(booking, holdId, requestedHold)),
    ],
  };
  try {
    if (!options.idempotencyKey) {
      // A single statement is its own transaction.
      const { rows } = await withDeadlockRetry(() => db.query<{ all_free: boolean; free_seats: string[] }>(bookSeats));
      if (!rows[0]?.all_free) throw seatsUnavailable(seatIds, rows[0]?.free_seats ?? []);
    } else {
      await inRetryingTransaction(db, async (client) => {
        // Claim the key first: a concurrent request with the same key waits here, then replays.
        const claimed = await client.query(
          `INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, response)
           VALUES ($1, $2, $3, 201, $4) ON CONFLICT DO NOTHING`,
          [user.id, options.idempotencyKey, requestHash, JSON.stringify({ booking })],
        );
        if (!claimed.rowCount) throw new KeyTakenDuringRequest();
        const { rows } = await client.query<{ all_free: boolean; free_seats: string[] }>(bookSeats);
        if (!rows[0]?.all_free) throw seatsUnavailable(seatIds, rows[0]?.free_seats ?? []);
      });
    }
  } catch (err) {
    if (err instanceof KeyTakenDuringRequest) {
      const replay = await findIdempotentReplay(db, user.id, options.idempotencyKey!, requestHash);
      if (replay) return republished(db, options.limits.origin, replay);
    }
    rethrowAsRollback(err);
  }
  return { status: 201, booking, replayed: false };
}

class KeyTakenDuringRequest extends Error {}

/**
 * A replayed request's booking is recorded as a fact again, in its current state, by the node that
 * answers: the first attempt may have committed on a node that crashed before publishing its fact
 * (a client's retry, or the gateway's, then lands here), and the answer's session token must name
 * the booking. Publishing a fact twice is harmless (replicas order a document's versions by rank).
 */
async function republished(db: Db, origin: string, replay: BookingResult): Promise<BookingResult> {
  await recordCurrentBookingFact(db, origin, replay.booking.id);
  return replay;
}

/** The booking's fact in its current state, claiming its seats at the version its last change gave them. */
async function recordCurrentBookingFact(client: pg.ClientBase | Db, origin: string, bookingId: string): Promise<void> {
  const { rows: [row] } = await client.query<BookingRow>(`${BOOKING_SELECT} WHERE b.id = $1`, [bookingId]);
  if (row) await recordFacts(client, origin, [bookingFact(toBookingFact(toBooking(row), versionsOf(row.seat_ids, row.seat_version)))]);
}

function toBookingFact(b: Booking, seatVersions?: SeatVersions): BookingFact {
  return {
    id: b.id, userId: b.userId, showtimeId: b.showtimeId, seats: b.seats.map((s) => s.id), totalCents: b.totalCents, status: b.status,
    createdAt: b.createdAt, cancelledAt: b.cancelledAt, processedBy: b.distributedInfo.processedBy,
    logicalClock: b.distributedInfo.logicalClock, vectorClock: b.distributedInfo.vectorClock,
    ...(seatVersions ? { seatVersions } : {}),
  };
}

/** A new booking's facts; BOOK_SEATS adds the booking's `seatVersions`. The booked hold claims no seat: its booking does. */
function factsOfBooking(b: Booking, holdId: string | null, hold: { expiresAt: string } | null) {
  const facts = [bookingFact(toBookingFact(b))];
  if (holdId && hold) {
    facts.push(holdFact({
      id: holdId, userId: b.userId, showtimeId: b.showtimeId, seats: b.seats.map((s) => s.id), expiresAt: hold.expiresAt, status: 'booked', seatVersions: {},
    }));
  }
  return facts;
}

async function findIdempotentReplay(db: Db, userId: string, key: string, requestHash: string): Promise<BookingResult | undefined> {
  const { rows } = await db.query<{ request_hash: string; response: { booking: Booking } }>(
    'SELECT request_hash, response FROM idempotency_keys WHERE user_id = $1 AND key = $2', [userId, key],
  );
  const row = rows[0];
  if (!row) return undefined;
  if (row.request_hash !== requestHash) {
    throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request');
  }
  return { status: 201, booking: row.response.booking, replayed: true };
}

function hashRequest(request: BookingRequest): string {
  const canonical = request.holdId !== undefined
    ? { holdId: request.holdId }
    : { showtimeId: request.showtimeId, seats: [...request.seats].map((s) => s.trim().toUpperCase()).sort() };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

/** A unique-constraint violation on a seat means someone else sold it first: a normal 409. */
function rethrowAsRollback(err: unknown): never {
  if (sqlState(err) === '23505' && String((err as { constraint?: string }).constraint).startsWith('booking_seats')) {
    throw new AppError('SEATS_UNAVAILABLE', 'Some seats were just sold to someone else');
  }
  throw err;
}

const BOOKING_SELECT = `
  SELECT b.id, b.user_id, b.showtime_id, m.title, sc.name AS screen_name, s.starts_at, b.seat_ids, b.total_cents,
         b.status, b.created_at, b.cancelled_at, b.logical_clock, b.vector_clock, b.processed_by, b."timestamp", b.seat_version,
         (SELECT jsonb_agg(jsonb_build_object('id', ss.seat_id, 'category', ss.category, 'priceCents', ss.price_cents))
            FROM showtime_seats ss WHERE ss.showtime_id = b.showtime_id AND ss.seat_id = ANY(b.seat_ids)) AS seats
  FROM bookings b JOIN showtimes s ON s.id = b.showtime_id JOIN movies m ON m.id = s.movie_id JOIN screens sc ON sc.id = s.screen_id`;

type BookingRow = {
  id: string; user_id: string; showtime_id: number; title: string; screen_name: string; starts_at: Date; seat_ids: string[];
  total_cents: number; status: 'confirmed' | 'cancelled'; created_at: Date; cancelled_at: Date | null; logical_clock: number;
  vector_clock: Record<string, number>; processed_by: string; timestamp: Date; seat_version: number; seats: Booking['seats'] | null;
};

function toBooking(r: BookingRow): Booking {
  const order = new Map(r.seat_ids.map((id, i) => [id, i]));
  return {
    id: r.id,
    userId: r.user_id,
    showtimeId: r.showtime_id,
    movieTitle: r.title,
    screenName: r.screen_name,
    startsAt: r.starts_at.toISOString(),
    seats: (r.seats ?? []).sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0)),
    totalCents: r.total_cents,
    status: r.status,
    createdAt: r.created_at.toISOString(),
    cancelledAt: r.cancelled_at?.toISOString() ?? null,
    distributedInfo: {
      processedBy: r.processed_by, logicalClock: r.logical_clock, vectorClock: r.vector_clock, timestamp: r.timestamp.toISOString(),
    },
  };
}

/** A user's bookings, newest showtime first; only those of showtimes that started before `startedBefore` when given. */
export async function listBookings(db: Db, userId: string, startedBefore?: Date): Promise<Booking[]> {
  const { rows } = startedBefore === undefined
    ? await db.query<BookingRow>(`${BOOKING_SELECT} WHERE b.user_id = $1 ORDER BY s.starts_at DESC, b.created_at DESC`, [userId])
    : await db.query<BookingRow>(`${BOOKING_SELECT} WHERE b.user_id = $1 AND s.starts_at < $2 ORDER BY s.starts_at DESC, b.created_at DESC`, [userId, startedBefore]);
  return rows.map(toBooking);
}

export async function getBooking(db: Db, user: User, id: string): Promise<Booking> {
  const { rows } = await db.query<BookingRow>(`${BOOKING_SELECT} WHERE b.id = $1`, [id]);
  const row = rows[0];
  // Someone else's booking is reported as missing, not forbidden: ids are not to be probed.
  if (!row || (row.user_id !== user.id && user.role !== 'admin')) throw new AppError('BOOKING_NOT_FOUND', 'No such booking');
  return toBooking(row);
}

// Free a booking's seats, at one new version.
const FREE_BOOKED_SEATS = `
  WITH locked AS (
    SELECT seat_id, version FROM showtime_seats WHERE showtime_id = $1 AND booking_id = $2 ORDER BY seat_id FOR UPDATE
  ), v AS (
    SELECT max(version) + 1 AS version FROM locked
  )
  UPDATE showtime_seats s SET booking_id = NULL, version = v.version
  FROM locked, v WHERE s.showtime_id = $1 AND s.seat_id = locked.seat_id
  RETURNING s.seat_id, s.version`;

/** Cancel a booking; its seats become available again. Cancelling twice is harmless. */
export async function cancelBooking(db: Db, user: User, id: string, origin: string): Promise<Booking> {
  await inRetryingTransaction(db, async (client) => {
    const { rows } = await client.query<{ user_id: string; status: string; showtime_id: number; seat_ids: string[] }>(
      'SELECT user_id, status, showtime_id, seat_ids FROM bookings WHERE id = $1 FOR UPDATE', [id],
    );
    const row = rows[0];
    if (!row || (row.user_id !== user.id && user.role !== 'admin')) throw new AppError('BOOKING_NOT_FOUND', 'No such booking');
    // Already cancelled: record it again (see `republished`) — the cancel that did it may sit
    // unpublished in the outbox of a node that crashed before answering.
    if (row.status === 'cancelled') return recordCurrentBookingFact(client, origin, id);
    await client.query('DELETE FROM booking_seats WHERE booking_id = $1', [id]);
    const freed = await client.query<{ seat_id: string; version: number }>({ name: 'free_booked_seats', text: FREE_BOOKED_SEATS, values: [row.showtime_id, id] });
    const version = freed.rows[0]?.version ?? 0;
    await client.query("UPDATE bookings SET status = 'cancelled', cancelled_at = now(), seat_version = $2 WHERE id = $1", [id, version]);
    await recordCurrentBookingFact(client, origin, id);
    const freedSeats = new Set(freed.rows.map((r) => r.seat_id));
    await notifySeatChange(client, { showtimeId: row.showtime_id, version, status: 'available', seats: row.seat_ids.filter((s) => freedSeats.has(s)) });
  });
  return getBooking(db, user, id);
}

type SeatState = { status: SeatStatus; mine: boolean; version: number };

/** The seat map from PostgreSQL (no cluster; and the tests' reference). */
export async function getSeatMap(db: Db, showtimeId: number, userId: string | undefined) {
  const info = await getShowtimeInfo(db, showtimeId);
  const { rows } = await db.query<{ seat_id: string } & SeatState>({
    name: 'seat_states',
    text: `SELECT seat_id, CASE WHEN booking_id IS NOT NULL THEN 'booked' WHEN held_until > now() THEN 'held' ELSE 'available' END AS status,
                  coalesce(held_by = $2, false) AS mine, version
           FROM showtime_seats WHERE showtime_id = $1`,
    values: [showtimeId, userId ?? null],
  });
  return buildSeatMap(info, new Map(rows.map((r) => [r.seat_id, r])));
}

/** The seat map from a replica's booking and hold documents of the showtime. */
export async function getSeatMapFromReplica(db: Db, showtimeId: number, userId: string | undefined, documents: { key: string; value: unknown }[]) {
  const info = await getShowtimeInfo(db, showtimeId);
  const states = deriveSeatStates(documents, Date.now());
  const state = new Map(Object.entries(states).map(([seat, s]) => [seat, { status: s.status, mine: s.userId === userId, version: s.version }]));
  return buildSeatMap(info, state);
}

/**
 * Every seat with its status (`heldByYou` on the viewer's own holds) and `version`: the version of
 * the change that put it in that state, as this source knows it (0: never changed). A live seat
 * map keeps, seat by seat, whichever of this and its events is newer.
 */
function buildSeatMap(info: ShowtimeInfo, state: Map<string, SeatState>) {
  const counts = { available: 0, held: 0, booked: 0 };
  const seats = info.seats.map((s) => {
    const r = state.get(s.id);
    const status: SeatStatus = r?.status ?? 'available';
    counts[status]++;
    return { ...s, status, ...(status === 'held' && r?.mine ? { heldByYou: true as const } : {}), version: r?.version ?? 0 };
  });
  return {
    showtime: {
      id: info.id, movieId: info.movieId, movieTitle: info.movieTitle, screenId: info.screenId, screenName: info.screenName,
      startsAt: info.startsAt.toISOString(),
    },
    categories: info.categories,
    rows: info.rows.map((r) => ({ label: r.label, seats: r.seats, aisleAfter: r.aisleAfter ?? [] })),
    seats,
    summary: { total: info.seats.length, ...counts },
  };
}

/** A user's bookings from a replica's booking documents, in the API's booking shape. */
export async function bookingsFromReplica(db: Db, facts: BookingFact[]): Promise<Booking[]> {
  const bookings = await Promise.all(facts.map(async (f) => {
    const info = await getShowtimeInfo(db, f.showtimeId);
    return {
      id: f.id, userId: f.userId, showtimeId: f.showtimeId, movieTitle: info.movieTitle, screenName: info.screenName,
      startsAt: info.startsAt.toISOString(),
      seats: f.seats.map((id) => ({ id, category: info.seatsById.get(id)?.category ?? 'standard', priceCents: info.seatsById.get(id)?.priceCents ?? 0 })),
      totalCents: f.totalCents, status: f.status, createdAt: f.createdAt, cancelledAt: f.cancelledAt,
      distributedInfo: { processedBy: f.processedBy, logicalClock: f.logicalClock, vectorClock: f.vectorClock, timestamp: f.createdAt },
    } satisfies Booking;
  }));
  return sortBookings(bookings);
}

/** The order of a bookings list: newest showtime first, then newest booking. */
export function sortBookings(bookings: Booking[]): Booking[] {
  return bookings.sort((a, b) => b.startsAt.localeCompare(a.startsAt) || b.createdAt.localeCompare(a.createdAt));
}

/**
 * Mark lapsed holds expired and free their seats: housekeeping only, correctness never waits for
 * it. Leader-only in a cluster, run inside the leader's fenced transaction.
 */
export async function expireHolds(client: pg.PoolClient, origin: string): Promise<number> {
  // The lapsed seats of every showtime are freed at one new version; each showtime whose seats
  // were freed is announced once (delivered when the transaction commits).
  const freed = await client.query<{ seat_id: string; hold_id: string; version: number }>(
    `WITH lapsed AS (
       SELECT showtime_id, seat_id, hold_id, version FROM showtime_seats
       WHERE held_until <= now() AND booking_id IS NULL ORDER BY showtime_id, seat_id FOR UPDATE
     ), v AS (
       SELECT max(version) + 1 AS version FROM lapsed
     ), freed AS (
       UPDATE showtime_seats s SET hold_id = NULL, held_by = NULL, held_until = NULL, version = v.version
       FROM lapsed, v WHERE s.showtime_id = lapsed.showtime_id AND s.seat_id = lapsed.seat_id
       RETURNING s.showtime_id, s.seat_id, lapsed.hold_id, s.version
     ), notified AS (
       SELECT ${notifySql('showtime_id', 'max(version)', "'available'", 'NULL', 'array_agg(seat_id ORDER BY seat_id)')} FROM freed GROUP BY showtime_id
     )
     SELECT seat_id, hold_id, version, (SELECT count(*) FROM notified) AS notified FROM freed`,
  );
  const version = freed.rows[0]?.version ?? 0;
  const freedByHold = new Map<string, Set<string>>();
  for (const r of freed.rows) {
    if (!freedByHold.has(r.hold_id)) freedByHold.set(r.hold_id, new Set());
    freedByHold.get(r.hold_id)!.add(r.seat_id);
  }
  const res = await client.query<{ id: string; user_id: string; showtime_id: number; seat_ids: string[]; expires_at: Date }>(
    `UPDATE seat_holds SET status = 'expired' WHERE status = 'active' AND expires_at <= now()
     RETURNING id, user_id, showtime_id, seat_ids, expires_at`,
  );
  // An expired hold claims the seats this sweep freed from it (none, if its holder took them over into a newer hold).
  await recordFacts(client, origin, res.rows.map((h) => holdFact({
    id: h.id, userId: h.user_id, showtimeId: h.showtime_id, seats: h.seat_ids, expiresAt: h.expires_at.toISOString(), status: 'expired',
    seatVersions: versionsOf(h.seat_ids.filter((s) => freedByHold.get(h.id)?.has(s)), version),
  })));
  return res.rowCount ?? 0;
}
