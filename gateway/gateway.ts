import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { Pool, request as undiciRequest } from 'undici';
import { INITIAL_BALANCER_STATE, pick, type Algorithm, type BalancerState } from './balancer';
import { checkFailed, checkPassed, eligible, NEW_BACKEND, requestFailed, requestSucceeded, type BackendHealth, type HealthConfig } from './health';
import { LatencyWindow } from './stats';

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

type Backend = {
  id: string;
  url: string;
  pool: Pool;
  health: BackendHealth;
  inFlight: number;
  requests: number;
  errors: number;
  retriedAway: number;
  latency: LatencyWindow;
  loadWeight: number;
  healthCheckInFlight: boolean;
};

// Hop-by-hop headers are about one connection and must not be forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const LB_PATH = '/api/lb';

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
    await Promise.all([...this.backends.values()].map((b) => b.pool.close().catch(() => {})));
    await this.db?.end();
  }

  // ---- membership and health ------------------------------------------------------------------

  private addBackend(id: string, url: string): void {
    const existing = this.backends.get(id);
    if (existing && existing.url === url) return;
    if (existing) void existing.pool.close().catch(() => {});
    this.backends.set(id, {
      id, url, health: NEW_BACKEND, inFlight: 0, requests: 0, errors: 0, retriedAway: 0, latency: new LatencyWindow(), loadWeight: 1,
      healthCheckInFlight: false,
      pool: new Pool(url, { connections: this.config.connectionsPerBackend, keepAliveTimeout: 30_000, pipelining: 1 }),
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
        void b.pool.close().catch(() => {});
      }
    }
  }

  private async checkAll(): Promise<void> {
    const reports = await Promise.all([...this.backends.values()].map((b) => this.check(b)));
    // A node that most of the cluster reports dead is not chosen, even if it still answers us.
    for (const b of this.backends.values()) {
      const views = reports.filter((r) => r && r.reporter !== b.id).map((r) => r!.statuses.get(b.id)).filter(Boolean);
      const dead = views.filter((s) => s === 'dead').length;
      b.health = { ...b.health, deadInCluster: views.length > 0 && dead * 2 > views.length };
    }
  }

  private async check(b: Backend): Promise<{ reporter: string; statuses: Map<string, string> } | undefined> {
    if (b.healthCheckInFlight) return undefined;
    b.healthCheckInFlight = true;
    try {
      const res = await undiciRequest(`${b.url}/api/health`, {
        dispatcher: b.pool, headersTimeout: this.config.healthTimeoutMs, bodyTimeout: this.config.healthTimeoutMs,
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
    const candidates = [...this.backends.values()]
      .filter((b) => !excluded.has(b.id) && eligible(b.health, now))
      .map((b) => ({ id: b.id, inFlight: b.inFlight, weight: this.weightOf(b) }));
    const chosen = pick(this.algorithm, this.balancer, candidates);
    this.balancer = chosen.state;
    return chosen.id === null ? undefined : this.backends.get(chosen.id);
  }

  // ---- proxying -------------------------------------------------------------------------------

  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.url === LB_PATH || req.url?.startsWith(`${LB_PATH}?`)) return this.handleLbApi(req, res);
    this.totals.requests += 1;
    const requestId = (req.headers['x-request-id'] as string | undefined) ?? randomUUID();
    const idempotent = IDEMPOTENT_METHODS.has(req.method ?? 'GET') || req.headers['idempotency-key'] !== undefined;
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';

    // A retry needs the body again: buffer it for idempotent requests, stream it otherwise.
    let body: Buffer | http.IncomingMessage | undefined;
    if (hasBody && idempotent) {
      const buffered = await readBody(req, this.config.retryBodyLimitBytes);
      if (buffered === 'too-large') return this.fail(res, 413, 'PAYLOAD_TOO_LARGE', 'Request body too large', requestId);
      body = buffered;
    } else if (hasBody) {
      body = req;
    }

    const headers = forwardHeaders(req, requestId);
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const tried = new Set<string>();
    const maxAttempts = idempotent ? 2 : 1;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const backend = this.choose(tried);
      if (!backend) {
        if (tried.size) break;
        this.totals.noBackend += 1;
        res.setHeader('retry-after', '1');
        return this.fail(res, 503, 'NO_HEALTHY_NODE', 'No node is available right now; try again shortly', requestId);
      }
      tried.add(backend.id);
      backend.inFlight += 1;
      backend.requests += 1;
      const started = performance.now();
      let upstream: Awaited<ReturnType<Pool['request']>>;
      try {
        const eventStream = String(req.headers.accept ?? '').includes('text/event-stream');
        upstream = await backend.pool.request({
          path: req.url ?? '/',
          method: (req.method ?? 'GET') as 'GET',
          headers,
          body: body ?? null,
          headersTimeout: this.config.upstreamTimeoutMs,
          bodyTimeout: eventStream ? 0 : this.config.upstreamTimeoutMs,
          signal: abort.signal,
        });
      } catch (err) {
        backend.inFlight -= 1;
        backend.errors += 1;
        this.totals.errors += 1;
        if (abort.signal.aborted) return;
        backend.health = requestFailed(backend.health, Date.now(), this.config.health);
        // The node failed before answering: an idempotent request is safe to send elsewhere.
        if (attempt < maxAttempts) {
          backend.retriedAway += 1;
          this.totals.retries += 1;
          continue;
        }
        return this.fail(res, 502, 'NODE_UNAVAILABLE', `The node ${backend.id} failed before answering (${(err as { code?: string }).code ?? 'error'})`, requestId);
      }

      backend.health = upstream.statusCode >= 500 ? requestFailed(backend.health, Date.now(), this.config.health) : requestSucceeded(backend.health);
      const responseHeaders: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(upstream.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name)) responseHeaders[name] = value;
      }
      responseHeaders['x-served-by'] = backend.id;
      responseHeaders['x-request-id'] = requestId;
      res.writeHead(upstream.statusCode, responseHeaders);
      res.flushHeaders();
      try {
        await pipeline(upstream.body, res);
      } catch {
        // The client went away or the node broke mid-body: nothing more can be sent.
      } finally {
        backend.inFlight -= 1;
        backend.latency.record(performance.now() - started);
      }
      return;
    }
    this.fail(res, 502, 'NODE_UNAVAILABLE', 'No node could answer this request', requestId);
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

  private fail(res: http.ServerResponse, status: number, code: string, message: string, requestId: string): void {
    if (res.headersSent) return void res.destroy();
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-request-id': requestId });
    res.end(errorBody(code, message));
  }

  // ---- the gateway's own API ------------------------------------------------------------------

  stats() {
    const now = Date.now();
    const total = [...this.backends.values()].reduce((sum, b) => sum + b.requests, 0);
    return {
      algorithm: this.algorithm,
      algorithms: ['round-robin', 'least-connections', 'weighted'],
      weights: this.staticWeights ? 'static' : 'load-based',
      totals: this.totals,
      nodes: [...this.backends.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((b) => ({
        id: b.id,
        url: b.url,
        healthy: b.health.healthy,
        eligible: eligible(b.health, now),
        ejected: now < b.health.ejectedUntilMs,
        ejectedForMs: Math.max(0, b.health.ejectedUntilMs - now),
        deadInCluster: b.health.deadInCluster,
        weight: this.weightOf(b),
        inFlight: b.inFlight,
        requests: b.requests,
        errors: b.errors,
        retriedElsewhere: b.retriedAway,
        latencyMs: b.latency.percentiles(),
        share: total ? Math.round((b.requests / total) * 10_000) / 10_000 : 0,
      })),
    };
  }

  private async handleLbApi(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET') return send(200, this.stats());
    if (req.method !== 'POST') return send(405, JSON.parse(errorBody('METHOD_NOT_ALLOWED', 'GET or POST')));
    const raw = await readBody(req, 16_384);
    if (raw === 'too-large') return send(413, JSON.parse(errorBody('PAYLOAD_TOO_LARGE', 'Body too large')));
    const role = await this.callerRole(req);
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
    if (input.algorithm !== undefined) this.algorithm = input.algorithm as Algorithm;
    if (weights !== undefined) this.staticWeights = (weights as Record<string, number> | null) ?? undefined;
    // Switching keeps in-flight requests untouched; only the next choice changes.
    this.balancer = INITIAL_BALANCER_STATE;
    send(200, this.stats());
  }

  /** Ask a node who the caller is (the gateway keeps no accounts of its own). */
  private async callerRole(req: http.IncomingMessage): Promise<'anonymous' | 'user' | 'admin'> {
    const backend = this.choose(new Set());
    if (!backend) return 'anonymous';
    const headers: Record<string, string> = {};
    if (req.headers.authorization) headers.authorization = req.headers.authorization;
    if (req.headers.cookie) headers.cookie = req.headers.cookie;
    try {
      const res = await backend.pool.request({ path: '/api/auth/me', method: 'GET', headers, headersTimeout: this.config.upstreamTimeoutMs });
      const body = (await res.body.json()) as { user?: { role?: string } };
      if (res.statusCode !== 200) return 'anonymous';
      return body.user?.role === 'admin' ? 'admin' : 'user';
    } catch {
      return 'anonymous';
    }
  }
}

function forwardHeaders(req: http.IncomingMessage, requestId: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  const client = req.socket.remoteAddress ?? '';
  out['x-forwarded-for'] = req.headers['x-forwarded-for'] ? `${String(req.headers['x-forwarded-for'])}, ${client}` : client;
  out['x-forwarded-proto'] = 'http';
  out['x-request-id'] = requestId;
  return out;
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
