import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decode, encode, freshness, ReplayGuard, signBytes, verifyBytes, type Envelope, type ReplayConfig } from './envelope';

const SECRET = 'a'.repeat(64);
const START_MS = 1_700_000_000_000;
const config: ReplayConfig = { freshnessWindowMs: 30_000, startedAtMs: START_MS, maxRememberedPerSender: 64 };

function envelope(over: Partial<Envelope> = {}): Envelope {
  return { from: 'node-2', to: 'node-1', type: 'heartbeat', epoch: 1, lamport: 2, vector: { 'node-2': 2 }, sentAt: START_MS + 1_000, boot: `${START_MS}-ab`, seq: 1, body: { x: 1 }, ...over };
}

describe('signed bytes', () => {
  test('an encoded envelope decodes to itself; any changed byte or another key is refused as bad-signature', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.nat(), (body, flip) => {
      const { bytes, signature } = encode(SECRET, envelope({ body }));
      const decoded = decode(SECRET, bytes, signature);
      assert.ok(decoded.ok);
      assert.deepEqual(decoded.envelope, JSON.parse(JSON.stringify(envelope({ body }))));
      const tampered = Buffer.from(bytes);
      const at = flip % tampered.length;
      tampered[at] = tampered[at]! ^ 0x01;
      assert.deepEqual(decode(SECRET, tampered, signature), { ok: false, reason: 'bad-signature' });
      assert.deepEqual(decode('b'.repeat(64), bytes, signature), { ok: false, reason: 'bad-signature' });
    }));
  });

  test('the signature is checked before parsing: garbage with a wrong signature is bad-signature, with the right one malformed', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (raw) => {
      const bytes = Buffer.from(raw);
      assert.deepEqual(decode(SECRET, bytes, '0'.repeat(64)), { ok: false, reason: 'bad-signature' });
      const signed = decode(SECRET, bytes, signBytes(SECRET, bytes));
      if (!signed.ok) assert.equal(signed.reason, 'malformed');
    }));
  });

  test('a missing or misshapen signature never verifies (and never throws)', () => {
    for (const sig of [undefined, '', 'zz', 'A'.repeat(64), '0'.repeat(63), '0'.repeat(65)]) assert.equal(verifyBytes(SECRET, Buffer.from('{}'), sig), false);
  });
});

describe('freshness and replays', () => {
  test('freshness: inside the window and after the receiver started is fresh; else refused with its reason', () => {
    const now = START_MS + 60_000;
    assert.equal(freshness(now, now, config), undefined);
    assert.equal(freshness(now - 30_000, now, config), undefined);
    assert.equal(freshness(now - 30_001, now, config), 'stale');
    assert.equal(freshness(now + 30_001, now, config), 'from-the-future');
    const early = START_MS + 5_000;
    assert.equal(freshness(START_MS - 1, early, config), 'before-start');
  });

  test('each (from, boot, seq) is admitted once, in any order; an older boot is refused once a newer one is seen', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 100 }), (seqs) => {
      const guard = new ReplayGuard(config);
      const seen = new Set<number>();
      for (const seq of seqs) {
        const refusal = guard.admit(envelope({ seq }), START_MS + 2_000);
        assert.equal(refusal, seen.has(seq) ? 'replayed' : undefined);
        seen.add(seq);
      }
      const newer = `${START_MS + 10}-ab`;
      assert.equal(guard.admit(envelope({ boot: newer, seq: 1 }), START_MS + 2_000), undefined);
      assert.equal(guard.admit(envelope({ seq: 999 }), START_MS + 2_000), 'stale-boot');
    }));
  });

  test('memory stays bounded, and nothing forgotten can be replayed', () => {
    const guard = new ReplayGuard(config);
    let now = START_MS + 1_000;
    for (let seq = 1; seq <= 1_000; seq++) {
      now += 100;
      assert.equal(guard.admit(envelope({ seq, sentAt: now }), now), undefined);
      assert.ok(guard.remembered <= config.maxRememberedPerSender);
    }
    // Every earlier message is refused: by the low-water mark, the remembered set or freshness.
    for (let seq = 1; seq <= 1_000; seq += 7) assert.ok(guard.admit(envelope({ seq, sentAt: now - (1_000 - seq) * 100 }), now), `seq ${seq}`);
  });

  test('a message captured before the receiver restarted is refused by the new process', () => {
    const captured = envelope({ seq: 5, sentAt: START_MS + 1_000 });
    const before = new ReplayGuard(config);
    assert.equal(before.admit(captured, START_MS + 1_000), undefined);
    const restartedAt = START_MS + 3_000;
    const after = new ReplayGuard({ ...config, startedAtMs: restartedAt });
    assert.equal(after.admit(captured, restartedAt + 500), 'before-start');
    assert.equal(after.admit(envelope({ seq: 6, sentAt: restartedAt + 400 }), restartedAt + 500), undefined);
  });
});
