import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { client, createUsersDirect, findShowtime, startTestApi, type TestApi } from '../../harness/helpers';

const CLIENTS = 100;
let api: TestApi;
before(async () => {
  api = await startTestApi();
});
after(async () => {
  await api?.close();
});

/** Each user asks for 2–4 seats from a small, overlapping window of one row pair. */
function overlappingRequests(seatPool: string[], count: number): string[][] {
  return Array.from({ length: count }, (_, i) => {
    const size = 2 + (i % 3);
    const start = (i * 7) % (seatPool.length - size);
    return seatPool.slice(start, start + size);
  });
}

test(`${CLIENTS} users book overlapping seats at once: each seat sold at most once, every 201 in the database, every 409 names its seats`, async () => {
  const showtime = await findShowtime(api.database.db, 'Grand Hall');
  const seatPool = showtime.seats.slice(0, 24);
  const users = await createUsersDirect(api.database.db, CLIENTS);
  const wants = overlappingRequests(seatPool, CLIENTS);

  const replies = await Promise.all(
    users.map((u, i) => client(api.url, u.token).post('/api/bookings', { showtimeId: showtime.id, seats: wants[i] })),
  );

  const statuses = new Set(replies.map((r) => r.status));
  assert.ok([...statuses].every((s) => s === 201 || s === 409), `unexpected statuses ${[...statuses]}`);
  const won = replies.flatMap((r, i) => (r.status === 201 ? [{ i, booking: r.body.booking }] : []));
  assert.ok(won.length > 0 && won.length < CLIENTS, `winners: ${won.length}`);

  // The database is the judge: nothing sold twice, and exactly the acknowledged bookings exist.
  const sold = await api.database.db.query<{ seat_id: string; booking_id: string }>(
    'SELECT seat_id, booking_id FROM booking_seats WHERE showtime_id = $1', [showtime.id],
  );
  assert.equal(new Set(sold.rows.map((r) => r.seat_id)).size, sold.rows.length, 'a seat sold twice');
  const dbBookings = await api.database.db.query<{ id: string; user_id: string; seat_ids: string[] }>(
    "SELECT id, user_id, seat_ids FROM bookings WHERE showtime_id = $1 AND status = 'confirmed'", [showtime.id],
  );
  assert.deepEqual(new Set(dbBookings.rows.map((b) => b.id)), new Set(won.map((w) => w.booking.id)));
  for (const { i, booking } of won) {
    const row = dbBookings.rows.find((b) => b.id === booking.id)!;
    assert.equal(row.user_id, users[i]!.id);
    assert.deepEqual([...row.seat_ids].sort(), [...wants[i]!].sort());
  }
  const soldBy = new Map(sold.rows.map((r) => [r.seat_id, r.booking_id]));
  const mapSeats = await api.database.db.query<{ seat_id: string; booking_id: string | null }>(
    'SELECT seat_id, booking_id FROM showtime_seats WHERE showtime_id = $1 AND booking_id IS NOT NULL', [showtime.id],
  );
  assert.deepEqual(new Map(mapSeats.rows.map((r) => [r.seat_id, r.booking_id])), soldBy, 'seat inventory agrees with booking_seats');

  // Every loser was told which of its seats were taken, and they really were taken by a winner.
  for (const [i, r] of replies.entries()) {
    if (r.status !== 409) continue;
    assert.equal(r.body.error.code, 'SEATS_UNAVAILABLE');
    const named = r.body.error.details.seats as string[];
    assert.ok(named.length > 0);
    for (const seat of named) {
      assert.ok(wants[i]!.includes(seat), `409 names ${seat}, which user ${i} did not ask for`);
      assert.ok(soldBy.has(seat), `409 names ${seat}, which nobody bought`);
    }
  }
});

test(`${CLIENTS} users hold overlapping seats at once: each seat held at most once, all or nothing`, async () => {
  const showtime = await findShowtime(api.database.db, 'Studio 2');
  const seatPool = showtime.seats.slice(12, 36);
  const users = await createUsersDirect(api.database.db, CLIENTS);
  const wants = overlappingRequests(seatPool, CLIENTS);

  const replies = await Promise.all(
    users.map((u, i) => client(api.url, u.token).post('/api/holds', { showtimeId: showtime.id, seats: wants[i] })),
  );
  assert.ok(replies.every((r) => r.status === 201 || r.status === 409));
  const won = replies.flatMap((r, i) => (r.status === 201 ? [{ i, hold: r.body.hold }] : []));
  assert.ok(won.length > 0 && won.length < CLIENTS);

  const held = await api.database.db.query<{ seat_id: string; hold_id: string; held_by: string }>(
    'SELECT seat_id, hold_id, held_by FROM showtime_seats WHERE showtime_id = $1 AND held_until > now()', [showtime.id],
  );
  const holdBySeat = new Map(held.rows.map((r) => [r.seat_id, r]));
  const claimed = won.flatMap((w) => w.hold.seats as string[]);
  assert.equal(new Set(claimed).size, claimed.length, 'two acknowledged holds share a seat');
  for (const { i, hold } of won) {
    assert.deepEqual([...hold.seats].sort(), [...wants[i]!].sort());
    for (const seat of hold.seats as string[]) {
      assert.equal(holdBySeat.get(seat)?.hold_id, hold.id, `seat ${seat} not held by acknowledged hold`);
      assert.equal(holdBySeat.get(seat)?.held_by, users[i]!.id);
    }
  }
  assert.equal(held.rows.length, claimed.length, 'a refused hold left seats behind');
  const holdRows = await api.database.db.query('SELECT count(*)::int AS n FROM seat_holds WHERE showtime_id = $1', [showtime.id]);
  assert.equal(holdRows.rows[0].n, won.length);
  for (const [i, r] of replies.entries()) {
    if (r.status === 409) {
      for (const seat of r.body.error.details.seats as string[]) {
        assert.ok(wants[i]!.includes(seat) && claimed.includes(seat));
      }
    }
  }
});
