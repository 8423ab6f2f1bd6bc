import cluster, { type Worker } from 'node:cluster';
import http from 'node:http';
import { z } from 'zod';
import { loadDotEnv } from '../server/config';
import { parsePeerList } from '../server/cluster/membership';
import type { Algorithm } from './balancer';
import { Gateway, type LbSettings, type RawStats, type WorkerLink } from './gateway';

/** The gateway process: `npm start` runs it on PORT in front of the nodes. */
const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.string().optional(),
  GATEWAY_BACKENDS: z.string().optional(),
  LB_ALGORITHM: z.enum(['round-robin', 'least-connections', 'weighted']).default('round-robin'),
  LB_WEIGHTS: z.string().optional(),
  LB_HEALTH_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(500),
  LB_HEALTH_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
  LB_RISE: z.coerce.number().int().min(1).max(20).default(2),
  LB_FALL: z.coerce.number().int().min(1).max(20).default(2),
  LB_EJECT_AFTER_FAILURES: z.coerce.number().int().min(1).max(100).default(1),
  LB_EJECT_BASE_MS: z.coerce.number().int().min(100).max(600_000).default(1_000),
  LB_EJECT_MAX_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  LB_UPSTREAM_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  LB_CONNECTIONS_PER_NODE: z.coerce.number().int().min(1).max(1_024).default(64),
  MEMBER_TTL_MS: z.coerce.number().int().min(1_000).default(30_000),
  /**
   * Worker processes sharing the port (node:cluster). 1: one process, one balancer (exact round
   * robin). More: more CPU for proxying, but each worker balances on its own — round robin and
   * weights hold per worker (so overall within a few requests), least connections sees only its
   * own worker's in-flight requests, and every worker runs its own health checks.
   */
  GATEWAY_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
});

/** Messages between the primary and the workers (GATEWAY_WORKERS > 1). */
type Op = { op: 'settings'; settings: LbSettings } | { op: 'stats' };
type ToPrimary = { kind: 'all'; id: number } & Op | { kind: 'op-reply'; id: number; result: RawStats | null };
type ToWorker = { kind: 'op'; id: number } & Op | { kind: 'all-reply'; id: number; results: (RawStats | null)[] };

/** A worker that does not answer within this time is left out of a broadcast's replies. */
const WORKER_REPLY_TIMEOUT_MS = 2_000;
const WORKER_RESTART_DELAY_MS = 500;

export function parseWeights(value: string): Record<string, number> {
  return Object.fromEntries(
    value.split(',').map((part) => {
      const [id, weight] = part.split('=').map((s) => s.trim());
      const n = Number(weight);
      if (!id || !Number.isInteger(n) || n < 0) throw new Error(`LB_WEIGHTS entry "${part}" is not id=integer`);
      return [id, n];
    }),
  );
}

async function main(): Promise<void> {
  loadDotEnv();
  const env = envSchema.parse(process.env);
  if (env.GATEWAY_WORKERS > 1 && cluster.isPrimary) return runPrimary(env.GATEWAY_WORKERS, env.PORT);
  const gateway = new Gateway({
    algorithm: env.LB_ALGORITHM as Algorithm,
    staticWeights: env.LB_WEIGHTS ? parseWeights(env.LB_WEIGHTS) : undefined,
    health: { rise: env.LB_RISE, fall: env.LB_FALL, ejectAfterFailures: env.LB_EJECT_AFTER_FAILURES, ejectBaseMs: env.LB_EJECT_BASE_MS, ejectMaxMs: env.LB_EJECT_MAX_MS },
    healthIntervalMs: env.LB_HEALTH_INTERVAL_MS,
    healthTimeoutMs: env.LB_HEALTH_TIMEOUT_MS,
    upstreamTimeoutMs: env.LB_UPSTREAM_TIMEOUT_MS,
    connectionsPerBackend: env.LB_CONNECTIONS_PER_NODE,
    retryBodyLimitBytes: 1_048_576,
    discoveryIntervalMs: 1_000,
    memberTtlMs: env.MEMBER_TTL_MS,
    staticBackends: env.GATEWAY_BACKENDS ? parsePeerList(env.GATEWAY_BACKENDS) : undefined,
    databaseUrl: env.DATABASE_URL,
  });
  if (!env.GATEWAY_BACKENDS && !env.DATABASE_URL) throw new Error('Set DATABASE_URL (node registry) or GATEWAY_BACKENDS (id=url,…)');
  const server = http.createServer((req, res) => gateway.handle(req, res));
  server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  server.keepAliveTimeout = 65_000;
  await gateway.start();
  if (cluster.isWorker) gateway.workers = workerLink(gateway, env.GATEWAY_WORKERS);
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(env.PORT, env.HOST, resolve));
  if (cluster.isPrimary) console.log(`gateway on http://localhost:${env.PORT} (${gateway.algorithm}), ${gateway.backends.size} node(s) known`);
  const shutdown = () => {
    server.close();
    server.closeAllConnections();
    void gateway.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

/**
 * GATEWAY_WORKERS > 1: the primary only forks the workers (which share the listening port;
 * node:cluster hands connections out round robin), restarts one that dies, and relays
 * broadcasts — a settings change or a stats request from one worker goes to every worker.
 */
function runPrimary(count: number, port: number): void {
  let stopping = false;
  let listening = 0;
  let nextId = 1;
  const pending = new Map<number, { results: (RawStats | null)[]; waiting: number; done: () => void }>();
  const live = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());

  cluster.on('listening', () => {
    listening += 1;
    if (listening === count) console.log(`gateway on http://localhost:${port} with ${count} worker processes`);
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    console.error(`gateway worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
    setTimeout(() => cluster.fork(), WORKER_RESTART_DELAY_MS);
  });
  cluster.on('message', (from: Worker, msg: ToPrimary) => {
    if (msg.kind === 'op-reply') {
      const p = pending.get(msg.id);
      if (!p) return;
      p.results.push(msg.result);
      if (--p.waiting === 0) p.done();
      return;
    }
    const workers = live();
    const id = nextId++;
    const results: (RawStats | null)[] = [];
    const timer = setTimeout(() => done(), WORKER_REPLY_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      pending.delete(id);
      if (from.isConnected()) from.send({ kind: 'all-reply', id: msg.id, results } satisfies ToWorker);
    };
    pending.set(id, { results, waiting: workers.length, done });
    const op: Op = msg.op === 'settings' ? { op: 'settings', settings: msg.settings } : { op: 'stats' };
    for (const w of workers) w.send({ kind: 'op', id, ...op } satisfies ToWorker);
  });
  for (let i = 0; i < count; i++) cluster.fork();

  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    const workers = live();
    let left = workers.length;
    if (!left) process.exit(0);
    for (const w of workers) {
      w.once('exit', () => {
        if (--left === 0) process.exit(0);
      });
      w.process.kill('SIGTERM');
    }
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

/** A worker's side of the broadcasts: answer the primary's ops, and ask it for all workers' answers. */
function workerLink(gateway: Gateway, count: number): WorkerLink {
  let nextId = 1;
  const waiting = new Map<number, (results: (RawStats | null)[]) => void>();
  process.on('message', (msg: ToWorker) => {
    if (msg.kind === 'all-reply') {
      waiting.get(msg.id)?.(msg.results);
      waiting.delete(msg.id);
      return;
    }
    let result: RawStats | null = null;
    if (msg.op === 'settings') gateway.applySettings(msg.settings);
    else result = gateway.rawStats();
    process.send!({ kind: 'op-reply', id: msg.id, result } satisfies ToPrimary);
  });
  const all = (op: Op) => new Promise<(RawStats | null)[]>((resolve) => {
    const id = nextId++;
    waiting.set(id, resolve);
    process.send!({ kind: 'all', id, ...op } satisfies ToPrimary);
  });
  return {
    count,
    async broadcastSettings(settings) {
      await all({ op: 'settings', settings });
    },
    async gatherStats() {
      const results = (await all({ op: 'stats' })).filter((r): r is RawStats => r !== null);
      return results.length ? results : [gateway.rawStats()];
    },
  };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
