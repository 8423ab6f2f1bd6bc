import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  compare,
  covers,
  dominates,
  EMPTY_VECTOR_CLOCK,
  entry,
  increment,
  isVectorClock,
  merge,
  receive,
  type VectorClock,
} from './vector-clock';

const key = fc.constantFrom('node-1', 'node-2', 'node-3', 'node-10', '__proto__', 'constructor');
const clock: fc.Arbitrary<VectorClock> = fc
  .array(fc.tuple(key, fc.nat(4)), { maxLength: 6 })
  .map((entries) => merge(EMPTY_VECTOR_CLOCK, Object.fromEntries(entries)));

const inverse = {
  before: 'after',
  after: 'before',
  equal: 'equal',
  concurrent: 'concurrent',
} as const;

test('examples', () => {
  assert.equal(compare({ a: 1 }, { b: 1 }), 'concurrent');
  assert.equal(compare({ a: 1 }, { a: 2, b: 1 }), 'before');
  assert.equal(compare({ a: 2, b: 1 }, { a: 1 }), 'after');
  assert.equal(compare({ a: 0 }, {}), 'equal');
  assert.deepEqual({ ...merge({ a: 3, b: 1 }, { b: 2, c: 1 }) }, { a: 3, b: 2, c: 1 });
  assert.equal(entry(increment({}, 'a'), 'a'), 1);
});

test('ids like __proto__ are ordinary entries', () => {
  const c = increment(increment({}, '__proto__'), '__proto__');
  assert.equal(entry(c, '__proto__'), 2);
  assert.equal(Object.getPrototypeOf(c), Object.prototype);
  assert.equal(entry({}, 'constructor'), 0);
  assert.equal(compare(JSON.parse(JSON.stringify(c)) as VectorClock, c), 'equal');
});

test('merge is commutative, associative and idempotent, and covers both inputs', () => {
  fc.assert(
    fc.property(clock, clock, clock, (a, b, c) => {
      assert.equal(compare(merge(a, b), merge(b, a)), 'equal');
      assert.equal(compare(merge(merge(a, b), c), merge(a, merge(b, c))), 'equal');
      assert.equal(compare(merge(a, a), a), 'equal');
      assert.ok(dominates(merge(a, b), a) && dominates(merge(a, b), b));
    }),
  );
});

test('compare is antisymmetric and agrees with dominates', () => {
  fc.assert(
    fc.property(clock, clock, (a, b) => {
      const ab = compare(a, b);
      assert.equal(compare(b, a), inverse[ab]);
      const expected = dominates(a, b)
        ? dominates(b, a)
          ? 'equal'
          : 'after'
        : dominates(b, a)
          ? 'before'
          : 'concurrent';
      assert.equal(ab, expected);
      assert.equal(covers(a, b), dominates(a, b));
    }),
  );
});

test('a local event and a receive come strictly after what they saw', () => {
  fc.assert(
    fc.property(clock, clock, key, (local, remote, self) => {
      assert.equal(compare(local, increment(local, self)), 'before');
      const after = receive(local, remote, self);
      assert.equal(compare(local, after), 'before');
      assert.equal(compare(remote, after), 'before');
    }),
  );
});

test('functions never modify their inputs', () => {
  fc.assert(
    fc.property(clock, clock, key, (a, b, self) => {
      const before = JSON.stringify([a, b]);
      increment(Object.freeze(a), self);
      merge(Object.freeze(a), Object.freeze(b));
      receive(a, b, self);
      assert.equal(JSON.stringify([a, b]), before);
    }),
  );
});

test('isVectorClock accepts clocks and rejects junk', () => {
  assert.ok(isVectorClock({ a: 1, b: 0 }));
  for (const junk of [null, [], 'x', { a: -1 }, { a: 1.5 }, { a: '1' }])
    assert.equal(isVectorClock(junk), false);
});
