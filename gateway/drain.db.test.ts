/**
 * A node stopped with SIGTERM while the gateway sends it traffic: no client sees it go. The node
 * first says it is stopping (its health check answers 503 `stopping`, and the gateway takes it out
 * at once), keeps serving what still reaches it for SHUTDOWN_DRAIN_MS, then closes its port and
 * finishes what is in flight. The requests are writes, which the gateway does not retry elsewhere:
 * one that met the closing node would reach its client as a 5xx or a reset.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startGateway, waitForEligible } from '../harness/cluster';
import { systemForTests } from '../harness/system';

const system = systemForTests(2);

test('SIGTERM to a node under load: every write through the gateway gets its answer', async () => {
  const answers = new Map<string, number>();
  const servedBy = new Set<string>();
  let stop = false;
  const LOOPS = 4;
  const loop = async () => {
    while (!stop) {
      // A write the node refuses cheaply (401: no session): never retried by the gateway.
      const res = await fetch(`${system.gateway.url}/api/movies`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      }).catch((err: Error) => ({
        status: 0,
        headers: new Headers(),
        text: async () => err.message,
      }));
      const key = res.status === 401 ? '401' : `${res.status} ${(await res.text()).slice(0, 120)}`;
      answers.set(key, (answers.get(key) ?? 0) + 1);
      const node = res.headers.get('x-served-by');
      if (node) servedBy.add(node);
    }
  };
  const loops = Array.from({ length: LOOPS }, loop);
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.ok(servedBy.has('node-2'), 'node-2 was taking traffic');
  const exitCode = new Promise<number | null>((resolve) =>
    system.cluster.node('node-2').proc!.once('exit', (code) => resolve(code)),
  );
  await system.cluster.kill('node-2', 'SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 500));
  stop = true;
  await Promise.all(loops);
  assert.equal(await exitCode, 0, 'node-2 stopped cleanly');
  assert.deepEqual(
    [...answers.keys()],
    ['401'],
    `every answer: ${JSON.stringify(Object.fromEntries(answers))}`,
  );
});

test('a write whose connection was refused goes to another node, not back as a 502', async () => {
  // A node that passes its health checks, then stops listening: the next write chosen for it meets
  // a refused connection (before its next two checks take it out).
  const ghost = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ nodeId: 'ghost', status: 'ok', load: { capacity: 10 }, nodes: [] }));
  });
  await new Promise<void>((resolve) => ghost.listen(0, '127.0.0.1', resolve));
  const ghostUrl = `http://127.0.0.1:${(ghost.address() as AddressInfo).port}`;
  const alone = await startGateway(system.database.url, {
    GATEWAY_BACKENDS: `node-1=${system.cluster.node('node-1').url},ghost=${ghostUrl}`,
  });
  try {
    await waitForEligible(alone, 2);
    await new Promise<void>((resolve) => {
      ghost.close(() => resolve());
      ghost.closeAllConnections();
    });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${alone.url}/api/movies`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    assert.deepEqual(statuses, [401, 401, 401, 401]);
  } finally {
    await alone.stop();
  }
});
