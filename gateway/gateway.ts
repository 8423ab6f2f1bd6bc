import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import net, { type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import pg from 'pg';
import { Pool, request as undiciRequest, type Dispatcher } from 'undici';
import { INITIAL_BALANCER_STATE, pick, type Algorithm, type BalancerState, type Candidate } from './balancer';
import {
  checkFailed, checkPassed, eligible, isNodeFailure, NEW_BACKEND, reportedDeadByMajority, requestFailed, requestSucceeded,
  type BackendHealth, type ClusterReport, type HealthConfig,
} from './health';
import { LatencyWindow, percentilesOf } from './stats';

export type GatewayConfig = {
  algorithm: Algorithm;
  /** Static weights by node id (LB_WEIGHTS); otherwise weights follow each node's reported load. */
  staticWeights: Record<string, number> | undefined;
  health: HealthConfig;
  healthIntervalMs: number;
  healthTimeoutMs: number;
  upstreamTimeoutMs: number;
  connectionsPerBackend: number;
  /** Largest request body buffered so that an idempotent request can be retried. */
  retryBodyLimitBytes: number;
  discoveryIntervalMs: number;
  memberTtlMs: number;
  staticBackends: { id: string; url: string }[] | undefined;
  databaseUrl: string | undefined;
};

/** Open event streams per node (each holds a connection for as long as the page stays open). */
const SIDE_CONNECTIONS_PER_NODE = 2_000;

type Backend = {
  id: string;
  url: string;
  pool: Pool;
  /**
   * Connections for long-lived event streams and for the gateway's own health and auth checks,
   * kept apart so open seat-map streams can never starve ordinary requests, and a full pool can
   * never make a healthy node fail its health checks.
   */
  side: Pool;
  health: BackendHealth;
  inFlight: number;
  requests: number;
  errors: number;
  retriedAway: number;
  latency: LatencyWindow;
  loadWeight: number;
  healthCheckInFlight: boolean;
};

export type LbSettings = { algorithm: Algorithm; weights: Record<string, number> | null };

export type RawStats = {
  totals: Gateway['totals'];
  nodes: {
    id: string; url: string; healthy: boolean; eligible: boolean; ejectedForMs: number; deadInCluster: boolean; weight: number;
    inFlight: number; requests: number; errors: number; retriedElsewhere: number; latenciesMs: number[];
  }[];
};

/**
 * Set by main.ts when several worker processes share the port (GATEWAY_WORKERS > 1). Each worker
 * balances on its own (own round-robin position, own in-flight counts, own health checks);
 * settings changes and stats go through the primary process to every worker.
 */
export type WorkerLink = {
  count: number;
  /** Apply the settings in every worker, this one included; resolves once all have. */
  broadcastSettings(settings: LbSettings): Promise<void>;
  /** Every worker's rawStats(). */
  gatherStats(): Promise<RawStats[]>;
};

/** The `GET /api/lb` answer from one or several workers' counters (health: the most cautious view). */
function statsOf(algorithm: Algorithm, staticWeights: boolean, parts: RawStats[]) {
  const totals = { requests: 0, errors: 0, retries: 0, noBackend: 0 };
  const nodes = new Map<string, RawStats['nodes'][number]>();
  for (const part of parts) {
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += part.totals[k];
    for (const n of part.nodes) {
      const seen = nodes.get(n.id);
      if (!seen) {
        nodes.set(n.id, { ...n, latenciesMs: [...n.latenciesMs] });
        continue;
      }
      seen.healthy &&= n.healthy;
      seen.eligible &&= n.eligible;
      seen.ejectedForMs = Math.max(seen.ejectedForMs, n.ejectedForMs);
      seen.deadInCluster ||= n.deadInCluster;
      seen.inFlight += n.inFlight;
      seen.requests += n.requests;
      seen.errors += n.errors;
      seen.retriedElsewhere += n.retriedElsewhere;
      seen.latenciesMs.push(...n.latenciesMs);
    }
  }
  const all = [...nodes.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  const total = all.reduce((sum, n) => sum + n.requests, 0);
  return {
    algorithm,
    algorithms: ['round-robin', 'least-connections', 'weighted'],
    weights: staticWeights ? 'static' : 'load-based',
    ...(parts.length > 1 ? { workers: parts.length } : {}),
    totals,
    nodes: all.map((n) => ({
      id: n.id,
      url: n.url,
      healthy: n.healthy,
      eligible: n.eligible,
      ejected: n.ejectedForMs > 0,
      ejectedForMs: n.ejectedForMs,
      deadInCluster: n.deadInCluster,
      weight: n.weight,
      inFlight: n.inFlight,
      requests: n.requests,
      errors: n.errors,
      retriedElsewhere: n.retriedElsewhere,
      latencyMs: percentilesOf(n.latenciesMs),
      share: total ? Math.round((n.requests / total) * 10_000) / 10_000 : 0,
    })),
  };
}

// Hop-by-hop headers are about one connection and must not be forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** A request that may be retried is tried on at most this many nodes. */
const MAX_ATTEMPTS_IDEMPOTENT = 2;
const LB_PATH = '/api/lb';
const LB_PATH_QUERY = `${LB_PATH}?`;

function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

export class Gateway {
  algorithm: Algorithm;
  private balancer: BalancerState = INITIAL_BALANCER_STATE;
  readonly backends = new Map<string, Backend>();
  private readonly loops: NodeJS.Timeout[] = [];
  private db: pg.Pool | undefined;
  readonly totals = { requests: 0, errors: 0, retries: 0, noBackend: 0 };
  staticWeights: Record<string, number> | undefined;
  /** Several worker processes (set by main.ts): settings and stats are shared through the primary. */
  workers: WorkerLink | undefined;

  constructor(private readonly config: GatewayConfig) {
    this.algorithm = config.algorithm;
    this.staticWeights = config.staticWeights;
    for (const b of config.staticBackends ?? []) this.addBackend(b.id, b.url);
  }

  async start(): Promise<void> {
    if (this.config.databaseUrl && !this.config.staticBackends) {
      this.db = new pg.Pool({ connectionString: this.config.databaseUrl, max: 2 });
      this.db.on('error', () => {});
      await this.discover().catch(() => {});
      this.loops.push(setInterval(() => void this.discover().catch(() => {}), this.config.discoveryIntervalMs));
    }
    await this.checkAll();
    this.loops.push(setInterval(() => void this.checkAll(), this.config.healthIntervalMs));
  }

  async stop(): Promise<void> {
    for (const t of this.loops) clearInterval(t);
    await Promise.all([...this.backends.values()].flatMap((b) => [b.pool.close().catch(() => {}), b.side.close().catch(() => {})]));
    await this.db?.end();
  }

  // ---- membership and health ------------------------------------------------------------------

  private addBackend(id: string, url: string): void {
    const existing = this.backends.get(id);
    if (existing && existing.url === url) return;
    if (existing) void Promise.all([existing.pool.close(), existing.side.close()]).catch(() => {});
    this.backends.set(id, {
      id, url, health: NEW_BACKEND, inFlight: 0, requests: 0, errors: 0, retriedAway: 0, latency: new LatencyWindow(), loadWeight: 1,
      healthCheckInFlight: false,
      pool: new Pool(url, { connections: this.config.connectionsPerBackend, keepAliveTimeout: 30_000, pipelining: 1 }),
      side: new Pool(url, { connections: SIDE_CONNECTIONS_PER_NODE, keepAliveTimeout: 30_000, pipelining: 1 }),
    });
  }

  /** New nodes from the registry join without a restart; nodes that left are dropped. */
  private async discover(): Promise<void> {
    const { rows } = await this.db!.query<{ id: string; url: string }>(
      `SELECT id, url FROM server_nodes WHERE url IS NOT NULL AND status <> 'left'
       AND last_heartbeat > now() - make_interval(secs => $1)`,
      [this.config.memberTtlMs / 1000],
    );
    for (const row of rows) this.addBackend(row.id, row.url);
    const present = new Set(rows.map((r) => r.id));
    for (const [id, b] of this.backends) {
      if (!present.has(id) && b.inFlight === 0) {
        this.backends.delete(id);
        void Promise.all([b.pool.close(), b.side.close()]).catch(() => {});
      }
    }
  }

  private async checkAll(): Promise<void> {
    const reports = (await Promise.all([...this.backends.values()].map((b) => this.check(b)))).filter((r) => r !== undefined);
    // A node that most of the cluster reports dead is not chosen, even if it still answers us.
    for (const b of this.backends.values()) {
      b.health = { ...b.health, deadInCluster: reportedDeadByMajority(b.id, reports, this.backends.size) };
    }
  }

  private async check(b: Backend): Promise<ClusterReport | undefined> {
    if (b.healthCheckInFlight) return undefined;
    b.healthCheckInFlight = true;
    try {
      const res = await undiciRequest(`${b.url}/api/health`, {
        dispatcher: b.side, headersTimeout: this.config.healthTimeoutMs, bodyTimeout: this.config.healthTimeoutMs,
        signal: AbortSignal.timeout(this.config.healthTimeoutMs),
      });
      const body = (await res.body.json()) as {
        nodeId?: string; load?: { inFlight?: number; eventLoopDelayMs?: number; capacity?: number }; nodes?: { id: string; status: string }[];
      };
      if (res.statusCode !== 200 || body.nodeId !== b.id) throw new Error(`health ${res.statusCode}`);
      b.health = checkPassed(b.health, this.config.health);
      const capacity = body.load?.capacity ?? 10;
      const lag = body.load?.eventLoopDelayMs ?? 0;
      // Load-based weight: a node's declared capacity, scaled down as its event loop lags.
      b.loadWeight = Math.max(1, Math.round((capacity * 10) / (10 + lag)));
      return { reporter: b.id, statuses: new Map((body.nodes ?? []).map((n) => [n.id, n.status])) };
    } catch {
      b.health = checkFailed(b.health, this.config.health);
      return undefined;
    } finally {
      b.healthCheckInFlight = false;
    }
  }

  private weightOf(b: Backend): number {
    return this.staticWeights ? (this.staticWeights[b.id] ?? 1) : b.loadWeight;
  }

  private choose(excluded: ReadonlySet<string>): Backend | undefined {
    const now = Date.now();
    // Once per request: a plain loop, no intermediate arrays.
    const candidates: Candidate[] = [];
    for (const b of this.backends.values()) {
      if (!excluded.has(b.id) && eligible(b.health, now)) candidates.push({ id: b.id, inFlight: b.inFlight, weight: this.weightOf(b) });
    }
    const chosen = pick(this.algorithm, this.balancer, candidates);
    this.balancer = chosen.state;
    return chosen.id === null ? undefined : this.backends.get(chosen.id);
  }

  // ---- proxying -------------------------------------------------------------------------------

  /**
   * Forward one request. The hot path allocates little: the request headers are read once from
   * `rawHeaders` (Node's lazy `req.headers` object is never built), the upstream answer goes
   * through `pool.dispatch` with a handler that writes each chunk straight to `res` (no body
   * stream, no `pipeline`, no AbortController), and the response head is written together with
   * the first body chunk (one write for a small answer) — except for event streams, whose head
   * is flushed at once.
   */
  handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    if (url === LB_PATH || url.startsWith(LB_PATH_QUERY)) {
      void this.handleLbApi(req, res);
      return;
    }
    this.totals.requests += 1;
    const head = readRequestHead(req);
    const method = req.method ?? 'GET';
    const idempotent = IDEMPOTENT_METHODS.has(method) || head.idempotencyKey;
    const hasBody = method !== 'GET' && method !== 'HEAD';
    const exchange = new Exchange(this, this.config, res, url, method, head, idempotent);
    // A retry needs the body again: buffer it for idempotent requests, stream it otherwise.
    if (hasBody && idempotent) {
      readBody(req, this.config.retryBodyLimitBytes).then(
        (buffered) => {
          if (buffered === 'too-large') return exchange.fail(413, 'PAYLOAD_TOO_LARGE', 'Request body too large');
          exchange.body = buffered;
          exchange.next();
        },
        () => res.destroy(),
      );
    } else {
      if (hasBody) exchange.body = req;
      exchange.next();
    }
  }

  /** @internal The backend for the next attempt of a request (undefined: none eligible). */
  chooseBackend(excluded: ReadonlySet<string>): Backend | undefined {
    return this.choose(excluded);
  }

  /** @internal */
  fail(res: http.ServerResponse, status: number, code: string, message: string, requestId: string): void {
    if (res.headersSent) return void res.destroy();
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-request-id': requestId });
    res.end(errorBody(code, message));
  }

  /** Websockets (e.g. the dev server's hot reload): a raw tunnel to a chosen node. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const backend = this.choose(new Set());
    if (!backend) return void socket.destroy();
    const target = new URL(backend.url);
    const upstream = net.connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  }

  // ---- the gateway's own API ------------------------------------------------------------------

  /** This process's own counters, for `stats()` and for merging the views of several workers. */
  rawStats(): RawStats {
    const now = Date.now();
    return {
      totals: { ...this.totals },
      nodes: [...this.backends.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((b) => ({
        id: b.id,
        url: b.url,
        healthy: b.health.healthy,
        eligible: eligible(b.health, now),
        ejectedForMs: Math.max(0, b.health.ejectedUntilMs - now),
        deadInCluster: b.health.deadInCluster,
        weight: this.weightOf(b),
        inFlight: b.inFlight,
        requests: b.requests,
        errors: b.errors,
        retriedElsewhere: b.retriedAway,
        latenciesMs: b.latency.values(),
      })),
    };
  }

  stats() {
    return statsOf(this.algorithm, this.staticWeights !== undefined, [this.rawStats()]);
  }

  /** The whole gateway's stats: with several worker processes, every worker's counters merged. */
  async allStats() {
    if (!this.workers) return this.stats();
    return statsOf(this.algorithm, this.staticWeights !== undefined, await this.workers.gatherStats());
  }

  /** Switching keeps in-flight requests untouched; only the next choice changes. */
  applySettings(settings: LbSettings): void {
    this.algorithm = settings.algorithm;
    this.staticWeights = settings.weights ?? undefined;
    this.balancer = INITIAL_BALANCER_STATE;
  }

  private async handleLbApi(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET') return send(200, await this.allStats());
    if (req.method !== 'POST') return send(405, JSON.parse(errorBody('METHOD_NOT_ALLOWED', 'GET or POST')));
    const raw = await readBody(req, 16_384);
    if (raw === 'too-large') return send(413, JSON.parse(errorBody('PAYLOAD_TOO_LARGE', 'Body too large')));
    const role = await this.callerRole(req);
    if (role === 'unknown') {
      res.setHeader('retry-after', '1');
      return send(503, JSON.parse(errorBody('NO_HEALTHY_NODE', 'No node could check who you are; try again')));
    }
    if (role === 'anonymous') return send(401, JSON.parse(errorBody('UNAUTHENTICATED', 'Log in as an administrator')));
    if (role !== 'admin') return send(403, JSON.parse(errorBody('FORBIDDEN', 'Only an administrator may change the balancer')));
    let input: { algorithm?: unknown; weights?: unknown };
    try {
      input = JSON.parse(raw.toString('utf8') || '{}') as typeof input;
    } catch {
      return send(400, JSON.parse(errorBody('INVALID_JSON', 'The request body is not valid JSON')));
    }
    const algorithms = ['round-robin', 'least-connections', 'weighted'];
    if (input.algorithm !== undefined && !algorithms.includes(input.algorithm as string)) {
      return send(400, JSON.parse(errorBody('VALIDATION_FAILED', `algorithm must be one of ${algorithms.join(', ')}`)));
    }
    const weights = input.weights;
    if (weights !== undefined && weights !== null && !(typeof weights === 'object' && Object.values(weights).every((w) => Number.isInteger(w) && (w as number) >= 0 && (w as number) <= 1000))) {
      return send(400, JSON.parse(errorBody('VALIDATION_FAILED', 'weights must map node ids to integers 0–1000, or be null for load-based weights')));
    }
    const settings: LbSettings = {
      algorithm: (input.algorithm as Algorithm | undefined) ?? this.algorithm,
      weights: weights === undefined ? (this.staticWeights ?? null) : (weights as Record<string, number> | null),
    };
    // With several workers, every one of them switches before the answer (so the next request obeys, whichever worker takes it).
    if (this.workers) await this.workers.broadcastSettings(settings);
    else this.applySettings(settings);
    send(200, await this.allStats());
  }

  /**
   * Ask a node who the caller is (the gateway keeps no accounts of its own); `unknown` when no node
   * could answer — a 503 to retry, not a 401 that would tell an administrator they are logged out.
   */
  private async callerRole(req: http.IncomingMessage): Promise<'unknown' | 'anonymous' | 'user' | 'admin'> {
    const backend = this.choose(new Set());
    if (!backend) return 'unknown';
    const headers: Record<string, string> = {};
    if (req.headers.authorization) headers.authorization = req.headers.authorization;
    if (req.headers.cookie) headers.cookie = req.headers.cookie;
    try {
      const res = await backend.side.request({ path: '/api/auth/me', method: 'GET', headers, headersTimeout: this.config.upstreamTimeoutMs });
      const body = (await res.body.json()) as { user?: { role?: string } };
      if (res.statusCode >= 400 && res.statusCode < 500) return 'anonymous';
      if (res.statusCode !== 200) return 'unknown';
      return body.user?.role === 'admin' ? 'admin' : 'user';
    } catch {
      return 'unknown';
    }
  }
}

type RequestHead = {
  /** Headers to send to the node, as a flat [name, value, name, value…] list. */
  forward: string[];
  requestId: string;
  idempotencyKey: boolean;
  eventStream: boolean;
  /** `X-Node: node-2`: send the request to that node, bypassing the algorithm (admin chaos actions, per-node views). */
  pinnedNode: string | undefined;
};

/**
 * One pass over the raw request headers: what to forward (hop-by-hop headers dropped, our own
 * X-Forwarded-* and X-Request-Id added) and the few facts the gateway needs.
 */
function readRequestHead(req: http.IncomingMessage): RequestHead {
  const raw = req.rawHeaders;
  const forward: string[] = [];
  let requestId: string | undefined;
  let forwardedFor: string | undefined;
  let idempotencyKey = false;
  let eventStream = false;
  let pinnedNode: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) continue;
    switch (lower) {
      case 'x-request-id':
        requestId ??= value;
        continue;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        continue;
      case 'x-forwarded-proto':
        continue;
      case 'x-node':
        pinnedNode ??= value.trim();
        continue;
      case 'idempotency-key':
        idempotencyKey = true;
        break;
      case 'accept':
        if (value.includes('text/event-stream')) eventStream = true;
        break;
    }
    forward.push(name, value);
  }
  requestId ??= randomUUID();
  const client = req.socket.remoteAddress ?? '';
  forward.push('x-forwarded-for', forwardedFor === undefined ? client : `${forwardedFor}, ${client}`, 'x-forwarded-proto', 'http', 'x-request-id', requestId);
  return { forward, requestId, idempotencyKey, eventStream, pinnedNode };
}

const NO_BACKEND_TRIED: ReadonlySet<string> = new Set();

/**
 * The exchanges in progress on each client connection, so that one 'close' listener per
 * connection (not one per request) tells them when the client goes away.
 */
const exchangesOf = new WeakMap<Socket, Set<Exchange>>();

function watchClient(socket: Socket | null, exchange: Exchange): void {
  if (!socket) return;
  let exchanges = exchangesOf.get(socket);
  if (!exchanges) {
    const set = new Set<Exchange>();
    exchanges = set;
    exchangesOf.set(socket, set);
    socket.once('close', () => {
      for (const e of set) e.clientClosed();
      set.clear();
    });
  }
  exchanges.add(exchange);
}

function unwatchClient(socket: Socket | null, exchange: Exchange): void {
  if (socket) exchangesOf.get(socket)?.delete(exchange);
}

/**
 * One proxied request: up to two attempts (idempotent requests only), each a `pool.dispatch`
 * whose handler is this object. The answer is streamed to the client chunk by chunk, with
 * backpressure (the node's socket is paused while the client's is full).
 */
class Exchange implements Dispatcher.DispatchHandler {
  body: Buffer | http.IncomingMessage | null = null;
  private backend: Backend | undefined;
  private tried: ReadonlySet<string> = NO_BACKEND_TRIED;
  private attempt = 0;
  private started = 0;
  private controller: Dispatcher.DispatchController | undefined;
  /** The node's answer has started (status and headers are in): no retry from here on. */
  private responded = false;
  private clientGone = false;

  constructor(
    private readonly gateway: Gateway,
    private readonly config: GatewayConfig,
    private readonly res: http.ServerResponse,
    private readonly path: string,
    private readonly method: string,
    private readonly head: RequestHead,
    private readonly idempotent: boolean,
  ) {
    watchClient(res.socket, this);
  }

  /** The client's connection closed before the answer was complete: stop asking the node. */
  clientClosed(): void {
    if (this.res.writableFinished) return;
    this.clientGone = true;
    this.controller?.abort(new Error('the client went away'));
  }

  /** Send the request to the next chosen node, or answer 503/502 if there is none. */
  next(): void {
    if (this.clientGone) return;
    // Pinned (X-Node): that node if the gateway knows it — eligible or not, so a partitioned or
    // ejected node can still be healed — and never a retry elsewhere (see onResponseError).
    const pinned = this.head.pinnedNode;
    if (pinned !== undefined && !this.gateway.backends.has(pinned)) {
      return this.fail(503, 'NODE_UNAVAILABLE', `No node ${pinned} is known to the gateway`);
    }
    const backend = pinned !== undefined ? this.gateway.backends.get(pinned) : this.gateway.chooseBackend(this.tried);
    if (!backend) {
      if (this.attempt > 0) return this.fail(502, 'NODE_UNAVAILABLE', 'No node could answer this request');
      this.gateway.totals.noBackend += 1;
      this.res.setHeader('retry-after', '1');
      return this.fail(503, 'NO_HEALTHY_NODE', 'No node is available right now; try again shortly');
    }
    this.attempt += 1;
    this.backend = backend;
    this.controller = undefined;
    backend.inFlight += 1;
    backend.requests += 1;
    this.started = performance.now();
    (this.head.eventStream ? backend.side : backend.pool).dispatch({
      path: this.path,
      method: this.method as Dispatcher.HttpMethod,
      headers: this.head.forward,
      body: this.body,
      headersTimeout: this.config.upstreamTimeoutMs,
      bodyTimeout: this.head.eventStream ? 0 : this.config.upstreamTimeoutMs,
    }, this);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new Error('the client went away'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: http.IncomingHttpHeaders): void {
    if (statusCode < 200) return; // an informational answer (100 Continue): the real one follows
    const backend = this.backend!;
    this.responded = true;
    backend.health = isNodeFailure(statusCode) ? requestFailed(backend.health, Date.now(), this.config.health) : requestSucceeded(backend.health);
    const out: string[] = [];
    let eventStream = false;
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined || HOP_BY_HOP.has(name) || name === 'x-served-by' || name === 'x-request-id') continue;
      if (typeof value === 'string') {
        out.push(name, value);
        if (name === 'content-type' && value.startsWith('text/event-stream')) eventStream = true;
      } else {
        for (const v of value) out.push(name, v);
      }
    }
    out.push('x-served-by', backend.id, 'x-request-id', this.head.requestId);
    this.res.writeHead(statusCode, out);
    // An event stream may stay silent for a long time: its head goes out now, not with the first event.
    if (eventStream) this.res.flushHeaders();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.res.end();
    this.finished();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.responded) {
      // The client went away or the node broke mid-body: nothing more can be sent.
      this.res.destroy();
      this.finished();
      return;
    }
    const backend = this.backend!;
    backend.inFlight -= 1;
    backend.errors += 1;
    this.gateway.totals.errors += 1;
    if (this.clientGone) return;
    backend.health = requestFailed(backend.health, Date.now(), this.config.health);
    // The node failed before answering: an idempotent request is safe to send elsewhere.
    if (this.idempotent && this.attempt < MAX_ATTEMPTS_IDEMPOTENT && this.head.pinnedNode === undefined) {
      backend.retriedAway += 1;
      this.gateway.totals.retries += 1;
      this.tried = new Set([...this.tried, backend.id]);
      this.next();
      return;
    }
    this.fail(502, 'NODE_UNAVAILABLE', `The node ${backend.id} failed before answering (${(err as { code?: string }).code ?? 'error'})`);
  }

  /** The request ends without an answer from a node. */
  fail(status: number, code: string, message: string): void {
    unwatchClient(this.res.socket, this);
    this.gateway.fail(this.res, status, code, message, this.head.requestId);
  }

  private finished(): void {
    unwatchClient(this.res.socket, this);
    const backend = this.backend!;
    backend.inFlight -= 1;
    backend.latency.record(performance.now() - this.started);
  }
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
