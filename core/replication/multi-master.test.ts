import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMultiMaster, preferenceList, rangeQuorum } from './multi-master';
import type {
  ReplicaState,
  ReplicationCore,
  ReplicationEffect,
  ReplicationEvent,
  ReplicationMessage,
} from './replication';
import {
  ReplicationCluster,
  type ReadOutcome,
  type WriteOutcome,
} from '../../sim/replication/cluster';
import { emptyStore, write as storeWrite } from './store';

const IDS = ['node-1', 'node-2', 'node-3', 'node-4', 'node-5'];
const msg = (from: string, m: ReplicationMessage, now = 1000): ReplicationEvent => ({
  type: 'message',
  now,
  from,
  msg: m,
});
const results = (effects: readonly ReplicationEffect[]) =>
  effects.filter((e) => e.type === 'writeResult' || e.type === 'readResult');

function node(self: string, config = {}): { core: ReplicationCore; state: ReplicaState } {
  const core = createMultiMaster(config);
  let state = core.init(self, IDS);
  state = core.step(state, { type: 'start', now: 1000 }).state;
  state = core.step(state, { type: 'alive', now: 1000, ids: IDS }).state;
  return { core, state };
}

test('preference lists: n distinct members, the same on every node, spread over the cluster', () => {
  const list = preferenceList('seat:1', IDS, 3);
  assert.equal(new Set(list).size, 3);
  assert.deepEqual(preferenceList('seat:1', [...IDS].reverse(), 3), list);
  assert.equal(preferenceList('seat:1', IDS, 9).length, 5);
  const firsts = new Set(
    Array.from({ length: 200 }, (_, i) => preferenceList(`seat:${i}`, IDS, 3)[0]),
  );
  assert.equal(firsts.size, 5, 'every node leads some keys');
});

test('a write goes to every peer and is acknowledged once W of its preference list hold it', () => {
  const key = 'seat:1';
  const pref = preferenceList(key, IDS, 3);
  const coordinator = IDS.find((id) => !pref.includes(id)) ?? 'node-1'; // outside the list: it does not count
  const { core, state } = node(coordinator, { n: 3, w: 2 });
  const w = core.step(state, { type: 'write', now: 2000, requestId: 'w1', key, value: 'x' });
  assert.equal(w.send.filter((o) => o.msg.type === 'replicate').length, 4);
  const dot = `1@${coordinator}`;
  const other = IDS.find((id) => id !== coordinator && !pref.includes(id)) ?? '';
  const r1 = core.step(w.state, msg(other, { type: 'replicateAck', epoch: 0, dots: [dot] }));
  const r2 = core.step(
    r1.state,
    msg(pref[0] ?? '', { type: 'replicateAck', epoch: 0, dots: [dot] }),
  );
  assert.deepEqual(
    results([...r1.effects, ...r2.effects]),
    [],
    'one of the preference list is not enough',
  );
  const r3 = core.step(
    r2.state,
    msg(pref[1] ?? '', { type: 'replicateAck', epoch: 0, dots: [dot] }),
  );
  assert.deepEqual(
    results(r3.effects).map((e) => e.ok && e.type === 'writeResult' && e.replicas),
    [2],
  );
  assert.equal(r3.state.hintCount, 1, 'the last peer still owes an acknowledgement');
});

test('hinted handoff: a peer that was down gets the write when it comes back', () => {
  const { core, state } = node('node-1', { w: 1 });
  const down = core.step(state, { type: 'peerDead', now: 1500, id: 'node-5' }).state;
  const w = core.step(down, {
    type: 'write',
    now: 2000,
    requestId: 'w1',
    key: 'seat:1',
    value: 'x',
  });
  const acks = ['node-2', 'node-3', 'node-4'].map((id) =>
    msg(id, { type: 'replicateAck', epoch: 0, dots: ['1@node-1'] }),
  );
  let s = w.state;
  for (const a of acks) s = core.step(s, a).state;
  const retry = core.step(s, { type: 'timer', now: 2300, name: 'retry', entropy: 1 });
  assert.deepEqual(retry.send, [], 'no resend to a dead peer');
  const back = core.step(retry.state, { type: 'peerAlive', now: 2400, id: 'node-5' });
  assert.deepEqual(
    back.send.map((o) => [o.to, o.msg.type]),
    [['node-5', 'replicate']],
  );
  const done = core.step(
    back.state,
    msg('node-5', { type: 'replicateAck', epoch: 0, dots: ['1@node-1'] }),
  );
  assert.equal(done.state.hintCount, 0);
});

test('read repair: a strong read answers with the newest reply and repairs the stale replica', () => {
  const key = 'seat:1';
  const pref = preferenceList(key, IDS, 3);
  const [a, b] = pref as [string, string];
  const coordinator = IDS.find((id) => !pref.includes(id)) ?? '';
  const { core, state } = node(coordinator, { n: 3, r: 2 });
  const older = storeWrite(emptyStore(), 'node-9', key, 'old', 1000);
  const newer = storeWrite(older.store, 'node-9', key, 'new', 1001).entry;
  const r = core.step(state, {
    type: 'read',
    now: 2000,
    requestId: 'r1',
    key,
    consistency: 'strong',
  });
  assert.deepEqual(r.send.map((o) => o.to).sort(), [...pref].sort());
  const one = core.step(
    r.state,
    msg(a, { type: 'readReply', requestId: 'r1', ok: true, entries: [older.entry], covers: true }),
  );
  const two = core.step(
    one.state,
    msg(b, { type: 'readReply', requestId: 'r1', ok: true, entries: [newer], covers: true }),
  );
  assert.deepEqual(
    results(two.effects).map((e) => e.ok && e.type === 'readResult' && e.entry?.value),
    ['new'],
  );
  assert.deepEqual(two.send, [{ to: a, msg: { type: 'replicate', epoch: 0, entries: [newer] } }]);
  const late = core.step(
    two.state,
    msg(pref[2] ?? '', { type: 'readReply', requestId: 'r1', ok: true, entries: [], covers: true }),
  );
  assert.deepEqual(
    late.send,
    [{ to: pref[2], msg: { type: 'replicate', epoch: 0, entries: [newer] } }],
    'late repliers are repaired too',
  );
});

function staleReads(r: number, w: number): number {
  const cluster = new ReplicationCluster({
    seed: 9,
    core: createMultiMaster({ n: 3, r, w, syncIntervalMs: 60_000, retryIntervalMs: 60_000 }),
    nodeIds: IDS,
    network: { lossRate: 0, duplicateRate: 0, minDelayMs: 1, maxDelayMs: 40 },
  });
  cluster.bootAll();
  cluster.runUntil(1000);
  let stale = 0;
  for (let i = 0; i < 40; i++) {
    let written: WriteOutcome | undefined;
    cluster.write('s', IDS[i % 5] ?? '', 'seat:1', `v${i}`, {}, (x) => (written = x));
    while (written === undefined) cluster.runUntil(cluster.now + 1);
    let read: ReadOutcome | undefined;
    cluster.read('s', IDS[(i + 2) % 5] ?? '', 'seat:1', 'strong', {}, (x) => (read = x));
    while (read === undefined) cluster.runUntil(cluster.now + 1);
    if (!read.ok || read.entry?.value !== `v${i}`) stale += 1;
  }
  return stale;
}

test('with R + W > N a strong read returns the acknowledged write; with R + W ≤ N it may not', () => {
  assert.equal(staleReads(2, 2), 0);
  assert.ok(staleReads(1, 1) > 0);
});

test('a strong range read asks every member, needs all but n − r of them, merges the newest per key and repairs', () => {
  assert.equal(rangeQuorum(5, { n: 3, r: 2 }), 4);
  assert.equal(rangeQuorum(3, { n: 3, r: 2 }), 2);
  assert.equal(rangeQuorum(1, { n: 3, r: 2 }), 1);
  const { core, state } = node('node-1', { n: 3, r: 2 });
  const range = { prefixes: ['booking:1:'] };
  const r = core.step(state, {
    type: 'read',
    now: 2000,
    requestId: 'r1',
    range,
    consistency: 'strong',
  });
  assert.deepEqual(
    r.send.map((o) => o.to).sort(),
    IDS.filter((id) => id !== 'node-1'),
  );
  const a1 = storeWrite(emptyStore(), 'node-9', 'booking:1:a', 'old', 1000);
  const a2 = storeWrite(a1.store, 'node-9', 'booking:1:a', 'new', 1001).entry;
  const b = storeWrite(emptyStore(), 'node-8', 'booking:1:b', 'b', 1000).entry;
  const reply = (from: string, entries: (typeof b)[]) =>
    msg(from, { type: 'readReply', requestId: 'r1', ok: true, entries, covers: true });
  let s = core.step(r.state, reply('node-2', [a1.entry]));
  s = core.step(s.state, reply('node-3', [a2]));
  assert.deepEqual(
    results(s.effects),
    [],
    'three of the four replies needed (node-1 counts itself)',
  );
  s = core.step(s.state, reply('node-4', [b]));
  const [answer] = results(s.effects);
  assert.ok(answer?.type === 'readResult' && answer.ok);
  assert.deepEqual(
    answer.entries.map((e) => e.value),
    ['new', 'b'],
  );
  const repairs = s.send
    .filter((o) => o.msg.type === 'replicate')
    .map((o) => [o.to, o.msg.type === 'replicate' ? o.msg.entries.map((e) => e.value) : []]);
  assert.deepEqual(repairs.sort(), [
    ['node-2', ['new', 'b']],
    ['node-3', ['b']],
    ['node-4', ['new']],
  ]);
});

test('a strong read answers only with a reply that covers the session token; asks again, then fails stale-session', () => {
  const { core, state } = node('node-1', { n: 3, r: 2, readTimeoutMs: 1000, retryIntervalMs: 250 });
  const token = { 'node-7': 1 };
  const key = 'seat:1';
  const pref = preferenceList(key, IDS, 3).filter((id) => id !== 'node-1');
  const r = core.step(state, {
    type: 'read',
    now: 2000,
    requestId: 'r1',
    key,
    consistency: 'strong',
    token,
  });
  const uncovered = (from: string) =>
    msg(from, { type: 'readReply', requestId: 'r1', ok: true, entries: [], covers: false });
  let s = core.step(r.state, uncovered(pref[0]!));
  s = core.step(s.state, uncovered(pref[1]!));
  assert.deepEqual(results(s.effects), [], 'a quorum, but nobody has seen the token');
  const retry = core.step(s.state, { type: 'timer', now: 2250, name: 'retry', entropy: 0 });
  assert.deepEqual(
    retry.send
      .filter((o) => o.msg.type === 'readRequest')
      .map((o) => o.to)
      .sort(),
    [...preferenceList(key, IDS, 3)].filter((id) => id !== 'node-1').sort(),
  );
  const entry = storeWrite(emptyStore(), 'node-7', key, 'x', 1500).entry;
  const covered = core.step(
    retry.state,
    msg(pref[0]!, { type: 'readReply', requestId: 'r1', ok: true, entries: [entry], covers: true }),
  );
  assert.deepEqual(
    results(covered.effects).map((e) => e.type === 'readResult' && e.ok && e.entry?.value),
    ['x'],
  );
  const gaveUp = core.step(retry.state, { type: 'timer', now: 3000, name: 'read:r1', entropy: 0 });
  assert.deepEqual(results(gaveUp.effects), [
    { type: 'readResult', requestId: 'r1', ok: false, error: 'stale-session' },
  ]);
});

test('a strong read is refused at once when fewer replicas are alive than its quorum needs', () => {
  const { core, state } = node('node-1', { n: 3, r: 2 });
  const down = core.step(state, { type: 'alive', now: 1500, ids: ['node-2'] }).state;
  const r = core.step(down, {
    type: 'read',
    now: 2000,
    requestId: 'r1',
    range: { prefixes: ['booking:'] },
    consistency: 'strong',
  });
  assert.deepEqual(results(r.effects), [
    { type: 'readResult', requestId: 'r1', ok: false, error: 'no-quorum' },
  ]);
  assert.deepEqual(r.send, []);
});
