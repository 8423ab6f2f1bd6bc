import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventQueue } from '../sim/event-queue';
import { createRandom } from './random';

test('the same seed gives the same sequence; another seed another one', () => {
  const draw = (seed: number): number[] => {
    const r = createRandom(seed);
    return Array.from({ length: 20 }, () => r.next());
  };
  assert.deepEqual(draw(42), draw(42));
  assert.notDeepEqual(draw(42), draw(43));
  for (const x of draw(1)) assert.ok(x >= 0 && x < 1);
});

test('int stays in range and hits both ends', () => {
  const r = createRandom(5);
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) seen.add(r.int(3, 7));
  assert.deepEqual([...seen].sort(), [3, 4, 5, 6, 7]);
});

test('events pop in (time, seq) order', () => {
  const q = new EventQueue<string>();
  const r = createRandom(9);
  const pushed: [number, number, string][] = [];
  for (let i = 0; i < 500; i++) {
    const time = r.int(0, 50);
    q.push(time, `e${i}`);
    pushed.push([time, i, `e${i}`]);
  }
  pushed.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const popped: string[] = [];
  for (let e = q.pop(); e !== undefined; e = q.pop()) popped.push(e.item);
  assert.deepEqual(
    popped,
    pushed.map((p) => p[2]),
  );
});
