import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { z } from 'zod';
import { allowedValues, readSettings, SettingsError } from './settings';

test('what a setting may be is read from its schema', () => {
  assert.equal(
    allowedValues(z.coerce.number().int().min(1).max(20).default(3)),
    'an integer from 1 to 20 (default 3)',
  );
  assert.equal(
    allowedValues(z.coerce.number().min(0).default(5)),
    'a number of at least 0 (default 5)',
  );
  assert.equal(allowedValues(z.enum(['on', 'off']).default('on')), 'one of on, off (default on)');
  assert.equal(allowedValues(z.url().optional()), 'a URL');
  assert.equal(allowedValues(z.string().regex(/^x+$/).describe('only x')), 'only x');
});

test('every bad setting is named at once; relations are checked once each setting is valid', () => {
  const schema = z.object({
    LOW: z.coerce.number().int().min(0).default(1),
    HIGH: z.coerce.number().int().min(0).default(2),
  });
  const related = (s: z.infer<typeof schema>) =>
    s.LOW < s.HIGH ? [] : [`LOW (${s.LOW}) must be less than HIGH (${s.HIGH})`];
  assert.throws(
    () => readSettings(schema, { LOW: 'x', HIGH: '-1' }, related),
    (err: unknown) => {
      assert.ok(err instanceof SettingsError);
      assert.deepEqual(err.problems, [
        'LOW=x: must be an integer of at least 0 (default 1)',
        'HIGH=-1: must be an integer of at least 0 (default 2)',
      ]);
      return true;
    },
  );
  assert.throws(
    () => readSettings(schema, { LOW: '5' }, related),
    /^SettingsError: LOW \(5\) must be less than HIGH \(2\)$/,
  );
  assert.deepEqual(readSettings(schema, { LOW: '0' }, related), { LOW: 0, HIGH: 2 });
});

/** Run an entry point with `env` on a clean environment; it must stop before doing anything. */
function run(script: string, env: Record<string, string>) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', script], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, lines: result.stderr.trim().split('\n') };
}

test('node, gateway and launcher: one line per bad setting, exit 2, no stack', () => {
  const node = run('node/main.ts', {
    NODE_ID: 'node-7',
    REPLICATION_MODE: 'ring',
    DB_POOL_SIZE: '0',
  });
  assert.equal(node.status, 2, node.lines.join('\n'));
  assert.deepEqual(node.lines.sort(), [
    'node-7: invalid setting DB_POOL_SIZE=0: must be an integer from 1 to 200 (default 20)',
    'node-7: invalid setting REPLICATION_MODE=ring: must be one of master-slave, multi-master, ' +
      'gossip, peer-to-peer (= gossip) (default multi-master)',
  ]);

  const gateway = run('gateway/main.ts', { LB_ALGORITHM: 'random' });
  assert.equal(gateway.status, 2, gateway.lines.join('\n'));
  assert.deepEqual(gateway.lines, [
    'gateway: invalid setting LB_ALGORITHM=random: must be one of round-robin, ' +
      'least-connections, weighted (default round-robin)',
  ]);
  const unplaced = run('gateway/main.ts', { LB_WEIGHTS: 'node-1=3,node-2' });
  assert.equal(unplaced.status, 2, unplaced.lines.join('\n'));
  assert.deepEqual(unplaced.lines, [
    'gateway: invalid setting DATABASE_URL or GATEWAY_BACKENDS: one must be set',
    'gateway: invalid setting LB_WEIGHTS=node-1=3,node-2: entry "node-2" is not id=integer',
  ]);

  // The launcher checks its own settings, the nodes' and the gateway's before it starts anything.
  const bad = { CLUSTER_SIZE: '0', SERVE_PAGES: 'off', LB_RISE: '0', HOLD_TTL_S: '0' };
  const launcher = run('scripts/start.ts', bad);
  assert.equal(launcher.status, 2, launcher.lines.join('\n'));
  assert.deepEqual(launcher.lines, [
    'npm start: invalid setting CLUSTER_SIZE=0: must be an integer from 1 to 20 (default 3)',
    'npm start: invalid setting HOLD_TTL_S=0: must be an integer from 1 to 86400 (default 600)',
    'npm start: invalid setting LB_RISE=0: must be an integer from 1 to 20 (default 2)',
  ]);
});
