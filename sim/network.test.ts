import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimNetwork, type NetworkConditions } from './network';
import { createRandom } from '../core/random';
import { CoreTimers } from './scheduler';

interface Msg {
  readonly from: string;
  readonly to: string;
  readonly n: number;
}

function setup(conditions: NetworkConditions) {
  const down = new Set<string>();
  const scheduled: { time: number; msg: Msg }[] = [];
  const counts = { droppedMessages: 0, deliveredMessages: 0 };
  const network = new SimNetwork<Msg>({
    nodeIds: ['a', 'b', 'c'],
    conditions,
    rng: createRandom(7),
    isUp: (id) => !down.has(id),
    schedule: (time, msg) => scheduled.push({ time, msg }),
    counts,
  });
  return { network, down, scheduled, counts };
}

test('delays stay in range; loss and duplication happen at about their rates', () => {
  const { network, scheduled, counts } = setup({ lossRate: 0.2, duplicateRate: 0.3, minDelayMs: 5, maxDelayMs: 50 });
  for (let n = 0; n < 2000; n++) network.send(100, { from: 'a', to: 'b', n });
  assert.ok(scheduled.every((s) => s.time >= 105 && s.time < 150));
  const copies = new Map<number, number>();
  for (const s of scheduled) copies.set(s.msg.n, (copies.get(s.msg.n) ?? 0) + 1);
  assert.equal(copies.size + counts.droppedMessages, 2000);
  const lost = counts.droppedMessages / 2000;
  const doubled = [...copies.values()].filter((c) => c === 2).length / copies.size;
  assert.ok(lost > 0.15 && lost < 0.25, `lost ${lost}`);
  assert.ok(doubled > 0.25 && doubled < 0.35, `doubled ${doubled}`);
});

test('messages arrive only within a component and at live nodes', () => {
  const { network, down, counts } = setup({ lossRate: 0, minDelayMs: 1, maxDelayMs: 1 });
  network.partition([['a']]);
  assert.equal(network.arrives({ from: 'a', to: 'b', n: 1 }), false);
  assert.equal(network.arrives({ from: 'b', to: 'c', n: 2 }), true, 'unlisted nodes form one more group');
  network.heal();
  down.add('b');
  assert.equal(network.arrives({ from: 'a', to: 'b', n: 3 }), false);
  assert.deepEqual(counts, { droppedMessages: 2, deliveredMessages: 1 });
  assert.deepEqual(network.topology(9, 'heal'), { time: 9, kind: 'heal', up: ['a', 'c'], component: { a: 0, b: 0, c: 0 } });
});

test('a timer fires once, and only if not replaced or cancelled since', () => {
  const timers = new CoreTimers();
  const first = timers.set('tick');
  const second = timers.set('tick');
  assert.equal(timers.fire('tick', first), false);
  assert.equal(timers.fire('tick', second), true);
  assert.equal(timers.fire('tick', second), false);
  const third = timers.set('tick');
  timers.cancel('tick');
  assert.equal(timers.fire('tick', third), false);
});
