import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { entry, type VectorClock } from '../vector-clock';
import { decodeSessionToken, encodeSessionToken, MAX_SESSION_TOKEN_LENGTH } from './session-token';

const tokenArb: fc.Arbitrary<VectorClock> = fc
  .array(
    fc.tuple(
      fc.constantFrom('node-1', 'node-2', 'node-10', '__proto__', 'constructor', 'ünï'),
      fc.nat(1_000_000),
    ),
    { maxLength: 6 },
  )
  .map((pairs) => {
    const out: Record<string, number> = {};
    for (const [k, v] of pairs)
      Object.defineProperty(out, k, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  });

test('encode/decode round-trips (zero entries dropped) and is stable', () => {
  fc.assert(
    fc.property(tokenArb, (token) => {
      const encoded = encodeSessionToken(token);
      assert.match(encoded, /^[A-Za-z0-9_-]*$/);
      const decoded = decodeSessionToken(encoded);
      assert.ok(decoded);
      for (const k of Object.keys(token)) assert.equal(entry(decoded, k), entry(token, k));
      assert.equal(encodeSessionToken(decoded), encoded);
    }),
  );
  assert.deepEqual(decodeSessionToken(''), {});
  assert.equal(
    Object.getPrototypeOf(decodeSessionToken(encodeSessionToken({ ['__proto__']: 3 })) ?? {}),
    Object.prototype,
  );
});

test('garbage is refused with null, never thrown', () => {
  const b64 = (s: string): string => Buffer.from(s).toString('base64url');
  const bad = [
    '!!!',
    'a b',
    b64('{'),
    b64('{"node-1":1}'),
    b64('[["node-1",-1]]'),
    b64('[["node-1",1.5]]'),
    b64('[["node-1","1"]]'),
    b64('[["",1]]'),
    b64('[["node-1"]]'),
    b64('[[1,1]]'),
    b64(JSON.stringify([['x'.repeat(200), 1]])),
    b64(JSON.stringify(Array.from({ length: 300 }, (_, i) => [`n${i}`, 1]))),
    'A'.repeat(MAX_SESSION_TOKEN_LENGTH + 1),
  ];
  for (const s of bad) assert.equal(decodeSessionToken(s), null, s);
  fc.assert(fc.property(fc.string(), (s) => void decodeSessionToken(s)));
});
