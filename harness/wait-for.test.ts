import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { waitFor } from './cluster';

// A check that never settles (a request nobody answers) used to hold waitFor — and the test, and
// CI — past its bound; the test's own timeout makes the old behaviour fail instead of hang.
// What keeps the process alive while the check hangs, as an unanswered request's socket would.
const pending = setInterval(() => {}, 1_000);
after(() => clearInterval(pending));

test('waitFor gives up on a check that never settles', { timeout: 10_000 }, async () => {
  const never = () => new Promise<boolean>(() => {});
  const gaveUp = /timed out after 200 ms waiting for a check/;
  await assert.rejects(waitFor('a check that never settles', 200, never), gaveUp);
});

test('waitFor returns once the check holds, and keeps trying after errors', async () => {
  let calls = 0;
  const ms = await waitFor('the third call', 5_000, async () => {
    calls += 1;
    if (calls === 1) throw new Error('not yet');
    return calls === 3;
  }, 1);
  assert.equal(calls, 3);
  assert.ok(ms >= 0);
});
