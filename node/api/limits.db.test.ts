/**
 * Per-account limits, through the real HTTP API on a real database: failed logins per account,
 * hold and booking rates per account, the cap on seats held at once (under concurrency, over two
 * API instances on one database — two nodes), the session idle timeout, and the constant cost of
 * a login whatever the email. Judged by what the client saw and what the database holds.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { client, findShowtime, signedUpClient, startTestApi, type Reply, type TestApi } from '../../harness/helpers';
import { dummyPasswordHash } from '../../db/accounts/accounts';
import { loadConfig } from '../config';

const PASSWORD = 'correct horse battery';
const defaults = loadConfig({ NODE_ENV: 'test' });
const LOGIN_LIMIT = defaults.accountLimits.loginFailures;
const HOLD_CAP = defaults.accountLimits.maxHeldSeats;

let api: TestApi;
/** A second API on the same database: another node. */
let peer: TestApi;

before(async () => {
  api = await startTestApi();
  peer = await startTestApi({}, api.database);
});
after(async () => {
  await peer?.close();
  await api?.close();
});

async function newAccount(name: string): Promise<{ email: string; token: string; userId: string }> {
  const email = `${name}-${randomBytes(5).toString('hex')}@example.test`;
  const res = await client(api.url).post('/api/auth/signup', { email, name, password: PASSWORD });
  assert.equal(res.status, 201);
  return { email, token: res.body.token, userId: res.body.user.id };
}

function login(url: string, email: string, password: string): Promise<Reply> {
  return client(url).post('/api/auth/login', { email, password });
}

function assertRateLimited(res: Reply, what: string): number {
  assert.equal(res.status, 429, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
  assert.equal(res.body.error.code, 'RATE_LIMITED');
  const retryAfterS = Number(res.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfterS) && retryAfterS >= 1, `Retry-After: ${res.headers.get('retry-after')}`);
  assert.equal(res.body.error.details.retryAfterS, retryAfterS);
  return retryAfterS;
}

describe('failed logins per account', () => {
  test(`after ${LOGIN_LIMIT} failures the next attempt is 429 with Retry-After, the right password too; other accounts are unaffected`, async () => {
    const victim = await newAccount('victim');
    const bystander = await newAccount('bystander');
    for (let i = 1; i <= LOGIN_LIMIT; i++) {
      const res = await login(api.url, victim.email, `guess-${i}`);
      assert.equal(res.status, 401, `failure ${i}`);
      assert.equal(res.body.error.code, 'INVALID_CREDENTIALS');
    }
    const retryAfterS = assertRateLimited(await login(api.url, victim.email, 'guess-11'), 'the 11th failure');
    assert.ok(retryAfterS <= defaults.accountLimits.loginFailureWindowS);
    // Locked means locked: the right password would otherwise tell the guesser it guessed right.
    assertRateLimited(await login(api.url, victim.email.toUpperCase(), PASSWORD), 'the right password while locked');
    const sessions = await api.database.db.query('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [victim.userId]);
    assert.equal(sessions.rows[0].n, 1, 'only the signup session: a locked login opens none');
    // The bystander logs in, and fails normally.
    assert.equal((await login(api.url, bystander.email, PASSWORD)).status, 200);
    assert.equal((await login(api.url, bystander.email, 'nope')).status, 401);
    // The victim's existing session still works: the lockout is about logging in only.
    assert.equal((await client(api.url, victim.token).get('/api/auth/me')).status, 200);
  });

  test('the count is shared by every node: failures spread over two API instances lock the account on both', async () => {
    const victim = await newAccount('spread');
    for (let i = 1; i <= LOGIN_LIMIT; i++) {
      assert.equal((await login(i % 2 ? api.url : peer.url, victim.email, `guess-${i}`)).status, 401);
    }
    assertRateLimited(await login(api.url, victim.email, 'again'), 'on the first instance');
    assertRateLimited(await login(peer.url, victim.email, 'again'), 'on the second instance');
  });

  test('concurrent guesses cannot overrun the limit', async () => {
    const victim = await newAccount('burst');
    const answers = await Promise.all(Array.from({ length: LOGIN_LIMIT * 2 }, (_, i) => login(i % 2 ? api.url : peer.url, victim.email, `g${i}`)));
    const counts = answers.reduce<Record<number, number>>((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {});
    assert.deepEqual(counts, { 401: LOGIN_LIMIT, 429: LOGIN_LIMIT });
  });

  test('only failures count: successful logins in between do not bring the lockout closer', async () => {
    const user = await newAccount('typo');
    for (let i = 1; i < LOGIN_LIMIT; i++) assert.equal((await login(api.url, user.email, `typo-${i}`)).status, 401);
    for (let i = 0; i < 5; i++) assert.equal((await login(api.url, user.email, PASSWORD)).status, 200, `success ${i}`);
    assert.equal((await login(api.url, user.email, 'last-typo')).status, 401, 'the 10th failure is still checked');
    assertRateLimited(await login(api.url, user.email, PASSWORD), 'after the 10th failure');
  });

  test('an unknown email is counted and refused exactly like a known one', async () => {
    const email = `nobody-${randomBytes(5).toString('hex')}@example.test`;
    for (let i = 1; i <= LOGIN_LIMIT; i++) assert.equal((await login(api.url, email, `guess-${i}`)).body.error.code, 'INVALID_CREDENTIALS');
    assertRateLimited(await login(api.url, email, 'guess'), 'unknown email');
  });

  test('a login against an unknown email costs as much as against a known one (one scrypt each)', async () => {
    const known = await newAccount('timed');
    const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const timed = async (email: string, password: string, status: number) => {
      const started = performance.now();
      const res = await login(api.url, email, password);
      assert.equal(res.status, status);
      return performance.now() - started;
    };
    const knownMs: number[] = [];
    const unknownMs: number[] = [];
    // Interleaved, so both meet the same moments of a busy machine; the known one logs in (no failures counted).
    for (let i = 0; i < 9; i++) {
      knownMs.push(await timed(known.email, PASSWORD, 200));
      unknownMs.push(await timed(`ghost-${i}-${randomBytes(4).toString('hex')}@example.test`, PASSWORD, 401));
    }
    const ratio = median(unknownMs) / median(knownMs);
    console.log(`login median: known ${median(knownMs).toFixed(1)} ms, unknown ${median(unknownMs).toFixed(1)} ms (ratio ${ratio.toFixed(2)})`);
    // Without the dummy scrypt an unknown email answers ~50× faster; a generous bound, not a tight timing.
    assert.ok(ratio > 0.3, `unknown email ${ratio.toFixed(2)}× the cost of a known one`);
    // And the dummy hash costs what a real one does: the same scrypt parameters as a stored hash.
    const params = (hash: string) => hash.split('$').slice(0, 4).join('$');
    const stored = await api.database.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [known.userId]);
    assert.equal(params(await dummyPasswordHash()), params(stored.rows[0]!.password_hash));
  });
});

describe('seats held at once per account', () => {
  async function heldSeats(userId: string): Promise<number> {
    const { rows } = await api.database.db.query(
      'SELECT count(*)::int AS n FROM showtime_seats WHERE held_by = $1 AND held_until > now() AND booking_id IS NULL', [userId],
    );
    return rows[0].n;
  }

  test(`20 concurrent one-seat holds of one account over two nodes: exactly ${HOLD_CAP} succeed, the database holds ${HOLD_CAP}`, async () => {
    const { token, userId } = await signedUpClient(api.url, 'squatter');
    const showtime = await findShowtime(api.database.db, 'Grand Hall');
    const seats = showtime.seats.slice(0, 20);
    const answers = await Promise.all(seats.map((seat, i) => client(i % 2 ? api.url : peer.url, token).post('/api/holds', { showtimeId: showtime.id, seats: [seat] })));
    const ok = answers.filter((r) => r.status === 201);
    const refused = answers.filter((r) => r.status !== 201);
    assert.equal(ok.length, HOLD_CAP, JSON.stringify(refused.map((r) => r.body)));
    for (const r of refused) {
      assert.equal(r.status, 409);
      assert.equal(r.body.error.code, 'HOLD_LIMIT_REACHED');
      assert.deepEqual(r.body.error.details, { heldNow: HOLD_CAP, requested: 1, cap: HOLD_CAP });
    }
    assert.equal(await heldSeats(userId), HOLD_CAP);
    const holds = await api.database.db.query("SELECT count(*)::int AS n FROM seat_holds WHERE user_id = $1 AND status = 'active'", [userId]);
    assert.equal(holds.rows[0].n, HOLD_CAP, 'a refused hold leaves no row behind');
  });

  test('the cap counts every showtime; re-holding seats one already holds counts once; releasing makes room', async () => {
    const { api: user, userId } = await signedUpClient(api.url, 'changer');
    const hall = await findShowtime(api.database.db, 'Grand Hall');
    const other = await findShowtime(api.database.db, 'Boutique');
    const first = hall.seats.slice(40, 40 + HOLD_CAP - 2);
    const a = await user.post('/api/holds', { showtimeId: hall.id, seats: first });
    assert.equal(a.status, 201);
    const b = await user.post('/api/holds', { showtimeId: other.id, seats: other.seats.slice(0, 2) });
    assert.equal(b.status, 201);
    // Another showtime's seat over the cap is refused.
    const over = await user.post('/api/holds', { showtimeId: other.id, seats: other.seats.slice(2, 3) });
    assert.equal(over.body.error.code, 'HOLD_LIMIT_REACHED');
    assert.deepEqual(over.body.error.details, { heldNow: HOLD_CAP, requested: 1, cap: HOLD_CAP });
    // A new hold over seats it already holds (the booking page after a failed release) counts them once.
    const again = await user.post('/api/holds', { showtimeId: hall.id, seats: first });
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assert.equal(await heldSeats(userId), HOLD_CAP);
    // Changing the selection the way the booking page does: release, then hold the new choice.
    assert.equal((await user.delete(`/api/holds/${again.body.hold.id}`)).status, 200);
    assert.equal((await user.post('/api/holds', { showtimeId: hall.id, seats: hall.seats.slice(60, 60 + HOLD_CAP - 2) })).status, 201);
    assert.equal(await heldSeats(userId), HOLD_CAP);
    // Booked seats are no longer held: they make room.
    assert.equal((await user.post('/api/bookings', { holdId: b.body.hold.id })).status, 201);
    assert.equal((await user.post('/api/holds', { showtimeId: other.id, seats: other.seats.slice(2, 4) })).status, 201);
  });
});

describe('hold and booking requests per account per minute', () => {
  let limited: TestApi;
  before(async () => {
    limited = await startTestApi({ accountLimits: { ...defaults.accountLimits, holdsPerMin: 3, bookingsPerMin: 2 } }, api.database);
  });
  after(async () => {
    await limited?.close();
  });

  test('the request over the limit is 429 with Retry-After and changes nothing; another account is unaffected', async () => {
    const { api: c, userId, token } = await signedUpClient(limited.url, 'hasty');
    const showtime = await findShowtime(api.database.db, 'Boutique');
    const seats = showtime.seats.slice(-8);
    for (let i = 0; i < 3; i++) assert.equal((await c.post('/api/holds', { showtimeId: showtime.id, seats: [seats[i]] })).status, 201);
    const retryAfterS = assertRateLimited(await c.post('/api/holds', { showtimeId: showtime.id, seats: [seats[3]] }), '4th hold');
    assert.ok(retryAfterS <= 60);
    const holds = await api.database.db.query('SELECT seat_ids FROM seat_holds WHERE user_id = $1', [userId]);
    assert.equal(holds.rowCount, 3);
    const calm = await signedUpClient(limited.url, 'calm');
    assert.equal((await calm.api.post('/api/holds', { showtimeId: showtime.id, seats: [seats[4]] })).status, 201);

    for (let i = 5; i < 7; i++) assert.equal((await c.post('/api/bookings', { showtimeId: showtime.id, seats: [seats[i]] })).status, 201);
    assertRateLimited(await client(limited.url, token).post('/api/bookings', { showtimeId: showtime.id, seats: [seats[7]] }), '3rd booking');
    const bookings = await api.database.db.query('SELECT count(*)::int AS n FROM bookings WHERE user_id = $1', [userId]);
    assert.equal(bookings.rows[0].n, 2);
  });
});

describe('session idle timeout', () => {
  test('a session idle past its deadline is refused; using a session moves its deadline forward', async () => {
    const user = await newAccount('sleeper');
    const idle = (await login(api.url, user.email, PASSWORD)).body.token as string;
    const active = (await login(api.url, user.email, PASSWORD)).body.token as string;
    const { createHash } = await import('node:crypto');
    const hash = (t: string) => createHash('sha256').update(t).digest();
    const stored = await api.database.db.query('SELECT idle_expires_at - now() > interval \'6 days\' AS fresh FROM sessions WHERE token_hash = $1', [hash(idle)]);
    assert.equal(stored.rows[0].fresh, true, 'a new session gets SESSION_IDLE_TIMEOUT_S (7 days)');

    // Neither token was used yet (no node remembers them): age both.
    await api.database.db.query("UPDATE sessions SET last_seen_at = now() - interval '8 days', idle_expires_at = now() - interval '1 day' WHERE token_hash = $1", [hash(idle)]);
    await api.database.db.query("UPDATE sessions SET last_seen_at = now() - interval '6 days', idle_expires_at = now() + interval '1 day' WHERE token_hash = $1", [hash(active)]);
    const refused = await client(api.url, idle).get('/api/auth/me');
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error.code, 'UNAUTHENTICATED');
    assert.equal((await client(api.url, active).get('/api/auth/me')).status, 200);
    const touched = await api.database.db.query(
      "SELECT now() - last_seen_at < interval '1 minute' AS seen, idle_expires_at - now() > interval '6 days' AS extended FROM sessions WHERE token_hash = $1", [hash(active)],
    );
    assert.deepEqual(touched.rows[0], { seen: true, extended: true });
  });
});
