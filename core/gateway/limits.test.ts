import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  ConcurrencyLimiter,
  gcraDelayMs,
  isPeerOnlyPath,
  limitOf,
  RateLimiter,
  retryAfterSeconds,
} from './limits';

const MINUTE_MS = 60_000;

describe('RateLimiter (GCRA)', () => {
  test('a burst passes at once, the next request waits one interval', () => {
    const limiter = new RateLimiter({ rate: 20, periodMs: MINUTE_MS, burst: 10 }, 100);
    for (let i = 0; i < 10; i++)
      assert.equal(limiter.take('a', 1_000), 0, `request ${i + 1} of the burst`);
    assert.equal(limiter.take('a', 1_000), 3_000, '20/min: one more every 3 s');
    assert.equal(limiter.take('b', 1_000), 0, 'another address has its own bucket');
    assert.equal(limiter.take('a', 3_999), 1, 'not yet');
    assert.equal(limiter.take('a', 4_000), 0, 'after the interval');
    assert.equal(retryAfterSeconds(3_000), 3);
    assert.equal(retryAfterSeconds(1), 1);
  });

  test('rate 0 disables the limit', () => {
    const limiter = new RateLimiter({ rate: 0, periodMs: 1_000, burst: 1 }, 10);
    for (let i = 0; i < 1_000; i++) assert.equal(limiter.take('a', 0), 0);
    assert.equal(limiter.size, 0);
  });

  test('property: in any window of w ms at most burst + rate·w/period requests pass', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 300 }),
        (rate, burst, gaps) => {
          const periodMs = 1_000;
          const limiter = new RateLimiter({ rate, periodMs, burst }, 10);
          let now = 0;
          const passed: number[] = [];
          for (const gap of gaps) {
            now += gap;
            if (limiter.take('x', now) === 0) passed.push(now);
          }
          for (let i = 0; i < passed.length; i++) {
            for (let j = i; j < passed.length; j++) {
              const w = passed[j]! - passed[i]!;
              assert.ok(
                j - i + 1 <= burst + Math.floor((rate * w) / periodMs) + 1e-9,
                `${j - i + 1} passed in ${w} ms (rate ${rate}/s, burst ${burst})`,
              );
            }
          }
        },
      ),
    );
  });

  test('property: a denied request passes once it waits the delay it was told (Retry-After is honest)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 200 }),
        (rate, burst, gaps) => {
          const limiter = new RateLimiter({ rate, periodMs: 1_000, burst }, 10);
          let now = 0;
          for (const gap of gaps) {
            now += gap;
            const delay = limiter.take('x', now);
            if (delay > 0)
              assert.equal(limiter.take('x', now + delay), 0, `told to wait ${delay} ms at ${now}`);
            if (delay > 0) now += delay;
          }
        },
      ),
    );
  });

  test('property: requests at or below the rate are never refused', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 500 }),
        (rate, burst, n) => {
          const interval = 1_000 / rate;
          for (let i = 0; i < n; i++)
            assert.equal(gcraDelayMs(i * interval, i * interval, interval, burst), 0);
          const limiter = new RateLimiter({ rate, periodMs: 1_000, burst }, 10);
          for (let i = 0; i < n; i++)
            assert.equal(limiter.take('x', i * interval), 0, `request ${i} at ${i * interval} ms`);
        },
      ),
    );
  });

  test('property: memory is bounded, the least recently seen address is forgotten first', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 300 }),
        (max, addresses) => {
          const limiter = new RateLimiter({ rate: 1, periodMs: MINUTE_MS, burst: 1 }, max);
          for (const a of addresses) {
            limiter.take(`10.0.0.${a}`, 0);
            assert.ok(limiter.size <= max);
          }
        },
      ),
    );
    const limiter = new RateLimiter({ rate: 1, periodMs: MINUTE_MS, burst: 1 }, 2);
    limiter.take('a', 0);
    limiter.take('b', 0);
    limiter.take('c', 0); // forgets a
    assert.equal(limiter.take('a', 0), 0, 'a was forgotten: a fresh bucket');
    assert.ok(limiter.take('c', 0) > 0, 'c is remembered');
  });
});

describe('ConcurrencyLimiter', () => {
  test('at most max open per address; released slots come back; entries vanish at 0', () => {
    const streams = new ConcurrencyLimiter(2);
    assert.ok(streams.acquire('a'));
    assert.ok(streams.acquire('a'));
    assert.equal(streams.acquire('a'), false);
    assert.ok(streams.acquire('b'));
    streams.release('a');
    assert.ok(streams.acquire('a'));
    streams.release('a');
    streams.release('a');
    streams.release('b');
    assert.equal(streams.size, 0);
    const off = new ConcurrencyLimiter(0);
    for (let i = 0; i < 100; i++) assert.ok(off.acquire('a'));
  });

  test('property: the count never exceeds max nor goes below 0, whatever the order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.boolean(), { maxLength: 200 }),
        (max, ops) => {
          const limiter = new ConcurrencyLimiter(max);
          let held = 0;
          for (const acquire of ops) {
            if (acquire) {
              if (limiter.acquire('x')) held += 1;
            } else if (held > 0) {
              limiter.release('x');
              held -= 1;
            }
            assert.equal(limiter.count('x'), held);
            assert.ok(held <= max);
          }
        },
      ),
    );
  });
});

describe('which limit a request falls under', () => {
  test('paths and methods', () => {
    assert.equal(limitOf('POST', '/api/auth/login'), 'login');
    assert.equal(limitOf('POST', '/api/auth/login?x=1'), 'login');
    assert.equal(limitOf('POST', '/api/auth/signup'), 'signup');
    assert.equal(limitOf('POST', '/api/holds'), 'write');
    assert.equal(limitOf('POST', '/api/bookings'), 'write');
    assert.equal(limitOf('POST', '/api/bookings/abc/cancel'), undefined);
    assert.equal(limitOf('GET', '/api/showtimes/12'), 'read');
    assert.equal(limitOf('GET', '/api/showtimes/12?consistency=eventual'), 'read');
    assert.equal(limitOf('GET', '/api/showtimes/12/events'), 'events');
    assert.equal(limitOf('GET', '/api/showtimes/'), undefined);
    assert.equal(limitOf('GET', '/api/movies'), 'read');
    assert.equal(limitOf('GET', '/api/movies/7'), 'read');
    assert.equal(limitOf('GET', '/api/ping'), undefined);
    assert.equal(limitOf('GET', '/api/auth/login'), undefined);
    assert.equal(limitOf('GET', '/'), undefined);
  });

  test('peer-only paths, however spelled', () => {
    for (const url of [
      '/api/peer',
      '/api/peer?x',
      '/API/Peer',
      '/api//peer',
      '/api/peer/',
      '/api/%70eer',
      '/api/pe%65r/x',
      '/api/peer;x',
    ]) {
      assert.ok(isPeerOnlyPath(url), url);
    }
    for (const url of [
      '/api/peers-of-mine',
      '/api/health',
      '/api/movies?q=peer',
      '/peer',
      '/api/showtimes/1',
    ])
      assert.equal(isPeerOnlyPath(url), false, url);
  });
});
