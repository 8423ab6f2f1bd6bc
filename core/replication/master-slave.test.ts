import assert from 'node:assert/strict';
import { test } from 'node:test';
import { catchUpId, createMasterSlave } from './master-slave';
import type {
  ReplicaState,
  ReplicationCore,
  ReplicationEffect,
  ReplicationEvent,
  ReplicationMessage,
  StepResult,
} from './replication';
import { createReplication } from './index';
import { amnesiacMaster, unconfirmedMaster } from '../../sim/replication/mutants';
import {
  PERFECT_NETWORK,
  ReplicationCluster,
  type ReadOutcome,
  type WriteOutcome,
} from '../../sim/replication/cluster';
import { emptyStore, write as storeWrite } from './store';

const IDS = ['node-1', 'node-2', 'node-3'];

function run(
  core: ReplicationCore,
  state: ReplicaState,
  events: readonly ReplicationEvent[],
): StepResult<ReplicaState> & { all: StepResult<ReplicaState>[] } {
  const all: StepResult<ReplicaState>[] = [];
  let s = state;
  for (const e of events) {
    const r = core.step(s, e);
    all.push(r);
    s = r.state;
  }
  return {
    state: s,
    send: all.flatMap((r) => r.send),
    effects: all.flatMap((r) => r.effects),
    all,
  };
}

const msg = (from: string, m: ReplicationMessage, now = 1000): ReplicationEvent => ({
  type: 'message',
  now,
  from,
  msg: m,
});
const results = (effects: readonly ReplicationEffect[]) =>
  effects.filter((e) => e.type === 'writeResult' || e.type === 'readResult');

/** node-3 as the master of epoch 1, caught up, with both slaves alive. */
function master(synchronous = true): { core: ReplicationCore; state: ReplicaState } {
  const core = createMasterSlave({ synchronous });
  const r = run(core, core.init('node-3', IDS), [
    { type: 'start', now: 1000 },
    { type: 'alive', now: 1000, ids: ['node-1', 'node-2'] },
    { type: 'leader', now: 1000, leader: 'node-3', epoch: 1 },
  ]);
  assert.equal(r.state.role, 'catching-up');
  assert.deepEqual(
    r.send.filter((o) => o.msg.type === 'sync').map((o) => o.to),
    ['node-1', 'node-2'],
  );
  const reply = msg('node-1', {
    type: 'syncReply',
    id: catchUpId(1),
    epoch: 1,
    digest: emptyStore().digest,
    seen: {},
    entries: [],
  });
  const ready = core.step(r.state, reply);
  assert.equal(ready.state.role, 'master', 'a majority (itself and node-1) answered');
  return { core, state: ready.state };
}

test('a write at a slave is forwarded to the master and answered with its entry', () => {
  const core = createMasterSlave();
  let s = run(core, core.init('node-1', IDS), [
    { type: 'start', now: 1000 },
    { type: 'write', now: 1000, requestId: 'w1', key: 'seat:1', value: 'x' }, // no master known yet: waits
  ]).state;
  const led = core.step(s, { type: 'leader', now: 1001, leader: 'node-3', epoch: 1 });
  assert.deepEqual(led.send, [
    {
      to: 'node-3',
      msg: {
        type: 'forwardWrite',
        epoch: 1,
        requestId: 'w1',
        key: 'seat:1',
        value: 'x',
        deleted: false,
        rank: 0,
      },
    },
  ]);
  s = led.state;
  const entry = storeWrite(emptyStore(), 'node-3', 'seat:1', 'x', 1002).entry;
  const done = core.step(
    s,
    msg('node-3', { type: 'writeReply', requestId: 'w1', ok: true, entry, replicas: 2 }),
  );
  assert.deepEqual(results(done.effects), [
    { type: 'writeResult', requestId: 'w1', ok: true, entry, token: { 'node-3': 1 }, replicas: 2 },
  ]);
  assert.equal(done.state.writes.size, 0);
});

test('synchronous: acknowledged after every live slave applied it (and a majority holds it)', () => {
  const { core, state } = master(true);
  const w = core.step(state, {
    type: 'write',
    now: 2000,
    requestId: 'w1',
    key: 'seat:1',
    value: 'x',
  });
  assert.deepEqual(
    w.send.map((o) => [o.to, o.msg.type]),
    [
      ['node-1', 'replicate'],
      ['node-2', 'replicate'],
    ],
  );
  assert.deepEqual(results(w.effects), []);
  const one = core.step(
    w.state,
    msg('node-1', { type: 'replicateAck', epoch: 1, dots: ['1@node-3'] }),
  );
  assert.deepEqual(results(one.effects), [], 'node-2 is alive and has not applied it');
  const both = core.step(
    one.state,
    msg('node-2', { type: 'replicateAck', epoch: 1, dots: ['1@node-3'] }),
  );
  assert.equal(results(both.effects)[0]?.type, 'writeResult');
  // A slave reported dead is not waited for; a majority still is.
  const dead = core.step(one.state, { type: 'peerDead', now: 2001, id: 'node-2' });
  assert.equal(results(dead.effects).length, 1);
  const alone = run(core, w.state, [
    { type: 'alive', now: 2001, ids: [] },
    { type: 'timer', now: 4000, name: 'write:w1', entropy: 0 },
  ]);
  const made = w.state.store.entries.get('seat:1')!;
  assert.deepEqual(
    results(alone.effects),
    [{ type: 'writeResult', requestId: 'w1', ok: false, error: 'timeout', entry: made }],
    'without a majority: never acknowledged (but the failure names the write the master made, which the session may wait for)',
  );
});

test('asynchronous: acknowledged as soon as the master has it', () => {
  const { core, state } = master(false);
  const w = core.step(state, {
    type: 'write',
    now: 2000,
    requestId: 'w1',
    key: 'seat:1',
    value: 'x',
  });
  assert.equal(results(w.effects)[0]?.type, 'writeResult');
  assert.equal(w.state.hintCount, 2, 'kept for the slaves until they acknowledge');
});

test('fencing: a slave keeps an old master’s entries but refuses to acknowledge; the old master steps down', () => {
  const core = createMasterSlave();
  const slave = run(core, core.init('node-1', IDS), [
    { type: 'leader', now: 1000, leader: 'node-2', epoch: 2 },
  ]).state;
  const entry = storeWrite(emptyStore(), 'node-3', 'seat:1', 'old', 1000).entry;
  const r = core.step(slave, msg('node-3', { type: 'replicate', epoch: 1, entries: [entry] }));
  assert.deepEqual(r.send, [{ to: 'node-3', msg: { type: 'refused', epoch: 2 } }]);
  assert.equal(r.state.store.entries.get('seat:1')?.value, 'old');

  const { state } = master(true);
  const pending = core.step(state, {
    type: 'write',
    now: 2000,
    requestId: 'w1',
    key: 'seat:1',
    value: 'x',
  }).state;
  const deposed = core.step(pending, msg('node-1', { type: 'refused', epoch: 2 }));
  assert.equal(deposed.state.role, 'follower');
  assert.equal(deposed.state.epoch, 2);
  assert.deepEqual(results(deposed.effects), [
    {
      type: 'writeResult',
      requestId: 'w1',
      ok: false,
      error: 'no-master',
      entry: pending.store.entries.get('seat:1')!,
    },
  ]);
  assert.equal(deposed.effects[0]?.type, 'persist', 'the new epoch is persisted first');
});

test('a new master waits for a majority to answer its catch-up before writing', () => {
  const core = createMasterSlave();
  const r = run(core, core.init('node-3', IDS), [
    { type: 'start', now: 1000 },
    { type: 'leader', now: 1000, leader: 'node-3', epoch: 1 },
    { type: 'write', now: 1001, requestId: 'w1', key: 'seat:1', value: 'x' },
  ]);
  assert.equal(r.state.role, 'catching-up');
  assert.equal(r.state.store.entries.size, 0, 'queued, not written');
  const acked = storeWrite(emptyStore(), 'node-2', 'seat:9', 'acked before', 900).entry;
  const reply = core.step(
    r.state,
    msg('node-2', {
      type: 'syncReply',
      id: catchUpId(1),
      epoch: 1,
      digest: emptyStore().digest,
      seen: { 'node-2': 1 },
      entries: [acked],
    }),
  );
  assert.equal(reply.state.role, 'master');
  assert.equal(reply.state.store.entries.get('seat:9')?.value, 'acked before');
  assert.equal(reply.state.store.entries.get('seat:1')?.value, 'x', 'the queued write went ahead');
});

test('a strong read at the master waits for a majority to confirm its epoch', () => {
  const { core, state } = master();
  const r = core.step(state, {
    type: 'read',
    now: 2000,
    requestId: 'r1',
    key: 'seat:1',
    consistency: 'strong',
  });
  assert.deepEqual(
    r.send.map((o) => o.msg.type),
    ['leaderCheck', 'leaderCheck'],
  );
  const refused = core.step(
    r.state,
    msg('node-1', { type: 'leaderCheckReply', epoch: 2, id: 'r1', ok: false }),
  );
  assert.deepEqual(results(refused.effects), [
    { type: 'readResult', requestId: 'r1', ok: false, error: 'no-master' },
  ]);
  const confirmed = core.step(
    r.state,
    msg('node-1', { type: 'leaderCheckReply', epoch: 1, id: 'r1', ok: true }),
  );
  assert.deepEqual(results(confirmed.effects), [
    {
      type: 'readResult',
      requestId: 'r1',
      ok: true,
      entry: null,
      entries: [],
      token: {},
      servedBy: 'node-3',
    },
  ]);
});

// Failover in the simulator: the new master is a node that missed an acknowledged write.

function failover(core: ReplicationCore): {
  written: WriteOutcome | undefined;
  read: ReadOutcome | undefined;
} {
  const ids = ['node-1', 'node-2', 'node-3'];
  const cluster = new ReplicationCluster({ seed: 3, core, nodeIds: ids, network: PERFECT_NETWORK });
  cluster.bootAll();
  cluster.runUntil(2000);
  assert.equal(cluster.state('node-3').role, 'master');
  cluster.partition([['node-2'], ['node-1', 'node-3']]);
  let written: WriteOutcome | undefined;
  cluster.write('s', 'node-3', 'seat:1', 'acknowledged', {}, (r) => (written = r));
  cluster.runUntil(cluster.now + 1000);
  assert.ok(written?.ok, 'acknowledged by node-3 and node-1 (a majority) once node-2 is suspected');
  assert.equal(cluster.replica('node-2').entries.size, 0);
  // The master is cut off; node-1 and node-2 elect node-2, which never received the write.
  cluster.partition([['node-3'], ['node-1', 'node-2']]);
  cluster.runUntil(cluster.now + 2000);
  assert.equal(cluster.state('node-2').role, 'master');
  let read: ReadOutcome | undefined;
  cluster.read('s', 'node-1', 'seat:1', 'strong', {}, (r) => (read = r));
  cluster.runUntil(cluster.now + 1000);
  return { written, read };
}

test('failover keeps acknowledged synchronous writes (and the check catches a master that skips the catch-up)', () => {
  const noBackgroundSync = { syncIntervalMs: 60_000 }; // only the catch-up can bring the write to node-2
  const good = failover(createReplication('master-slave', noBackgroundSync));
  assert.ok(good.read?.ok);
  assert.equal(good.read.entry?.value, 'acknowledged');
  assert.equal(good.read.servedBy, 'node-2');
  const bad = failover(amnesiacMaster(noBackgroundSync));
  assert.ok(bad.read?.ok);
  assert.equal(
    bad.read.entry,
    null,
    'the amnesiac new master answered from a replica that missed the write',
  );
});

test('a deposed master that has not heard the news cannot serve a strong read (unless it skips the check)', () => {
  for (const [core, expectOk] of [
    [createReplication('master-slave'), false],
    [unconfirmedMaster({}), true],
  ] as const) {
    const ids = ['node-1', 'node-2', 'node-3'];
    const cluster = new ReplicationCluster({
      seed: 4,
      core,
      nodeIds: ids,
      network: PERFECT_NETWORK,
      electionModel: {
        minDelayMs: 300,
        maxDelayMs: 300,
        maxNotifyMs: 0,
        maxDeposedNotifyMs: 10_000,
      },
    });
    cluster.bootAll();
    cluster.runUntil(2000);
    cluster.partition([['node-3'], ['node-1', 'node-2']]);
    cluster.runUntil(3000);
    assert.equal(cluster.state('node-3').role, 'master', 'still believes it leads');
    let read: ReadOutcome | undefined;
    cluster.read('s', 'node-3', 'seat:1', 'strong', {}, (r) => (read = r));
    cluster.runUntil(cluster.now + 2000);
    assert.equal(read?.ok, expectOk);
  }
});

test('a confirmed master answers a strong range read once its replica covers the session token, else fails stale-session', () => {
  const { core, state } = master();
  const range = { prefixes: ['booking:1:'] };
  const token = { 'node-2': 1 };
  const r = core.step(state, {
    type: 'read',
    now: 2000,
    requestId: 'r1',
    range,
    consistency: 'strong',
    token,
  });
  const confirmed = core.step(
    r.state,
    msg('node-1', { type: 'leaderCheckReply', epoch: 1, id: 'r1', ok: true }),
  );
  assert.deepEqual(
    results(confirmed.effects),
    [],
    'confirmed, but the write the session names is not here yet',
  );
  assert.equal(confirmed.state.reads.get('r1')?.phase, 'master-wait');
  const entry = storeWrite(emptyStore(), 'node-2', 'booking:1:a', 'mine', 1500).entry;
  const arrived = core.step(
    confirmed.state,
    msg('node-1', { type: 'syncEntries', id: 'x', epoch: 1, seen: {}, entries: [entry] }),
  );
  assert.deepEqual(
    results(arrived.effects).map(
      (e) => e.type === 'readResult' && e.ok && e.entries.map((x) => x.value),
    ),
    [['mine']],
  );
  const gaveUp = core.step(confirmed.state, {
    type: 'timer',
    now: 3000,
    name: 'read:r1',
    entropy: 0,
  });
  assert.deepEqual(results(gaveUp.effects), [
    { type: 'readResult', requestId: 'r1', ok: false, error: 'stale-session' },
  ]);
});
