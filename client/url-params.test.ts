import assert from 'node:assert/strict';
import { test } from 'node:test';
import { positiveIntParam } from './url-params';

test('an id in a URL is a positive integer of at most 16 digits, anything else is null', () => {
  assert.equal(positiveIntParam('7'), 7);
  const bad = ['0', '-1', '07', '1.5', 'abc', '', '12345678901234567', null, undefined, ['7']];
  for (const value of bad) assert.equal(positiveIntParam(value), null, String(value));
});
