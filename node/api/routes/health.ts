import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import type { NodeContext } from '../context';
import { route, sent } from '../route';
import type { AnswerOf } from '../../../contract/operations';

/** How much this node lags: the gateway's load-based weights scale with it. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

/** A readiness probe's database check gives up after this long (the probe itself must answer). */
const READY_DB_TIMEOUT_MS = 2_000;

export function healthRoutes(app: FastifyInstance, ctx: NodeContext): void {
  // Liveness: the process answers. Nothing else — a database outage must not get nodes restarted.
  route(app, 'GET /api/health/live', async () => ({ status: 'live', nodeId: ctx.config.nodeId }));

  // Readiness: send this node traffic now? Its database answers, it has joined the cluster and
  // loaded its replica, and it is not draining for a stop.
  route(app, 'GET /api/health/ready', async ({ reply }) => {
    const phase = ctx.phase ?? 'serving';
    let timer: NodeJS.Timeout | undefined;
    const database = await Promise.race([
      ctx.db.query('SELECT 1').then(() => 'up' as const, () => 'down' as const),
      new Promise<'down'>((done) => (timer = setTimeout(() => done('down'), READY_DB_TIMEOUT_MS))),
    ]).finally(() => clearTimeout(timer));
    const checks = {
      database,
      cluster: phase === 'starting' && !ctx.cluster ? ('joining' as const) : ('joined' as const),
      replica: phase === 'starting' ? ('loading' as const) : ('loaded' as const),
      stopping: phase === 'stopping',
    };
    const ready = database === 'up' && phase === 'serving';
    if (ready) return { status: 'ready', nodeId: ctx.config.nodeId, checks };
    const why = phase === 'stopping' ? 'the node is stopping'
      : phase === 'starting' ? 'the node is still starting' : 'its database does not answer';
    const details = { nodeId: ctx.config.nodeId, checks };
    return sent(reply.code(503).header('retry-after', '1').send({
      error: { code: 'NOT_READY', message: `Not ready: ${why}`, details },
    }));
  });

  route(app, 'GET /api/health', async ({ reply }) => {
    const started = performance.now();
    const database = await ctx.db.query('SELECT 1').then(
      () => ({ status: 'up' as const, latencyMs: Math.round((performance.now() - started) * 100) / 100 }),
      (err: Error) => ({ status: 'down' as const, error: err.message }),
    );
    const self = ctx.cluster?.summary();
    const stopping = ctx.phase === 'stopping';
    const body: AnswerOf<'GET /api/health'> = {
      nodeId: ctx.config.nodeId,
      pid: process.pid,
      uptimeS: Math.round((Date.now() - ctx.startedAt) / 1000),
      status: stopping ? 'stopping' : database.status === 'up' ? 'ok' : 'degraded',
      role: self?.role ?? 'standalone',
      leader: self?.leader ?? null,
      epoch: self?.epoch ?? 0,
      load: {
        inFlight: ctx.stats.inFlight,
        requestsServed: ctx.stats.served,
        loadAvg1m: os.loadavg()[0] ?? 0,
        // p99 event-loop delay since the last health check, beyond the 10 ms sampling resolution.
        eventLoopDelayMs: Math.max(0, Math.round((loopDelay.percentile(99) / 1e6 - 10) * 10) / 10),
        capacity: ctx.config.nodeCapacity,
      },
      database,
      clock: ctx.clock.snapshot(),
      nodes: ctx.cluster?.nodes() ?? [],
      refusedPeerMessages: ctx.cluster?.refused ?? {},
      leaderWrites: ctx.cluster?.leaderWrites ?? { accepted: 0, refused: 0 },
    };
    loopDelay.reset();
    reply.code(database.status === 'up' && !stopping ? 200 : 503);
    return body;
  });
}
