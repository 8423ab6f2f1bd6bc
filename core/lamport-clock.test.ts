import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compareLamportStamps, LAMPORT_START, receive, tick } from './lamport-clock';

test('tick counts local events; receive takes max + 1', () => {
  assert.equal(tick(LAMPORT_START), 1);
  assert.equal(receive(3, 10), 11);
  assert.equal(receive(10, 3), 11);
});

test('stamps order by time, then by node priority (node-10 after node-9)', () => {
  assert.ok(
    compareLamportStamps({ time: 1, nodeId: 'node-10' }, { time: 2, nodeId: 'node-1' }) < 0,
  );
  assert.ok(
    compareLamportStamps({ time: 5, nodeId: 'node-10' }, { time: 5, nodeId: 'node-9' }) > 0,
  );
});

test('a received message is always stamped later than its send, and later than local history', () => {
  fc.assert(
    fc.property(fc.nat(1000), fc.nat(1000), (local, remote) => {
      const after = receive(local, remote);
      return after > local && after > remote;
    }),
  );
});
