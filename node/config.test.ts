import assert from 'node:assert/strict';
import { test } from 'node:test';
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
    /REPLICATION_R \(3\) must be at most REPLICATION_N \(2\); REPLICATION_W \(3\) must be at most/,
  );
  const ok = load({ SUSPECT_AFTER_MS: '3000', DEAD_AFTER_MS: '10000', REPLICATION_R: '3' });
  assert.equal(ok.cluster.deadAfterMs, 10_000);
});
