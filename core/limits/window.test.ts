import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { advance, decide, hitsAt, type Window } from './window';

/** Replay hits at the given times (ms, ascending) and return each one's decision. */
function run(times: number[], limit: number, windowMs: number) {
  let w: Window | undefined;
  return times.map((now) => {
    w = advance(w, now, windowMs);
    return { now, decision: decide(w, limit, now), window: w };
  });
}

const rule = fc.record({
  limit: fc.integer({ min: 1, max: 20 }),
  windowMs: fc.integer({ min: 1_000, max: 900_000 }),
});
const gaps = fc.array(fc.integer({ min: 0, max: 120_000 }), { minLength: 1, maxLength: 200 });
const timesOf = (start: number, steps: number[]) =>
  steps.reduce<number[]>((out, g) => [...out, (out.at(-1) ?? start) + g], []);

test('never more than `limit` allowed hits in any window a first hit opened', () => {
  fc.assert(
    fc.property(
      rule,
      fc.integer({ min: 0, max: 1e12 }),
      gaps,
      ({ limit, windowMs }, start, steps) => {
        const results = run(timesOf(start, steps), limit, windowMs);
        const byWindow = new Map<number, number>();
        for (const r of results) {
          if (r.decision.allowed)
            byWindow.set(r.window.endsAtMs, (byWindow.get(r.window.endsAtMs) ?? 0) + 1);
        }
        for (const allowed of byWindow.values()) assert.ok(allowed <= limit);
      },
    ),
  );
});

test('the first `limit` hits of a window are allowed, the next are refused with Retry-After up to the window end', () => {
  fc.assert(
    fc.property(
      rule,
      fc.integer({ min: 0, max: 1e12 }),
      fc.integer({ min: 1, max: 30 }),
      ({ limit, windowMs }, start, extra) => {
        // All hits within one millisecond-spaced burst, well inside the window.
        const times = Array.from({ length: limit + extra }, (_, i) => start + i);
        const results = run(times, limit, windowMs);
        results.forEach((r, i) => {
          if (i < limit) return assert.equal(r.decision.allowed, true);
          assert.equal(r.decision.allowed, false);
          if (r.decision.allowed) return;
          assert.ok(r.decision.retryAfterS >= 1);
          assert.ok(r.decision.retryAfterS <= Math.ceil(windowMs / 1000));
          // Waiting Retry-After seconds is enough: the window has ended by then.
          const later = r.now + r.decision.retryAfterS * 1000;
          assert.equal(decide(advance(r.window, later, windowMs), limit, later).allowed, true);
          assert.equal(hitsAt(r.window, later), 0);
        });
      },
    ),
  );
});

test('refused hits do not move the window end (a lockout is never extended by retrying)', () => {
  fc.assert(
    fc.property(
      rule,
      fc.integer({ min: 0, max: 1e12 }),
      gaps,
      ({ limit, windowMs }, start, steps) => {
        const results = run(timesOf(start, steps), limit, windowMs);
        for (let i = 1; i < results.length; i++) {
          const prev = results[i - 1]!;
          const cur = results[i]!;
          if (cur.now < prev.window.endsAtMs)
            assert.equal(cur.window.endsAtMs, prev.window.endsAtMs);
          else assert.equal(cur.window.hits, 1);
        }
      },
    ),
  );
});
