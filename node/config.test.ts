import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SettingsError } from '../config/settings';
import { loadConfig } from './config';

const load = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', ...env });

test('settings valid alone but not together are refused, each named with its value', () => {
  assert.throws(
    () => load({ HEARTBEAT_INTERVAL_MS: '600' }),
    /HEARTBEAT_INTERVAL_MS \(600\) must be less than SUSPECT_AFTER_MS \(500\)/,
  );
  assert.throws(
    () => load({ SUSPECT_AFTER_MS: '2000', DEAD_AFTER_MS: '1500' }),
    /SUSPECT_AFTER_MS \(2000\) must be less than DEAD_AFTER_MS \(1500\)/,
  );
  assert.throws(
    () => load({ REPLICATION_N: '2', REPLICATION_R: '3', REPLICATION_W: '3' }),
    /REPLICATION_R \(3\) must be at most REPLICATION_N \(2\)\nREPLICATION_W \(3\) must be at most/,
  );
  const ok = load({ SUSPECT_AFTER_MS: '3000', DEAD_AFTER_MS: '10000', REPLICATION_R: '3' });
  assert.equal(ok.cluster.deadAfterMs, 10_000);
});

test('each bad setting is one line with the value given and what it may be', () => {
  let problems: readonly string[] = [];
  try {
    const env = { REPLICATION_MODE: 'ring', HEARTBEAT_INTERVAL_MS: 'often', NODE_ID: 'a b' };
    load({ ...env, DB_POOL_SIZE: '0' });
  } catch (err) {
    assert.ok(err instanceof SettingsError, String(err));
    problems = err.problems;
  }
  assert.deepEqual([...problems].sort(), [
    'DB_POOL_SIZE=0: must be an integer from 1 to 200 (default 20)',
    'HEARTBEAT_INTERVAL_MS=often: must be an integer from 10 to 60000 (default 100)',
    'NODE_ID=a b: must be 1–64 letters, digits, - or _ (default node-1)',
    'REPLICATION_MODE=ring: must be one of master-slave, multi-master, gossip, ' +
      'peer-to-peer (= gossip) (default multi-master)',
  ]);
});

test("REPLICATION_MODE=peer-to-peer, the spec's word, means gossip", () => {
  assert.equal(load({ REPLICATION_MODE: 'peer-to-peer' }).replication.mode, 'gossip');
  assert.equal(load({ REPLICATION_MODE: 'gossip' }).replication.mode, 'gossip');
});
