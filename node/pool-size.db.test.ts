import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { startCluster, waitFor, type TestCluster } from '../harness/cluster';
import { createTestDatabase, createUsersDirect, findShowtime, type TestDatabase } from '../harness/helpers';

/**
 * The spec's "database connection pooling (20 connections)", seen from PostgreSQL's side: a real
 * node process (default DB_POOL_SIZE) under 100 concurrent bookings opens at most 20 connections —
 * counted in pg_stat_activity by the application_name the node's connections carry (PGAPPNAME) —
 * and uses all 20 (the bookings wait on a table lock until they have), and every booking still succeeds. Beside the pool, a node holds one more
 * connection of its own: the LISTEN connection of the live seat map (db/booking/seat-events.ts).
 */

const SPEC_POOL_SIZE = 20;
const CONCURRENT_REQUESTS = 100;
let database: TestDatabase;
let cluster: TestCluster;
const appName = `moviebook-pool-test-${randomBytes(4).toString('hex')}`;

before(async () => {
  database = await createTestDatabase();
  cluster = await startCluster(1, database.url, {
    PGAPPNAME: appName,
    // One account per request, one booking each: the per-account limits stay far away.
    BOOKINGS_PER_ACCOUNT_PER_MIN: '1000',
  });
});

after(async () => {
  await cluster?.stop();
  await database?.drop();
});

type Connections = { pool: number; listen: number; all: number };

async function connections(observer: pg.Client): Promise<Connections> {
  const { rows } = await observer.query<{ query: string }>(
    'SELECT query FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()', [appName],
  );
  const listen = rows.filter((r) => /^LISTEN /i.test(r.query.trim())).length;
  return { pool: rows.length - listen, listen, all: rows.length };
}

test(`a node opens at most ${SPEC_POOL_SIZE} pool connections under ${CONCURRENT_REQUESTS} concurrent bookings, and every booking succeeds`, async (t) => {
  const observer = new pg.Client({ connectionString: database.url });
  await observer.connect();
  try {
    const showtime = await findShowtime(database.db);
    assert.ok(showtime.seats.length >= CONCURRENT_REQUESTS, 'a seat for every request');
    const users = await createUsersDirect(database.db, CONCURRENT_REQUESTS);
    const url = cluster.node('node-1').url;

    // Watch PostgreSQL's side while the load runs: the most connections seen at any moment.
    let peak: Connections = { pool: 0, listen: 0, all: 0 };
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const now = await connections(observer);
        if (now.all > peak.all) peak = now;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    // Bookings wait on a lock of the seats table until every pool connection is taken (then the
    // rest queue in the node): the pool fills whatever the machine's speed, and must stop at 20.
    const locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE showtime_seats IN EXCLUSIVE MODE');
    let full: Connections | undefined;
    const released = waitFor('every pool connection to be taken', 30_000, async () => {
      const now = await connections(observer);
      if (now.pool < SPEC_POOL_SIZE) return false;
      full = now;
      return true;
    }, 20).finally(async () => {
      await locker.query('COMMIT');
      await locker.end();
    });

    const answers = Promise.all(users.map(async (user, i) => {
      const res = await fetch(`${url}/api/bookings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ showtimeId: showtime.id, seats: [showtime.seats[i]] }),
      });
      await res.arrayBuffer();
      return res.status;
    }));
    await released;
    const statuses = await answers;
    watching = false;
    await watcher;
    // Idle pool connections stay open for 30 s, so what is open now is what the load opened.
    const afterLoad = await connections(observer);
    t.diagnostic(`peak during the load ${JSON.stringify(peak)}, after it ${JSON.stringify(afterLoad)}`);

    assert.deepEqual(statuses.filter((s) => s !== 201), [], `all ${CONCURRENT_REQUESTS} bookings answered 201`);
    const booked = await database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM booking_seats WHERE showtime_id = $1', [showtime.id]);
    assert.equal(booked.rows[0]!.n, CONCURRENT_REQUESTS, 'and are in PostgreSQL');
    for (const seen of [peak, afterLoad, full!]) {
      assert.ok(seen.pool <= SPEC_POOL_SIZE, `at most ${SPEC_POOL_SIZE} pool connections: ${JSON.stringify(seen)}`);
      assert.ok(seen.listen <= 1, `one LISTEN connection besides: ${JSON.stringify(seen)}`);
    }
    assert.equal(full!.pool, SPEC_POOL_SIZE, `the load uses the whole pool (so a larger pool would show): ${JSON.stringify({ full, peak, afterLoad })}`);
  } finally {
    await observer.end();
  }
});
