import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { client, createTestDatabase, createUsersDirect, findShowtime, type TestDatabase } from '../../harness/helpers';
import { startCluster, waitFor, waitForAgreement, type TestCluster } from '../../harness/cluster';

type Stats = { mode: string; converged: boolean; nodes: { nodeId: string; mode: string; entries: number; digest: string; byKind: Record<string, number> }[] };

describe('replication across 3 real nodes', () => {
  let database: TestDatabase;
  let cluster: TestCluster;
  let users: { id: string; token: string }[];
  let seats: { showtime_id: number; seat_id: string }[];
  let next = 0;
  const all = ['node-1', 'node-2', 'node-3'];

  before(async () => {
    database = await createTestDatabase();
    cluster = await startCluster(3, database.url, { GOSSIP_INTERVAL_MS: '100' });
    await waitForAgreement(cluster, all, 20_000);
    users = await createUsersDirect(database.db, 4);
    seats = (await database.db.query<{ showtime_id: number; seat_id: string }>(
      `SELECT ss.showtime_id, ss.seat_id FROM showtime_seats ss JOIN showtimes s ON s.id = ss.showtime_id
       JOIN screens sc ON sc.id = s.screen_id WHERE sc.name = 'Grand Hall' AND s.starts_at > now() + interval '1 hour'
       ORDER BY s.starts_at, ss.row_label, ss.seat_number LIMIT 400`,
    )).rows;
  });
  after(async () => {
    await cluster?.stop();
    await database?.drop();
  });

  async function book(nodeId: string, user = users[0]!, token?: string) {
    const seat = seats[next++]!;
    const res = await client(cluster.node(nodeId).url, user.token).post(
      '/api/bookings', { showtimeId: seat.showtime_id, seats: [seat.seat_id] }, token ? { 'x-session-token': token } : {},
    );
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return { booking: res.body.booking as { id: string; showtimeId: number }, token: res.headers.get('x-session-token')!, seat };
  }

  /** Every replica holds exactly the committed facts: same digest, bookings as in PostgreSQL. */
  async function converged(ids = all, timeoutMs = 20_000): Promise<number> {
    let last = '';
    return waitFor('replicas to converge', timeoutMs, async () => {
      const outbox = await database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM replication_outbox');
      const dbBookings = await database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM bookings');
      const stats = (await client(cluster.node(ids[0]!).url).get<Stats>('/api/replicas')).body;
      last = JSON.stringify(stats.nodes.map((n) => [n.nodeId, n.digest, n.byKind]));
      return outbox.rows[0]!.n === 0 && stats.converged && stats.nodes.length === ids.length
        && stats.nodes.every((n) => (n.byKind.booking ?? 0) === dbBookings.rows[0]!.n);
    }, 100).catch((err: Error) => {
      throw new Error(`${err.message}; last: ${last}`);
    });
  }

  test('a booking made through node-1 is read with its session token through node-2 and node-3 at once, in every mode', async () => {
    const admin = client(cluster.node('node-2').url, await cluster.adminToken());
    for (const mode of ['multi-master', 'master-slave', 'gossip'] as const) {
      const changed = await admin.post('/api/replicas', { mode });
      assert.equal(changed.status, 200, JSON.stringify(changed.body));
      await waitFor(`every node in ${mode}`, 10_000, async () => {
        const stats = (await client(cluster.node('node-3').url).get<Stats>('/api/replicas')).body;
        return stats.nodes.length === 3 && stats.nodes.every((n) => n.mode === mode);
      });
      const { booking, token, seat } = await book('node-1');
      const mine = await client(cluster.node('node-2').url, users[0]!.token).get('/api/bookings?consistency=causal', { 'x-session-token': token });
      assert.equal(mine.status, 200);
      assert.ok(mine.body.bookings.some((b: { id: string }) => b.id === booking.id), `${mode}: read-your-writes through node-2`);
      const map = await client(cluster.node('node-3').url).get(`/api/showtimes/${seat.showtime_id}?consistency=causal`, { 'x-session-token': mine.headers.get('x-session-token')! });
      assert.equal(map.status, 200);
      assert.equal(map.body.seats.find((s: { id: string }) => s.id === seat.seat_id).status, 'booked', `${mode}: seat map through node-3`);
      const strong = await client(cluster.node('node-3').url).get(`/api/showtimes/${seat.showtime_id}?consistency=strong`);
      assert.equal(strong.body.seats.find((s: { id: string }) => s.id === seat.seat_id).status, 'booked', `${mode}: strong read`);
    }
    // Switching modes lost nothing: every replica ends up with every booking.
    await converged();
    // The tests below run in the default mode, as a fresh cluster does.
    assert.equal((await admin.post('/api/replicas', { mode: 'multi-master' })).status, 200);
    await waitFor('every node back in multi-master', 10_000, async () => {
      const stats = (await client(cluster.node('node-1').url).get<Stats>('/api/replicas')).body;
      return stats.nodes.length === 3 && stats.nodes.every((n) => n.mode === 'multi-master');
    });
  });

  test('gossip refuses a strong read while a replica is cut off (W = 1 needs them all), and answers once it is back', async () => {
    const admin = client(cluster.node('node-1').url, await cluster.adminToken());
    assert.equal((await admin.post('/api/replicas', { mode: 'gossip' })).status, 200);
    const isolated = client(cluster.node('node-3').url, await cluster.adminToken());
    try {
      await waitFor('every node in gossip', 10_000, async () => {
        const stats = (await client(cluster.node('node-1').url).get<Stats>('/api/replicas')).body;
        return stats.nodes.length === 3 && stats.nodes.every((n) => n.mode === 'gossip');
      });
      assert.equal((await isolated.post('/api/faults', { partitionedFrom: ['*'] })).status, 200);
      const { booking, token } = await book('node-1');
      // Until node-1's failure detector gives node-3 up, a strong read asks it and times out (also a
      // 503); once node-3 is known dead the read is refused at once, without waiting.
      await waitForDead(cluster, 'node-1', 'node-3');
      const refused = await client(cluster.node('node-1').url, users[0]!.token).get('/api/bookings?consistency=strong', { 'x-session-token': token });
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.body.error.details.reason, 'no-quorum', JSON.stringify(refused.body));
      assert.equal((await isolated.post('/api/faults', { partitionedFrom: [] })).status, 200);
      await waitFor('a strong read with the booking once node-3 is back', 10_000, async () => {
        const res = await client(cluster.node('node-2').url, users[0]!.token).get('/api/bookings?consistency=strong', { 'x-session-token': token });
        return res.status === 200 && res.body.bookings.some((b: { id: string }) => b.id === booking.id);
      });
    } finally {
      await isolated.post('/api/faults', { partitionedFrom: [] });
      assert.equal((await admin.post('/api/replicas', { mode: 'multi-master' })).status, 200);
      await waitFor('every node back in multi-master', 10_000, async () => {
        const stats = (await client(cluster.node('node-1').url).get<Stats>('/api/replicas')).body;
        return stats.nodes.length === 3 && stats.nodes.every((n) => n.mode === 'multi-master');
      });
    }
  });

  test('concurrent bookings share peer requests (one per peer per step) and every replica still converges on them', async () => {
    type Counters = { nodes: { nodeId: string; messagesBatched: number }[] };
    const batchedSoFar = async () => (await client(cluster.node('node-1').url).get<Counters>('/api/replicas')).body.nodes.reduce((sum, n) => sum + n.messagesBatched, 0);
    const before = await batchedSoFar();
    await Promise.all(Array.from({ length: 24 }, (_, i) => book(all[i % 3]!, users[i % 4])));
    await converged();
    assert.ok((await batchedSoFar()) > before, 'no protocol messages went in a batch');
  });

  test('a node killed while bookings continue catches up after restart (from its own replica and its peers)', async () => {
    await cluster.kill('node-3');
    for (let i = 0; i < 10; i++) await book(i % 2 ? 'node-1' : 'node-2', users[i % 4]);
    const rowsBefore = await database.db.query<{ n: number }>("SELECT count(*)::int AS n FROM data_replicas WHERE node_id = 'node-3'");
    assert.ok(rowsBefore.rows[0]!.n > 0, 'node-3 kept its replica on disk');
    await cluster.start('node-3');
    await converged();
  });

  test('a partitioned node converges within a bound after the partition heals', async () => {
    const isolated = client(cluster.node('node-2').url, await cluster.adminToken());
    assert.equal((await isolated.post('/api/faults', { partitionedFrom: ['*'] })).status, 200);
    try {
      await waitForAgreement(cluster, ['node-1', 'node-3'], 10_000);
      for (let i = 0; i < 8; i++) await book(i % 2 ? 'node-1' : 'node-3', users[i % 4]);
    } finally {
      assert.equal((await isolated.post('/api/faults', { partitionedFrom: [] })).status, 200);
    }
    const healedInMs = await converged(all, 15_000);
    assert.ok(healedInMs <= 15_000);
  });
});

describe('multi-master across 3 real nodes with anti-entropy off (only pushes, hints and read repair move data)', () => {
  let database: TestDatabase;
  let cluster: TestCluster;
  let user: { id: string; token: string };
  let seats: string[];
  let showtimeId: number;
  let next = 0;

  before(async () => {
    database = await createTestDatabase();
    cluster = await startCluster(3, database.url, { REPLICATION_ANTI_ENTROPY_MS: '3600000' });
    await waitForAgreement(cluster, ['node-1', 'node-2', 'node-3'], 20_000);
    [user] = await createUsersDirect(database.db, 1) as [{ id: string; token: string }];
    ({ id: showtimeId, seats } = await findShowtime(database.db));
  });
  after(async () => {
    await cluster?.stop();
    await database?.drop();
  });

  async function book(nodeId: string): Promise<string> {
    const res = await client(cluster.node(nodeId).url, user.token).post('/api/bookings', { showtimeId, seats: [seats[next++]!] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.booking.id as string;
  }

  const mine = async (nodeId: string, consistency: string) => {
    const res = await client(cluster.node(nodeId).url, user.token).get(`/api/bookings?consistency=${consistency}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body.bookings as { id: string }[]).map((b) => b.id);
  };

  test("a strong read through a node whose replica lacks the booking returns it, and repairs that replica", async () => {
    const cutOff = client(cluster.node('node-3').url, await cluster.adminToken());
    assert.equal((await cutOff.post('/api/faults', { partitionedFrom: ['node-1'] })).status, 200);
    let id: string;
    try {
      id = await book('node-1'); // acknowledged by node-1 and node-2 (W = 2); node-1's push to node-3 is dropped
      assert.ok(!(await mine('node-3', 'eventual')).includes(id), "node-3's own replica lacks it: the strong read below has something to prove");
      assert.ok((await mine('node-3', 'strong')).includes(id), 'strong read through node-3 (node-3 and node-2 reply)');
    } finally {
      assert.equal((await cutOff.post('/api/faults', { partitionedFrom: [] })).status, 200);
    }
    await waitFor('read repair to give node-3 the booking', 5_000, async () => (await mine('node-3', 'eventual')).includes(id));
  });

  test('a booking answered 201 by a node cut off from every peer is in strong reads through the others at once', async () => {
    const cutOff = client(cluster.node('node-1').url, await cluster.adminToken());
    assert.equal((await cutOff.post('/api/faults', { partitionedFrom: ['*'] })).status, 200);
    try {
      const seat = seats[next]!;
      const id = await book('node-1'); // committed in PostgreSQL; no peer acknowledged it
      const waiting = await database.db.query('SELECT 1 FROM replication_outbox WHERE key = $1', [`booking:${showtimeId}:${id}`]);
      assert.equal(waiting.rowCount, 1, 'the replication has not acknowledged it: the strong reads below have something to prove');
      assert.ok((await mine('node-2', 'strong')).includes(id), 'strong read of the bookings through node-2 (node-2 and node-3 reply)');
      const map = await client(cluster.node('node-3').url).get(`/api/showtimes/${showtimeId}?consistency=strong`);
      assert.equal(map.status, 200, JSON.stringify(map.body));
      assert.equal(map.body.seats.find((s: { id: string }) => s.id === seat).status, 'booked', 'strong seat map through node-3');
    } finally {
      assert.equal((await cutOff.post('/api/faults', { partitionedFrom: [] })).status, 200);
    }
  });

  test('hinted handoff: a node that was down when a booking was acknowledged gets it from the coordinator once back', async () => {
    await cluster.kill('node-3');
    // Booked once node-1 knows node-3 is dead: the booking's own push to node-3 is long gone by its restart.
    await waitForDead(cluster, 'node-1', 'node-3');
    const id = await book('node-1');
    assert.ok((await mine('node-2', 'eventual')).includes(id));
    await cluster.start('node-3');
    // Until its replication starts, a node answers reads from PostgreSQL itself, which has the
    // booking: wait for the replica to serve them.
    await waitFor('node-3 to serve reads from its replica', 10_000, async () => (await client(cluster.node('node-3').url).get('/api/replicas')).status === 200);
    // node-3 restarts from its persisted replica, which lacks the booking; with anti-entropy off and
    // no reads through it, only node-1's hint (flushed when node-3 is seen alive again) can bring it.
    await waitFor("node-1's hint to reach node-3", 10_000, async () => (await mine('node-3', 'eventual')).includes(id));
  });
});

async function waitForDead(cluster: TestCluster, observer: string, dead: string): Promise<void> {
  await waitFor(`${observer} to see ${dead} dead`, 10_000, async () => {
    const health = (await client(cluster.node(observer).url).get('/api/health')).body as { nodes: { id: string; status: string }[] };
    return health.nodes.some((n) => n.id === dead && n.status === 'dead');
  });
}
