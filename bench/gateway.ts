import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { createPool, prepareSchema } from '../db/database';
import { freePort } from '../db/embedded';
import type { Db } from '../db/pool';
import { startCluster, waitFor, type TestCluster } from '../harness/cluster';

import {
  Cleanup, cleanUpOnSignal, cpuShares, describeMachine, localPostmasterPid, measuredOn, median, openBenchDatabase, postgresTicks, processTicks,
  reapedChildrenTicks, runMain, sampleCpu, type CpuSample,
} from '../harness/kit';
import { LB_ALGORITHMS, type LbAlgorithm } from '../core/vocabulary';
import type { AnswerOf } from '../contract/operations';

/**
 * `npm run bench:gateway`: the same 3 real nodes measured
 *   (a) directly — the load generator spreads its connections over the 3 node ports round robin,
 *   (b) through Debian's nginx (round robin, keep-alive upstream pool), started here with its own
 *       config on loopback,
 *   (c) through our gateway (gateway/main.ts), one process per algorithm,
 * for a hello-world endpoint (`GET /api/ping`, no database) and the real seat map
 * (`GET /api/showtimes/:id`, a 224-seat showtime, read from PostgreSQL). Every configuration runs
 * with the same load generator (wrk), connections and duration; configurations alternate (the
 * order rotates each repetition). Writes the "Gateway vs nginx" section of docs/benchmarks.md.
 *
 * Environment: BENCH_SECONDS (5) per run, BENCH_REPS (3), BENCH_CONNECTIONS (48, a multiple of
 * BENCH_THREADS), BENCH_THREADS (3 wrk threads, a multiple of 3), BENCH_WARMUP_SECONDS (2),
 * BENCH_WRITE_DOCS (1), BENCH_DOCS_FILE (docs/benchmarks.md), BENCH_ENDPOINTS (ping,seat-map), BENCH_CONFIGS (default: direct, nginx,
 * gateway:<each algorithm>, workers:round-robin, and baseline:round-robin when BENCH_BASELINE_DIR
 * is set), BENCH_GATEWAY_WORKERS (2: GATEWAY_WORKERS of the workers:* configurations),
 * BENCH_WORKERS_ALGORITHMS (round-robin), BENCH_NGINX_WORKERS (auto), BENCH_BASELINE_DIR (another
 * checkout whose gateway runs as baseline:*, for a before/after), BENCH_BASELINE_ALGORITHMS
 * (round-robin), BENCH_GATEWAY_PROF (0; 1 = CPU profiles of the gateways to
 * $TMPDIR/moviebook-bench-profiles), BENCH_GATEWAY_ENV (extra gateway env, "K=V,K=V"),
 * DATABASE_URL (else a fresh embedded PostgreSQL), WRK and NGINX (binaries; default wrk from PATH,
 * /usr/sbin/nginx).
 */

const RUN_S = Number(process.env.BENCH_SECONDS ?? 5);
const REPETITIONS = Number(process.env.BENCH_REPS ?? 3);
const THREADS = Number(process.env.BENCH_THREADS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 48);
const WARMUP_S = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const WRITE_DOCS = process.env.BENCH_WRITE_DOCS !== '0';
const GATEWAY_PROFILE = process.env.BENCH_GATEWAY_PROF === '1';
const PROFILE_DIR = path.join(os.tmpdir(), 'moviebook-bench-profiles');
const WRK = process.env.WRK ?? 'wrk';
const NGINX = process.env.NGINX ?? (fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx');
const DOCS_FILE = process.env.BENCH_DOCS_FILE ?? path.join('docs', 'benchmarks.md');
const DOCS_HEADING = 'Gateway vs nginx';
/**
 * wrk's load comes from one address: the per-address limits stay on (their checks are part of the
 * cost being measured) but are raised out of its way — the seat map is a rate-limited "costly read".
 */
const EDGE_LIMITS_RAISED = {
  LB_ADDRESS_LIMITS: 'on', LB_READ_RATE_PER_SEC: '1000000000', LB_READ_BURST: '1000000000', LB_CONNECTIONS_PER_ADDRESS: '100000',
};
const NODE_COUNT = 3;
const SEATS = 224;
/** Target (issue 12): our gateway keeps at least nginx's throughput on the seat map, whatever the algorithm. */
const TARGET_GATEWAY_VS_NGINX = 1.0;
const WRK_GRACE_MS = 30_000;
const PROCESS_STOP_TIMEOUT_MS = 10_000;
const GATEWAY_READY_TIMEOUT_MS = 60_000;

/** Another checkout (its own node_modules or a symlink to ours): its gateway runs too, as "baseline", for a before/after. */
const BASELINE_DIR = process.env.BENCH_BASELINE_DIR;
/** Worker processes of the "workers" configurations (GATEWAY_WORKERS), like nginx's worker_processes. */
const GATEWAY_WORKERS = Number(process.env.BENCH_GATEWAY_WORKERS ?? 2);
const NGINX_WORKERS = process.env.BENCH_NGINX_WORKERS ?? 'auto';
const list = (value: string | undefined, fallback: string) => (value ?? fallback).split(',').map((x) => x.trim()).filter(Boolean);
type ConfigName = 'direct' | 'nginx' | `gateway:${LbAlgorithm}` | `workers:${LbAlgorithm}` | `baseline:${LbAlgorithm}`;
const ALL_CONFIGS: ConfigName[] = [
  'direct', 'nginx', ...LB_ALGORITHMS.map((a) => `gateway:${a}` as const),
  ...list(process.env.BENCH_WORKERS_ALGORITHMS, 'round-robin').map((a) => `workers:${a}` as ConfigName),
  ...(BASELINE_DIR ? list(process.env.BENCH_BASELINE_ALGORITHMS, 'round-robin').map((a) => `baseline:${a}` as ConfigName) : []),
];
const CONFIGS = list(process.env.BENCH_CONFIGS, ALL_CONFIGS.join(',')) as ConfigName[];
const isOurs = (c: ConfigName) => c !== 'direct' && c !== 'nginx';
const algorithmOf = (c: ConfigName) => c.slice(c.indexOf(':') + 1) as LbAlgorithm;
type EndpointName = 'ping' | 'seat-map';
const ENDPOINT_NAMES = list(process.env.BENCH_ENDPOINTS, 'ping,seat-map') as EndpointName[];

const log = (msg: string) => console.error(`[bench:gateway ${new Date().toISOString().slice(11, 19)}] ${msg}`);

// ── Processes we start, and only those ──────────────────────────────────────────────────────────

/** Every live descendant of `root` (children, their children…), from /proc. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      /* exited meanwhile */
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/** CPU ticks of a process and its live descendants (nginx's workers, a gateway's workers). */
function treeTicks(pid: number): number {
  return [pid, ...descendants(pid)].reduce((sum, p) => sum + processTicks(p), 0);
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/**
 * Safety net for a failure half-way through starting something (startCluster does not hand back
 * the nodes it already started when a later one fails): SIGKILL our own child processes that run
 * a node, a gateway, nginx or wrk — by pid, never by name across the machine.
 */
function killLeftoverChildren(): void {
  for (const pid of descendants(process.pid)) {
    if (/server\/main\.ts|gateway\/main\.ts|nginx|wrk/.test(cmdline(pid))) {
      try {
        process.kill(pid, 'SIGKILL');
        log(`cleanup: killed leftover child ${pid} (${cmdline(pid).slice(0, 80)})`);
      } catch {
        /* already gone */
      }
    }
  }
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), PROCESS_STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

// ── nginx ────────────────────────────────────────────────────────────────────────────────────────

type Nginx = { url: string; pid: number; dir: string; version: string };

function nginxConfig(dir: string, port: number, backends: string[]): string {
  return `# Generated by bench/gateway.ts: nginx as a round-robin reverse proxy with keep-alive to the nodes.
daemon off;
master_process on;
worker_processes ${NGINX_WORKERS};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream moviebook_nodes {
${backends.map((b) => `    server ${b} max_fails=1 fail_timeout=1s;`).join('\n')}
    keepalive 64;
    keepalive_requests 100000;
  }
  server {
    listen 127.0.0.1:${port} reuseport;
    keepalive_requests 100000;
    location / {
      proxy_pass http://moviebook_nodes;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Request-Id $request_id;
      # Like our gateway: retry an idempotent request once elsewhere if the node fails before answering.
      proxy_next_upstream error timeout;
      proxy_next_upstream_tries 2;
      # A seat map (~27 kB) fits in memory buffers: no temporary files.
      proxy_buffer_size 16k;
      proxy_buffers 8 16k;
      add_header X-Served-By $upstream_addr always;
      add_header X-Request-Id $request_id always;
    }
  }
}
`;
}

async function startNginx(cleanup: Cleanup, backends: string[]): Promise<Nginx> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moviebook-bench-nginx-'));
  cleanup.add('remove nginx dir', () => fs.rmSync(dir, { recursive: true, force: true }));
  // nginx's workers run as an unprivileged user when we are root: let them into the temp dirs.
  fs.chmodSync(dir, 0o755);
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, nginxConfig(dir, port, backends));
  const version = await new Promise<string>((resolve) => {
    const v = spawn(NGINX, ['-v'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let out = '';
    v.stderr.on('data', (d: Buffer) => (out += d.toString()));
    v.on('error', () => resolve('?'));
    v.on('exit', () => resolve(out.trim().replace(/^nginx version: /, '')));
  });
  const child = spawn(NGINX, ['-p', dir, '-e', path.join(dir, 'error.log'), '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  cleanup.add(`stop nginx (pid ${child.pid})`, () => stopChild(child, 'SIGTERM'));
  const url = `http://127.0.0.1:${port}`;
  await Promise.race([
    spawnError.then((err) => {
      throw new Error(`cannot run ${NGINX} (${err.message}); install it with: apt-get install -y nginx`);
    }),
    waitFor('nginx to answer', 15_000, async () => {
      if (child.exitCode !== null) {
        const errorLog = fs.existsSync(path.join(dir, 'error.log')) ? fs.readFileSync(path.join(dir, 'error.log'), 'utf8') : '';
        throw new Error(`nginx exited with ${child.exitCode}: ${output.join('')} ${errorLog}`);
      }
      const res = await request(`${url}/api/ping`).catch(() => undefined);
      await res?.body.dump();
      return res?.statusCode === 200;
    }),
  ]);
  return { url, pid: child.pid!, dir, version };
}

// ── Our gateway ──────────────────────────────────────────────────────────────────────────────────

type GatewayProcess = { url: string; pid: number };

/**
 * `gateway/main.ts` of the checkout in `cwd` as a child process (like harness/cluster.ts#startGateway,
 * but with node arguments, for --cpu-prof, and another checkout's code, for a before/after run).
 */
async function startGatewayProcess(
  cleanup: Cleanup, options: { label: string; cwd: string; env: Record<string, string>; nodeArgs: string[] },
): Promise<GatewayProcess> {
  const port = await freePort();
  const output: string[] = [];
  const child = spawn(process.execPath, [...options.nodeArgs, '--import', 'tsx', 'gateway/main.ts'], {
    cwd: options.cwd,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  cleanup.add(`stop ${options.label} (pid ${child.pid})`, () => stopChild(child, 'SIGTERM'));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${options.label} to see every node eligible`, GATEWAY_READY_TIMEOUT_MS, async () => {
    if (child.exitCode !== null) throw new Error(`${options.label} exited with ${child.exitCode}: ${output.join('').slice(-2000)}`);
    const res = await request(`${url}/api/lb`);
    const stats = (await res.body.json()) as Partial<AnswerOf<'GET /api/lb'>>;
    return res.statusCode === 200 && stats.nodes?.length === NODE_COUNT && stats.nodes.every((n) => n.eligible);
  });
  return { url, pid: child.pid! };
}

// ── wrk ──────────────────────────────────────────────────────────────────────────────────────────

type WrkResult = {
  requests: number; durationUs: number; bytes: number;
  connect: number; read: number; write: number; status: number; timeout: number;
  p50Us: number; p90Us: number; p99Us: number; maxUs: number; meanUs: number;
};

const WRK_REPORT = `
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCHJSON {"requests":%.0f,"durationUs":%.0f,"bytes":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,' ..
    '"status":%.0f,"timeout":%.0f,"p50Us":%.0f,"p90Us":%.0f,"p99Us":%.0f,"maxUs":%.0f,"meanUs":%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
`;

/** Direct: each wrk thread talks to one node, the threads assigned to the node ports in turn. */
function wrkDirectScript(ports: number[]): string {
  return `
local ports = { ${ports.join(', ')} }
local next_port = 0
function setup(thread)
  local port = ports[(next_port % #ports) + 1]
  next_port = next_port + 1
  thread.addr = wrk.lookup("127.0.0.1", tostring(port))[1]
end
${WRK_REPORT}`;
}

async function runWrk(scriptFile: string, url: string, seconds: number): Promise<WrkResult> {
  const args = ['-t', String(THREADS), '-c', String(CONNECTIONS), '-d', `${seconds}s`, '--timeout', '10s', '-s', scriptFile, url];
  const child = spawn(WRK, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), seconds * 1000 + WRK_GRACE_MS);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`cannot run ${WRK} (${err.message}); install it with: apt-get install -y wrk`)));
    child.once('exit', (c) => resolve(c));
  }).finally(() => clearTimeout(timer));
  const line = out.split('\n').find((l) => l.startsWith('BENCHJSON '));
  if (code !== 0 || !line) throw new Error(`wrk ${args.join(' ')} exited with ${code}:\n${out}`);
  return JSON.parse(line.slice('BENCHJSON '.length)) as WrkResult;
}

// ── One measured run ─────────────────────────────────────────────────────────────────────────────

type Target = { config: ConfigName; url: string; script: string; proxyPid: number | undefined };
type Endpoint = { name: EndpointName; path: string; label: string };

type RunResult = {
  rep: number; endpoint: EndpointName; config: ConfigName;
  rps: number; p50Ms: number; p99Ms: number; requests: number; errors: number; bytesPerResponse: number;
  /** CPU of the proxy process(es) per request, microseconds (0 for direct). */
  proxyCpuUsPerReq: number;
  /** CPU of everything this benchmark runs, per request (nodes + proxy + PostgreSQL + wrk), microseconds. */
  totalCpuUsPerReq: number;
  cpu: Record<string, number>;
};

let cpuParts: Record<string, () => number> = {};

function cpuSecondsBetween(a: CpuSample, b: CpuSample): Record<string, number> {
  return Object.fromEntries(Object.keys(b.parts).map((k) => [k, Math.max(0, b.parts[k]! - (a.parts[k] ?? 0)) / 100]));
}

async function measure(rep: number, endpoint: Endpoint, target: Target, seconds: number): Promise<RunResult> {
  const parts = { ...cpuParts, proxy: () => (target.proxyPid ? treeTicks(target.proxyPid) : 0), loadgen: reapedChildrenTicks };
  const before = sampleCpu(parts);
  const w = await runWrk(target.script, target.url + endpoint.path, seconds);
  const after = sampleCpu(parts);
  const shares = cpuShares(before, after);
  const seconds_ = cpuSecondsBetween(before, after);
  const errors = w.connect + w.read + w.write + w.status + w.timeout;
  const total = ['nodes', 'proxy', 'postgres', 'loadgen'].reduce((s, k) => s + (seconds_[k] ?? 0), 0);
  return {
    rep, endpoint: endpoint.name, config: target.config,
    rps: w.requests / (w.durationUs / 1e6), p50Ms: w.p50Us / 1000, p99Ms: w.p99Us / 1000, requests: w.requests, errors,
    bytesPerResponse: w.requests ? w.bytes / w.requests : 0,
    proxyCpuUsPerReq: w.requests ? (1e6 * (seconds_.proxy ?? 0)) / w.requests : NaN,
    totalCpuUsPerReq: w.requests ? (1e6 * total) / w.requests : NaN,
    cpu: shares,
  };
}

/** One request through a target, checked: the right answer, from a node, with the proxy's headers. */
async function check(target: Target, endpoint: Endpoint, nodeUrls: string[]): Promise<void> {
  const urls = target.config === 'direct' ? nodeUrls : [target.url];
  for (const base of urls) {
    const res = await request(base + endpoint.path, { headers: { accept: 'application/json' } });
    const body = (await res.body.json()) as { ok?: boolean; nodeId?: string; seats?: unknown[] };
    const what = `${target.config} ${endpoint.path}`;
    if (res.statusCode !== 200) throw new Error(`${what}: status ${res.statusCode} ${JSON.stringify(body).slice(0, 200)}`);
    if (endpoint.name === 'ping' && (body.ok !== true || !body.nodeId)) throw new Error(`${what}: unexpected body ${JSON.stringify(body)}`);
    if (endpoint.name === 'seat-map' && body.seats?.length !== SEATS) throw new Error(`${what}: ${body.seats?.length} seats, expected ${SEATS}`);
    if (target.config !== 'direct' && (!res.headers['x-served-by'] || !res.headers['x-request-id'])) {
      throw new Error(`${what}: no X-Served-By / X-Request-Id`);
    }
  }
}

// ── Report ───────────────────────────────────────────────────────────────────────────────────────

type Row = {
  endpoint: EndpointName; config: ConfigName; runs: number; rps: number; p50Ms: number; p99Ms: number; errors: number;
  vsDirect: number; vsNginx: number | undefined;
  /** nginx's CPU per request (all our processes) ÷ this configuration's: the throughput ratio on an otherwise idle, CPU-bound machine. */
  cpuVsNginx: number | undefined;
  proxyCpuUsPerReq: number; totalCpuUsPerReq: number; cpu: string; bytes: number;
};

const CPU_PARTS_SHOWN = ['nodes', 'proxy', 'postgres', 'loadgen', 'other', 'idle'];

/**
 * Ratios are paired: within one repetition every configuration runs back to back, so the ratio of
 * two of them in the same repetition shares most of the machine's background load; the table
 * shows the median of those per-repetition ratios (robust to load that drifts between repetitions).
 */
function pairedRatio(results: RunResult[], endpoint: EndpointName, config: ConfigName, reference: ConfigName): number {
  const ratios: number[] = [];
  for (const r of results.filter((x) => x.endpoint === endpoint && x.config === config)) {
    const ref = results.find((x) => x.endpoint === endpoint && x.config === reference && x.rep === r.rep);
    if (ref) ratios.push(r.rps / ref.rps);
  }
  return median(ratios);
}

function aggregate(results: RunResult[]): Row[] {
  const rows: Row[] = [];
  for (const endpoint of ENDPOINT_NAMES) {
    const nginxCpu = median(results.filter((r) => r.endpoint === endpoint && r.config === 'nginx').map((r) => r.totalCpuUsPerReq));
    for (const config of CONFIGS) {
      const rs = results.filter((r) => r.endpoint === endpoint && r.config === config);
      if (!rs.length) continue;
      const m = (f: (r: RunResult) => number) => median(rs.map(f));
      const totalCpuUsPerReq = m((r) => r.totalCpuUsPerReq);
      rows.push({
        endpoint, config, runs: rs.length, rps: m((r) => r.rps), p50Ms: m((r) => r.p50Ms), p99Ms: m((r) => r.p99Ms),
        errors: rs.reduce((s, r) => s + r.errors, 0),
        vsDirect: pairedRatio(results, endpoint, config, 'direct'),
        vsNginx: isOurs(config) ? pairedRatio(results, endpoint, config, 'nginx') : undefined,
        cpuVsNginx: isOurs(config) ? nginxCpu / totalCpuUsPerReq : undefined,
        proxyCpuUsPerReq: m((r) => r.proxyCpuUsPerReq), totalCpuUsPerReq,
        cpu: CPU_PARTS_SHOWN.filter((p) => rs.some((r) => r.cpu[p] !== undefined) && (p !== 'proxy' || config !== 'direct'))
          .map((p) => `${p} ${median(rs.map((r) => r.cpu[p] ?? NaN)).toFixed(0)}`).join(' · '),
        bytes: m((r) => r.bytesPerResponse),
      });
    }
  }
  return rows;
}

const fmtRatio = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '' : x.toFixed(2));
function configLabel(c: ConfigName): string {
  if (c === 'direct') return 'direct (3 ports)';
  if (c === 'nginx') return `nginx (${NGINX_WORKERS === 'auto' ? os.cpus().length : NGINX_WORKERS} workers)`;
  if (c.startsWith('workers:')) return `gateway ${algorithmOf(c)}, ${GATEWAY_WORKERS} workers`;
  return `${c.startsWith('baseline:') ? 'before: ' : ''}gateway ${algorithmOf(c)}`;
}

function markdownTable(rows: Row[], endpoints: Endpoint[]): string {
  const header = '| Endpoint | Path | req/s | p50 ms | p99 ms | / direct | **/ nginx** | / nginx by CPU | proxy CPU µs/req | all CPU µs/req | CPU % of the machine (2 cores = 100) |\n'
    + '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|';
  const lines = rows.map((r) => `| ${endpoints.find((e) => e.name === r.endpoint)!.label} | ${configLabel(r.config)} | ${r.rps.toFixed(0)} | `
    + `${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${fmtRatio(r.vsDirect)} | ${r.vsNginx === undefined ? '' : `**${fmtRatio(r.vsNginx)}**`} | `
    + `${fmtRatio(r.cpuVsNginx)} | ${r.config === 'direct' ? '' : r.proxyCpuUsPerReq.toFixed(0)} | ${r.totalCpuUsPerReq.toFixed(0)} | ${r.cpu} |`);
  return [header, ...lines].join('\n');
}

function rawTable(results: RunResult[]): string {
  const header = '| Rep | Endpoint | Path | req/s | p50 ms | p99 ms | errors | proxy CPU µs/req | other load % |\n|---:|---|---|---:|---:|---:|---:|---:|---:|';
  const lines = results.map((r) => `| ${r.rep} | ${r.endpoint} | ${configLabel(r.config)} | ${r.rps.toFixed(0)} | ${r.p50Ms.toFixed(2)} | `
    + `${r.p99Ms.toFixed(2)} | ${r.errors} | ${r.config === 'direct' ? '' : r.proxyCpuUsPerReq.toFixed(0)} | ${(r.cpu.other ?? NaN).toFixed(0)} |`);
  return [header, ...lines].join('\n');
}

function printTable(rows: Row[]): void {
  const cols = ['endpoint', 'path', 'req/s', 'p50 ms', 'p99 ms', '/direct', '/nginx', '/nginx cpu', 'proxy µs/req', 'all µs/req', 'cpu % of machine'];
  const data = rows.map((r) => [
    r.endpoint, configLabel(r.config), r.rps.toFixed(0), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2), fmtRatio(r.vsDirect), fmtRatio(r.vsNginx),
    fmtRatio(r.cpuVsNginx), r.config === 'direct' ? '' : r.proxyCpuUsPerReq.toFixed(0), r.totalCpuUsPerReq.toFixed(0), r.cpu,
  ]);
  const widths = cols.map((c, i) => Math.max(c.length, ...data.map((d) => d[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i < 2 || i === cols.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${fmt(cols)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const d of data) console.log(fmt(d));
  console.log('');
}

function ratioLines(rows: Row[], endpoints: Endpoint[]): string[] {
  const lines: string[] = [];
  for (const e of endpoints) {
    const get = (c: ConfigName) => rows.find((r) => r.endpoint === e.name && r.config === c);
    const nginx = get('nginx');
    const parts: string[] = [];
    if (nginx) parts.push(`nginx / direct **${fmtRatio(nginx.vsDirect)}**`);
    for (const c of CONFIGS.filter(isOurs)) {
      const g = get(c);
      if (g) parts.push(`${configLabel(c)} / nginx **${fmtRatio(g.vsNginx)}** (by CPU ${fmtRatio(g.cpuVsNginx)}; / direct ${fmtRatio(g.vsDirect)})`);
    }
    lines.push(`- ${e.label}: ${parts.join(' · ')}`);
  }
  return lines;
}

const BEGIN_MARK = '<!-- bench:gateway:begin (generated by `npm run bench:gateway`; text outside the markers is kept) -->';
const END_MARK = '<!-- bench:gateway:end -->';

function writeDocs(generatedBody: string): void {
  const generated = `${BEGIN_MARK}\n${generatedBody.trim()}\n${END_MARK}`;
  // Re-read right before writing: other benchmarks write other sections of the same file.
  let text = fs.existsSync(DOCS_FILE) ? fs.readFileSync(DOCS_FILE, 'utf8') : '# Benchmarks\n';
  const begin = text.indexOf('<!-- bench:gateway:begin');
  const end = text.indexOf(END_MARK);
  if (begin >= 0 && end > begin) {
    text = text.slice(0, begin) + generated + text.slice(end + END_MARK.length);
  } else {
    const lines = text.split('\n');
    const start = lines.findIndex((l) => l.trim() === `## ${DOCS_HEADING}`);
    if (start < 0) {
      text = `${text.trimEnd()}\n\n## ${DOCS_HEADING}\n\n${generated}\n`;
    } else {
      // The section exists without markers: put the generated block first in it, keep the rest.
      lines.splice(start + 1, 0, '', generated);
      text = lines.join('\n');
    }
  }
  fs.writeFileSync(DOCS_FILE, text.endsWith('\n') ? text : `${text}\n`);
}

/** What the baseline checkout is, for the docs: its commit if it is a git work tree, else its path. */
function baselineCommit(dir: string): string {
  try {
    return execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return dir;
  }
}

// ── Main ─────────────────────────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  const began = performance.now();
  if (CONNECTIONS % THREADS !== 0 || THREADS % NODE_COUNT !== 0) {
    throw new Error(`BENCH_CONNECTIONS (${CONNECTIONS}) must be a multiple of BENCH_THREADS (${THREADS}), itself a multiple of ${NODE_COUNT}`);
  }
  const cleanup = new Cleanup();
  cleanUpOnSignal(cleanup, log);
  try {
    const database = await openBenchDatabase(cleanup, log);
    // Runs (LIFO) after every orderly stop below and before the database goes away.
    cleanup.add('kill leftover child processes', killLeftoverChildren);
    const db: Db = createPool(database.url, 2);
    cleanup.add('close bench pool', () => db.end());
    await prepareSchema(db, { seed: true });
    const { rows: showtimes } = await db.query<{ showtime_id: number }>(
      `SELECT showtime_id FROM showtime_seats GROUP BY showtime_id HAVING count(*) = $1 ORDER BY showtime_id LIMIT 1`, [SEATS],
    );
    if (!showtimes[0]) throw new Error(`no showtime with ${SEATS} seats in the sample data`);
    const showtimeId = showtimes[0].showtime_id;
    const endpoints: Endpoint[] = [
      { name: 'ping' as const, path: '/api/ping', label: 'hello world `GET /api/ping`' },
      { name: 'seat-map' as const, path: `/api/showtimes/${showtimeId}`, label: `seat map \`GET /api/showtimes/${showtimeId}\`` },
    ].filter((e) => ENDPOINT_NAMES.includes(e.name));

    log(`database ${database.name}; starting ${NODE_COUNT} nodes`);
    // If a start fails half-way, killLeftoverChildren (above) stops what did start.
    const cluster: TestCluster = await startCluster(NODE_COUNT, database.url, { LOG_LEVEL: 'warn' });
    cleanup.add('stop the nodes', () => cluster.stop());
    const nodes = [...cluster.nodes.values()];
    const nodeUrls = nodes.map((n) => n.url);
    const nodePids = nodes.map((n) => n.proc!.pid!);
    log(`nodes: ${nodes.map((n) => `${n.id} pid ${n.proc!.pid} ${n.url}`).join(', ')}`);

    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'moviebook-bench-gateway-'));
    cleanup.add('remove wrk scripts', () => fs.rmSync(tmp, { recursive: true, force: true }));
    const reportScript = path.join(tmp, 'report.lua');
    fs.writeFileSync(reportScript, WRK_REPORT);
    const directScript = path.join(tmp, 'direct.lua');
    fs.writeFileSync(directScript, wrkDirectScript(nodes.map((n) => n.port)));

    const targets: Target[] = [];
    let nginxVersion = '–';
    const extraGatewayEnv = Object.fromEntries((process.env.BENCH_GATEWAY_ENV ?? '').split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
    if (GATEWAY_PROFILE) log(`the gateways' CPU profiles go to ${PROFILE_DIR}`);
    for (const config of CONFIGS) {
      if (config === 'direct') {
        targets.push({ config, url: nodeUrls[0]!, script: directScript, proxyPid: undefined });
      } else if (config === 'nginx') {
        const nginx = await startNginx(cleanup, nodes.map((n) => `127.0.0.1:${n.port}`));
        nginxVersion = nginx.version;
        log(`nginx ${nginx.version} pid ${nginx.pid} at ${nginx.url} (config in ${nginx.dir})`);
        targets.push({ config, url: nginx.url, script: reportScript, proxyPid: nginx.pid });
      } else {
        const algorithm = algorithmOf(config);
        const baseline = config.startsWith('baseline:');
        const gw = await startGatewayProcess(cleanup, {
          label: configLabel(config),
          cwd: baseline ? path.resolve(BASELINE_DIR!) : process.cwd(),
          env: {
            LB_ALGORITHM: algorithm,
            GATEWAY_WORKERS: config.startsWith('workers:') ? String(GATEWAY_WORKERS) : '1',
            // The same three nodes as nginx and the direct runs, not whatever the registry holds.
            GATEWAY_BACKENDS: nodes.map((n) => `${n.id}=${n.url}`).join(','),
            DATABASE_URL: database.url,
            ...EDGE_LIMITS_RAISED,
            ...extraGatewayEnv,
          },
          nodeArgs: GATEWAY_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [],
        });
        log(`${configLabel(config)} pid ${gw.pid} at ${gw.url}`);
        targets.push({ config, url: gw.url, script: reportScript, proxyPid: gw.pid });
      }
    }

    const postmaster = await localPostmasterPid(db);
    cpuParts = {
      nodes: () => nodePids.reduce((s, p) => s + processTicks(p), 0),
      ...(postmaster ? { postgres: () => postgresTicks(postmaster) } : {}),
    };

    for (const endpoint of endpoints) for (const t of targets) await check(t, endpoint, nodeUrls);
    log(`every configuration answers correctly; warming up (${WARMUP_S} s each)`);
    for (const endpoint of endpoints) for (const t of targets) await measure(0, endpoint, t, WARMUP_S);

    const results: RunResult[] = [];
    for (let rep = 1; rep <= REPETITIONS; rep++) {
      for (const endpoint of endpoints) {
        // Rotate the order every repetition, so no configuration always runs first or last.
        const order = targets.map((_, i) => targets[(i + rep - 1) % targets.length]!);
        for (const t of order) {
          const r = await measure(rep, endpoint, t, RUN_S);
          results.push(r);
          log(`rep ${rep} ${endpoint.name.padEnd(8)} ${configLabel(t.config).padEnd(26)} ${r.rps.toFixed(0).padStart(6)} req/s  `
            + `p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  errors ${r.errors}  `
            + `${t.proxyPid ? `proxy ${r.proxyCpuUsPerReq.toFixed(0)} µs/req  ` : ''}other load ${(r.cpu.other ?? NaN).toFixed(0)}%`);
          if (r.errors) throw new Error(`${t.config} ${endpoint.path}: ${r.errors} errors (non-2xx, socket errors or timeouts)`);
        }
      }
    }

    const rows = aggregate(results);
    printTable(rows);
    const ratios = ratioLines(rows, endpoints);
    for (const l of ratios) log(l.replaceAll('**', ''));
    const seatMapVerdicts = rows.filter((r) => r.endpoint === 'seat-map' && r.vsNginx !== undefined)
      .map((r) => `${configLabel(r.config)} ${fmtRatio(r.vsNginx)} ${r.vsNginx! >= TARGET_GATEWAY_VS_NGINX ? 'meets' : 'BELOW'}`);
    if (seatMapVerdicts.length) log(`seat map, gateway / nginx (target ≥ ${TARGET_GATEWAY_VS_NGINX}): ${seatMapVerdicts.join(' · ')}`);

    if (WRITE_DOCS) {
      const machine = await describeMachine(db);
      const gatewayEnv = (process.env.BENCH_GATEWAY_ENV ? ` BENCH_GATEWAY_ENV=${process.env.BENCH_GATEWAY_ENV}` : '')
        + (BASELINE_DIR ? ` BENCH_BASELINE_DIR=<checkout of ${baselineCommit(BASELINE_DIR)}>` : '');
      writeDocs(`${measuredOn(machine, database)} · ${nginxVersion} · wrk.
**Everything shares these ${machine.cpus} cores**: the load generator, the 3 nodes, PostgreSQL and the proxy under test
(a proxy's CPU is taken from the nodes and PostgreSQL), plus whatever else runs on the machine ("other").

Command: \`npm run bench:gateway\` (BENCH_SECONDS=${RUN_S} BENCH_REPS=${REPETITIONS} BENCH_CONNECTIONS=${CONNECTIONS} BENCH_THREADS=${THREADS}${gatewayEnv};
whole run ${((performance.now() - began) / 1000).toFixed(0)} s). The same 3 node processes (\`node/main.ts\`, API only, NODE_ENV=production,
a real cluster: heartbeats, election, clock sync) for every configuration; wrk with ${THREADS} threads and ${CONNECTIONS} keep-alive
connections, ${RUN_S} s per run, after a ${WARMUP_S} s warm-up of each configuration; configurations alternate and their order
rotates every repetition; figures are medians of ${REPETITIONS} runs. **direct**: wrk's threads are assigned to the 3 node ports in
turn (${CONNECTIONS / NODE_COUNT} connections per node). **nginx**: \`worker_processes ${NGINX_WORKERS}\`, upstream round robin with \`keepalive 64\`,
HTTP/1.1 to the nodes, X-Request-Id / X-Served-By / X-Forwarded-For like ours, no access log. **gateway**: \`gateway/main.ts\`,
one process per configuration (\`LB_ALGORITHM\`; static backends = the same 3 nodes; load-based weights for \`weighted\`; the per-address limits on, with the read rate and connection cap raised above wrk's load);
"${GATEWAY_WORKERS} workers" = \`GATEWAY_WORKERS=${GATEWAY_WORKERS}\` (node:cluster, each worker balancing on its own)${BASELINE_DIR ? '; "before" = the gateway of another checkout (BENCH_BASELINE_DIR)' : ''}.
Seat map: a ${SEATS}-seat showtime, anonymous, as the cluster serves it (${(rows.find((r) => r.endpoint === 'seat-map')?.bytes ?? 0).toFixed(0)} bytes per response with headers; the nodes read the seat states from their replicas); hello world: \`{ ok: true, nodeId }\`, no database.
proxy CPU µs/req = CPU time of the proxy's processes (nginx master + workers, or the gateway and its workers) per
request: much less sensitive to other load on the machine than req/s. all CPU µs/req adds the nodes, PostgreSQL and wrk.

Ratios of req/s are paired: the median over repetitions of (this configuration's req/s ÷ the reference's req/s in
the same repetition). "by CPU" = nginx's CPU µs per request (all our processes) ÷ this configuration's: what the
throughput ratio would be on an otherwise idle machine where everything is CPU-bound. Target: gateway / nginx ≥
${TARGET_GATEWAY_VS_NGINX} on the seat map.
${ratios.join('\n')}

${markdownTable(rows, endpoints)}

<details><summary>Every run</summary>

${rawTable(results)}

</details>`);
      log(`wrote the "${DOCS_HEADING}" section of ${DOCS_FILE}`);
    }
  } finally {
    await cleanup.run();
  }
}

runMain(main);
