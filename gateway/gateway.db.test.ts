import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { client, createTestDatabase, createUsersDirect, type TestDatabase } from '../harness/helpers';
import { startCluster, startGateway, waitFor, type TestCluster, type TestGateway } from '../harness/cluster';

type LbStats = { algorithm: string; nodes: { id: string; eligible: boolean; requests: number }[] };

async function countServedBy(url: string, requests: number, concurrency: number, path = '/api/health'): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests) {
      next += 1;
      const res = await fetch(url + path);
      await res.arrayBuffer();
      assert.equal(res.status, 200);
      const servedBy = res.headers.get('x-served-by')!;
      counts[servedBy] = (counts[servedBy] ?? 0) + 1;
    }
  }));
  return counts;
}

describe('the gateway in front of 3 real nodes', () => {
  let database: TestDatabase;
  let cluster: TestCluster;
  let gateway: TestGateway;
  let admin: ReturnType<typeof client>;
  const all = ['node-1', 'node-2', 'node-3'];

  async function allEligible(ids = all): Promise<void> {
    let last = '';
    await waitFor(`${ids.join(', ')} eligible at the gateway`, 15_000, async () => {
      const stats = (await client(gateway.url).get<LbStats>('/api/lb')).body;
      last = JSON.stringify(stats.nodes);
      return ids.every((id) => stats.nodes.some((n) => n.id === id && n.eligible));
    }).catch((err: Error) => {
      throw new Error(`${err.message}; last: ${last}`);
    });
  }

  before(async () => {
    database = await createTestDatabase();
    cluster = await startCluster(3, database.url);
    gateway = await startGateway(database.url);
    admin = client(gateway.url, await cluster.adminToken());
    await allEligible();
  });
  after(async () => {
    await gateway?.stop();
    await cluster?.stop();
    await database?.drop();
  });

  test('proxies pages and API with X-Served-By and X-Request-Id; /api/lb needs an admin to change', async () => {
    const res = await fetch(`${gateway.url}/api/movies`, { headers: { 'x-request-id': 'trace-me' } });
    assert.equal(res.status, 200);
    assert.ok(all.includes(res.headers.get('x-served-by')!));
    assert.equal(res.headers.get('x-request-id'), 'trace-me');
    assert.ok(((await res.json()) as { movies: unknown[] }).movies.length >= 8);
    assert.equal((await client(gateway.url).post('/api/lb', { algorithm: 'weighted' })).status, 401);
    assert.equal((await admin.post('/api/lb', { algorithm: 'fastest' })).status, 400);
  });

  test('3,000 requests: round robin gives exact thirds, 5:1:1 weights give exact proportions, least connections spreads', async () => {
    assert.equal((await admin.post('/api/lb', { algorithm: 'round-robin', weights: null })).status, 200);
    assert.deepEqual(await countServedBy(gateway.url, 3_000, 1), { 'node-1': 1_000, 'node-2': 1_000, 'node-3': 1_000 });

    const weights = { 'node-1': 5, 'node-2': 1, 'node-3': 1 };
    assert.equal((await admin.post('/api/lb', { algorithm: 'weighted', weights })).status, 200);
    const weighted = await countServedBy(gateway.url, 3_000, 8);
    for (const [id, w] of Object.entries(weights)) {
      assert.ok(Math.abs(weighted[id]! - (3_000 * w) / 7) <= w, `${id}: ${weighted[id]} of 3000 for weight ${w}/7`);
    }

    assert.equal((await admin.post('/api/lb', { algorithm: 'least-connections', weights: null })).status, 200);
    const least = await countServedBy(gateway.url, 3_000, 8);
    for (const id of all) assert.ok(least[id]! > 300 && least[id]! < 1_500, `least connections: ${JSON.stringify(least)}`);
  });

  test('a slow node: least connections routes around it (round robin cannot)', async () => {
    const slow = client(cluster.node('node-1').url, await cluster.adminToken());
    assert.equal((await slow.post('/api/faults', { requestDelayMs: 300 })).status, 200);
    try {
      assert.equal((await admin.post('/api/lb', { algorithm: 'least-connections' })).status, 200);
      const least = await countServedBy(gateway.url, 600, 12, '/api/movies');
      assert.ok((least['node-1'] ?? 0) / 600 < 0.12, `least connections sent ${least['node-1']} of 600 to the slow node`);
      assert.equal((await admin.post('/api/lb', { algorithm: 'round-robin' })).status, 200);
      const rr = await countServedBy(gateway.url, 120, 12, '/api/movies');
      assert.equal(rr['node-1'], 40);
    } finally {
      await slow.post('/api/faults', { requestDelayMs: 0 });
    }
  });

  test('SIGKILL a node under steady GETs and idempotent POSTs: no request fails, every booking is durable, the node is re-admitted', async () => {
    assert.equal((await admin.post('/api/lb', { algorithm: 'round-robin' })).status, 200);
    const { rows: showtimes } = await database.db.query<{ id: number }>(
      `SELECT s.id FROM showtimes s JOIN screens sc ON sc.id = s.screen_id WHERE sc.name = 'Grand Hall' AND s.starts_at > now() + interval '1 hour' ORDER BY s.starts_at LIMIT 2`,
    );
    const seats = (await database.db.query<{ showtime_id: number; seat_id: string }>(
      'SELECT showtime_id, seat_id FROM showtime_seats WHERE showtime_id = ANY($1) ORDER BY showtime_id, row_label, seat_number',
      [showtimes.map((s) => s.id)],
    )).rows;
    const users = await createUsersDirect(database.db, 8);
    const failures: string[] = [];
    const booked: { key: string; bookingId: string; seat: string; showtimeId: number }[] = [];
    let seatIndex = 0;
    let stop = false;
    const deadline = Date.now() + 30_000;

    const worker = async (w: number) => {
      const api = client(gateway.url, users[w]!.token);
      for (let i = 0; !stop && Date.now() < deadline; i++) {
        try {
          if (i % 2 === 0) {
            const res = await api.get(`/api/showtimes/${showtimes[0]!.id}`);
            if (res.status !== 200) failures.push(`GET ${res.status} ${JSON.stringify(res.body)}`);
          } else {
            const seat = seats[seatIndex++];
            if (!seat) return;
            const key = `w${w}-${i}`;
            const res = await api.post('/api/bookings', { showtimeId: seat.showtime_id, seats: [seat.seat_id] }, { 'idempotency-key': key });
            if (res.status !== 201) failures.push(`POST ${res.status} ${JSON.stringify(res.body)}`);
            else booked.push({ key, bookingId: res.body.booking.id, seat: seat.seat_id, showtimeId: seat.showtime_id });
          }
        } catch (err) {
          failures.push(`network: ${String(err)}`);
        }
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    await waitFor('some traffic before the kill', 10_000, async () => booked.length >= 20);
    await cluster.kill('node-2');
    const afterKill = booked.length;
    await waitFor('traffic to continue after the kill', 15_000, async () => booked.length >= afterKill + 60);
    stop = true;
    await load;

    assert.deepEqual(failures, []);
    const { rows } = await database.db.query<{ id: string }>("SELECT id FROM bookings WHERE status = 'confirmed'");
    const inDb = new Set(rows.map((r) => r.id));
    for (const b of booked) assert.ok(inDb.has(b.bookingId), `acknowledged booking ${b.bookingId} missing`);
    assert.equal(rows.length, booked.length, 'every booking was acknowledged exactly once');

    await cluster.start('node-2');
    await allEligible();
    const after = await countServedBy(gateway.url, 30, 1);
    assert.equal(after['node-2'], 10);
  });

  test('X-Node pins a request to that node (not forwarded, no retry elsewhere); an unknown node is 400', async () => {
    assert.equal((await admin.post('/api/lb', { algorithm: 'round-robin' })).status, 200);
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${gateway.url}/api/health`, { headers: { 'x-node': 'node-2' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-served-by'), 'node-2');
      assert.equal(((await res.json()) as { nodeId: string }).nodeId, 'node-2');
    }
    // A POST (an admin fault) lands on the chosen node too, and a node the balancer avoids is still reachable.
    const faults = await admin.post('/api/faults', { requestDelayMs: 0 }, { 'x-node': 'node-3' });
    assert.equal(faults.status, 200);
    assert.equal(faults.body.nodeId, 'node-3');
    assert.equal((await admin.post('/api/lb', { weights: { 'node-1': 1, 'node-2': 1, 'node-3': 0 }, algorithm: 'weighted' })).status, 200);
    try {
      const pinned = await fetch(`${gateway.url}/api/health`, { headers: { 'x-node': 'node-3' } });
      await pinned.arrayBuffer();
      assert.equal(pinned.headers.get('x-served-by'), 'node-3');
    } finally {
      assert.equal((await admin.post('/api/lb', { weights: null, algorithm: 'round-robin' })).status, 200);
    }

    const unknown = await fetch(`${gateway.url}/api/health`, { headers: { 'x-node': 'node-9' } });
    assert.equal(unknown.status, 400, 'a header naming no node is bad input, not a 5xx');
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'UNKNOWN_NODE');

    await cluster.kill('node-1');
    try {
      const down = await fetch(`${gateway.url}/api/health`, { headers: { 'x-node': 'node-1' } });
      assert.equal(down.status, 502, 'a pinned GET to a dead node is not retried elsewhere');
      assert.equal(((await down.json()) as { error: { code: string } }).error.code, 'NODE_UNAVAILABLE');
    } finally {
      await cluster.start('node-1');
      await allEligible();
    }
  });
});

describe('a gateway with no node behind it', () => {
  test('POST /api/lb answers 503 NO_HEALTHY_NODE (no node can say who the caller is), not 401, and changes nothing', async () => {
    const empty = await createTestDatabase();
    const lonely = await startGateway(empty.url);
    try {
      const res = await client(lonely.url).post<{ error: { code: string } }>('/api/lb', { algorithm: 'weighted' }, { authorization: 'Bearer whoever' });
      assert.equal(res.status, 503);
      assert.equal(res.body.error.code, 'NO_HEALTHY_NODE');
      assert.equal(res.headers.get('retry-after'), '1');
      assert.equal((await client(lonely.url).get<LbStats>('/api/lb')).body.algorithm, 'round-robin');
    } finally {
      await lonely.stop();
      await empty.drop();
    }
  });
});
