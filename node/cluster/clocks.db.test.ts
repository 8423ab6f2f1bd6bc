/**
 * Logical clocks checked on real processes: 3 nodes record every clocked peer message and clock
 * change (CLOCK_TRACE_DIR) through bookings, a partition and a SIGKILL + restart; the pure checker
 * (core/clock-check.ts) then judges Lamport and vector clocks against the causal history
 * rebuilt from those records alone.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkClockTrace } from '../../core/clock-check';
import { client, createTestDatabase, createUsersDirect, type TestDatabase } from '../../harness/helpers';
import { startCluster, waitFor, waitForAgreement, type TestCluster } from '../../harness/cluster';
import { readClockTraces } from './clock-trace';

/** Below this the run proves little: a trace of a few heartbeats would pass trivially. */
const MIN_MESSAGES_CHECKED = 600;
const MIN_EVENT_MESSAGES_CHECKED = 100;

describe('clock trace of 3 real nodes with a partition and a kill', () => {
  let database: TestDatabase;
  let cluster: TestCluster;
  let traceDir: string;
  let users: { id: string; token: string }[];
  let seats: { showtime_id: number; seat_id: string }[];
  let next = 0;
  const all = ['node-1', 'node-2', 'node-3'];

  before(async () => {
    traceDir = fs.mkdtempSync(path.join(os.tmpdir(), 'moviebook-clock-trace-'));
    database = await createTestDatabase();
    cluster = await startCluster(3, database.url, { CLOCK_TRACE_DIR: traceDir, SYNC_INTERVAL_MS: '1000', GOSSIP_INTERVAL_MS: '100' });
    await waitForAgreement(cluster, all, 20_000);
    users = await createUsersDirect(database.db, 2);
    seats = (await database.db.query<{ showtime_id: number; seat_id: string }>(
      `SELECT ss.showtime_id, ss.seat_id FROM showtime_seats ss JOIN showtimes s ON s.id = ss.showtime_id
       WHERE s.starts_at > now() + interval '1 hour' ORDER BY s.starts_at, ss.row_label, ss.seat_number LIMIT 100`,
    )).rows;
  });
  after(async () => {
    await cluster?.stop();
    await database?.drop();
    if (traceDir) fs.rmSync(traceDir, { recursive: true, force: true });
  });

  async function book(nodeId: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const seat = seats[next++]!;
      const res = await client(cluster.node(nodeId).url, users[i % users.length]!.token).post('/api/bookings', { showtimeId: seat.showtime_id, seats: [seat.seat_id] });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
  }

  async function faults(nodeId: string, body: object): Promise<void> {
    const res = await client(cluster.node(nodeId).url, await cluster.adminToken()).post('/api/faults', body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  async function status(of: string, seenBy: string): Promise<string | undefined> {
    const nodes = (await client(cluster.node(seenBy).url).get<{ nodes: { id: string; status: string }[] }>('/api/health')).body.nodes;
    return nodes.find((n) => n.id === of)?.status;
  }

  test('Lamport and vector clocks agree with the recorded happens-before: zero violations', async () => {
    await Promise.all(all.map((id) => book(id, 4)));

    await faults('node-1', { partitionedFrom: ['*'] });
    await waitFor('node-2 to give node-1 up', 10_000, async () => (await status('node-1', 'node-2')) === 'dead');
    await Promise.all([book('node-1', 3), book('node-2', 3), book('node-3', 3)]);
    await faults('node-1', { partitionedFrom: [] });
    await waitFor('node-2 to hear node-1 again', 10_000, async () => (await status('node-1', 'node-2')) === 'alive');

    // Killed while bookings replicate; the restarted process resumes its clocks and its trace.
    const booking = book('node-2', 4);
    await cluster.kill('node-3');
    await booking;
    await cluster.start('node-3');
    await waitForAgreement(cluster, all, 20_000, 'node-3');
    await Promise.all(all.map((id) => book(id, 3)));
    await waitFor('node-1 to hear the restarted node-3', 10_000, async () => (await status('node-3', 'node-1')) === 'alive');

    await cluster.stop();
    const { records, truncated } = readClockTraces(traceDir);
    assert.deepEqual(truncated, []);
    const report = checkClockTrace(records, { samplePairs: 200_000 });
    const restores = records.filter((r) => r.kind === 'restore').length;
    const events = records.filter((r) => r.kind === 'receive' && r.effect === 'receive').length;
    const summary = `${report.records} records, ${report.events} events, ${report.messagesDelivered} of ${report.messagesSent} messages delivered (${events} events), ${report.pairsChecked} pairs, ${restores} restores`;
    console.log(`clock trace: ${summary}, ${report.violationCount} violations`);
    assert.deepEqual(report.violations, [], summary);
    assert.equal(restores, 4, 'three boots and one restart');
    assert.ok(report.messagesDelivered >= MIN_MESSAGES_CHECKED, summary);
    assert.ok(events >= MIN_EVENT_MESSAGES_CHECKED, summary);
    assert.ok(report.pairsChecked >= 50_000, summary);
  });
});
