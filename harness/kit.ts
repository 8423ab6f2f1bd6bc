import { childProcessesRunning, type TestCluster } from './cluster';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import pg from 'pg';
import { hashPassword } from '../db/accounts/password';
import { startEmbeddedPostgres } from '../db/embedded';
import { createPool, ensureDatabaseExists, prepareSchema } from '../db/database';
import type { Db } from '../db/pool';

/** Shared helpers for the benchmarks in bench/: database, API node child, pgbench, statistics, docs. */

const NODE_READY_TIMEOUT_MS = 120_000;
const NODE_STOP_TIMEOUT_MS = 10_000;

// ── Cleanup ──────────────────────────────────────────────────────────────────────────────────────

/** Undo steps run last-in first-out, once, on success, failure or a signal (a second run() waits for the first). */
export class Cleanup {
  private readonly steps: { name: string; run: () => Promise<void> | void }[] = [];
  private running: Promise<void> | undefined;

  add(name: string, run: () => Promise<void> | void): void {
    this.steps.push({ name, run });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.reverse()) {
        try {
          await step.run();
        } catch (err) {
          console.error(`cleanup: ${step.name} failed: ${String(err)}`);
        }
      }
    })();
    return this.running;
  }
}

let interrupted = false;

/** On Ctrl-C or SIGTERM: `first` (say, SIGKILL our children at once), then the cleanup, then exit 130. */
export function cleanUpOnSignal(cleanup: Cleanup, log: (msg: string) => void, first?: () => void): void {
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    log(`${signal}: cleaning up`);
    first?.();
    void cleanup.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

/**
 * Run a script's main and exit with the code it returns (0 when none). A failure is printed, then
 * `onFailure` runs and the script exits `failCode`; after a signal, its handler exits instead,
 * once the cleanup is done.
 */
export function runMain(main: () => Promise<number | void>, { failCode = 1, onFailure }: { failCode?: number; onFailure?: () => void } = {}): void {
  main().then(
    (code) => process.exit(code ?? 0),
    (err: unknown) => {
      if (interrupted) return;
      console.error(err);
      onFailure?.();
      process.exit(failCode);
    },
  );
}

// ── Database ─────────────────────────────────────────────────────────────────────────────────────

export type BenchDatabase = { serverUrl: string; url: string; name: string; embedded: boolean };

/**
 * A PostgreSQL server (DATABASE_URL, else a fresh embedded one in a temporary directory) and a
 * fresh database of our own on it, dropped (and the embedded server stopped, its files removed)
 * by `cleanup`.
 */
export async function openBenchDatabase(cleanup: Cleanup, log: (msg: string) => void, namePrefix = 'moviebook_bench'): Promise<BenchDatabase> {
  let serverUrl = process.env.DATABASE_URL;
  let embedded = false;
  if (!serverUrl) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moviebook-bench-pg-'));
    cleanup.add('remove embedded PostgreSQL files', () => fs.rmSync(dir, { recursive: true, force: true }));
    log(`starting a fresh embedded PostgreSQL in ${dir}`);
    const server = await startEmbeddedPostgres(dir);
    cleanup.add('stop embedded PostgreSQL', () => server.stop());
    serverUrl = server.url;
    embedded = true;
  }
  const name = `${namePrefix}_${randomBytes(4).toString('hex')}`;
  const url = await ensureDatabaseExists(serverUrl, name);
  // An embedded cluster is deleted whole; on someone else's server, drop what we created.
  if (!embedded) {
    const admin = serverUrl;
    cleanup.add(`drop database ${name}`, async () => {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    });
  }
  return { serverUrl, url, name, embedded };
}

/** libpq environment for a connection URL (keeps the password out of argv). */
export function libpqEnv(url: string): Record<string, string> {
  const u = new URL(url);
  return {
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: decodeURIComponent(u.pathname.slice(1)),
    PGAPPNAME: 'moviebook-bench',
  };
}

// ── Users ────────────────────────────────────────────────────────────────────────────────────────

/** Deterministic user ids, so a pgbench script can compute them: 00000000-0000-4000-8000-<n in hex>. */
export function benchUserId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** The SQL expression for benchUserId(:var) in a pgbench script. */
export function benchUserIdSql(variable: string): string {
  return `('00000000-0000-4000-8000-' || lpad(to_hex(:${variable}::int), 12, '0'))::uuid`;
}

/** Users 1…count with a session token each, inserted in two statements (as harness/helpers.ts does, in bulk). */
export async function createBenchUsers(db: Db, count: number): Promise<{ id: string; token: string }[]> {
  const passwordHash = await hashPassword(randomBytes(12).toString('base64url'));
  const users = Array.from({ length: count }, (_, i) => ({ id: benchUserId(i + 1), token: randomBytes(32).toString('base64url') }));
  await db.query(
    `INSERT INTO users (id, email, name, password_hash)
     SELECT id, 'bench-' || n || '@example.test', 'Bench ' || n, $2 FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n)`,
    [users.map((u) => u.id), passwordHash],
  );
  await db.query(
    `INSERT INTO sessions (token_hash, user_id, expires_at)
     SELECT h, id, now() + interval '1 day' FROM unnest($1::bytea[], $2::uuid[]) AS s(h, id)`,
    [users.map((u) => createHash('sha256').update(u.token).digest()), users.map((u) => u.id)],
  );
  return users;
}

// ── The API node, in its own process ─────────────────────────────────────────────────────────────

export type ApiNode = { url: string; pid: number; stop(): Promise<void> };

/**
 * One API node (bench/api-node.ts: startNode without pages) as a child process. Its stdin is a
 * pipe: if this process dies, the child sees EOF and stops too.
 */
export async function startApiNode(
  cleanup: Cleanup,
  options: { databaseUrl: string; nodeId: string; env?: Record<string, string>; nodeArgs?: string[] },
): Promise<ApiNode> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'moviebook-bench-node-'));
  cleanup.add('remove node data dir', () => fs.rmSync(dataDir, { recursive: true, force: true }));
  // A lone node: no peers, no second public port, whatever the caller's environment says.
  const inherited = { ...process.env };
  for (const key of ['PORT', 'NODE_PORT', 'PUBLIC_PORT', 'CLUSTER_PEERS', 'ADVERTISED_URL', 'HOST']) delete inherited[key];
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', 'tsx', path.join('bench', 'api-node.ts')],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: {
        ...inherited,
        SERVE_PAGES: 'off',
        NODE_ENV: 'production',
        NODE_ID: options.nodeId,
        DATA_DIR: dataDir,
        DATABASE_URL: options.databaseUrl,
        LOG_LEVEL: 'warn',
        NEXT_TELEMETRY_DISABLED: '1',
        ...options.env,
      },
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), NODE_STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  cleanup.add(`stop API node (pid ${child.pid})`, stop);
  const ready = await waitForReadyLine(child);
  return { url: ready.url, pid: child.pid!, stop };
}

function waitForReadyLine(child: ChildProcess): Promise<{ url: string }> {
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error('the API node did not become ready in time')), NODE_READY_TIMEOUT_MS);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`the API node exited during start (code ${code})`));
    };
    child.once('exit', onExit);
    lines.on('line', (line) => {
      // Anything else on stdout (start-up banners, the throwaway admin password) is not ours to echo.
      if (!line.startsWith('{"url"')) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(JSON.parse(line) as { url: string });
    });
  });
}

// ── pgbench ──────────────────────────────────────────────────────────────────────────────────────

export type PgbenchRun = {
  /** One entry per finished transaction (script run): start and latency in microseconds. */
  transactions: { startUs: number; latencyUs: number }[];
  stdout: string;
};

/**
 * Run `pgbench -n -M prepared -f <script> -c <clients> -j <threads> -T <seconds> -l` against `url`
 * and read its per-transaction log.
 */
export async function runPgbench(options: {
  url: string; script: string; clients: number; threads: number; seconds: number; defines?: Record<string, string | number>;
  pgbench?: string;
}): Promise<PgbenchRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moviebook-pgbench-'));
  try {
    const scriptFile = path.join(dir, 'script.sql');
    fs.writeFileSync(scriptFile, options.script);
    const args = [
      '-n', '-M', 'prepared', '-f', scriptFile,
      '-c', String(options.clients), '-j', String(Math.min(options.threads, options.clients)), '-T', String(options.seconds),
      '-l', `--log-prefix=${path.join(dir, 'log')}`,
      ...Object.entries(options.defines ?? {}).flatMap(([k, v]) => ['-D', `${k}=${v}`]),
    ];
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = spawn(options.pgbench ?? process.env.PGBENCH ?? 'pgbench', args, {
        env: { ...process.env, ...libpqEnv(options.url) }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`pgbench exited with ${code}:\n${out}`))));
    });
    const transactions: PgbenchRun['transactions'] = [];
    for (const file of fs.readdirSync(dir).filter((f) => f.startsWith('log.'))) {
      for (const line of fs.readFileSync(path.join(dir, file), 'utf8').split('\n')) {
        // client_id transaction_no time script_no time_epoch time_us [schedule_lag] [retries]
        const f = line.split(' ');
        if (f.length < 6) continue;
        const latencyUs = Number(f[2]);
        if (!Number.isFinite(latencyUs)) throw new Error(`pgbench log: a failed transaction: ${line}`);
        const endUs = Number(f[4]) * 1e6 + Number(f[5]);
        transactions.push({ startUs: endUs - latencyUs, latencyUs });
      }
    }
    return { transactions, stdout };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ── Statistics ───────────────────────────────────────────────────────────────────────────────────

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function sortedFloat64(values: number[]): Float64Array {
  return Float64Array.from(values).sort();
}

// ── CPU accounting (cheap profiling: where do the cores go?) ─────────────────────────────────────

/** utime+stime of a process (and, with `waited`, of its reaped children), in ticks; 0 when unknown. */
export function processTicks(pid: number | 'self', waited = false): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command, 0-based from state: utime 11, stime 12, cutime 13, cstime 14.
    return Number(f[11]) + Number(f[12]) + (waited ? Number(f[13]) + Number(f[14]) : 0);
  } catch {
    return 0;
  }
}

/** Resident memory of a process in bytes (VmRSS), 0 if it is gone. */
export function processRssBytes(pid: number): number {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? 0 : Number(kb) * 1024;
  } catch {
    return 0;
  }
}

/** CPU ticks of the reaped children of this process (pgbench runs, once they have exited). */
export function reapedChildrenTicks(): number {
  return processTicks('self', true) - processTicks('self');
}

/** The postmaster of the server `db` talks to, if it runs on this machine (else undefined). */
export async function localPostmasterPid(db: Db): Promise<number | undefined> {
  const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  try {
    const stat = fs.readFileSync(`/proc/${rows[0]!.pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) && ppid > 1 ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** All of a PostgreSQL server's CPU so far: postmaster, live backends, and backends already gone. */
export function postgresTicks(postmasterPid: number | undefined): number {
  if (postmasterPid === undefined) return 0;
  let ticks = processTicks(postmasterPid, true);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === postmasterPid) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      /* it exited meanwhile: its time is in the postmaster's cutime by the next sample */
    }
  }
  return ticks;
}

/** CPU seconds used by each named part between two samples (USER_HZ = 100 ticks per second). */
export function cpuSeconds(a: CpuSample, b: CpuSample): Record<string, number> {
  return Object.fromEntries(Object.keys(b.parts).map((k) => [k, Math.max(0, b.parts[k]! - (a.parts[k] ?? 0)) / 100]));
}

export type CpuSample = { totalTicks: number; busyTicks: number; parts: Record<string, number> };

/** The whole machine's CPU time (all cores) and that of named parts, in ticks. */
export function sampleCpu(parts: Record<string, () => number>): CpuSample {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const totalTicks = cpu.reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return { totalTicks, busyTicks: totalTicks - idle, parts: Object.fromEntries(Object.entries(parts).map(([k, f]) => [k, f()])) };
}

/**
 * Shares of the machine's capacity (100% = every core busy) between two samples: each named part,
 * `other` (busy time of everything else on the machine: other users' work is noise) and `idle`.
 */
export function cpuShares(a: CpuSample, b: CpuSample): Record<string, number> {
  const total = b.totalTicks - a.totalTicks;
  if (total <= 0) return {};
  const shares: Record<string, number> = {};
  let known = 0;
  for (const k of Object.keys(b.parts)) {
    const d = Math.max(0, b.parts[k]! - (a.parts[k] ?? 0));
    known += d;
    shares[k] = (100 * d) / total;
  }
  shares.other = Math.max(0, (100 * (b.busyTicks - a.busyTicks - known)) / total);
  shares.idle = (100 * (total - (b.busyTicks - a.busyTicks))) / total;
  return shares;
}

// ── Machine and docs ─────────────────────────────────────────────────────────────────────────────

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '?';
  }
}

/** A fresh database with the schema and sample data (to clone per configuration), and the machine it runs on. */
export async function openSeededBenchDatabase(cleanup: Cleanup, log: (msg: string) => void): Promise<{ database: BenchDatabase; machine: Machine }> {
  const database = await openBenchDatabase(cleanup, log);
  const pool = createPool(database.url, 2);
  try {
    await prepareSchema(pool, { seed: true });
    return { database, machine: await describeMachine(pool) };
  } finally {
    await pool.end();
  }
}

/** The first line of a benchmark's report: when, on what machine, against which database. */
export function measuredOn(machine: Machine, database: { embedded: boolean }): string {
  return `Measured ${machine.date} · ${machine.cpus} cores (${machine.cpuModel}) · ${machine.memory} RAM · ${machine.os} ·
Node.js ${machine.node} · ${machine.postgres} (${database.embedded ? 'embedded, fresh cluster' : 'DATABASE_URL, fresh database'})`;
}

export type Machine = { date: string; cpus: string; cpuModel: string; memory: string; os: string; node: string; postgres: string; pgbench: string };

export async function describeMachine(db: Db): Promise<Machine> {
  const memLine = run('free', ['-h']).split('\n').find((l) => l.startsWith('Mem:'));
  const server = await db.query<{ v: string }>('SELECT version() AS v');
  return {
    date: run('date', ['-u']),
    cpus: run('nproc', []),
    cpuModel: os.cpus()[0]?.model ?? '?',
    memory: memLine ? `${memLine.split(/\s+/)[1]} total` : '?',
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres: server.rows[0]!.v.split(' on ')[0]!,
    pgbench: run(process.env.PGBENCH ?? 'pgbench', ['--version']),
  };
}

/** Replace (or append) the `## <heading>` section of a Markdown file, keeping every other section. */
export function writeDocSection(file: string, title: string, heading: string, body: string): void {
  const section = `## ${heading}\n\n${body.trim()}\n`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : `# ${title}\n`;
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) {
    text = `${text.trimEnd()}\n\n${section}`;
  } else {
    let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
    if (end < 0) end = lines.length;
    const after = lines.slice(end).join('\n');
    text = `${lines.slice(0, start).join('\n').trimEnd()}\n\n${section}${after ? `\n${after}` : ''}`;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
}

// ── Per-configuration databases and node processes (harness/cluster.ts) ─────────────────────────────

/** A copy of database `template` (no one may be connected to it) named `name` on the same server; returns its URL. */
export async function cloneDatabase(serverUrl: string, template: string, name: string): Promise<string> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${c.escapeIdentifier(name)} TEMPLATE ${c.escapeIdentifier(template)}`);
  } finally {
    await c.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await c.end();
  }
}

/**
 * The node clusters a benchmark started. Stopped one by one as the benchmark goes; on Ctrl-C,
 * SIGTERM or an exit without cleanup, every node process of ours — also those of a `startCluster`
 * that failed half-way — is SIGKILLed and its temporary data directory removed.
 */
export class BenchClusters {
  private readonly live = new Set<TestCluster>();

  constructor(private readonly stopTimeoutMs: number, private readonly log: (msg: string) => void) {}

  add(cluster: TestCluster): TestCluster {
    this.live.add(cluster);
    return cluster;
  }

  async stop(cluster: TestCluster): Promise<void> {
    await stopClusterWithin(cluster, this.stopTimeoutMs, this.log);
    this.live.delete(cluster);
  }

  /** Stop every cluster in `cleanup`, and kill everything at once on a signal or an early exit. */
  guard(cleanup: Cleanup): void {
    cleanUpOnSignal(cleanup, this.log, () => this.killNow());
    // Last resort (an exit without cleanup): no node process of ours outlives us.
    process.once('exit', () => this.killNow());
    cleanup.add('stop node processes', async () => {
      for (const cluster of [...this.live]) await this.stop(cluster);
      this.killNow();
    });
  }

  /** SIGKILL every node process of ours and remove their data directories (synchronous). */
  killNow(): void {
    for (const cluster of this.live) {
      for (const handle of cluster.nodes.values()) {
        const proc = handle.proc;
        if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      }
    }
    for (const stray of childProcessesRunning('node/main.ts')) {
      try {
        process.kill(stray.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      if (stray.dataDir && path.basename(stray.dataDir).startsWith('moviebook-cluster-') && path.dirname(stray.dataDir) === os.tmpdir()) {
        fs.rmSync(stray.dataDir, { recursive: true, force: true });
      }
    }
  }
}

/** Stop a test cluster; nodes that have not stopped within `timeoutMs` are killed (and their data removed). */
export async function stopClusterWithin(cluster: TestCluster, timeoutMs: number, log: (msg: string) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)));
  const late = await Promise.race([cluster.stop().then(() => false), timedOut]);
  clearTimeout(timer);
  if (!late) return;
  log(`cluster did not stop within ${timeoutMs} ms: SIGKILL`);
  for (const handle of cluster.nodes.values()) {
    if (handle.proc && handle.proc.exitCode === null && handle.proc.signalCode === null) handle.proc.kill('SIGKILL');
  }
  fs.rmSync(cluster.dataDir, { recursive: true, force: true });
}
