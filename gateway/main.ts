import cluster, { type Worker } from 'node:cluster';
import http from 'node:http';
import pino from 'pino';
import { parseSiteOrigins } from '../http/browser-edge';
import { loadDotEnv } from '../config/dotenv';
import { exitOnBadSettings } from '../config/settings';
import { gatewaySettings, parseWeights } from './config';
import { parsePeerList } from '../transport/peers';
import { Gateway, type LbSettings, type RawStats, type WorkerLink } from './gateway';

/** Messages between the primary and the workers (GATEWAY_WORKERS > 1). */
type Op = { op: 'settings'; settings: LbSettings } | { op: 'stats' };
type ToPrimary = { kind: 'all'; id: number } & Op | { kind: 'op-reply'; id: number; result: RawStats | null };
type ToWorker = { kind: 'op'; id: number } & Op | { kind: 'all-reply'; id: number; results: (RawStats | null)[] };

/** A worker that does not answer within this time is left out of a broadcast's replies. */
const WORKER_REPLY_TIMEOUT_MS = 2_000;
const WORKER_RESTART_DELAY_MS = 500;
/** How often Node checks connections against the headers and request timeouts (its default, 30 s, is too coarse). */
const CONNECTIONS_CHECK_INTERVAL_MS = 1_000;
const MINUTE_MS = 60_000;
const SECOND_MS = 1_000;



async function main(): Promise<void> {
  loadDotEnv();
  const env = gatewaySettings(process.env);
  if (env.GATEWAY_WORKERS > 1 && cluster.isPrimary) return runPrimary(env.GATEWAY_WORKERS, env.PORT);
  const websockets = env.LB_WEBSOCKETS === 'auto' ? env.NODE_ENV !== 'production' : env.LB_WEBSOCKETS === 'on';
  const gateway = new Gateway({
    algorithm: env.LB_ALGORITHM,
    staticWeights: env.LB_WEIGHTS ? parseWeights(env.LB_WEIGHTS) : undefined,
    health: { rise: env.LB_RISE, fall: env.LB_FALL, ejectAfterFailures: env.LB_EJECT_AFTER_FAILURES, ejectBaseMs: env.LB_EJECT_BASE_MS, ejectMaxMs: env.LB_EJECT_MAX_MS },
    healthIntervalMs: env.LB_HEALTH_INTERVAL_MS,
    healthTimeoutMs: env.LB_HEALTH_TIMEOUT_MS,
    upstreamTimeoutMs: env.LB_UPSTREAM_TIMEOUT_MS,
    connectionsPerBackend: env.LB_CONNECTIONS_PER_NODE,
    discoveryIntervalMs: 1_000,
    memberTtlMs: env.MEMBER_TTL_MS,
    staticBackends: env.GATEWAY_BACKENDS ? parsePeerList(env.GATEWAY_BACKENDS) : undefined,
    databaseUrl: env.DATABASE_URL,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    edge: {
      addressLimits: env.LB_ADDRESS_LIMITS === 'on',
      login: { rate: env.LB_LOGIN_RATE_PER_MIN, periodMs: MINUTE_MS, burst: env.LB_LOGIN_BURST },
      signup: { rate: env.LB_SIGNUP_RATE_PER_MIN, periodMs: MINUTE_MS, burst: env.LB_SIGNUP_BURST },
      write: { rate: env.LB_WRITE_RATE_PER_MIN, periodMs: MINUTE_MS, burst: env.LB_WRITE_BURST },
      read: { rate: env.LB_READ_RATE_PER_SEC, periodMs: SECOND_MS, burst: env.LB_READ_BURST },
      streamsPerAddress: env.LB_SSE_STREAMS_PER_ADDRESS,
      connectionsPerAddress: env.LB_CONNECTIONS_PER_ADDRESS,
      maxAddresses: env.LB_LIMIT_ADDRESSES,
    },
    websockets,
    trustProxy: env.LB_TRUST_PROXY === 'on',
    siteOrigins: parseSiteOrigins(env.SITE_ORIGIN),
    sendTimeoutMs: env.LB_SEND_TIMEOUT_MS,
    log: pino({ level: env.LOG_LEVEL, base: { service: 'gateway', pid: process.pid } }),
  });
  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => gateway.handle(req, res);
  const server = http.createServer({
    requestTimeout: env.LB_REQUEST_TIMEOUT_MS,
    headersTimeout: Math.min(env.LB_HEADERS_TIMEOUT_MS, env.LB_REQUEST_TIMEOUT_MS),
    connectionsCheckingInterval: CONNECTIONS_CHECK_INTERVAL_MS,
    // Checked in the gateway instead, so that the 400 carries an error code like every other.
    requireHostHeader: false,
  }, handle);
  // Expect: 100-continue: the gateway answers 100 itself, after its own checks (a body over the
  // limit gets its 413 before the client sends it).
  server.on('checkContinue', handle);
  server.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => gateway.expectationFailed(req, res));
  // Without an 'upgrade' listener Node serves an upgrade request as a plain one (h2c is then
  // simply HTTP/1.1; the gateway answers a websocket 404): websockets only where the product needs them.
  if (websockets) server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  server.on('connection', (socket: import('node:net').Socket) => gateway.acceptConnection(socket));
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => gateway.clientError(err, socket));
  server.keepAliveTimeout = env.LB_KEEPALIVE_TIMEOUT_MS;
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
  exitOnBadSettings(err, 'gateway');
  console.error(err);
  process.exit(1);
});
