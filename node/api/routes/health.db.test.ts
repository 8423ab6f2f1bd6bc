import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createPool } from '../../../db/pool';
import { client, startTestApi, type TestApi } from '../../../harness/helpers';
import { startCluster, waitFor, type TestCluster } from '../../../harness/cluster';

let api: TestApi;
before(async () => {
  api = await startTestApi();
});
after(async () => {
  await api?.close();
});

type Checks = Record<string, unknown>;
type Ready = { status?: string; checks?: Checks; error?: { code: string; details: { checks: Checks } } };
const ALL_GOOD = { database: 'up', cluster: 'joined', replica: 'loaded', stopping: false };

test('live answers whatever the node does; ready only while it serves and its database answers', async () => {
  const c = client(api.url);
  assert.equal((await c.get('/api/health/live')).status, 200);
  const ready = await c.get<Ready>('/api/health/ready');
  assert.equal(ready.status, 200, JSON.stringify(ready.body));
  assert.deepEqual(ready.body.checks, ALL_GOOD);

  const phases = [['starting', { replica: 'loading' }], ['stopping', { stopping: true }]] as const;
  for (const [phase, check] of phases) {
    api.ctx.phase = phase;
    const not = await c.get<Ready>('/api/health/ready');
    assert.equal(not.status, 503, phase);
    assert.equal(not.body.error?.code, 'NOT_READY');
    assert.equal(not.headers.get('retry-after'), '1');
    for (const [name, value] of Object.entries(check)) {
      assert.equal(not.body.error?.details.checks[name], value, `${phase}: ${name}`);
    }
    assert.equal((await c.get('/api/health/live')).status, 200, `${phase}: still live`);
  }
  api.ctx.phase = 'serving';

  // A database that refuses connections (nothing listens on port 1): not ready, still live.
  const real = api.ctx.db;
  const unreachable = createPool('postgres://nobody@127.0.0.1:1/none', 1);
  api.ctx.db = unreachable;
  try {
    const down = await c.get<Ready>('/api/health/ready');
    assert.equal(down.status, 503);
    assert.equal(down.body.error?.details.checks.database, 'down');
    assert.equal((await c.get('/api/health/live')).status, 200);
  } finally {
    api.ctx.db = real;
    await unreachable.end();
  }
  assert.equal((await c.get('/api/health/ready')).status, 200);
});

let cluster: TestCluster | undefined;
after(async () => {
  await cluster?.stop();
});

test('a real node process is ready once it joined its cluster and loaded its replica', async () => {
  cluster = await startCluster(1, api.database.url);
  // Its port opens first (peers can reach it at once); until it has joined and loaded, not ready.
  const node = client(cluster.node('node-1').url);
  let ready = await node.get<Ready>('/api/health/ready');
  if (ready.status === 503) assert.equal(ready.body.error?.details.checks.stopping, false);
  const check = async () => (ready = await node.get<Ready>('/api/health/ready')).status === 200;
  await waitFor('node-1 to be ready', 20_000, check);
  assert.deepEqual(ready.body.checks, ALL_GOOD);
});
