import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createGossip } from './gossip';
import { createReplication } from './index';
import {
  handoverOf,
  persistedOf,
  readTimer,
  type ReplicaState,
  type ReplicationCore,
  type ReplicationEffect,
  type ReplicationEvent,
} from './replication';
import { emptyStore, write as storeWrite } from './store';

const IDS = ['node-1', 'node-2', 'node-3'];
const results = (effects: readonly ReplicationEffect[]) =>
  effects.filter((e) => e.type === 'writeResult' || e.type === 'readResult');

function started(self = 'node-1', core: ReplicationCore = createGossip()): ReplicaState {
  let s = core.init(self, IDS);
  s = core.step(s, { type: 'start', now: 1000 }).state;
  return core.step(s, { type: 'alive', now: 1000, ids: IDS }).state;
}

test('causal read: answered at once when covered, else waits, then asks peers, then fails', () => {
  const core = createGossip({ causalWaitMs: 300, readTimeoutMs: 1000 });
  const s = started('node-1', core);
  const token = { 'node-2': 1 };
  const waiting = core.step(s, {
    type: 'read',
    now: 2000,
    requestId: 'r1',
    key: 'seat:1',
    consistency: 'causal',
    token,
  });
  assert.deepEqual(results(waiting.effects), []);
  assert.deepEqual(waiting.effects, [{ type: 'setTimer', name: readTimer('r1'), afterMs: 300 }]);

  // The replica catches up meanwhile: answered with the entry and a grown token.
  const entry = storeWrite(emptyStore(), 'node-2', 'seat:1', 'x', 1500).entry;
  const caught = core.step(waiting.state, {
    type: 'message',
    now: 2100,
    from: 'node-2',
    msg: { type: 'replicate', epoch: 0, entries: [entry] },
  });
  assert.equal(caught.effects[0]?.type, 'persist');
  assert.deepEqual(results(caught.effects), [
    {
      type: 'readResult',
      requestId: 'r1',
      ok: true,
      entry,
      entries: [entry],
      token: { 'node-2': 1 },
      servedBy: 'node-1',
    },
  ]);

  // Or it does not: after the wait it asks every live peer, and takes an answer from one that covers the token.
  const asking = core.step(waiting.state, {
    type: 'timer',
    now: 2300,
    name: readTimer('r1'),
    entropy: 0,
  });
  assert.deepEqual(
    asking.send.map((o) => [o.to, o.msg.type]),
    [
      ['node-2', 'readRequest'],
      ['node-3', 'readRequest'],
    ],
  );
  const refused = core.step(asking.state, {
    type: 'message',
    now: 2301,
    from: 'node-3',
    msg: { type: 'readReply', requestId: 'r1', ok: false, error: 'stale-session' },
  });
  assert.deepEqual(results(refused.effects), []);
  const served = core.step(refused.state, {
    type: 'message',
    now: 2302,
    from: 'node-2',
    msg: { type: 'readReply', requestId: 'r1', ok: true, entries: [entry], covers: true },
  });
  assert.deepEqual(
    results(served.effects).map((e) => e.ok && e.type === 'readResult' && e.servedBy),
    ['node-2'],
  );
  const gaveUp = core.step(asking.state, {
    type: 'timer',
    now: 3300,
    name: readTimer('r1'),
    entropy: 0,
  });
  assert.deepEqual(results(gaveUp.effects), [
    { type: 'readResult', requestId: 'r1', ok: false, error: 'stale-session' },
  ]);
});

test('a peer answers a causal fetch with what it holds and whether it covers the token', () => {
  const core = createGossip();
  const s = started('node-2');
  const ask = (token: Record<string, number>): ReplicationEvent => ({
    type: 'message',
    now: 2000,
    from: 'node-1',
    msg: {
      type: 'readRequest',
      epoch: 0,
      requestId: 'r',
      selection: { key: 'k' },
      purpose: 'causal',
      token,
    },
  });
  assert.deepEqual(core.step(s, ask({ 'node-9': 1 })).send, [
    {
      to: 'node-1',
      msg: { type: 'readReply', requestId: 'r', ok: true, entries: [], covers: false },
    },
  ]);
  assert.deepEqual(core.step(s, ask({})).send, [
    {
      to: 'node-1',
      msg: { type: 'readReply', requestId: 'r', ok: true, entries: [], covers: true },
    },
  ]);
});

test('writes and reads answer with session tokens that only grow', () => {
  const core = createGossip();
  const w = core.step(started(), {
    type: 'write',
    now: 2000,
    requestId: 'w1',
    key: 'k',
    value: 1,
    token: { 'node-3': 4 },
  });
  assert.deepEqual(
    results(w.effects).map((e) => e.ok && e.token),
    [{ 'node-3': 4, 'node-1': 1 }],
  );
  const r = core.step(w.state, {
    type: 'read',
    now: 2001,
    requestId: 'r1',
    key: 'k',
    consistency: 'eventual',
    token: { 'node-3': 2 },
  });
  assert.deepEqual(
    results(r.effects).map((e) => e.ok && e.token),
    [{ 'node-3': 2, 'node-1': 1 }],
  );
});

test('requests beyond maxPendingRequests fail with busy; stop fails what is pending', () => {
  const core = createGossip({ maxPendingRequests: 1 });
  const s = started('node-1', core);
  const one = core.step(s, {
    type: 'read',
    now: 2000,
    requestId: 'r1',
    key: 'k',
    consistency: 'strong',
  });
  const two = core.step(one.state, {
    type: 'read',
    now: 2000,
    requestId: 'r2',
    key: 'k',
    consistency: 'strong',
  });
  assert.deepEqual(results(two.effects), [
    { type: 'readResult', requestId: 'r2', ok: false, error: 'busy' },
  ]);
  const stopped = core.step(one.state, { type: 'stop', now: 2001 });
  assert.deepEqual(results(stopped.effects), [
    { type: 'readResult', requestId: 'r1', ok: false, error: 'stopped' },
  ]);
  assert.equal(stopped.state.ticking, false);
});

test('configure changes settings at runtime and refuses nonsense', () => {
  const core = createReplication('multi-master');
  const s = core.step(started('node-1', core), {
    type: 'configure',
    now: 0,
    config: { n: 5, r: 3, w: 3 },
  }).state;
  assert.deepEqual([s.config.n, s.config.r, s.config.w], [5, 3, 3]);
  assert.throws(() => core.step(s, { type: 'configure', now: 0, config: { w: 0 } }), RangeError);
  assert.throws(() => createGossip({ gossipIntervalMs: -1 }), RangeError);
});

test('a restart from the persisted replica keeps entries, seen and epoch', () => {
  const core = createReplication('master-slave');
  let s = core.init('node-1', IDS);
  const effects: ReplicationEffect[] = [];
  const entry = storeWrite(emptyStore(), 'node-3', 'seat:1', 'x', 1000).entry;
  for (const e of [
    { type: 'leader', now: 1, leader: 'node-3', epoch: 4 },
    {
      type: 'message',
      now: 2,
      from: 'node-3',
      msg: { type: 'replicate', epoch: 4, entries: [entry] },
    },
  ] as const satisfies readonly ReplicationEvent[]) {
    const r = core.step(s, e);
    effects.push(...r.effects);
    s = r.state;
  }
  const persist = effects.filter((e) => e.type === 'persist');
  const last = persist.at(-1);
  assert.ok(last && last.type === 'persist');
  const restarted = core.init('node-1', IDS, {
    entries: persist.flatMap((p) => (p.type === 'persist' ? p.entries : [])),
    meta: last.meta,
  });
  assert.equal(restarted.epoch, 4);
  assert.deepEqual(restarted.store.digest, s.store.digest);
  assert.deepEqual({ ...restarted.store.seen }, { 'node-3': 1 });
  const again = core.init('node-1', IDS, persistedOf(s));
  assert.deepEqual(again.store.digest, s.store.digest);
  // A new core of the same node (another strategy, new members) takes the store over as it is:
  // rebuilding it on every membership change blocked a node for seconds per million documents.
  const next = createReplication('gossip', {}).init('node-1', [...IDS, 'node-4'], handoverOf(s));
  assert.equal(next.store, s.store);
  assert.equal(next.epoch, 4);
});
