import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CHROMIUM_PATH, planBrowser } from './ensure-browser';

const present = (...paths: string[]) => (p: string) => paths.includes(p);

test('a Chromium that is there is used, wherever CHROMIUM_PATH points', () => {
  assert.deepEqual(planBrowser({ chosenPath: undefined, exists: present(DEFAULT_CHROMIUM_PATH), isRoot: false, hasApt: false }), { action: 'use', path: DEFAULT_CHROMIUM_PATH });
  assert.deepEqual(planBrowser({ chosenPath: '/opt/c/chrome', exists: present('/opt/c/chrome'), isRoot: false, hasApt: false }), { action: 'use', path: '/opt/c/chrome' });
});

test("a fresh machine (root, apt, no Chromium) installs Debian's", () => {
  assert.deepEqual(planBrowser({ chosenPath: undefined, exists: present(), isRoot: true, hasApt: true }), { action: 'install', path: DEFAULT_CHROMIUM_PATH });
});

test('without root or apt, or with a CHROMIUM_PATH that is missing, it fails saying what to do', () => {
  for (const facts of [
    { chosenPath: undefined, exists: present(), isRoot: false, hasApt: true },
    { chosenPath: undefined, exists: present(), isRoot: true, hasApt: false },
  ]) {
    const plan = planBrowser(facts);
    assert.equal(plan.action, 'fail');
    assert.match(plan.action === 'fail' ? plan.message : '', /apt-get install chromium.*CHROMIUM_PATH/s);
  }
  // An explicit path is never silently replaced by an install elsewhere.
  const plan = planBrowser({ chosenPath: '/nowhere/chromium', exists: present(DEFAULT_CHROMIUM_PATH), isRoot: true, hasApt: true });
  assert.equal(plan.action, 'fail');
  assert.match(plan.action === 'fail' ? plan.message : '', /CHROMIUM_PATH=\/nowhere\/chromium does not exist/);
});
