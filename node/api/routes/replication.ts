import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../../core/errors';
import { requireAdmin, type NodeContext } from '../context';
import { replicationModeSchema } from '../../config';

const settingsBody = z.object({
  mode: replicationModeSchema.optional(),
  n: z.number().int().min(1).max(100).optional(),
  r: z.number().int().min(1).max(100).optional(),
  w: z.number().int().min(1).max(100).optional(),
  synchronous: z.boolean().optional(),
  fanout: z.number().int().min(1).max(100).optional(),
  gossipIntervalMs: z.number().int().min(10).max(60_000).optional(),
}).refine((b) => b.r === undefined || b.n === undefined || b.r <= b.n, { message: 'r must be ≤ n' })
  .refine((b) => b.w === undefined || b.n === undefined || b.w <= b.n, { message: 'w must be ≤ n' });

/** GET /api/replicas: every node's replica; POST (admin): change mode and N/R/W at runtime. */
export function replicationRoutes(app: FastifyInstance, ctx: NodeContext): void {
  const replicationOf = () => {
    if (!ctx.replication) throw new AppError('NOT_FOUND', 'This node does not run replication');
    return ctx.replication;
  };

  app.get('/api/replicas', async () => ({ servedBy: ctx.config.nodeId, ...(await replicationOf().clusterStats()) }));

  app.post('/api/replicas', async (req) => {
    await requireAdmin(ctx, req);
    const replication = replicationOf();
    const patch = settingsBody.parse(req.body);
    const settings = await replication.changeSettings(patch);
    return { settings, ...(await replication.clusterStats()) };
  });
}
