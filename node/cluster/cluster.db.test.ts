import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encode, type Envelope } from '../../transport/envelope';
import { client, createTestDatabase, type TestDatabase } from '../../harness/helpers';
import { electionViews, startCluster, waitFor, waitForAgreement, type TestCluster } from '../../harness/cluster';

const FAILOVER_BOUND_MS = 2_000;

describe('3 real nodes (Bully)', () => {
  let database: TestDatabase;
  let cluster: TestCluster;
  const all = ['node-1', 'node-2', 'node-3'];
  before(async () => {
    database = await createTestDatabase();
    cluster = await startCluster(3, database.url, { SYNC_INTERVAL_MS: '1000' });
  });
  after(async () => {
    await cluster?.stop();
    await database?.drop();
  });

  test('they find each other and agree on the highest-priority node; every node reports every node', async () => {
    // (At start-up a lower node may lead for a moment, until node-3 joins and takes over.)
    const { leader } = await waitForAgreement(cluster, all, 15_000, 'node-3');
    assert.equal(leader, 'node-3');
    await waitFor('all alive in every health report', 5_000, async () => {
      const reports = await Promise.all(all.map(async (id) => (await client(cluster.node(id).url).get('/api/health')).body));
      return reports.every((r) => r.nodes.length === 3 && r.nodes.every((n: { status: string }) => n.status === 'alive'));
    });
    await waitFor('is_leader written by the leader', 5_000, async () => {
      const rows = (await database.db.query<{ id: string }>('SELECT id FROM server_nodes WHERE is_leader')).rows;
      return rows.length === 1 && rows[0]!.id === 'node-3';
    });
  });

  test('peer messages with a bad signature, none, or a replayed one are refused and counted', async () => {
    const target = cluster.node('node-1');
    const secret = fs.readFileSync(path.join(cluster.dataDir, 'cluster-secret'), 'utf8').trim();
    // Sent as a sender of its own, so the real nodes' replay windows stay untouched.
    const base = { from: 'probe-1', to: 'node-1', type: 'election', epoch: 99, lamport: 1, vector: {}, sentAt: Date.now(), boot: `${Date.now()}-ab`, seq: 1,
      body: { type: 'coordinator', epoch: 99, leader: 'probe-1' } };
    const anon = client(target.url);
    // The wire format: the envelope's bytes, their HMAC in a header (see peer.db.test.ts for more).
    const post = (env: Envelope, key?: string) => {
      const { bytes, signature } = encode(key ?? secret, env);
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(key === '' ? {} : { 'x-peer-signature': signature, 'x-peer-from': env.from }) };
      return fetch(`${target.url}/api/peer`, { method: 'POST', headers, body: new Uint8Array(bytes) }).then((res) => res.status);
    };
    assert.equal(await post(base, 'not-the-cluster-secret'), 401);
    assert.equal(await post({ ...base, seq: 2 }, ''), 401);

    // A genuine message is accepted once; the same bytes again are a replay.
    const genuine = { ...base, seq: 3, type: 'election.stats', body: {} };
    assert.equal(await post(genuine), 200);
    assert.equal(await post(genuine), 409);

    const health = (await anon.get('/api/health')).body;
    assert.ok(health.refusedPeerMessages['bad-signature'] >= 1);
    assert.ok(health.refusedPeerMessages.unsigned >= 1);
    assert.ok(health.refusedPeerMessages.replayed >= 1);
    // The forged coordinator changed nothing.
    const views = await electionViews(cluster, ['node-1']);
    assert.notEqual(views[0]!.epoch, 99);
  });

  test('SIGKILL the leader: the survivors agree on a new leader within 2 s; the restarted node takes over again', async () => {
    const before = await waitForAgreement(cluster, all, 10_000, 'node-3');
    await cluster.kill('node-3');
    const killedAt = Date.now();
    const after = await waitForAgreement(cluster, ['node-1', 'node-2'], 10_000, 'node-2');
    const failoverMs = Date.now() - killedAt;
    assert.ok(after.epoch > before.epoch, 'a new leadership has a newer epoch');
    assert.ok(failoverMs <= FAILOVER_BOUND_MS, `failover took ${failoverMs} ms`);

    await cluster.start('node-3');
    const back = await waitForAgreement(cluster, all, 10_000, 'node-3');
    assert.ok(back.epoch > after.epoch);
  });

  test('partition the leader away: the majority keeps one leader and the isolated node\'s leader-only writes are refused', async () => {
    const token = await cluster.adminToken();
    const before = await waitForAgreement(cluster, all, 10_000, 'node-3');
    const isolated = client(cluster.node('node-3').url, token);
    assert.equal((await isolated.post('/api/faults', { partitionedFrom: ['*'] })).status, 200);
    try {
      const majority = await waitForAgreement(cluster, ['node-1', 'node-2'], 10_000, 'node-2');
      assert.ok(majority.epoch > before.epoch);
      // The isolated node cannot see a majority: it does not lead.
      await waitFor('node-3 to step down', 5_000, async () => (await electionViews(cluster, ['node-3']))[0]!.leader !== 'node-3');
      const probe = await isolated.post('/api/cluster/fenced-write-probe');
      assert.equal(probe.status, 200);
      assert.equal(probe.body.accepted, false, 'a deposed leader\'s write must be refused by the fencing token');
      assert.equal(probe.body.epoch, before.epoch);
      await waitFor('the new leader to mark itself in server_nodes', 5_000, async () => {
        const leaders = await database.db.query<{ id: string }>('SELECT id FROM server_nodes WHERE is_leader');
        return leaders.rows.length === 1 && leaders.rows[0]!.id === 'node-2';
      });
    } finally {
      assert.equal((await isolated.post('/api/faults', { partitionedFrom: [] })).status, 200);
    }
    await waitForAgreement(cluster, all, 10_000, 'node-3');
  });

  test('skew one node by 3 s: after Berkeley sync all corrected clocks agree within 10 ms', async () => {
    const token = await cluster.adminToken();
    await waitForAgreement(cluster, all, 10_000, 'node-3');
    assert.equal((await client(cluster.node('node-1').url, token).post('/api/faults', { clockSkewMs: 3_000 })).status, 200);
    const leader = client(cluster.node('node-3').url);
    // First a round must see the skew, then the slewed clock must settle (never stepping back).
    await waitFor('a round that sees the 3 s skew', 10_000, async () => {
      const rounds = (await leader.get('/api/sync')).body.rounds as { offsetsBeforeMs: Record<string, number> }[];
      return rounds.some((r) => Math.abs((r.offsetsBeforeMs['node-1'] ?? 0) - 3_000) < 50);
    });
    let spread = Infinity;
    await waitFor('a settled round with all clocks within 10 ms', 20_000, async () => {
      const round = (await leader.get('/api/sync')).body.rounds[0] as { slewing: string[]; spreadAfterMs: number; offsetsAfterMs: Record<string, number> };
      spread = round.spreadAfterMs;
      return round.slewing.length === 0 && Object.keys(round.offsetsAfterMs).length === 3 && round.spreadAfterMs <= 10;
    }, 200);
    assert.ok(spread <= 10, `spread ${spread} ms`);
    const skewed = (await client(cluster.node('node-1').url).get('/api/sync')).body.physical;
    assert.equal(skewed.skewMs, 3_000);
    assert.ok(Math.abs(skewed.targetOffsetMs + 3_000) < 50, `node-1 corrects by ${skewed.targetOffsetMs} ms`);
  });
});

describe('5 real nodes (Ring)', () => {
  let database: TestDatabase;
  let cluster: TestCluster;
  const all = ['node-1', 'node-2', 'node-3', 'node-4', 'node-5'];
  before(async () => {
    database = await createTestDatabase();
    cluster = await startCluster(5, database.url, { ELECTION_ALGORITHM: 'ring' });
  });
  after(async () => {
    await cluster?.stop();
    await database?.drop();
  });

  test('SIGKILL the leader: the four survivors agree within 2 s; the restarted node leads again', async () => {
    const first = await waitForAgreement(cluster, all, 20_000, 'node-5');
    assert.equal((await client(cluster.node('node-1').url).get('/api/election')).body.algorithm, 'ring');
    await cluster.kill('node-5');
    const killedAt = Date.now();
    const next = await waitForAgreement(cluster, all.slice(0, 4), 10_000, 'node-4');
    const failoverMs = Date.now() - killedAt;
    assert.ok(next.epoch > first.epoch);
    assert.ok(failoverMs <= FAILOVER_BOUND_MS, `failover took ${failoverMs} ms`);
    await cluster.start('node-5');
    await waitForAgreement(cluster, all, 10_000, 'node-5');
  });

  test('an election triggered through the API (admin) switches the whole cluster to Bully and reports its cost', async () => {
    const token = await cluster.adminToken();
    await waitForAgreement(cluster, all, 10_000, 'node-5');
    const anon = await client(cluster.node('node-2').url).post('/api/election', { algorithm: 'bully' });
    assert.equal(anon.status, 401);
    const res = await client(cluster.node('node-2').url, token).post('/api/election', { algorithm: 'bully', nodeId: 'node-1' });
    assert.equal(res.status, 200);
    assert.equal(res.body.election.ok, true);
    assert.equal(res.body.election.initiator, 'node-1');
    assert.equal(res.body.election.leader, 'node-5');
    assert.ok(res.body.election.messages > 0);
    const views = await Promise.all(all.map(async (id) => (await client(cluster.node(id).url).get('/api/election')).body.algorithm));
    assert.deepEqual(views, Array(5).fill('bully'));
    await waitForAgreement(cluster, all, 10_000, 'node-5');
  });

  test('a triggered election ends in a new epoch even when the sitting leader wins again (leader and follower, with and without a switch)', async () => {
    const token = await cluster.adminToken();
    let { epoch } = await waitForAgreement(cluster, all, 10_000, 'node-5');
    for (const [algorithm, nodeId] of [['ring', 'node-5'], ['ring', 'node-5'], ['ring', 'node-2'], ['bully', 'node-5'], ['bully', 'node-5'], ['bully', 'node-2']] as const) {
      const trigger = async () => {
        const res = await client(cluster.node('node-1').url, token).post('/api/election', { algorithm, nodeId });
        const election = res.body.election as { ok: boolean; leader: string; epoch: number };
        return { status: res.status, body: res.body, election };
      };
      let { status, body, election } = await trigger();
      // A Ring token skips a successor that does not ACK in time: on a loaded machine node-5 can
      // miss one round (node-4 wins, then node-5 takes over). Once, after the cluster agrees again.
      if (algorithm === 'ring' && election?.ok && election.leader !== 'node-5') {
        ({ epoch } = await waitForAgreement(cluster, all, 10_000, 'node-5'));
        ({ status, body, election } = await trigger());
      }
      assert.deepEqual([status, election.ok, election.leader], [200, true, 'node-5'], `${algorithm} from ${nodeId}: ${JSON.stringify(body)}`);
      assert.ok(election.epoch > epoch, `${algorithm} from ${nodeId}: epoch ${epoch} → ${election.epoch}`);
      ({ epoch } = await waitForAgreement(cluster, all, 10_000, 'node-5'));
    }
  });
});
