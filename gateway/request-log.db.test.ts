/**
 * A request followed by its id: through the real gateway to a real node, both at LOG_LEVEL=debug,
 * the gateway's line (node chosen, status, duration) and the node's line carry the same
 * X-Request-Id — the client's own when it is a short token, a fresh one (also in the answer)
 * when it is not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../harness/cluster';
import { systemForTests } from '../harness/system';

const system = systemForTests(2, {
  nodeEnv: { LOG_LEVEL: 'debug' },
  gatewayEnv: { LOG_LEVEL: 'debug' },
});

type Line = Record<string, unknown>;
const linesOf = (chunks: string[]): Line[] =>
  chunks
    .join('')
    .split('\n')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Line];
      } catch {
        return [];
      }
    });
const nodeLines = () => [...system.cluster.nodes.values()].flatMap((n) => linesOf(n.log));

test("the gateway's and the node's log lines of one request carry its id", async () => {
  const id = `follow-${Date.now()}`;
  const res = await fetch(`${system.gateway.url}/api/movies?search=star`, {
    headers: { 'x-request-id': id },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-request-id'), id);
  const servedBy = res.headers.get('x-served-by');
  await waitFor(
    'both log lines',
    10_000,
    async () =>
      linesOf(system.gateway.log).some((l) => l.requestId === id) &&
      nodeLines().some((l) => l.requestId === id),
  );
  const atGateway = linesOf(system.gateway.log).find((l) => l.requestId === id)!;
  assert.equal(atGateway.node, servedBy);
  assert.equal(atGateway.status, 200);
  assert.equal(typeof atGateway.ms, 'number');
  const atNode = nodeLines().find((l) => l.requestId === id)!;
  assert.equal(atNode.node, servedBy, 'the node that served it logged it');
  assert.equal(atNode.route, '/api/movies');
  assert.equal(atNode.status, 200);
});

test('an id that is not a short token is replaced, in the answer and in both logs', async () => {
  const res = await fetch(`${system.gateway.url}/api/movies`, {
    headers: { 'x-request-id': 'x'.repeat(500) },
  });
  assert.equal(res.status, 200);
  const id = res.headers.get('x-request-id')!;
  assert.match(id, /^[0-9a-f-]{36}$/);
  await waitFor('the node to log the new id', 10_000, async () =>
    nodeLines().some((l) => l.requestId === id),
  );
  assert.ok(!linesOf(system.gateway.log).some((l) => String(l.requestId).startsWith('xxxx')));
});
