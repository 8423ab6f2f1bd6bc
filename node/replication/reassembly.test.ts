import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Reassembly, splitMessage } from './reassembly';

const limits = { maxHeldBytes: 1_000, timeoutMs: 1_000 };

describe('split replication messages', () => {
  test('parts in any order, with duplicates, give back exactly the bytes split', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 2, maxLength: 600 }), fc.integer({ min: 1, max: 64 }), fc.infiniteStream(fc.nat()), (raw, size, picks) => {
      const bytes = Buffer.from(raw);
      const parts = splitMessage(bytes, 'id-1', Math.min(size, Math.floor(bytes.length / 2))); // (senders split in 2 parts or more)
      const order = [...parts];
      for (let i = order.length - 1; i > 0; i--) {
        const j = picks.next().value % (i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      order.splice(1, 0, order[0]!); // a duplicate before the message is whole
      const r = new Reassembly(limits);
      const wholes = order.map((p) => r.add('node-2', p, 0)).filter((w) => w !== undefined);
      assert.equal(wholes.length, 1);
      assert.deepEqual(wholes[0], bytes);
      assert.equal(r.heldBytes, 0);
    }));
  });

  test('one sender cannot hold more than the bound, and unfinished messages expire', () => {
    const r = new Reassembly(limits);
    const big = splitMessage(Buffer.alloc(3_000, 1), 'big', 500);
    for (const p of big.slice(0, -1)) r.add('node-2', p, 0);
    assert.ok(r.heldBytes <= limits.maxHeldBytes);
    assert.ok(r.counts.dropped >= 1);
    const small = splitMessage(Buffer.alloc(100, 2), 'small', 60);
    r.add('node-3', small[0]!, 1_500); // the big one expired: room again
    assert.equal(r.counts.expired, 1);
    assert.deepEqual(r.add('node-3', small[1]!, 1_600), Buffer.alloc(100, 2));
  });

  test('parts of one id from two senders are two messages', () => {
    const r = new Reassembly(limits);
    const a = splitMessage(Buffer.from('aaaa'), 'same', 2);
    const b = splitMessage(Buffer.from('bbbb'), 'same', 2);
    assert.equal(r.add('node-2', a[0]!, 0), undefined);
    assert.equal(r.add('node-3', b[1]!, 0), undefined);
    assert.deepEqual(r.add('node-2', a[1]!, 0), Buffer.from('aaaa'));
    assert.deepEqual(r.add('node-3', b[0]!, 0), Buffer.from('bbbb'));
  });
});
