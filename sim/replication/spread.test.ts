import assert from 'node:assert/strict';
import { test } from 'node:test';
import { measureSpread, pushEpidemicRounds, SPREAD_SHARES } from './spread';

test('gossip informs every node of a write within a few rounds', () => {
  const r = measureSpread({ mode: 'gossip', nodes: 40, trials: 4 });
  assert.equal(r.incomplete, 0);
  assert.equal(r.ackMs.p99, 0, 'W = 1: acknowledged at once');
  const all = r.shares.at(-1);
  assert.ok(all && all.nodes === 40);
  assert.ok(all.rounds.p99 > 0.5 && all.rounds.p99 < 6, `rounds to 100%: ${all.rounds.p99}`);
  const half = r.shares[0];
  assert.ok(half && half.ms.p50 <= all.ms.p50);
  assert.equal(r.shares.length, SPREAD_SHARES.length);
});

test('master-slave (synchronous) and multi-master reach every replica about one network delay after the write', () => {
  for (const mode of ['master-slave', 'multi-master'] as const) {
    const r = measureSpread({ mode, nodes: 20, trials: 4 });
    assert.equal(r.incomplete, 0, mode);
    assert.ok((r.shares.at(-1)?.ms.p99 ?? Infinity) < 100, `${mode}: ${JSON.stringify(r.shares.at(-1))}`);
    if (mode === 'master-slave') assert.equal(r.afterAckMs.p99, 0, 'every live slave had it before the acknowledgement');
  }
});

test('the push-epidemic model behind Serf’s figure', () => {
  assert.equal(pushEpidemicRounds(1000, 3, 0.9999), 9); // 9 × 200 ms ≈ 1.8 s; Serf publishes ≈ 2.2 s
  assert.ok(pushEpidemicRounds(100, 3, 0.9999) < pushEpidemicRounds(1000, 3, 0.9999));
});
