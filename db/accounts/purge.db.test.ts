/**
 * The purge duty: it deletes exactly the sessions past their expiry or idle deadline, the
 * idempotency keys past their retention and the ended limiter windows — bounded per run — and
 * only the current leader's epoch may run it. Then the real thing, two node processes: the leader
 * purges on its own, and a failed-login count is the cluster's, not a node's.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { client, createTestDatabase, createUsersDirect, type TestDatabase } from '../../harness/helpers';
import { startCluster, waitFor, type TestCluster } from '../../harness/cluster';
import { loadConfig } from '../../node/config';
import { fencedWrite, FencedOut } from '../leadership';
import { IDEMPOTENCY_KEY_RETENTION_S, purgeExpired } from './purge';

let database: TestDatabase;
let userId: string;

before(async () => {
  database = await createTestDatabase();
  userId = (await createUsersDirect(database.db, 1))[0]!.id;
});
after(async () => {
  await database?.drop();
});

/** Sessions, idempotency keys and limiter windows, dead and alive, labelled by what they are. */
async function seed(tag: string): Promise<void> {
  const db = database.db;
  const session = (label: string, expires: string, idle: string) => db.query(
    `INSERT INTO sessions (token_hash, user_id, expires_at, idle_expires_at) VALUES (sha256(convert_to($1, 'UTF8')), $2, now() + $3::interval, now() + $4::interval)`,
    [`${tag}:${label}`, userId, expires, idle],
  );
  await session('expired', '-1 second', '1 day');
  await session('idle', '1 day', '-1 second');
  await session('alive', '1 day', '1 day');
  const key = (label: string, age: string) => db.query(
    `INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, response, created_at) VALUES ($1, $2, '', 201, '{}', now() - $3::interval)`,
    [userId, `${tag}:${label}`, age],
  );
  await key('old', `${IDEMPOTENCY_KEY_RETENTION_S + 60} seconds`);
  await key('recent', `${IDEMPOTENCY_KEY_RETENTION_S - 60} seconds`);
  const window = (label: string, endsIn: string) => db.query(
    'INSERT INTO rate_limit_windows (key, hits, ends_at) VALUES ($1, 3, now() + $2::interval)', [`${tag}:${label}`, endsIn],
  );
  await window('ended', '-1 second');
  await window('open', '1 minute');
}

async function left(tag: string): Promise<{ sessions: string[]; keys: string[]; windows: string[] }> {
  const db = database.db;
  const sessions = await db.query<{ label: string }>(
    `SELECT l AS label FROM unnest($1::text[]) l WHERE EXISTS (SELECT 1 FROM sessions WHERE token_hash = sha256(convert_to($2 || ':' || l, 'UTF8'))) ORDER BY l`,
    [['expired', 'idle', 'alive'], tag],
  );
  const keys = await db.query<{ key: string }>('SELECT key FROM idempotency_keys WHERE key LIKE $1 ORDER BY key', [`${tag}:%`]);
  const windows = await db.query<{ key: string }>('SELECT key FROM rate_limit_windows WHERE key LIKE $1 ORDER BY key', [`${tag}:%`]);
  const strip = (s: string) => s.slice(tag.length + 1);
  return { sessions: sessions.rows.map((r) => r.label), keys: keys.rows.map((r) => strip(r.key)), windows: windows.rows.map((r) => strip(r.key)) };
}

const EVERYTHING = { sessions: ['alive', 'expired', 'idle'], keys: ['old', 'recent'], windows: ['ended', 'open'] };
const ALIVE_ONLY = { sessions: ['alive'], keys: ['recent'], windows: ['open'] };

async function lead(epoch: number, leader: string): Promise<void> {
  await database.db.query('UPDATE cluster_leadership SET epoch = $1, leader_id = $2 WHERE id = 1', [epoch, leader]);
}

describe('purgeExpired', () => {
  test('a stale epoch or another node cannot run it; the current leader deletes exactly what is dead', async () => {
    const tag = randomBytes(4).toString('hex');
    await seed(tag);
    await lead(7, 'node-a');
    await assert.rejects(fencedWrite(database.db, 6, 'node-a', (c) => purgeExpired(c)), FencedOut);
    await assert.rejects(fencedWrite(database.db, 7, 'node-b', (c) => purgeExpired(c)), FencedOut);
    assert.deepEqual(await left(tag), EVERYTHING, 'a refused purge deletes nothing');

    const purged = await fencedWrite(database.db, 7, 'node-a', (c) => purgeExpired(c));
    assert.ok(purged.sessions >= 2 && purged.idempotencyKeys >= 1 && purged.limiterWindows >= 1, JSON.stringify(purged));
    assert.deepEqual(await left(tag), ALIVE_ONLY);
  });

  test('each run deletes at most its batch of each kind; repeated runs finish the work', async () => {
    const tags = Array.from({ length: 3 }, () => randomBytes(4).toString('hex'));
    for (const tag of tags) await seed(tag);
    await lead(8, 'node-a');
    const first = await fencedWrite(database.db, 8, 'node-a', (c) => purgeExpired(c, 2));
    assert.deepEqual(first, { sessions: 2, idempotencyKeys: 2, limiterWindows: 2 });
    for (let round = 0; round < 5; round++) await fencedWrite(database.db, 8, 'node-a', (c) => purgeExpired(c, 2));
    for (const tag of tags) assert.deepEqual(await left(tag), ALIVE_ONLY);
  });
});

describe('two real node processes on one database', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster(2, database.url, { HOLD_SWEEP_INTERVAL_MS: '200' });
  });
  after(async () => {
    await cluster?.stop();
  });

  test('the leader purges on its own (the duty is registered and fenced)', { timeout: 60_000 }, async () => {
    const tag = randomBytes(4).toString('hex');
    await seed(tag);
    await waitFor('the leader to purge', 30_000, async () => JSON.stringify(await left(tag)) === JSON.stringify(ALIVE_ONLY))
      .catch((err: unknown) => assert.fail(`${(err as Error).message}\n${cluster.logTail()}`));
  });

  test('the leader frees lapsed holds (booking\'s duty)', { timeout: 60_000 }, async () => {
    const db = database.db;
    const [holder] = await createUsersDirect(db, 1);
    const latest = 'SELECT id FROM showtimes ORDER BY id DESC LIMIT 1';
    const { rows: [showtime] } = await db.query<{ id: number }>(latest);
    const asHolder = client(cluster.node('node-2').url, holder!.token);
    const seats = ['A1', 'A2'];
    const hold = await asHolder.post('/api/holds', { showtimeId: showtime!.id, seats });
    assert.equal(hold.status, 201, JSON.stringify(hold.body));
    const holdId = (hold.body as { hold: { id: string } }).hold.id;
    // Lapsed as if ten minutes had passed; only the leader's sweep turns it into 'expired'.
    const past = "now() - interval '1 second'";
    await db.query(`UPDATE seat_holds SET expires_at = ${past} WHERE id = $1`, [holdId]);
    await db.query(`UPDATE showtime_seats SET held_until = ${past} WHERE hold_id = $1`, [holdId]);
    const state = `SELECT status,
                          (SELECT count(*)::int FROM showtime_seats WHERE hold_id = $1) AS still
                   FROM seat_holds WHERE id = $1`;
    await waitFor('the leader to expire the hold and free its seats', 30_000, async () => {
      const { rows: [row] } = await db.query<{ status: string; still: number }>(state, [holdId]);
      return row?.status === 'expired' && row.still === 0;
    }).catch((err: unknown) => assert.fail(`${(err as Error).message}\n${cluster.logTail()}`));
  });

  test('failed logins spread over both nodes lock the account on both', async () => {
    const email = `spread-${randomBytes(4).toString('hex')}@example.test`;
    const limit = loadConfig({ NODE_ENV: 'test' }).accountLimits.loginFailures;
    const nodes = [cluster.node('node-1').url, cluster.node('node-2').url];
    for (let i = 0; i < limit; i++) {
      assert.equal((await client(nodes[i % 2]!).post('/api/auth/login', { email, password: `guess-${i}` })).status, 401);
    }
    for (const url of nodes) {
      const res = await client(url).post('/api/auth/login', { email, password: 'one more' });
      assert.equal(res.status, 429, url);
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
    }
  });
});
