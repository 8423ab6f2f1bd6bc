import os from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { NodeContext } from '../context';

export function healthRoutes(app: FastifyInstance, ctx: NodeContext): void {
  app.get('/api/health', async (_req, reply) => {
    const started = performance.now();
    const database = await ctx.db.query('SELECT 1').then(
      () => ({ status: 'up' as const, latencyMs: Math.round((performance.now() - started) * 100) / 100 }),
      (err: Error) => ({ status: 'down' as const, error: err.message }),
    );
    const self = ctx.cluster?.summary();
    return reply.code(database.status === 'up' ? 200 : 503).send({
      nodeId: ctx.config.nodeId,
      pid: process.pid,
      uptimeS: Math.round((Date.now() - ctx.startedAt) / 1000),
      status: database.status === 'up' ? 'ok' : 'degraded',
      role: self?.role ?? 'standalone',
      leader: self?.leader ?? null,
      epoch: self?.epoch ?? 0,
      load: { inFlight: ctx.stats.inFlight, requestsServed: ctx.stats.served, loadAvg1m: os.loadavg()[0] ?? 0 },
      database,
      clock: ctx.clock.snapshot(),
      nodes: ctx.cluster?.nodes() ?? [],
      refusedPeerMessages: ctx.cluster?.refused ?? {},
      leaderWrites: ctx.cluster?.leaderWrites ?? { accepted: 0, refused: 0 },
    });
  });
}
