import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { recordFacts, showtimeFact } from '../../db/booking/facts';
import { client, createTestDatabase, createUsersDirect, type TestDatabase } from '../../harness/helpers';
import { startCluster, waitFor, waitForAgreement, type TestCluster } from '../../harness/cluster';

/**
 * Compaction across 3 real nodes (docs/replication.md, "Compaction"): a showtime that started
 * longer ago than REPLICA_RETENTION_HOURS leaves the replicas — memory and `data_replicas` — while
 * its bookings stay readable through the system of record. node-3 applies the rule only once a
 * day here, so it keeps the documents and keeps offering them: the others must never take them
 * back, neither from anti-entropy nor from a new version it writes.
 */

const all = ['node-1', 'node-2', 'node-3'];
let database: TestDatabase;
let cluster: TestCluster;
let user: { id: string; token: string };

before(async () => {
  database = await createTestDatabase();
  cluster = await startCluster(3, database.url, { REPLICA_RETENTION_HOURS: '0', REPLICA_COMPACT_EVERY_MS: '200', REPLICATION_ANTI_ENTROPY_MS: '200' }, {
    'node-3': { REPLICA_COMPACT_EVERY_MS: '86400000' },
  });
  await waitForAgreement(cluster, all, 20_000);
  user = (await createUsersDirect(database.db, 1))[0]!;
});
after(async () => {
  await cluster?.stop();
  await database?.drop();
});

const rowsUnder = async (nodeId: string, prefix: string) =>
  (await database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM data_replicas WHERE node_id = $1 AND starts_with(key, $2)', [nodeId, prefix])).rows[0]!.n;

type Stats = { nodes: { nodeId: string; entries: number; retiredGroups: number; byKind: Record<string, number> }[] };
const stats = async () => (await client(cluster.node('node-1').url).get<Stats>('/api/replicas')).body.nodes;

test('a past showtime leaves the replicas of the nodes that compact, its bookings stay readable, and nothing brings them back', async () => {
  const { rows: [showtime] } = await database.db.query<{ id: number; movie_id: number; screen_id: number; seat_id: string }>(
    `SELECT s.id, s.movie_id, s.screen_id, min(ss.seat_id) AS seat_id FROM showtimes s JOIN showtime_seats ss ON ss.showtime_id = s.id
     WHERE s.starts_at > now() + interval '1 day' GROUP BY s.id ORDER BY s.id LIMIT 1`,
  );
  const { id, seat_id: seat } = showtime!;
  const prefix = `booking:${id}:`;
  const api = (nodeId: string) => client(cluster.node(nodeId).url, user.token);

  const booked = await api('node-1').post('/api/bookings', { showtimeId: id, seats: [seat] });
  assert.equal(booked.status, 201, JSON.stringify(booked.body));
  const bookingId = booked.body.booking.id as string;
  await waitFor('every replica to persist the booking', 20_000, async () => (await Promise.all(all.map((n) => rowsUnder(n, prefix)))).every((n) => n === 1), 100);
  const before = await stats();

  // The showtime moves into the past in the system of record, and its fact is published as the app would.
  const { rows: [moved] } = await database.db.query<{ starts_at: Date }>(
    "UPDATE showtimes SET starts_at = now() - interval '2 hours' WHERE id = $1 RETURNING starts_at", [id],
  );
  await recordFacts(database.db, 'node-1', [showtimeFact({ id, movieId: showtime!.movie_id, screenId: showtime!.screen_id, startsAt: moved!.starts_at.toISOString() })]);

  await waitFor('node-1 and node-2 to compact the showtime', 20_000, async () => (await rowsUnder('node-1', prefix)) === 0 && (await rowsUnder('node-2', prefix)) === 0, 100);
  const compacted = await stats();
  for (const nodeId of ['node-1', 'node-2']) {
    const after = compacted.find((n) => n.nodeId === nodeId)!;
    const was = before.find((n) => n.nodeId === nodeId)!;
    // Its booking: and hold: groups; a seeded showtime whose start passed during the run too.
    const counts = `${was.retiredGroups} → ${after.retiredGroups}`;
    assert.ok(after.retiredGroups >= was.retiredGroups + 2, `${nodeId}: booking:${id}: and hold:${id}: retired (${counts})`);
    assert.equal(after.byKind.booking ?? 0, (was.byKind.booking ?? 0) - 1, `${nodeId}: the booking left its memory too`);
  }
  assert.equal(await rowsUnder('node-3', prefix), 1, 'node-3 has not compacted');

  // Read through a node that compacted, at every level: the system of record answers.
  for (const consistency of ['eventual', 'causal', 'strong']) {
    const mine = await api('node-1').get(`/api/bookings?consistency=${consistency}`);
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    assert.deepEqual(mine.body.bookings.map((b: { id: string; status: string }) => [b.id, b.status]), [[bookingId, 'confirmed']], `my bookings, ${consistency}`);
    const map = await api('node-2').get(`/api/showtimes/${id}?consistency=${consistency}`);
    assert.equal(map.status, 200, JSON.stringify(map.body));
    assert.equal(map.body.seats.find((s: { id: string }) => s.id === seat).status, 'booked', `seat map, ${consistency}`);
    assert.equal(map.headers.get('x-replica-served-by'), 'database');
  }

  // node-3 still holds the booking and writes a new version of it (a cancellation through node-3):
  // acknowledged, answered, and the nodes that compacted keep nothing of it.
  const cancelled = await api('node-3').post(`/api/bookings/${bookingId}/cancel`, {});
  assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
  await waitFor('node-3 to persist the cancellation', 20_000, async () => {
    const { rows } = await database.db.query<{ status: string }>("SELECT value->>'status' AS status FROM data_replicas WHERE node_id = 'node-3' AND starts_with(key, $1)", [prefix]);
    return rows[0]?.status === 'cancelled';
  }, 100);
  await waitFor('the cancellation to be published (acknowledged by replicas that drop it)', 20_000, async () =>
    (await database.db.query('SELECT 1 FROM replication_outbox WHERE starts_with(key, $1)', [prefix])).rowCount === 0, 100);
  // Anti-entropy rounds between node-3 and the others ran since (the others' sync time moved on twice).
  const synced = Date.now();
  await waitFor('anti-entropy rounds after the cancellation', 20_000, async () => {
    const view = (await client(cluster.node('node-1').url).get<{ nodes: { nodeId: string; lastSyncAt: string | null }[] }>('/api/replicas')).body.nodes;
    return view.filter((n) => n.nodeId !== 'node-3').every((n) => n.lastSyncAt !== null && Date.parse(n.lastSyncAt) > synced + 1_000);
  }, 100);
  assert.equal(await rowsUnder('node-1', prefix), 0, 'node-1 took nothing back');
  assert.equal(await rowsUnder('node-2', prefix), 0, 'node-2 took nothing back');
  const strong = await api('node-1').get('/api/bookings?consistency=strong');
  assert.deepEqual(strong.body.bookings.map((b: { id: string; status: string }) => [b.id, b.status]), [[bookingId, 'cancelled']], 'once, cancelled');
  const map = await api('node-1').get(`/api/showtimes/${id}?consistency=strong`);
  assert.equal(map.body.seats.find((s: { id: string }) => s.id === seat).status, 'available');

  // A restart keeps the retired groups (they are in the persisted meta).
  await cluster.kill('node-1', 'SIGTERM');
  await cluster.start('node-1');
  await waitForAgreement(cluster, all, 20_000);
  const restarted = (await stats()).find((n) => n.nodeId === 'node-1')!;
  const retiredBefore = compacted.find((n) => n.nodeId === 'node-1')!.retiredGroups;
  assert.ok(restarted.retiredGroups >= retiredBefore, `node-1 kept its ${retiredBefore} groups`);
  assert.equal(await rowsUnder('node-1', prefix), 0);
});
