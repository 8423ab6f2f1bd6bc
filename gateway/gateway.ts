import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import net, { type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import pg from 'pg';
import type { Logger } from 'pino';
import { Pool, request as undiciRequest, type Dispatcher } from 'undici';
import { ConcurrencyLimiter, isPeerOnlyPath, limitOf, RateLimiter, retryAfterSeconds, type RateLimit } from '../core/gateway/limits';
import { INITIAL_BALANCER_STATE, pick, type BalancerState, type Candidate } from '../core/gateway/balancer';
import {
  checkFailed, checkPassed, checkSaidStopping, eligible, isNodeFailure, NEW_BACKEND, reportedDeadByMajority,
  requestFailed, requestSucceeded,
  type BackendHealth, type ClusterReport, type HealthConfig,
} from '../core/gateway/health';
import { LatencyWindow, percentilesOf } from './stats';
import { API_CONTENT_SECURITY_POLICY, isCrossSiteRequest, SECURITY_HEADERS } from '../http/browser-edge';
import { LB_ALGORITHMS, type LbAlgorithm } from '../core/vocabulary';
import { LB_WEIGHT_MAX, lbSettingsBody, type LbStats } from '../contract/gateway';
import { METRICS_CONTENT_TYPE } from '../http/metrics';
import { acceptedRequestId } from '../http/request-id';
import { gatewayMetrics } from './metrics';

export type GatewayConfig = {
  algorithm: LbAlgorithm;
  /** Static weights by node id (LB_WEIGHTS); otherwise weights follow each node's reported load. */
  staticWeights: Record<string, number> | undefined;
  health: HealthConfig;
  healthIntervalMs: number;
  healthTimeoutMs: number;
  upstreamTimeoutMs: number;
  connectionsPerBackend: number;
  discoveryIntervalMs: number;
  memberTtlMs: number;
  staticBackends: { id: string; url: string }[] | undefined;
  databaseUrl: string | undefined;
  /** Largest request body (BODY_LIMIT_BYTES, the nodes' limit too): bodies are buffered up to it. */
  bodyLimitBytes: number;
  edge: EdgeConfig;
  /** Websocket upgrades are tunnelled to a node (Next's hot reload in development); otherwise 404. */
  websockets: boolean;
  /** LB_TRUST_PROXY: the client address is the last X-Forwarded-For hop, and X-Forwarded-Proto passes. */
  trustProxy: boolean;
  /** SITE_ORIGIN, as on the nodes: the origins whose pages may send cookie-authenticated POSTs (empty: the request's Host). */
  siteOrigins: readonly string[];
  /** A client that reads none of an answer for this long (the node's socket paused meanwhile) is cut off. */
  sendTimeoutMs: number;
  log: Logger;
};

/** Per-client-address limits (core/gateway/limits.ts); a rate of 0 disables one. */
export type EdgeConfig = {
  /** LB_ADDRESS_LIMITS=off turns every per-address limit off at once (load tests from one address). */
  addressLimits: boolean;
  login: RateLimit;
  signup: RateLimit;
  /** POST /api/holds and /api/bookings. */
  write: RateLimit;
  /** The costly public reads: a showtime's seat map, the movie list and a movie. */
  read: RateLimit;
  streamsPerAddress: number;
  connectionsPerAddress: number;
  /** Addresses remembered per rate limit (least recently seen forgotten first). */
  maxAddresses: number;
};

/** Open event streams per node (each holds a connection for as long as the page stays open). */
const SIDE_CONNECTIONS_PER_NODE = 2_000;
/** The gateway's own health checks, one at a time per node: a pool of their own, never queued behind anything. */
const HEALTH_CONNECTIONS_PER_NODE = 2;
/** After an answer that closes the connection, request bytes still arriving are read (and dropped) this long (see lingerClose). */
const LINGER_MS = 2_000;
/** Retry-After for a refused event stream or connection: a place frees when one closes, not on a schedule. */
const RETRY_CLOSED_SLOT_S = 5;
/** At most this much of an unknown X-Node value is echoed in the error message. */
const MAX_NODE_ID_ECHO = 64;
/** undici errors caused by what the client sent (a request undici will not forward), never by the node. */
const CLIENT_CAUSED_ERRORS = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH']);

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
  /** Health checks only. */
  check: Pool;
  health: BackendHealth;
  /** Passive ejections since the gateway started (health.ejections resets once healthy). */
  ejectionsTotal: number;
  inFlight: number;
  requests: number;
  errors: number;
  retriedAway: number;
  latency: LatencyWindow;
  loadWeight: number;
  healthCheckInFlight: boolean;
};

export type LbSettings = { algorithm: LbAlgorithm; weights: Record<string, number> | null };

export type RawStats = {
  totals: Gateway['totals'];
  /** The gateway's own refusals by error code (nothing reached a node). */
  edge: Record<string, number>;
  nodes: {
    id: string; url: string; healthy: boolean; eligible: boolean; ejectedForMs: number; ejections: number; deadInCluster: boolean; weight: number;
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
function statsOf(algorithm: LbAlgorithm, staticWeights: boolean, parts: RawStats[]): LbStats {
  const totals = { requests: 0, errors: 0, retries: 0, noBackend: 0 };
  const edge: Record<string, number> = {};
  const nodes = new Map<string, RawStats['nodes'][number]>();
  for (const part of parts) {
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += part.totals[k];
    for (const [code, n] of Object.entries(part.edge ?? {})) edge[code] = (edge[code] ?? 0) + n;
    for (const n of part.nodes) {
      const seen = nodes.get(n.id);
      if (!seen) {
        nodes.set(n.id, { ...n, latenciesMs: [...n.latenciesMs] });
        continue;
      }
      seen.healthy &&= n.healthy;
      seen.eligible &&= n.eligible;
      seen.ejectedForMs = Math.max(seen.ejectedForMs, n.ejectedForMs);
      seen.ejections += n.ejections;
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
    algorithms: [...LB_ALGORITHMS],
    weights: staticWeights ? 'static' : 'load-based',
    ...(parts.length > 1 ? { workers: parts.length } : {}),
    totals,
    edge,
    nodes: all.map((n) => ({
      id: n.id,
      url: n.url,
      healthy: n.healthy,
      eligible: n.eligible,
      ejected: n.ejectedForMs > 0,
      ejectedForMs: n.ejectedForMs,
      ejections: n.ejections,
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
const MAX_ATTEMPTS = 2;
const LB_PATH = '/api/lb';
const LB_PATH_QUERY = `${LB_PATH}?`;
const METRICS_PATH = '/metrics';
type LimitKind = 'login' | 'signup' | 'write' | 'read';

/** The gateway's own answers are API answers: the nodes' security headers, in writeHead's flat form. */
const OWN_ANSWER_HEADERS: readonly string[] = [
  'content-type', 'application/json; charset=utf-8', 'content-security-policy', API_CONTENT_SECURITY_POLICY,
  ...SECURITY_HEADERS.flatMap(([name, value]) => [name.toLowerCase(), value]),
];

function ownAnswerHeaders(body: string, requestId?: string): string[] {
  const headers = [...OWN_ANSWER_HEADERS, 'content-length', String(Buffer.byteLength(body))];
  if (requestId !== undefined) headers.push('x-request-id', requestId);
  return headers;
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

export class Gateway {
  algorithm: LbAlgorithm;
  private balancer: BalancerState = INITIAL_BALANCER_STATE;
  readonly backends = new Map<string, Backend>();
  private readonly loops: NodeJS.Timeout[] = [];
  private db: pg.Pool | undefined;
  readonly totals = { requests: 0, errors: 0, retries: 0, noBackend: 0 };
  staticWeights: Record<string, number> | undefined;
  /** Several worker processes (set by main.ts): settings and stats are shared through the primary. */
  workers: WorkerLink | undefined;
  /** @internal Answers the gateway gave itself, by error code. */
  readonly edgeCounts: Record<string, number> = {};
  /** @internal */
  readonly log: Logger;
  /** @internal One line per finished request (checked once: the hot path builds no log object at info). */
  readonly logRequests: boolean;
  private readonly rateLimiters: Record<LimitKind, RateLimiter>;
  private readonly streams: ConcurrencyLimiter;
  private readonly connections: ConcurrencyLimiter;
  private metrics: ReturnType<typeof gatewayMetrics> | undefined;

  constructor(private readonly config: GatewayConfig) {
    this.algorithm = config.algorithm;
    this.staticWeights = config.staticWeights;
    this.log = config.log;
    this.logRequests = config.log.isLevelEnabled('debug');
    const edge = config.edge;
    const on = edge.addressLimits;
    const off: RateLimit = { rate: 0, periodMs: 1, burst: 1 };
    const limiter = (limit: RateLimit) => new RateLimiter(on ? limit : off, edge.maxAddresses);
    this.rateLimiters = { login: limiter(edge.login), signup: limiter(edge.signup), write: limiter(edge.write), read: limiter(edge.read) };
    this.streams = new ConcurrencyLimiter(on ? edge.streamsPerAddress : 0);
    // Behind a trusted front proxy every connection comes from the proxy: it caps its own clients.
    this.connections = new ConcurrencyLimiter(on && !config.trustProxy ? edge.connectionsPerAddress : 0);
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
    await Promise.all([...this.backends.values()].map((b) => closePools(b)));
    await this.db?.end();
  }

  // ---- membership and health ------------------------------------------------------------------

  private addBackend(id: string, url: string): void {
    const existing = this.backends.get(id);
    if (existing && existing.url === url) return;
    if (existing) void closePools(existing);
    this.backends.set(id, {
      id, url, health: NEW_BACKEND, ejectionsTotal: existing?.ejectionsTotal ?? 0, inFlight: 0, requests: 0, errors: 0, retriedAway: 0,
      latency: new LatencyWindow(), loadWeight: 1, healthCheckInFlight: false,
      pool: new Pool(url, { connections: this.config.connectionsPerBackend, keepAliveTimeout: 30_000, pipelining: 1 }),
      side: new Pool(url, { connections: SIDE_CONNECTIONS_PER_NODE, keepAliveTimeout: 30_000, pipelining: 1 }),
      check: new Pool(url, { connections: HEALTH_CONNECTIONS_PER_NODE, keepAliveTimeout: 30_000, pipelining: 1 }),
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
        void closePools(b);
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
        dispatcher: b.check, headersTimeout: this.config.healthTimeoutMs, bodyTimeout: this.config.healthTimeoutMs,
        signal: AbortSignal.timeout(this.config.healthTimeoutMs),
      });
      const body = (await res.body.json()) as {
        nodeId?: string;
        status?: string;
        load?: { inFlight?: number; eventLoopDelayMs?: number; capacity?: number };
        nodes?: { id: string; status: string }[];
      };
      if (body.status === 'stopping' && body.nodeId === b.id) {
        b.health = checkSaidStopping(b.health, this.config.health);
        return undefined;
      }
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
    // A connection refused at the cap (acceptConnection) has had its answer: read on, say nothing.
    if (req.socket.writableEnded) return void req.resume();
    const url = req.url ?? '/';
    if (url === METRICS_PATH) {
      const head = readRequestHead(req, this.config.trustProxy);
      // A scrape costs milliseconds: limited per address like a costly read.
      if (!this.admitted('read', head, res)) return void req.resume();
      return void this.handleMetrics(req, res).catch(() => res.destroy());
    }
    if (url === LB_PATH || url.startsWith(LB_PATH_QUERY)) {
      if (req.headers.expect !== undefined) res.writeContinue();
      // A body cut short rejects: that connection is gone, the gateway is not.
      this.handleLbApi(req, res).catch(() => res.destroy());
      return;
    }
    this.totals.requests += 1;
    const head = readRequestHead(req, this.config.trustProxy);
    if (head.malformed !== undefined) return this.refuse(res, 400, 'MALFORMED_REQUEST', head.malformed, head.requestId, true);
    if (isPeerOnlyPath(url)) return this.refuse(res, 404, 'NOT_FOUND', 'No such endpoint', head.requestId, false);
    // Here only when websockets are off (no 'upgrade' listener): as a plain GET it means nothing.
    if (head.websocket) return this.refuse(res, 404, 'NOT_FOUND', 'No websocket endpoint here', head.requestId, true);
    const limit = this.config.bodyLimitBytes;
    if (head.contentLength > limit) return this.refuse(res, 413, 'PAYLOAD_TOO_LARGE', `The request body is larger than ${limit} bytes`, head.requestId, true);
    const method = req.method ?? 'GET';
    if (!this.admit(method, url, head, res)) return;
    if (head.expectContinue) res.writeContinue();
    const idempotent = IDEMPOTENT_METHODS.has(method) || head.idempotencyKey;
    const exchange = new Exchange(this, this.config, res, url, method, head, idempotent);
    if (!head.hasBody) return exchange.next();
    // The whole body (at most the limit) is read before any node is contacted: a slow upload
    // holds no node connection, a retry can send it again, and nothing past the limit is sent.
    readBody(req, limit).then(
      (buffered) => {
        if (buffered === 'too-large') return this.refuse(res, 413, 'PAYLOAD_TOO_LARGE', `The request body is larger than ${limit} bytes`, head.requestId, true);
        if (buffered.length) exchange.body = buffered;
        exchange.next();
      },
      () => res.destroy(),
    );
  }

  /** The per-address limits: false when the request was refused (429, answered here). */
  private admit(method: string, url: string, head: RequestHead, res: http.ServerResponse): boolean {
    const kind = limitOf(method, url);
    if (kind === undefined) return true;
    if (kind === 'events') {
      // A node never answers the head of an endless stream: the wait would end in a timeout
      // that ejects a healthy node. The gateway says what the stream offers instead.
      if (method === 'HEAD') {
        res.setHeader('allow', 'GET');
        this.refuse(res, 405, 'METHOD_NOT_ALLOWED', 'A live seat map is a GET (text/event-stream)', head.requestId, false);
        return false;
      }
      // A stream, whatever its Accept header says: on the streams' pool, and counted as one.
      head.eventStream = true;
      if (this.streams.acquire(head.client)) {
        const client = head.client;
        res.once('close', () => this.streams.release(client));
        return true;
      }
      res.setHeader('retry-after', String(RETRY_CLOSED_SLOT_S));
      this.refuse(res, 429, 'RATE_LIMITED', `At most ${this.streams.max} live seat maps open at once from one address`, head.requestId, false, RETRY_CLOSED_SLOT_S);
      return false;
    }
    return this.admitted(kind, head, res);
  }

  /** The per-address rate limit of `kind`: false when it refused the request (429, answered). */
  private admitted(kind: LimitKind, head: RequestHead, res: http.ServerResponse): boolean {
    if (!this.config.edge.addressLimits) return true;
    const delayMs = this.rateLimiters[kind].take(head.client, Date.now());
    if (delayMs === 0) return true;
    const retryAfterS = retryAfterSeconds(delayMs);
    res.setHeader('retry-after', String(retryAfterS));
    this.refuse(res, 429, 'RATE_LIMITED', `Too many requests from your address; try again in ${retryAfterS} s`, head.requestId, false, retryAfterS);
    return false;
  }

  /** @internal An answer of the gateway's own (no node was asked), counted by code; `close` ends the connection after it. */
  refuse(res: http.ServerResponse, status: number, code: string, message: string, requestId: string, close: boolean, retryAfterS?: number): void {
    this.edgeCounts[code] = (this.edgeCounts[code] ?? 0) + 1;
    this.log.debug({ requestId, code, status, client: res.socket?.remoteAddress }, 'refused at the edge');
    // A body the gateway will never use is not read and dropped to keep the connection: close.
    if ((close || bodyUnread(res.req)) && res.socket) {
      lingerClose(res.socket);
      res.setHeader('connection', 'close');
    }
    if (res.headersSent) return void res.destroy();
    const body = retryAfterS === undefined ? errorBody(code, message) : JSON.stringify({ error: { code, message, details: { retryAfterS } } });
    res.writeHead(status, ownAnswerHeaders(body, requestId));
    res.end(body);
  }

  /** Node's server calls this for an `Expect` other than 100-continue: 417, in the usual error shape. */
  expectationFailed(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.refuse(res, 417, 'EXPECTATION_FAILED', 'Only Expect: 100-continue is supported', randomUUID(), true);
    req.resume();
  }

  /** @internal A transport failure (or a 5xx other than 503) of a node: toward its passive ejection. */
  nodeFailed(backend: Backend, reason: string): void {
    const before = backend.health.ejectedUntilMs;
    backend.health = requestFailed(backend.health, Date.now(), this.config.health);
    if (backend.health.ejectedUntilMs === before) return;
    backend.ejectionsTotal += 1;
    this.log.warn({ node: backend.id, reason, forMs: backend.health.ejectedUntilMs - Date.now(), ejections: backend.ejectionsTotal }, 'node ejected');
  }

  /** @internal The backend for the next attempt of a request (undefined: none eligible). */
  chooseBackend(excluded: ReadonlySet<string>): Backend | undefined {
    return this.choose(excluded);
  }

  /** @internal */
  fail(res: http.ServerResponse, status: number, code: string, message: string, requestId: string): void {
    this.edgeCounts[code] = (this.edgeCounts[code] ?? 0) + 1;
    if (res.headersSent) return void res.destroy();
    const body = errorBody(code, message);
    res.writeHead(status, ownAnswerHeaders(body, requestId));
    res.end(body);
  }

  /**
   * Websockets: only the development server's hot reload uses them, so only then (`websockets`:
   * main.ts listens for upgrades only then) are they tunnelled raw to a chosen node.
   */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!this.config.websockets || isPeerOnlyPath(req.url ?? '/')) {
      this.edgeCounts.NOT_FOUND = (this.edgeCounts.NOT_FOUND ?? 0) + 1;
      return void socket.end(rawAnswer(404, 'NOT_FOUND', 'No websocket endpoint here'));
    }
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

  /**
   * Every new client connection: over the cap for its address, a 429 at once and a close (after
   * a short linger, so the answer is not lost to a reset); otherwise counted until it closes.
   */
  acceptConnection(socket: Socket): void {
    const address = socket.remoteAddress ?? '';
    if (this.connections.acquire(address)) {
      socket.once('close', () => this.connections.release(address));
      return;
    }
    this.edgeCounts.TOO_MANY_CONNECTIONS = (this.edgeCounts.TOO_MANY_CONNECTIONS ?? 0) + 1;
    this.log.info({ client: address, max: this.connections.max }, 'connection refused: too many from one address');
    socket.on('error', () => {});
    socket.end(rawAnswer(429, 'TOO_MANY_CONNECTIONS', `At most ${this.connections.max} connections at once from one address`, RETRY_CLOSED_SLOT_S));
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  }

  /**
   * A request Node's HTTP parser rejected, or one that timed out (headers or body not in within
   * their time): a JSON error like any other answer of the gateway's, then the connection closes.
   */
  clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const pending = (socket as Duplex & { _httpMessage?: http.ServerResponse | null })._httpMessage;
    if (socket.writable && !pending?.headersSent) {
      const [status, code, message] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'REQUEST_TIMEOUT', 'The request did not arrive in time']
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'HEADERS_TOO_LARGE', 'The request headers are too large']
          : [400, 'MALFORMED_REQUEST', 'Malformed HTTP request'];
      this.edgeCounts[code] = (this.edgeCounts[code] ?? 0) + 1;
      this.log.debug({ code, err: err.code }, 'refused by the HTTP parser');
      socket.write(rawAnswer(status, code, message));
    }
    socket.destroy();
  }

  // ---- the gateway's own API ------------------------------------------------------------------

  /** This process's own counters, for `stats()` and for merging the views of several workers. */
  rawStats(): RawStats {
    const now = Date.now();
    return {
      totals: { ...this.totals },
      edge: { ...this.edgeCounts },
      nodes: [...this.backends.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((b) => ({
        id: b.id,
        url: b.url,
        healthy: b.health.healthy,
        eligible: eligible(b.health, now),
        ejectedForMs: Math.max(0, b.health.ejectedUntilMs - now),
        ejections: b.ejectionsTotal,
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

  /** `GET /metrics`: the gateway's own Prometheus metrics (gateway/metrics.ts). */
  private async handleMetrics(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    req.resume();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const body = errorBody('METHOD_NOT_ALLOWED', 'GET /metrics');
      res.writeHead(405, ownAnswerHeaders(body));
      return void res.end(body);
    }
    this.metrics ??= gatewayMetrics(() => this.allStats());
    const text = await this.metrics.scrape();
    const headers = { 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store' };
    res.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(text) });
    res.end(req.method === 'HEAD' ? undefined : text);
  }

  private async handleLbApi(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, ownAnswerHeaders(text));
      res.end(text);
    };
    if (req.method === 'GET') return send(200, await this.allStats());
    if (req.method !== 'POST') return send(405, JSON.parse(errorBody('METHOD_NOT_ALLOWED', 'GET or POST')));
    // The caller is known by its cookie, so another site's page must not be able to switch the balancer.
    if (isCrossSiteRequest('POST', req.headers, this.config.siteOrigins)) {
      req.resume();
      return send(403, JSON.parse(errorBody('CROSS_ORIGIN_REQUEST', 'This request came from another site')));
    }
    const raw = await readBody(req, 16_384);
    if (raw === 'too-large') return send(413, JSON.parse(errorBody('PAYLOAD_TOO_LARGE', 'Body too large')));
    const role = await this.callerRole(req);
    if (role === 'unknown') {
      res.setHeader('retry-after', '1');
      return send(503, JSON.parse(errorBody('NO_HEALTHY_NODE', 'No node could check who you are; try again')));
    }
    if (role === 'anonymous') return send(401, JSON.parse(errorBody('UNAUTHENTICATED', 'Log in as an administrator')));
    if (role !== 'admin') return send(403, JSON.parse(errorBody('FORBIDDEN', 'Only an administrator may change the balancer')));
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8') || '{}');
    } catch {
      return send(400, JSON.parse(errorBody('INVALID_JSON', 'The request body is not valid JSON')));
    }
    const parsed = lbSettingsBody.safeParse(json);
    if (!parsed.success) {
      const field = parsed.error.issues[0]?.path[0];
      const message = field === 'algorithm' ? `algorithm must be one of ${LB_ALGORITHMS.join(', ')}`
        : field === 'weights' ? `weights must map node ids to integers 0–${LB_WEIGHT_MAX}, or be null for load-based weights`
          : 'The body must be an object of { algorithm?, weights? }';
      return send(400, JSON.parse(errorBody('VALIDATION_FAILED', message)));
    }
    const input = parsed.data;
    const settings: LbSettings = {
      algorithm: input.algorithm ?? this.algorithm,
      weights: input.weights === undefined ? (this.staticWeights ?? null) : input.weights,
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
  /** The address the per-address limits count (the socket's, or the trusted proxy's last X-Forwarded-For hop). */
  client: string;
  /** Content-Length (0 if none; the body is counted as it arrives anyway). */
  contentLength: number;
  hasBody: boolean;
  expectContinue: boolean;
  /** `Upgrade: websocket` (other upgrades, such as h2c, are ignored: the request is served over HTTP/1.1). */
  websocket: boolean;
  /** Why the request cannot be forwarded as it is (400 MALFORMED_REQUEST), or undefined. */
  malformed: string | undefined;
};

/**
 * One pass over the raw request headers: what to forward (hop-by-hop headers, Expect and
 * Content-Length dropped — the gateway answers 100 Continue itself and sends the buffered body
 * with its own length — our own X-Forwarded-* and X-Request-Id added), the few facts the gateway
 * needs, and what makes a request ambiguous to forward (request smuggling, RFC 9112 §6.3):
 * several Host or Content-Length headers, or Content-Length with Transfer-Encoding.
 */
function readRequestHead(req: http.IncomingMessage, trustProxy: boolean): RequestHead {
  const raw = req.rawHeaders;
  const forward: string[] = [];
  let requestId: string | undefined;
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let idempotencyKey = false;
  let eventStream = false;
  let pinnedNode: string | undefined;
  let hosts = 0;
  let lengths = 0;
  let contentLength = 0;
  let chunked = false;
  let otherCoding = false;
  let expectContinue = false;
  let websocket = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    switch (lower) {
      case 'host':
        hosts += 1;
        break;
      case 'content-length':
        lengths += 1;
        contentLength = Number(value);
        continue;
      case 'transfer-encoding':
        // Node decodes chunked; any other coding (gzip, chunked) would reach the node still encoded.
        if (value.trim().toLowerCase() !== 'chunked') otherCoding = true;
        chunked = true;
        continue;
      case 'expect':
        // Node's server answers any other expectation 417 before the request gets here.
        expectContinue = true;
        continue;
      case 'x-request-id':
        requestId ??= acceptedRequestId(value);
        continue;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        continue;
      case 'x-forwarded-proto':
        forwardedProto ??= value;
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
      case 'upgrade':
        if (/websocket/i.test(value)) websocket = true;
        continue;
    }
    if (HOP_BY_HOP.has(lower)) continue;
    forward.push(name, value);
  }
  requestId ??= randomUUID();
  const socketAddress = req.socket.remoteAddress ?? '';
  let client = socketAddress;
  let chain = socketAddress;
  let proto = 'http';
  // Untrusted, a client's own X-Forwarded-* would let it pose as any address or as TLS: dropped.
  if (trustProxy && forwardedFor !== undefined) {
    client = forwardedFor.slice(forwardedFor.lastIndexOf(',') + 1).trim() || socketAddress;
    chain = `${forwardedFor}, ${socketAddress}`;
  }
  if (trustProxy && forwardedProto?.trim().toLowerCase() === 'https') proto = 'https';
  forward.push('x-forwarded-for', chain, 'x-forwarded-proto', proto, 'x-request-id', requestId);
  const malformed = hosts > 1 ? 'More than one Host header'
    : hosts === 0 && req.httpVersionMinor === 1 ? 'HTTP/1.1 requires a Host header'
    : lengths > 1 ? 'More than one Content-Length header'
      : lengths > 0 && chunked ? 'Both Content-Length and Transfer-Encoding'
        : otherCoding ? 'Only Transfer-Encoding: chunked is supported'
        : !(contentLength >= 0) ? 'Content-Length is not a number' : undefined;
  return {
    forward, requestId, idempotencyKey, eventStream, pinnedNode, client, contentLength, hasBody: chunked || contentLength > 0, expectContinue, websocket, malformed,
  };
}

/**
 * Node destroys a socket right after an answer with `Connection: close`; with request bytes
 * still arriving, that is a TCP reset, which can discard the answer from the client's receive
 * buffer before it is read (a 413 to a large upload, say). Instead: half-close, keep reading
 * (Node drops the rest of the body) and destroy after LINGER_MS — Apache's "lingering close".
 */
function lingerClose(socket: Socket): void {
  (socket as Socket & { destroySoon(): void }).destroySoon = function lingering(this: Socket) {
    this.end();
    setTimeout(() => this.destroy(), LINGER_MS).unref();
  };
}

/** The request declares a body that has not been read (yet): a refusal ends the connection. */
function bodyUnread(req: http.IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** A complete HTTP/1.1 error answer for a raw socket (before or instead of Node's response object). */
function rawAnswer(status: number, code: string, message: string, retryAfterS?: number): string {
  const body = errorBody(code, message);
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `${retryAfterS === undefined ? '' : `Retry-After: ${retryAfterS}\r\n`}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large',
};

function closePools(b: Backend): Promise<unknown> {
  return Promise.all([b.pool.close(), b.side.close(), b.check.close()]).catch(() => {});
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
  private status = 0;

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
    // A node nobody knows is the client's mistake (any header value can be sent): 400, not a 5xx.
    if (pinned !== undefined && !this.gateway.backends.has(pinned)) {
      return this.fail(400, 'UNKNOWN_NODE', `No node ${pinned.slice(0, MAX_NODE_ID_ECHO)} is known to the gateway`);
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
    this.status = statusCode;
    if (isNodeFailure(statusCode)) this.gateway.nodeFailed(backend, `answered ${statusCode}`);
    else backend.health = requestSucceeded(backend.health);
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
    if (this.res.write(chunk)) return;
    controller.pause();
    // undici's body timeout does not run while its socket is paused: without this, a client that
    // stops reading would hold a node connection for as long as it likes.
    const stalled = setTimeout(() => this.res.destroy(), this.config.sendTimeoutMs);
    const closed = () => clearTimeout(stalled);
    this.res.once('close', closed);
    this.res.once('drain', () => {
      clearTimeout(stalled);
      this.res.off('close', closed);
      controller.resume();
    });
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
    if (this.clientGone) return;
    const code = (err as { code?: string }).code ?? 'error';
    // A request undici refuses to send is the client's doing: 400, the node untouched, no retry.
    if (CLIENT_CAUSED_ERRORS.has(code)) {
      unwatchClient(this.res.socket, this);
      return this.gateway.refuse(this.res, 400, 'MALFORMED_REQUEST', `The request cannot be forwarded: ${err.message}`, this.head.requestId, true);
    }
    backend.errors += 1;
    this.gateway.totals.errors += 1;
    this.gateway.nodeFailed(backend, code);
    // The node failed before answering: an idempotent request is safe to send elsewhere, and so is
    // any request a node refused to connect for (it never saw it), if its body can be sent again.
    const undelivered = code === 'ECONNREFUSED' && (this.body === null || Buffer.isBuffer(this.body));
    const retry = (this.idempotent || undelivered) && this.head.pinnedNode === undefined;
    if (retry && this.attempt < MAX_ATTEMPTS) {
      backend.retriedAway += 1;
      this.gateway.totals.retries += 1;
      this.tried = new Set([...this.tried, backend.id]);
      this.next();
      return;
    }
    this.fail(502, 'NODE_UNAVAILABLE', `The node ${backend.id} failed before answering (${code})`);
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
    const ms = performance.now() - this.started;
    backend.latency.record(ms);
    if (this.gateway.logRequests) {
      this.gateway.log.debug({ requestId: this.head.requestId, method: this.method, path: this.path, node: backend.id, status: this.status, ms: Math.round(ms * 100) / 100, retried: this.attempt > 1 }, 'request');
    }
  }
}

/** The whole body, or 'too-large' as soon as it passes `limit`; rejects if the client goes away first. */
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
    req.on('close', () => reject(new Error('the client went away')));
  });
}
