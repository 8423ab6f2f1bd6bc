import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assert as invariant, InvariantViolation } from './assert';

test('a broken invariant throws with its rule; a kept one does nothing', () => {
  invariant(1 + 1 === 2, 'arithmetic');
  assert.throws(
    () => invariant(false, 'one leader per epoch'),
    (err: unknown) => {
      assert.ok(err instanceof InvariantViolation);
      assert.equal(err.message, 'invariant violated: one leader per epoch');
      return true;
    },
  );
});
