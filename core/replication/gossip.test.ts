import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createGossip } from './gossip';
import {
  pickPeers,
  type ReplicaState,
  type ReplicationCore,
  type ReplicationEvent,
  type Outgoing,
} from './replication';
import { contentOf } from './store';

const IDS = ['node-1', 'node-2', 'node-3', 'node-4', 'node-5', 'node-6'];

function node(core: ReplicationCore, self: string): ReplicaState {
  let s = core.init(self, IDS);
  s = core.step(s, { type: 'start', now: 1000 }).state;
  return core.step(s, { type: 'alive', now: 1000, ids: IDS }).state;
}

test('each round contacts `fanout` distinct live peers, chosen by the timer entropy', () => {
  const core = createGossip({ fanout: 3 });
  const s = node(core, 'node-1');
  const tick = (entropy: number): string[] =>
    core.step(s, { type: 'timer', now: 1200, name: 'tick', entropy }).send.map((o) => o.to);
  const a = tick(42);
  assert.equal(new Set(a).size, 3);
  assert.ok(!a.includes('node-1'));
  assert.deepEqual(tick(42), a, 'the same entropy, the same peers');
  const seen = new Set(Array.from({ length: 50 }, (_, i) => tick(i)).flat());
  assert.equal(seen.size, 5, 'every peer gets picked');
  const r = core.step(s, { type: 'timer', now: 1200, name: 'tick', entropy: 1 });
  assert.deepEqual(r.effects, [{ type: 'setTimer', name: 'tick', afterMs: 200 }]);
  assert.deepEqual(pickPeers(['a', 'b'], 3, 5).sort(), ['a', 'b']);
});

test('a push-pull exchange sends only what the other side lacks, both ways', () => {
  const core = createGossip();
  let a = node(core, 'node-1');
  let b = node(core, 'node-2');
  const write = (s: ReplicaState, key: string, value: string): ReplicaState =>
    core.step(s, { type: 'write', now: 2000, requestId: `${key}-${value}`, key, value }).state;
  for (let i = 0; i < 30; i++) a = write(a, `seat:${i}`, 'shared');
  // b already has everything a wrote (one earlier exchange); then each writes one more key.
  b = deliverAll(core, { 'node-1': a, 'node-2': b }, 'node-1', 'node-2')['node-2'] as ReplicaState;
  a = write(a, 'seat:a', 'only a');
  b = write(b, 'seat:b', 'only b');
  const log: Outgoing[] = [];
  const after = deliverAll(core, { 'node-1': a, 'node-2': b }, 'node-1', 'node-2', log);
  const shipped = log.flatMap((o) =>
    'entries' in o.msg ? o.msg.entries.map((e) => `${o.to}<-${e.key}`) : [],
  );
  assert.deepEqual(shipped.sort(), ['node-1<-seat:b', 'node-2<-seat:a']);
  assert.equal(
    contentOf((after['node-1'] as ReplicaState).store),
    contentOf((after['node-2'] as ReplicaState).store),
  );
  assert.deepEqual(
    { ...(after['node-2'] as ReplicaState).store.seen },
    { 'node-1': 31, 'node-2': 1 },
  );
});

/** Run one exchange from `from` to `to`, delivering every message until quiet. */
function deliverAll(
  core: ReplicationCore,
  states: Record<string, ReplicaState>,
  from: string,
  to: string,
  log: Outgoing[] = [],
): Record<string, ReplicaState> {
  const out = { ...states };
  const first = out[from] as ReplicaState;
  const queue: { from: string; o: Outgoing }[] = [
    {
      from,
      o: {
        to,
        msg: {
          type: 'sync',
          id: 'g',
          epoch: 0,
          digest: first.store.digest,
          seen: first.store.seen,
        },
      },
    },
  ];
  while (queue.length > 0) {
    const { from: sender, o } = queue.shift() as { from: string; o: Outgoing };
    log.push(o);
    const event: ReplicationEvent = { type: 'message', now: 3000, from: sender, msg: o.msg };
    const r = core.step(out[o.to] as ReplicaState, event);
    out[o.to] = r.state;
    for (const next of r.send) queue.push({ from: o.to, o: next });
  }
  return out;
}

test('a strong read needs every replica (W = 1)', () => {
  const core = createGossip();
  const s = node(core, 'node-1');
  const r = core.step(s, {
    type: 'read',
    now: 2000,
    requestId: 'r1',
    key: 'seat:1',
    consistency: 'strong',
  });
  assert.deepEqual(
    r.send.map((o) => o.to),
    IDS.filter((id) => id !== 'node-1'),
  );
  const read = r.state.reads.get('r1');
  assert.equal(read?.needed, IDS.length);
});
