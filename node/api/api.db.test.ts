import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { client, findShowtime, promoteToAdmin, signedUpClient, startTestApi, type TestApi } from '../../harness/helpers';

let api: TestApi;
before(async () => {
  api = await startTestApi();
});
after(async () => {
  await api?.close();
});

describe('accounts', () => {
  test('signup, me by bearer token and by cookie, logout ends the session', async () => {
    const anon = client(api.url);
    const signup = await anon.post('/api/auth/signup', { email: 'Ada@Example.test', name: 'Ada', password: 'analytical engine' });
    assert.equal(signup.status, 201);
    assert.equal(signup.body.user.email, 'Ada@Example.test');
    assert.match(signup.headers.get('set-cookie') ?? '', /mb_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax/);
    const token = signup.body.token as string;

    assert.equal((await client(api.url, token).get('/api/auth/me')).body.user.name, 'Ada');
    const byCookie = await anon.get('/api/auth/me', { cookie: `other=1; mb_session=${token}` });
    assert.equal(byCookie.status, 200);

    const stored = await api.database.db.query("SELECT password_hash FROM users WHERE lower(email) = 'ada@example.test'");
    assert.match(stored.rows[0].password_hash, /^scrypt\$/);
    assert.doesNotMatch(stored.rows[0].password_hash, /analytical/);

    assert.equal((await client(api.url, token).post('/api/auth/logout')).status, 200);
    assert.equal((await client(api.url, token).get('/api/auth/me')).body.error.code, 'UNAUTHENTICATED');
  });

  test('login is case-insensitive on email; wrong password and duplicate email are refused', async () => {
    const anon = client(api.url);
    await anon.post('/api/auth/signup', { email: 'grace@example.test', name: 'Grace', password: 'cobol forever' });
    assert.equal((await anon.post('/api/auth/login', { email: 'GRACE@example.test', password: 'cobol forever' })).status, 200);
    const wrong = await anon.post('/api/auth/login', { email: 'grace@example.test', password: 'fortran' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'INVALID_CREDENTIALS');
    const again = await anon.post('/api/auth/signup', { email: 'Grace@Example.test', name: 'G2', password: 'whatever123' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'EMAIL_TAKEN');
  });
});

describe('catalogue', () => {
  test('movies list, one movie with its showtimes, and a seat map', async () => {
    const anon = client(api.url);
    const list = await anon.get('/api/movies');
    assert.equal(list.status, 200);
    assert.ok(list.body.movies.length >= 8);
    const first = list.body.movies[0];
    const one = await anon.get(`/api/movies?id=${first.id}`);
    assert.equal(one.body.movie.title, first.title);
    assert.ok(one.body.movie.showtimes.length > 0);

    const showtime = one.body.movie.showtimes[0];
    const map = await anon.get(`/api/showtimes/${showtime.id}`);
    assert.equal(map.status, 200);
    assert.equal(map.body.seats.length, showtime.seatsTotal);
    const seat = map.body.seats[0];
    assert.deepEqual(Object.keys(seat).sort(), ['category', 'id', 'number', 'priceCents', 'row', 'status', 'version', 'wheelchair']);
    assert.equal(seat.status, 'available');
    assert.equal(seat.id, `${seat.row}${seat.number}`);
  });

  test('three screens of different layouts, one with at least 200 seats; showtimes for the next 7 days', async () => {
    const screens = (await client(api.url).get('/api/screens')).body.screens as { seatCount: number; name: string }[];
    assert.equal(screens.length, 3);
    assert.equal(new Set(screens.map((s) => s.seatCount)).size, 3);
    assert.ok(screens.some((s) => s.seatCount >= 200));
    const days = await api.database.db.query(
      "SELECT count(DISTINCT date_trunc('day', starts_at))::int AS n FROM showtimes WHERE starts_at > now()",
    );
    assert.ok(days.rows[0].n >= 6, `showtimes on ${days.rows[0].n} future days`);
  });

  test('only an admin may add a movie and a showtime', async () => {
    const { api: user, userId } = await signedUpClient(api.url, 'wannabe-admin');
    const movie = { title: 'Consensus', genre: 'Documentary', durationMin: 88, rating: 7.5 };
    assert.equal((await client(api.url).post('/api/movies', movie)).status, 401);
    assert.equal((await user.post('/api/movies', movie)).body.error.code, 'FORBIDDEN');

    const admin = await promoteToAdmin(api.database.db, api.url, userId);
    const created = await admin.post('/api/movies', movie);
    assert.equal(created.status, 201);
    const startsAt = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 + 3 * 86_400_000 + 17 * 60_000).toISOString();
    const showtime = await admin.post('/api/showtimes', { movieId: created.body.movie.id, screenId: 2, startsAt });
    assert.equal(showtime.status, 201);
    const seats = await api.database.db.query('SELECT count(*)::int AS n FROM showtime_seats WHERE showtime_id = $1', [showtime.body.showtime.id]);
    assert.equal(seats.rows[0].n, 108);
  });
});

describe('holds and bookings', () => {
  test('hold → book from the hold → my bookings → cancel (twice) frees the seats', async () => {
    const { api: ann, userId } = await signedUpClient(api.url, 'ann');
    const showtime = await findShowtime(api.database.db, 'Studio 2');
    const hold = await ann.post('/api/holds', { showtimeId: showtime.id, seats: ['c5', 'C6'] });
    assert.equal(hold.status, 201);
    assert.deepEqual(hold.body.hold.seats, ['C5', 'C6']);
    assert.ok(new Date(hold.body.hold.expiresAt).getTime() > Date.now() + 9 * 60_000, 'default hold lasts 10 minutes');

    const mapWhileHeld = await ann.get(`/api/showtimes/${showtime.id}`);
    const c5 = mapWhileHeld.body.seats.find((s: { id: string }) => s.id === 'C5');
    assert.deepEqual([c5.status, c5.heldByYou], ['held', true]);
    const otherView = (await client(api.url).get(`/api/showtimes/${showtime.id}`)).body.seats.find((s: { id: string }) => s.id === 'C5');
    assert.deepEqual([otherView.status, otherView.heldByYou], ['held', undefined]);

    const booking = await ann.post('/api/bookings', { holdId: hold.body.hold.id, totalCents: 1 });
    assert.equal(booking.status, 201);
    assert.equal(booking.body.booking.totalCents, 2300, 'price comes from seat categories, not the client');
    assert.equal(booking.body.distributedInfo.processedBy, 'node-1');
    assert.ok(booking.body.distributedInfo.logicalClock >= 1);

    const row = await api.database.db.query('SELECT user_id, total_cents, logical_clock, vector_clock, processed_by FROM bookings WHERE id = $1', [booking.body.booking.id]);
    assert.deepEqual(row.rows[0], {
      user_id: userId, total_cents: 2300, logical_clock: booking.body.distributedInfo.logicalClock,
      vector_clock: booking.body.distributedInfo.vectorClock, processed_by: 'node-1',
    });

    const mine = await ann.get('/api/bookings');
    assert.deepEqual(mine.body.bookings.map((b: { id: string }) => b.id), [booking.body.booking.id]);
    assert.equal((await ann.get(`/api/bookings/${booking.body.booking.id}`)).body.booking.status, 'confirmed');

    const cancel1 = await ann.post(`/api/bookings/${booking.body.booking.id}/cancel`);
    const cancel2 = await ann.post(`/api/bookings/${booking.body.booking.id}/cancel`);
    assert.deepEqual([cancel1.status, cancel2.status], [200, 200]);
    assert.equal(cancel2.body.booking.status, 'cancelled');
    const sold = await api.database.db.query('SELECT count(*)::int AS n FROM booking_seats WHERE showtime_id = $1', [showtime.id]);
    assert.equal(sold.rows[0].n, 0);
    const again = await (await signedUpClient(api.url, 'bob')).api.post('/api/bookings', { showtimeId: showtime.id, seats: ['C5', 'C6'] });
    assert.equal(again.status, 201);
  });

  test('a seat held by someone else is refused with exactly the taken seats; releasing frees it', async () => {
    const showtime = await findShowtime(api.database.db, 'Boutique');
    const { api: a } = await signedUpClient(api.url, 'a');
    const { api: b } = await signedUpClient(api.url, 'b');
    const holdA = await a.post('/api/holds', { showtimeId: showtime.id, seats: ['B1', 'B2'] });
    assert.equal(holdA.status, 201);
    const holdB = await b.post('/api/holds', { showtimeId: showtime.id, seats: ['B2', 'B3', 'B1'] });
    assert.equal(holdB.status, 409);
    assert.equal(holdB.body.error.code, 'SEATS_UNAVAILABLE');
    assert.deepEqual(holdB.body.error.details.seats, ['B1', 'B2']);
    const bookB = await b.post('/api/bookings', { showtimeId: showtime.id, seats: ['B3', 'B2'] });
    assert.deepEqual([bookB.status, bookB.body.error.details.seats], [409, ['B2']]);
    const b3 = await api.database.db.query("SELECT booking_id, hold_id FROM showtime_seats WHERE showtime_id = $1 AND seat_id = 'B3'", [showtime.id]);
    assert.deepEqual(b3.rows[0], { booking_id: null, hold_id: null }, 'all or nothing: B3 untouched');

    // Only the owner may release; releasing twice is harmless.
    assert.equal((await b.delete(`/api/holds/${holdA.body.hold.id}`)).body.error.code, 'HOLD_NOT_FOUND');
    assert.equal((await a.delete(`/api/holds/${holdA.body.hold.id}`)).body.hold.status, 'released');
    assert.equal((await a.delete(`/api/holds/${holdA.body.hold.id}`)).status, 200);
    assert.equal((await b.post('/api/holds', { showtimeId: showtime.id, seats: ['B1', 'B2'] })).status, 201);
    assert.equal((await a.post('/api/bookings', { holdId: holdA.body.hold.id })).body.error.code, 'HOLD_NOT_ACTIVE');
  });

  test('an expired hold blocks nobody, even before any sweeper runs', async () => {
    const showtime = await findShowtime(api.database.db, 'Boutique');
    const { api: a } = await signedUpClient(api.url, 'early');
    const { api: b } = await signedUpClient(api.url, 'late');
    const hold = await a.post('/api/holds', { showtimeId: showtime.id, seats: ['D9'] });
    assert.equal(hold.status, 201);
    // Time passes: the hold lapses (moved into the past in the database, as a clock would).
    await api.database.db.query("UPDATE showtime_seats SET held_until = now() - interval '1 second' WHERE hold_id = $1", [hold.body.hold.id]);
    const seat = (await b.get(`/api/showtimes/${showtime.id}`)).body.seats.find((s: { id: string }) => s.id === 'D9');
    assert.equal(seat.status, 'available');
    assert.equal((await b.post('/api/bookings', { showtimeId: showtime.id, seats: ['D9'] })).status, 201);
    const late = await a.post('/api/bookings', { holdId: hold.body.hold.id });
    assert.deepEqual([late.status, late.body.error.details.seats], [409, ['D9']]);
  });

  test('the same Idempotency-Key replays the booking; another body with it is 422', async () => {
    const showtime = await findShowtime(api.database.db, 'Grand Hall');
    const { api: u } = await signedUpClient(api.url, 'double-clicker');
    const body = { showtimeId: showtime.id, seats: ['H8', 'H9'] };
    const headers = { 'idempotency-key': 'confirm-42' };
    const [first, second] = await Promise.all([u.post('/api/bookings', body, headers), u.post('/api/bookings', body, headers)]);
    assert.deepEqual([first.status, second.status], [201, 201]);
    assert.equal(first.body.booking.id, second.body.booking.id);
    assert.equal([first, second].filter((r) => r.headers.get('idempotent-replayed') === 'true').length, 1);
    const count = await api.database.db.query('SELECT count(*)::int AS n FROM bookings WHERE showtime_id = $1', [showtime.id]);
    assert.equal(count.rows[0].n, 1);
    const reused = await u.post('/api/bookings', { showtimeId: showtime.id, seats: ['H10'] }, headers);
    assert.deepEqual([reused.status, reused.body.error.code], [422, 'IDEMPOTENCY_KEY_REUSED']);
  });

  test('bookings of someone else: 403 for ?userId=, 404 by id, unless admin', async () => {
    const showtime = await findShowtime(api.database.db, 'Grand Hall');
    const owner = await signedUpClient(api.url, 'owner');
    const snoop = await signedUpClient(api.url, 'snoop');
    const booking = await owner.api.post('/api/bookings', { showtimeId: showtime.id, seats: ['M1'] });
    assert.equal(booking.status, 201);
    assert.equal((await snoop.api.get(`/api/bookings?userId=${owner.userId}`)).status, 403);
    assert.equal((await snoop.api.get(`/api/bookings/${booking.body.booking.id}`)).status, 404);
    assert.equal((await snoop.api.post(`/api/bookings/${booking.body.booking.id}/cancel`)).status, 404);
    const snoopAsAdmin = await promoteToAdmin(api.database.db, api.url, snoop.userId);
    const asAdmin = await snoopAsAdmin.get(`/api/bookings?userId=${owner.userId}`);
    assert.deepEqual(asAdmin.body.bookings.map((b: { id: string }) => b.id), [booking.body.booking.id]);
  });

  test('a showtime that has started can no longer be held or booked', async () => {
    const showtime = await findShowtime(api.database.db, 'Studio 2');
    const { api: u } = await signedUpClient(api.url, 'latecomer');
    // A fresh showtime in the past (the cached info of others must not be disturbed).
    const past = await api.database.db.query<{ id: number }>(
      `INSERT INTO showtimes (movie_id, screen_id, starts_at) SELECT movie_id, screen_id, now() - interval '1 hour' FROM showtimes WHERE id = $1 RETURNING id`,
      [showtime.id],
    );
    const pastId = past.rows[0]!.id;
    await api.database.db.query(
      `INSERT INTO showtime_seats (showtime_id, seat_id, row_label, seat_number, category, price_cents)
       SELECT $1, seat_id, row_label, seat_number, category, price_cents FROM showtime_seats WHERE showtime_id = $2`,
      [pastId, showtime.id],
    );
    const res = await u.post('/api/holds', { showtimeId: pastId, seats: ['A1'] });
    assert.deepEqual([res.status, res.body.error.code], [409, 'SHOWTIME_STARTED']);
  });
});
