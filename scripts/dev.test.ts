import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { freePort } from '../db/embedded';
import { createPool, type Db } from '../db/pool';
import { waitFor } from '../harness/cluster';
import { findShowtime, signedUpClient } from '../harness/helpers';
import { descendants, exitCode, isRunning, npmRun, procInfo, processesUsing, StartedProcesses, waitUntilGone, type NpmRun, type ProcInfo } from '../harness/process-tree';

/**
 * The spec's multi-terminal commands on the embedded database:
 *
 *   NODE_ID=node-1 NODE_PORT=… npm run dev        (terminal 1: starts the embedded PostgreSQL)
 *   NODE_ID=node-2 NODE_PORT=… npm run dev        (terminal 2: attaches to it)
 *
 * on free ports and a DATA_DIR of their own. node-1 runs API only (SERVE_PAGES=off): a Next dev
 * server for it would share the default dev build folder with a developer's own `npm run dev`;
 * node-2 is `npm run dev` whole — Fastify API plus the Next dev server (its own build folder, as
 * every extra dev node gets) — and must serve `/`. node-2 must attach to node-1's PostgreSQL (not
 * start a second), both must see each other alive, and node-2 serves a booking made through
 * node-1. SIGTERM to each npm (a terminal's supervisor, or `kill`): node-2 leaves node-1 and its
 * database running; node-1 then stops the database with itself.
 */

const READY_TIMEOUT_MS = 90_000;
/** A cold Next dev compile of the home page on 2 busy cores. */
const FIRST_PAGE_TIMEOUT_MS = 180_000;
const started = new StartedProcesses();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'moviebook-dev-'));
let db: Db | undefined;
after(async () => {
  await db?.end().catch(() => {});
  started.killAll();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

type Health = { nodeId: string; pid: number; database: { status: string }; nodes: { id: string; status: string }[] };

async function health(url: string): Promise<Health | undefined> {
  const res = await fetch(`${url}/api/health`).catch(() => undefined);
  return res?.status === 200 ? ((await res.json()) as Health) : undefined;
}

function devNode(id: string, port: number, env: Record<string, string> = {}): NpmRun {
  const run = npmRun(['run', 'dev'], { NODE_ID: id, NODE_PORT: String(port), DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'info', ...env });
  started.remember(procInfo(run.proc.pid!));
  return run;
}

async function waitUntilAnswering(id: string, run: NpmRun, url: string): Promise<void> {
  await waitFor(`${id} to answer`, READY_TIMEOUT_MS, async () => {
    started.rememberTree(run.proc.pid!);
    if (run.proc.exitCode !== null) throw new Error(`${id} exited with ${run.proc.exitCode}: ${run.output().slice(-3000)}`);
    return (await health(url)) !== undefined;
  }, 100);
}

async function stop(run: NpmRun): Promise<ProcInfo[]> {
  const tree = [procInfo(run.proc.pid!), ...started.rememberTree(run.proc.pid!)].filter((p): p is ProcInfo => p !== undefined && isRunning(p));
  run.proc.kill('SIGTERM');
  const code = await exitCode(run, 30_000);
  assert.equal(code, 0, `npm run dev exits 0 after SIGTERM\n${run.output().slice(-3000)}`);
  await waitUntilGone('every process of that npm run dev to exit', tree, 10_000);
  return tree;
}

function postmasters(): ProcInfo[] {
  return processesUsing(dataDir).filter((p) => /\/bin\/postgres$/.test(p.argv[0] ?? ''));
}

test('npm run dev twice on one DATA_DIR: node-2 attaches to node-1\'s embedded PostgreSQL, they join, node-2 serves pages and node-1\'s booking', async () => {
  const [port1, port2] = [await freePort(), await freePort()];
  const url1 = `http://127.0.0.1:${port1}`;
  const url2 = `http://127.0.0.1:${port2}`;

  const node1 = devNode('node-1', port1, { SERVE_PAGES: 'off' });
  await waitUntilAnswering('node-1', node1, url1);
  const postmasterPid = Number(fs.readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
  assert.ok(descendants(node1.proc.pid!).some((p) => p.pid === postmasterPid), 'node-1 started the embedded PostgreSQL');

  const node2 = devNode('node-2', port2);
  await waitUntilAnswering('node-2', node2, url2);
  assert.match(node2.output(), /attaching to embedded PostgreSQL already running on port \d+/);
  assert.deepEqual(postmasters().map((p) => p.pid), [postmasterPid], 'one PostgreSQL for the DATA_DIR, node-1\'s');
  assert.ok(!descendants(node2.proc.pid!).some((p) => /postgres/.test(p.argv[0] ?? '')), 'node-2 started no PostgreSQL');

  // One cluster: each lists the other alive.
  await waitFor('node-1 and node-2 to see each other alive', 30_000, async () => {
    const [h1, h2] = [await health(url1), await health(url2)];
    return h1?.nodes.some((n) => n.id === 'node-2' && n.status === 'alive') === true
      && h2?.nodes.some((n) => n.id === 'node-1' && n.status === 'alive') === true;
  }, 100);

  // A booking through node-1, served by node-2: from PostgreSQL, and from node-2's own replica.
  const app = JSON.parse(fs.readFileSync(path.join(dataDir, 'postgres-app.json'), 'utf8')) as { password: string };
  const server = JSON.parse(fs.readFileSync(path.join(dataDir, 'postgres.json'), 'utf8')) as { port: number };
  db = createPool(`postgres://moviebook_app:${encodeURIComponent(app.password)}@127.0.0.1:${server.port}/moviebook`, 2);
  const showtime = await findShowtime(db);
  await db.end();
  db = undefined;
  const user = await signedUpClient(url1, 'dev');
  const booked = await user.api.post<{ booking: { id: string }; distributedInfo: { processedBy: string } }>(
    '/api/bookings', { showtimeId: showtime.id, seats: [showtime.seats[0]] }, { 'idempotency-key': randomUUID() },
  );
  assert.equal(booked.status, 201, JSON.stringify(booked.body));
  assert.equal(booked.body.distributedInfo.processedBy, 'node-1');
  const viaNode2 = await fetch(`${url2}/api/bookings/${booked.body.booking.id}`, { headers: { authorization: `Bearer ${user.token}` } });
  assert.equal(viaNode2.status, 200, 'node-2 serves the booking made through node-1');
  assert.equal(((await viaNode2.json()) as { booking: { id: string } }).booking.id, booked.body.booking.id);
  await waitFor('node-2\'s replica to hold the booking', 15_000, async () => {
    const res = await fetch(`${url2}/api/bookings?consistency=eventual`, { headers: { authorization: `Bearer ${user.token}` } });
    const body = (await res.json()) as { bookings: { id: string }[] };
    return res.headers.get('x-replica-served-by') === 'node-2' && body.bookings.some((b) => b.id === booked.body.booking.id);
  }, 100);

  // node-2 is the whole dev server: the home page from Next's dev compiler.
  const page = await fetch(url2, { signal: AbortSignal.timeout(FIRST_PAGE_TIMEOUT_MS) });
  assert.equal(page.status, 200, `GET / on node-2\n${node2.output().slice(-3000)}`);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await page.text(), /MovieBook/);

  // node-2 goes; node-1 and the database stay. Then node-1 goes, and the database with it.
  await stop(node2);
  assert.ok(isRunning(procInfo(postmasterPid)!), 'the database outlives the attached node');
  assert.equal((await health(url1))?.database.status, 'up');
  await stop(node1);
  assert.deepEqual(postmasters(), [], 'the embedded PostgreSQL stopped with node-1');
  assert.equal(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid')), false, 'and shut down cleanly');
  assert.deepEqual(processesUsing(dataDir).map((p) => `${p.pid} ${p.argv.join(' ')}`), [], 'no process of this DATA_DIR is left');
});
