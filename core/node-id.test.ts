import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareNodeIds, highestPriority, nodePriority, outranks, sortByPriority } from './node-id';

test('priority is the numeric suffix', () => {
  assert.equal(nodePriority('node-10'), 10);
  assert.equal(nodePriority('node-007'), 7);
  assert.equal(nodePriority('gateway'), null);
});

test('node-10 outranks node-9 (numeric, not string, compare)', () => {
  assert.ok(compareNodeIds('node-10', 'node-9') > 0);
  assert.ok(outranks('node-10', 'node-9'));
  assert.deepEqual(sortByPriority(['node-10', 'node-9', 'node-1', 'node-2']), [
    'node-1',
    'node-2',
    'node-9',
    'node-10',
  ]);
  assert.equal(highestPriority(['node-9', 'node-10', 'node-2']), 'node-10');
});

test('ids without a number rank below numbered ones; ties break by string', () => {
  assert.deepEqual(sortByPriority(['node-1', 'beta', 'alpha', 'b-3', 'a-3']), [
    'alpha',
    'beta',
    'node-1',
    'a-3',
    'b-3',
  ]);
  assert.equal(compareNodeIds('x', 'x'), 0);
  assert.equal(highestPriority([]), null);
});

test('the order is total and antisymmetric', () => {
  const ids = ['node-1', 'node-10', 'node-9', 'a', 'b', 'x-9', 'node-01'];
  for (const a of ids) {
    for (const b of ids) {
      assert.equal(
        Math.sign(compareNodeIds(a, b)) + Math.sign(compareNodeIds(b, a)),
        0,
        `${a} vs ${b}`,
      );
      if (a !== b) assert.notEqual(compareNodeIds(a, b), 0);
    }
  }
});
