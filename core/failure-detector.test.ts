import assert from 'node:assert/strict';
import { test } from 'node:test';
import { heard, reevaluate, refused, track, verdicts } from './failure-detector';

const config = { suspectAfterMs: 500, deadAfterMs: 1500 };

test('a peer just tracked is not alive until heard, and dead if never heard', () => {
  const s = track(new Map(), ['b'], 1000);
  assert.equal(verdicts(s, 1000, config).get('b'), 'suspect', 'tracked, not heard: not alive');
  assert.equal(verdicts(s, 2499, config).get('b'), 'suspect');
  assert.equal(verdicts(s, 2500, config).get('b'), 'dead');
  assert.equal(verdicts(heard(s, 'b', 1200), 1200, config).get('b'), 'alive');
});

test('silence makes a heard peer suspect, then dead; a refused connection at once', () => {
  const s = heard(track(new Map(), ['b'], 0), 'b', 100);
  assert.equal(verdicts(s, 599, config).get('b'), 'alive');
  assert.equal(verdicts(s, 600, config).get('b'), 'suspect');
  assert.equal(verdicts(s, 1600, config).get('b'), 'dead');
  assert.equal(verdicts(refused(s, 'b', 150), 150, config).get('b'), 'dead');
  assert.equal(verdicts(heard(refused(s, 'b', 150), 'b', 200), 200, config).get('b'), 'alive');
});

test('tracking keeps what was heard of known peers and forgets the others', () => {
  const s = heard(track(new Map(), ['b', 'c'], 0), 'b', 10);
  const next = track(s, ['b', 'd'], 50);
  assert.deepEqual([...next.keys()], ['b', 'd']);
  assert.equal(next.get('b')?.lastHeardMs, 10);
  assert.equal(heard(next, 'x', 60), next);
});

test('reevaluate names each verdict that changed, once', () => {
  let s = track(new Map(), ['b', 'c'], 0);
  let r = reevaluate(s, new Map(), 0, config);
  assert.deepEqual(
    r.changes.map((c) => [c.id, c.status]),
    [
      ['b', 'suspect'],
      ['c', 'suspect'],
    ],
  );
  s = heard(s, 'b', 100);
  r = reevaluate(s, r.verdicts, 100, config);
  assert.deepEqual(r.changes, [{ id: 'b', before: 'suspect', status: 'alive' }]);
  r = reevaluate(s, r.verdicts, 100, config);
  assert.deepEqual(r.changes, [], 'nothing changed');
  r = reevaluate(s, r.verdicts, 1500, config);
  assert.deepEqual(r.changes, [
    { id: 'b', before: 'alive', status: 'suspect' },
    { id: 'c', before: 'suspect', status: 'dead' },
  ]);
});
