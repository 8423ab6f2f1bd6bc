import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import type { NodeContext } from '../context';

/** How much this node lags: the gateway's load-based weights scale with it. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

export function healthRoutes(app: FastifyInstance, ctx: NodeContext): void {
  app.get('/api/health', async (_req, reply) => {
    const started = performance.now();
    const database = await ctx.db.query('SELECT 1').then(
      () => ({ status: 'up' as const, latencyMs: Math.round((performance.now() - started) * 100) / 100 }),
      (err: Error) => ({ status: 'down' as const, error: err.message }),
    );
    const self = ctx.cluster?.summary();
    const body = {
      nodeId: ctx.config.nodeId,
      pid: process.pid,
      uptimeS: Math.round((Date.now() - ctx.startedAt) / 1000),
      status: database.status === 'up' ? 'ok' : 'degraded',
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
    return reply.code(database.status === 'up' ? 200 : 503).send(body);
  });
}
