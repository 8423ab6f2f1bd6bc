import type { FastifyInstance } from 'fastify';
import type { NodeContext } from '../context';

export function healthRoutes(app: FastifyInstance, ctx: NodeContext): void {
  app.get('/api/health', async (_req, reply) => {
    const started = performance.now();
    const database = await ctx.db.query('SELECT 1').then(
      () => ({ status: 'up' as const, latencyMs: Math.round((performance.now() - started) * 100) / 100 }),
      (err: Error) => ({ status: 'down' as const, error: err.message }),
    );
    return reply.code(database.status === 'up' ? 200 : 503).send({
      nodeId: ctx.config.nodeId,
      pid: process.pid,
      uptimeS: Math.round((Date.now() - ctx.startedAt) / 1000),
      status: database.status === 'up' ? 'ok' : 'degraded',
      database,
      clock: ctx.clock.snapshot(),
    });
  });
}
