import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../db/embedded';
import { client } from './helpers';

/**
 * Real node processes on loopback for cluster tests: each node is `node/main.ts` in its own OS
 * process (API only), all sharing one fresh database and one DATA_DIR (cluster secret, admin).
 */
export type NodeHandle = { id: string; port: number; url: string; proc: ChildProcess | null; log: string[] };

export type TestCluster = {
  nodes: Map<string, NodeHandle>;
  dataDir: string;
  node(id: string): NodeHandle;
  start(id: string): Promise<void>;
  kill(id: string, signal?: NodeJS.Signals): Promise<void>;
  adminToken(): Promise<string>;
  /** The end of every node's output, for a failing test's message. */
  logTail(charsPerNode?: number): string;
  stop(): Promise<void>;
};

const READY_TIMEOUT_MS = 60_000;

export async function startCluster(
  size: number,
  databaseUrl: string,
  env: Record<string, string> = {},
  nodeEnv: Record<string, Record<string, string>> = {},
): Promise<TestCluster> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'moviebook-cluster-'));
  const nodes = new Map<string, NodeHandle>();
  for (let i = 1; i <= size; i++) {
    const port = await freePort();
    nodes.set(`node-${i}`, { id: `node-${i}`, port, url: `http://127.0.0.1:${port}`, proc: null, log: [] });
  }
  let token: string | undefined;

  async function start(id: string): Promise<void> {
    const handle = nodes.get(id)!;
    const proc = spawn(process.execPath, ['--import', 'tsx', 'node/main.ts'], {
      env: {
        ...process.env,
        NODE_ENV: 'production',
        SERVE_PAGES: 'off',
        NODE_ID: id,
        NODE_PORT: String(handle.port),
        HOST: '127.0.0.1',
        DATABASE_URL: databaseUrl,
        DATA_DIR: dataDir,
        LOG_LEVEL: 'info',
        ...env,
        ...nodeEnv[id],
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    handle.proc = proc;
    const logFile = process.env.TEST_CLUSTER_LOG_DIR ? path.join(process.env.TEST_CLUSTER_LOG_DIR, `${path.basename(dataDir)}-${id}.log`) : undefined;
    const keep = (chunk: Buffer) => {
      if (logFile) fs.appendFileSync(logFile, chunk);
      handle.log.push(chunk.toString());
      if (handle.log.length > 500) handle.log.splice(0, 100);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    await waitFor(`${id} to answer`, READY_TIMEOUT_MS, async () => {
      if (proc.exitCode !== null) throw new Error(`${id} exited with ${proc.exitCode}: ${handle.log.join('').slice(-2000)}`);
      const res = await fetch(`${handle.url}/api/health`).catch(() => undefined);
      return res?.status === 200;
    });
  }

  async function kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = nodes.get(id)!.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill(signal);
    await exited;
  }

  // Start one node first: it creates the admin account and the cluster secret; then the rest.
  const ids = [...nodes.keys()];
  await start(ids[0]!);
  await Promise.all(ids.slice(1).map(start));

  return {
    nodes,
    dataDir,
    node: (id) => nodes.get(id)!,
    start,
    kill,
    async adminToken() {
      if (token) return token;
      const password = /password: (\S+)/.exec(fs.readFileSync(path.join(dataDir, 'admin-credentials.txt'), 'utf8'))![1]!;
      const res = await client(nodes.get(ids[0]!)!.url).post('/api/auth/login', { email: 'admin@moviebook.local', password });
      token = res.body.token as string;
      return token;
    },
    logTail(charsPerNode = 1500) {
      return [...nodes.values()].map((n) => `--- ${n.id}\n${n.log.join('').slice(-charsPerNode)}`).join('\n');
    },
    async stop() {
      await Promise.all(ids.map((id) => kill(id, 'SIGTERM')));
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** One node process of its own, outside a cluster launcher: nothing waited for. */
export type LoneNode = {
  port: number;
  proc: ChildProcess;
  /** SIGTERM, then the exit code — or 'running' if it still ran after `withinMs` (then killed). */
  terminate(withinMs: number): Promise<number | null | 'running'>;
  /** Kill it if it still runs, and remove its DATA_DIR. */
  cleanup(): Promise<void>;
};

/** `env` entries set to undefined are removed from the node's environment (HOST, say). */
export async function spawnLoneNode(
  databaseUrl: string,
  env: Record<string, string | undefined> = {},
): Promise<LoneNode> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'moviebook-node-'));
  const port = await freePort();
  const merged: Record<string, string | undefined> = {
    ...process.env, NODE_ENV: 'production', SERVE_PAGES: 'off', NODE_ID: 'node-1',
    NODE_PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: databaseUrl, DATA_DIR: dataDir,
    ...env,
  };
  for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
  const proc = spawn(process.execPath, ['--import', 'tsx', 'node/main.ts'], {
    env: merged as NodeJS.ProcessEnv,
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
  const kill = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGKILL');
    await exited;
  };
  return {
    port,
    proc,
    async terminate(withinMs) {
      proc.kill('SIGTERM');
      const late = new Promise<'running'>((resolve) => setTimeout(resolve, withinMs, 'running'));
      const code = await Promise.race([exited, late]);
      if (code === 'running') await kill();
      return code;
    },
    async cleanup() {
      await kill();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Poll `check` until it returns true, at most `timeoutMs`; errors count as "not yet". */
export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>, intervalMs = 25): Promise<number> {
  const started = Date.now();
  let lastError: unknown;
  while (Date.now() - started < timeoutMs) {
    try {
      // A check that never settles (a request nobody answers) must not outlast the bound.
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<'expired'>((resolve) => {
        timer = setTimeout(resolve, timeoutMs - (Date.now() - started), 'expired');
      });
      const result = await Promise.race([check(), expired]).finally(() => clearTimeout(timer));
      if (result === 'expired') break;
      if (result) return Date.now() - started;
    } catch (err) {
      lastError = err;
      if (err instanceof Error && /exited with/.test(err.message)) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}

export type ElectionView = { nodeId: string; leader: string | null; epoch: number; phase: string };

export async function electionViews(cluster: TestCluster, ids: string[]): Promise<ElectionView[]> {
  return Promise.all(ids.map(async (id) => (await client(cluster.node(id).url).get<ElectionView>('/api/election')).body));
}

/** Wait until every node in `ids` names the same leader of the same epoch; returns it. */
export async function waitForAgreement(cluster: TestCluster, ids: string[], timeoutMs: number, expected?: string): Promise<{ leader: string; epoch: number; ms: number }> {
  let agreed: { leader: string; epoch: number } | undefined;
  let last = '';
  const ms = await waitFor(`agreement among ${ids.join(', ')}${expected ? ` on ${expected}` : ''}`, timeoutMs, async () => {
    const views = await electionViews(cluster, ids);
    last = views.map((v) => `${v.nodeId}: ${v.leader}@${v.epoch} (${v.phase})`).join('; ');
    const first = views[0]!;
    const same = first.leader !== null && views.every((v) => v.leader === first.leader && v.epoch === first.epoch);
    if (!same || (expected && first.leader !== expected)) return false;
    agreed = { leader: first.leader!, epoch: first.epoch };
    return true;
  }, 10).catch((err: Error) => {
    throw new Error(`${err.message}; last views: ${last}`);
  });
  return { ...agreed!, ms };
}

export type TestGateway = { url: string; proc: ChildProcess; log: string[]; stop(): Promise<void> };

/**
 * What every test gateway runs with unless `env` says otherwise: the per-address limits off
 * (LB_ADDRESS_LIMITS=off), since the tests, the chaos run and the benchmarks all send their whole
 * load from 127.0.0.1 — gateway/edge.db.test.ts turns them on with small values to test them.
 */
export const TEST_GATEWAY_ENV: Readonly<Record<string, string>> = { LB_HEALTH_INTERVAL_MS: '200', LB_ADDRESS_LIMITS: 'off' };

/** The real gateway process in front of the nodes registered in `databaseUrl`. */
export async function startGateway(databaseUrl: string, env: Record<string, string> = {}): Promise<TestGateway> {
  const port = await freePort();
  const log: string[] = [];
  const proc = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: databaseUrl, ...TEST_GATEWAY_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (c: Buffer) => log.push(c.toString()));
  proc.stderr!.on('data', (c: Buffer) => log.push(c.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the gateway to answer', READY_TIMEOUT_MS, async () => {
    if (proc.exitCode !== null) throw new Error(`the gateway exited with ${proc.exitCode}: ${log.join('')}`);
    return (await fetch(`${url}/api/lb`).catch(() => undefined))?.status === 200;
  });
  return {
    url,
    proc,
    log,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

type Eligibility = { nodes: { eligible: boolean }[] };

/** The gateway answers before its first health checks: wait until `count` nodes get traffic. */
export async function waitForEligible(gateway: TestGateway, count: number, timeoutMs = 20_000) {
  await waitFor(`${count} nodes to be eligible at the gateway`, timeoutMs, async () => {
    const lb = (await (await fetch(`${gateway.url}/api/lb`)).json()) as Eligibility;
    return lb.nodes.filter((n) => n.eligible).length === count;
  });
}

/**
 * Live child processes of this process running one of `scripts` (e.g. 'node/main.ts'), with the
 * DATA_DIR they were given: what a failed `startCluster` leaves behind (it never returns its
 * handle), to be killed by pid and its directory removed. Reads /proc; synchronous, so it also
 * works in an exit handler.
 */
export function childProcessesRunning(...scripts: string[]): { pid: number; dataDir: string | undefined }[] {
  const found: { pid: number; dataDir: string | undefined }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!scripts.some((s) => argv.includes(s))) continue;
      const env = fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      found.push({ pid: Number(entry), dataDir: env.find((v) => v.startsWith('DATA_DIR='))?.slice('DATA_DIR='.length) });
    } catch {
      /* it exited meanwhile */
    }
  }
  return found;
}
