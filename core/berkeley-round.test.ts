import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { startMeasurement, stepMeasurement, type Measurement } from './berkeley-round';

test('polls every peer, one poll in flight each, until each gave its samples', () => {
  const first = startMeasurement(['b', 'c'], 2, 100);
  assert.deepEqual(first.polls, [
    { to: 'b', index: 0 },
    { to: 'c', index: 0 },
  ]);
  const b0 = stepMeasurement(first.state, {
    type: 'reply',
    from: 'b',
    index: 0,
    remoteClock: 150,
    now: 104,
  });
  assert.deepEqual(
    b0.polls,
    [{ to: 'b', index: 1 }],
    'the next poll goes when the last is answered',
  );
  assert.deepEqual(b0.state.samples, [
    { nodeId: 'b', sentAt: 100, receivedAt: 104, remoteClock: 150 },
  ]);
  const b1 = stepMeasurement(b0.state, {
    type: 'reply',
    from: 'b',
    index: 1,
    remoteClock: 153,
    now: 106,
  });
  assert.deepEqual(b1.state.samples[1], {
    nodeId: 'b',
    sentAt: 104,
    receivedAt: 106,
    remoteClock: 153,
  });
  assert.equal(b1.state.done, false, 'c has not answered');
  const c = stepMeasurement(b1.state, { type: 'failed', from: 'c', index: 0 });
  assert.equal(c.state.done, true, 'a failed poll ends its peer');
  assert.deepEqual(c.polls, []);
});

test('a timeout ends the measurement with the samples it has; late replies change nothing', () => {
  const first = startMeasurement(['b', 'c'], 3, 0);
  const b = stepMeasurement(first.state, {
    type: 'reply',
    from: 'b',
    index: 0,
    remoteClock: 5,
    now: 2,
  });
  const ended = stepMeasurement(b.state, { type: 'timeout' });
  assert.equal(ended.state.done, true);
  assert.equal(ended.state.samples.length, 1);
  const late = stepMeasurement(ended.state, {
    type: 'reply',
    from: 'c',
    index: 0,
    remoteClock: 9,
    now: 3,
  });
  assert.equal(late.state, ended.state);
});

test('no peers: done at once', () => {
  const { state, polls } = startMeasurement([], 3, 0);
  assert.equal(state.done, true);
  assert.deepEqual(polls, []);
});

test('any order of replies, duplicates and strays: each peer gives at most its samples', () => {
  const peers = ['b', 'c', 'd'];
  const event = fc.oneof(
    fc.record({
      type: fc.constant('reply' as const),
      from: fc.constantFrom(...peers, 'x'),
      index: fc.integer({ min: 0, max: 3 }),
      remoteClock: fc.integer(),
      now: fc.integer({ min: 0, max: 1000 }),
    }),
    fc.record({
      type: fc.constant('failed' as const),
      from: fc.constantFrom(...peers),
      index: fc.integer({ min: 0, max: 3 }),
    }),
  );
  fc.assert(
    fc.property(fc.array(event, { maxLength: 40 }), (events) => {
      let state: Measurement = startMeasurement(peers, 3, 0).state;
      for (const e of events) {
        const before = state;
        const step = stepMeasurement(state, e);
        state = step.state;
        assert.ok(step.polls.length <= 1, 'one reply asks for at most one more poll');
        if (before.done) assert.equal(state, before);
      }
      for (const p of peers) {
        const mine = state.samples.filter((s) => s.nodeId === p);
        assert.ok(mine.length <= 3);
      }
      assert.equal(
        state.samples.some((s) => s.nodeId === 'x'),
        false,
        'a stray is ignored',
      );
      assert.equal(state.done, state.inFlight.size === 0);
    }),
  );
});
