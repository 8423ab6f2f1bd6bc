import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  appClock,
  applyCorrection,
  bestSamples,
  estimateOffset,
  initialOffset,
  offsetAt,
  pairwiseBoundMs,
  planCorrections,
  slewCompleteAt,
  syncClock,
  type ClockSample,
} from './berkeley';

const config = { outlierBoundMs: 50, maxRttMs: 100 };

test('estimate compensates half the round trip', () => {
  // Sent at 100, back at 120 (rtt 20); the node said 1000 → it reads ≈ 1010 at 120.
  const e = estimateOffset({ nodeId: 'b', sentAt: 100, receivedAt: 120, remoteClock: 1000 });
  assert.deepEqual(e, { nodeId: 'b', offsetMs: 890, rttMs: 20, errorMs: 10 });
});

test('the sample with the smallest round trip wins; invalid ones are dropped', () => {
  const samples: ClockSample[] = [
    { nodeId: 'b', sentAt: 0, receivedAt: 30, remoteClock: 5 },
    { nodeId: 'b', sentAt: 40, receivedAt: 44, remoteClock: 50 },
    { nodeId: 'b', sentAt: 50, receivedAt: 49, remoteClock: 60 }, // negative rtt
    { nodeId: 'c', sentAt: 0, receivedAt: 500, remoteClock: 5 }, // beyond maxRttMs
  ];
  const best = bestSamples(samples, 100);
  assert.equal(best.get('b')?.sentAt, 40);
  assert.equal(best.has('c'), false);
  const plan = planCorrections('a', samples, config);
  assert.deepEqual(plan.excluded, [{ nodeId: 'c', reason: 'no-valid-sample' }]);
  assert.equal(plan.corrections.c, undefined);
});

test('outliers are left out of the average but still corrected onto it', () => {
  const at = (nodeId: string, offset: number): ClockSample => ({
    nodeId,
    sentAt: 0,
    receivedAt: 10,
    remoteClock: offset + 5,
  });
  const plan = planCorrections('a', [at('b', 10), at('c', 20), at('d', 5000)], config);
  assert.deepEqual([...plan.included].sort(), ['a', 'b', 'c']);
  assert.equal(plan.averageOffsetMs, 10);
  assert.equal(plan.corrections.a, 10);
  assert.equal(plan.corrections.b, 0);
  assert.equal(plan.corrections.c, -10);
  assert.equal(plan.corrections.d, -4990);
});

test('an even split with nobody near the median falls back to the master clock', () => {
  const plan = planCorrections(
    'a',
    [{ nodeId: 'b', sentAt: 0, receivedAt: 0, remoteClock: 1000 }],
    config,
  );
  assert.deepEqual(plan.included, ['a']);
  assert.equal(plan.corrections.b, -1000);
});

test('after corrections every estimated clock is the same', () => {
  const sample = fc.record({
    nodeId: fc.constantFrom('b', 'c', 'd', 'e'),
    sentAt: fc.integer({ min: 0, max: 1000 }),
    rtt: fc.integer({ min: 0, max: 100 }),
    remoteClock: fc.integer({ min: -500, max: 1500 }),
  });
  fc.assert(
    fc.property(fc.array(sample, { maxLength: 12 }), (raw) => {
      const samples = raw.map((s) => ({
        nodeId: s.nodeId,
        sentAt: s.sentAt,
        receivedAt: s.sentAt + s.rtt,
        remoteClock: s.remoteClock,
      }));
      const plan = planCorrections('a', samples, config);
      for (const e of plan.estimates) {
        assert.ok(
          Math.abs(e.offsetMs + (plan.corrections[e.nodeId] ?? NaN) - plan.averageOffsetMs) < 1e-9,
        );
      }
    }),
  );
});

test('the stated bound holds: true clocks end within dmax − dmin of each other', () => {
  const dmin = 1;
  const dmax = 40;
  const node = fc.record({
    offset: fc.double({ min: -1000, max: 1000, noNaN: true }),
    delays: fc.array(
      fc.tuple(
        fc.double({ min: dmin, max: dmax, noNaN: true }),
        fc.double({ min: dmin, max: dmax, noNaN: true }),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  });
  fc.assert(
    fc.property(fc.array(node, { minLength: 1, maxLength: 6 }), (nodes) => {
      // Master time is true time; node i reads true time + offset_i.
      const samples: ClockSample[] = [];
      let t = 0;
      nodes.forEach((n, i) => {
        for (const [request, reply] of n.delays) {
          samples.push({
            nodeId: `n${i}`,
            sentAt: t,
            receivedAt: t + request + reply,
            remoteClock: t + request + n.offset,
          });
          t += 1000;
        }
      });
      const plan = planCorrections('master', samples, { outlierBoundMs: 5000, maxRttMs: 2 * dmax });
      const finalOffsets = [
        plan.corrections.master ?? NaN,
        ...nodes.map((n, i) => n.offset + (plan.corrections[`n${i}`] ?? NaN)),
      ];
      const bound = pairwiseBoundMs({
        measurementErrorMs: dmax - dmin,
        maxDriftPpm: 0,
        syncIntervalMs: 0,
        roundDurationMs: 0,
      });
      assert.ok(Math.max(...finalOffsets) - Math.min(...finalOffsets) <= bound + 1e-6);
    }),
  );
});

test('slewed offset: forward corrections step, backward ones slew at the named rate', () => {
  let s = initialOffset(0.5);
  s = applyCorrection(s, 100, 1000);
  assert.equal(offsetAt(s, 1000), 100);
  s = applyCorrection(s, -60, 2000);
  assert.equal(offsetAt(s, 2000), 100);
  assert.equal(offsetAt(s, 2040), 80); // 40 ms local → 20 ms of slew
  assert.equal(offsetAt(s, 2120), 40);
  assert.equal(offsetAt(s, 9999), 40);
  assert.equal(slewCompleteAt(s), 2120);
  assert.equal(syncClock(s, 2000), 2040); // reports where it is converging to
  assert.throws(() => initialOffset(1));
});

test('the app clock never goes backwards and reaches the sum of corrections', () => {
  const step = fc.record({
    delta: fc.double({ min: -500, max: 500, noNaN: true }),
    advance: fc.double({ min: 0, max: 300, noNaN: true }),
  });
  fc.assert(
    fc.property(
      fc.double({ min: 0.01, max: 0.99, noNaN: true }),
      fc.array(step, { maxLength: 20 }),
      (rate, steps) => {
        let s = initialOffset(rate);
        let now = 0;
        let last = appClock(s, now);
        let sum = 0;
        for (const { delta, advance } of steps) {
          for (const f of [0.25, 0.5, 1]) {
            const c = appClock(s, now + advance * f);
            assert.ok(c >= last - 1e-9, `clock went back ${last} → ${c}`);
            last = c;
          }
          now += advance;
          s = applyCorrection(s, delta, now);
          sum += delta;
          const c = appClock(s, now);
          assert.ok(c >= last - 1e-9);
          last = c;
        }
        assert.ok(Math.abs(offsetAt(s, slewCompleteAt(s)) - sum) < 1e-6);
      },
    ),
  );
});
