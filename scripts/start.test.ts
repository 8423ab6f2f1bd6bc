import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { createPool, type Db } from '../db/pool';
import { waitFor } from '../harness/cluster';
import { client, findShowtime, signedUpClient } from '../harness/helpers';
import { consecutiveFreePorts, descendants, envOf, exitCode, isRunning, npmRun, procInfo, processesUsing, StartedProcesses, waitUntilGone, type ProcInfo } from '../harness/process-tree';
import { freePort } from '../db/embedded';

/**
 * `npm start` as the README's quick start runs it — the launcher (scripts/start.ts) with the
 * embedded PostgreSQL, three nodes and the gateway — on free ports and a DATA_DIR of its own (never
 * ./data or port 3000). API only (SERVE_PAGES=off: the launcher then builds no pages; the pages in
 * production are the browser tests' part). Through the gateway: a booking, which must be in
 * PostgreSQL; a node crashed from the admin API with a restart request comes back as a new process
 * the gateway serves through; SIGTERM to npm — what a supervisor sends — stops every process the
 * launcher started and the embedded PostgreSQL.
 */

const START_TIMEOUT_MS = 90_000;
const started = new StartedProcesses();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'moviebook-launcher-'));
let db: Db | undefined;
after(async () => {
  await db?.end().catch(() => {});
  started.killAll();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function byScript(procs: ProcInfo[], script: string): ProcInfo[] {
  return procs.filter((p) => p.argv.includes(script));
}

test('npm start: embedded PostgreSQL, 3 nodes and the gateway; a booking; a node restarted on request; SIGTERM stops it all', async () => {
  const gatewayPort = await freePort();
  const basePort = await consecutiveFreePorts(3);
  const npm = npmRun(['start'], {
    DATA_DIR: dataDir,
    PORT: String(gatewayPort),
    NODE_BASE_PORT: String(basePort),
    CLUSTER_SIZE: '3',
    SERVE_PAGES: 'off',
    // The embedded database, even when the test run itself has a DATABASE_URL (CI's second pass).
    DATABASE_URL: '',
    LOG_LEVEL: 'info',
  });
  started.remember(procInfo(npm.proc.pid!));
  const gateway = `http://127.0.0.1:${gatewayPort}`;
  const fail = (msg: string) => `${msg}\n--- npm start output:\n${npm.output().slice(-4000)}`;

  // Up: the gateway answers through a node, and knows all three as healthy.
  await waitFor('the gateway to serve through all 3 nodes', START_TIMEOUT_MS, async () => {
    started.rememberTree(npm.proc.pid!);
    if (npm.proc.exitCode !== null) throw new Error(`npm start exited with ${npm.proc.exitCode}: ${npm.output().slice(-3000)}`);
    const lb = await client(gateway).get<{ nodes: { id: string; healthy: boolean }[] }>('/api/lb');
    return lb.status === 200 && lb.body.nodes.length === 3 && lb.body.nodes.every((n) => n.healthy);
  }, 100).catch((err: Error) => assert.fail(fail(err.message)));

  // The process tree: launcher → nodes, gateway, postmaster — all with our DATA_DIR.
  const tree = started.rememberTree(npm.proc.pid!);
  const nodes = byScript(tree, 'node/main.ts');
  const gateways = byScript(tree, 'gateway/main.ts');
  const postmasterPid = Number(fs.readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const postmaster = tree.find((p) => p.pid === postmasterPid);
  assert.equal(nodes.length, 3, fail('three node processes'));
  assert.equal(gateways.length, 1, fail('one gateway process'));
  assert.ok(postmaster, fail(`the embedded PostgreSQL (pid ${postmasterPid}) is a process the launcher started`));
  const launcherPid = nodes[0]!.ppid;
  assert.ok(nodes.every((n) => n.ppid === launcherPid) && gateways[0]!.ppid === launcherPid && postmaster.ppid === launcherPid,
    'nodes, gateway and PostgreSQL are children of one launcher process');
  for (const n of nodes) assert.equal(fs.realpathSync(envOf(n.pid, 'DATA_DIR')!), fs.realpathSync(dataDir), 'each node runs on the test DATA_DIR');
  assert.deepEqual(nodes.map((n) => Number(envOf(n.pid, 'NODE_PORT'))).sort(), [basePort, basePort + 1, basePort + 2]);

  // A booking through the gateway, durable in PostgreSQL.
  const app = JSON.parse(fs.readFileSync(path.join(dataDir, 'postgres-app.json'), 'utf8')) as { password: string };
  const server = JSON.parse(fs.readFileSync(path.join(dataDir, 'postgres.json'), 'utf8')) as { port: number };
  db = createPool(`postgres://moviebook_app:${encodeURIComponent(app.password)}@127.0.0.1:${server.port}/moviebook`, 2);
  const showtime = await findShowtime(db);
  const user = await signedUpClient(gateway, 'launcher');
  const booked = await user.api.post<{ booking: { id: string } }>('/api/bookings', { showtimeId: showtime.id, seats: [showtime.seats[0]] }, { 'idempotency-key': randomUUID() });
  assert.equal(booked.status, 201, fail(`booking: ${JSON.stringify(booked.body)}`));
  assert.match(booked.headers.get('x-served-by') ?? '', /^node-[123]$/);
  const row = await db.query<{ user_id: string; seats: string[] }>(
    `SELECT b.user_id, array_agg(bs.seat_id) AS seats FROM bookings b JOIN booking_seats bs ON bs.booking_id = b.id WHERE b.id = $1 GROUP BY b.user_id`,
    [booked.body.booking.id],
  );
  assert.deepEqual(row.rows, [{ user_id: user.userId, seats: [showtime.seats[0]] }], 'the booking and its seat are in PostgreSQL');

  // A restart the way the product offers it (the monitor's chaos tab): crash node-2, restart after 300 ms.
  const password = /password: (\S+)/.exec(fs.readFileSync(path.join(dataDir, 'admin-credentials.txt'), 'utf8'))![1]!;
  const login = await client(gateway).post<{ token: string }>('/api/auth/login', { email: 'admin@moviebook.local', password });
  assert.equal(login.status, 200);
  const admin = client(gateway, login.body.token);
  const before = await admin.get<{ pid: number }>('/api/health', { 'x-node': 'node-2' });
  const oldNode2 = nodes.find((n) => n.pid === before.body.pid);
  assert.ok(oldNode2, 'node-2 is one of the launcher\'s node processes');
  const crash = await admin.post<{ pid: number; restartAfterMs: number }>('/api/cluster/crash', { restartAfterMs: 300 }, { 'x-node': 'node-2' });
  assert.equal(crash.status, 200, JSON.stringify(crash.body));
  assert.equal(crash.body.pid, oldNode2.pid);

  let newNode2: ProcInfo | undefined;
  await waitFor('node-2 to come back as a new process of the launcher', 30_000, async () => {
    started.rememberTree(npm.proc.pid!);
    if (isRunning(oldNode2)) return false;
    const res = await admin.get<{ pid: number }>('/api/health', { 'x-node': 'node-2' });
    if (res.status !== 200 || res.body.pid === oldNode2.pid) return false;
    newNode2 = procInfo(res.body.pid);
    return newNode2?.ppid === launcherPid;
  }, 100).catch((err: Error) => assert.fail(fail(err.message)));
  assert.ok(newNode2!.argv.includes('node/main.ts'));
  assert.match(npm.output(), /node-2 crashed on request; restarting it in 300 ms/);
  // The gateway balances onto it again (not only pinned requests reach it).
  await waitFor('the gateway to route a request to the restarted node-2', 30_000, async () => {
    const res = await fetch(`${gateway}/api/health`);
    const body = (await res.json()) as { pid: number };
    return res.headers.get('x-served-by') === 'node-2' && body.pid === newNode2!.pid;
  }, 50).catch((err: Error) => assert.fail(fail(err.message)));
  const readBack = await user.api.get<{ booking: { id: string } }>(`/api/bookings/${booked.body.booking.id}`, { 'x-node': 'node-2' });
  assert.equal(readBack.status, 200, 'the restarted node serves the booking');
  await db.end();
  db = undefined;

  // SIGTERM to `npm start` (a supervisor's stop): every process the launcher started exits, the
  // embedded PostgreSQL is stopped cleanly (its postmaster.pid removed), npm exits 0.
  const everything = [...started.rememberTree(npm.proc.pid!), procInfo(npm.proc.pid!)!].filter(isRunning);
  const backends = everything.filter((p) => p.ppid === postmasterPid);
  assert.ok(backends.length > 0, 'PostgreSQL backends seen (they must go too)');
  npm.proc.kill('SIGTERM');
  const code = await exitCode(npm, 30_000);
  assert.equal(code, 0, fail('npm start exits 0 after SIGTERM'));
  await waitUntilGone('every process of npm start to exit', everything, 10_000);
  assert.equal(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid')), false, 'PostgreSQL shut down cleanly');
  assert.deepEqual(descendants(launcherPid), [], 'nothing is left below the launcher');
  assert.deepEqual(processesUsing(dataDir).map((p) => `${p.pid} ${p.argv.join(' ')}`), [], 'no process of this DATA_DIR is left anywhere');
  assert.match(npm.output(), /SIGTERM: stopping the gateway and the nodes/);
});
