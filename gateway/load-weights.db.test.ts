import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { startCluster, startGateway, waitFor, type TestCluster, type TestGateway } from '../harness/cluster';
import { createTestDatabase, type TestDatabase } from '../harness/helpers';

/**
 * The spec's "Weighted Round Robin (load-based)", with real processes: the gateway on `weighted`
 * with no static weights derives each node's weight from its health answer — its declared capacity
 * scaled down by its event-loop delay (docs/gateway.md). A node is made loaded the way a starved
 * process is: it gets no CPU for 100 ms out of every 140 (SIGSTOP/SIGCONT from this test, Jepsen's
 * pause strobe), so its event loop lags by that much. Its weight must drop and traffic measurably
 * move off it — judged by `X-Served-By` on every answer — and come back once it is left alone.
 */

let database: TestDatabase;
let cluster: TestCluster;
let gateway: TestGateway;
let stopStrobe: (() => Promise<void>) | undefined;

before(async () => {
  database = await createTestDatabase();
  cluster = await startCluster(3, database.url);
  gateway = await startGateway(database.url, { LB_ALGORITHM: 'weighted' });
});

after(async () => {
  await stopStrobe?.();
  await gateway?.stop();
  await cluster?.stop();
  await database?.drop();
});

type LbNode = { id: string; healthy: boolean; eligible: boolean; weight: number };

async function lbNodes(): Promise<LbNode[]> {
  const res = await fetch(`${gateway.url}/api/lb`);
  return ((await res.json()) as { nodes: LbNode[] }).nodes;
}

async function weights(): Promise<Record<string, number>> {
  return Object.fromEntries((await lbNodes()).map((n) => [n.id, n.weight]));
}

/** Shares of `requests` cheap requests (`/api/ping`: it does not reset a node's delay histogram as `/api/health` does). */
async function shares(requests: number, concurrency = 4): Promise<Record<string, number>> {
  const counts: Record<string, number> = { 'node-1': 0, 'node-2': 0, 'node-3': 0 };
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests) {
      next++;
      const res = await fetch(`${gateway.url}/api/ping`);
      await res.arrayBuffer();
      assert.equal(res.status, 200);
      const by = res.headers.get('x-served-by')!;
      counts[by] = (counts[by] ?? 0) + 1;
    }
  }));
  return Object.fromEntries(Object.entries(counts).map(([id, n]) => [id, n / requests]));
}

/**
 * Pause and resume `pid` over and over — stopped `stoppedMs`, running `runningMs` — from a small
 * process of its own, so the rhythm does not depend on this test's busy event loop. Returns the
 * stop function, which leaves `pid` running.
 */
function strobe(pid: number, stoppedMs: number, runningMs: number): () => Promise<void> {
  const script = `
    const [pid, stopped, running] = process.argv.slice(1).map(Number);
    const pause = () => { process.kill(pid, 'SIGSTOP'); setTimeout(resume, stopped); };
    const resume = () => { process.kill(pid, 'SIGCONT'); setTimeout(pause, running); };
    process.on('SIGTERM', () => { process.kill(pid, 'SIGCONT'); process.exit(0); });
    pause();`;
  const strober: ChildProcess = spawn(process.execPath, ['-e', script, String(pid), String(stoppedMs), String(runningMs)], { stdio: 'ignore' });
  const exited = new Promise((resolve) => strober.once('exit', resolve));
  return async () => {
    if (strober.exitCode === null && strober.signalCode === null) strober.kill('SIGKILL');
    await exited; // then no SIGSTOP of its can follow our SIGCONT
    process.kill(pid, 'SIGCONT');
  };
}

test('weighted, load-based: a lagging node\'s weight drops and traffic moves off it, then back', async (t) => {
  const ids = ['node-1', 'node-2', 'node-3'];
  await waitFor('all three nodes healthy at the gateway', 30_000, async () => {
    const nodes = await lbNodes();
    return ids.every((id) => nodes.some((n) => n.id === id && n.healthy && n.eligible));
  });
  let last: Record<string, number> = {};
  const show = () => `weights ${JSON.stringify(last)}`;

  // At rest, on a shared 2-core machine: no node far below the others.
  await waitFor('the weights to settle', 30_000, async () => {
    last = await weights();
    return Math.min(...ids.map((id) => last[id]!)) >= 5;
  }, 100).catch((err: Error) => assert.fail(`${err.message}; ${show()}`));
  const calm = await shares(300);
  assert.ok(calm['node-2']! >= 0.2, `at rest node-2 takes its part: ${JSON.stringify(calm)}; ${show()}`);

  // Loaded: its event loop lags ~100 ms → weight max(1, round(10 × 10 / 110)) = 1 against ~10.
  const node2 = cluster.node('node-2').proc!;
  stopStrobe = strobe(node2.pid!, 100, 40);
  await waitFor('node-2\'s weight to drop under the others\'', 30_000, async () => {
    last = await weights();
    return last['node-2']! <= 3 && last['node-2']! * 2 < Math.min(last['node-1']!, last['node-3']!);
  }, 50).catch((err: Error) => assert.fail(`${err.message}; ${show()}`));
  const loaded = await shares(300);
  // Relative to the others (a busy machine lowers their weights too): node-2 takes clearly less.
  const others = Math.min(loaded['node-1']!, loaded['node-3']!);
  assert.ok(loaded['node-2']! * 1.5 < others, `traffic moves off the loaded node-2: ${JSON.stringify(loaded)}; ${show()}`);
  assert.ok(loaded['node-2']! < calm['node-2']! / 2, `node-2's share at least halves: ${calm['node-2']} → ${loaded['node-2']}`);
  for (const id of ['node-1', 'node-3']) assert.ok(loaded[id]! > 0.3, `${id} takes over: ${JSON.stringify(loaded)}`);

  // Left alone again: its weight and its traffic come back.
  await stopStrobe();
  stopStrobe = undefined;
  await waitFor('node-2\'s weight to recover', 30_000, async () => {
    last = await weights();
    return last['node-2']! >= 5;
  }, 100).catch((err: Error) => assert.fail(`${err.message}; ${show()}`));
  const recovered = await shares(300);
  t.diagnostic(`shares at rest ${JSON.stringify(calm)}, loaded ${JSON.stringify(loaded)}, recovered ${JSON.stringify(recovered)}`);
  assert.ok(recovered['node-2']! >= 0.2, `traffic comes back to node-2: ${JSON.stringify(recovered)}; ${show()}`);
});
