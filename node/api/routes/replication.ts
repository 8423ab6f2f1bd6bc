import type { FastifyInstance } from 'fastify';
import { AppError } from '../../../core/errors';
import { requireAdmin, type NodeContext } from '../context';
import { route } from '../route';

/** GET /api/replicas: every node's replica; POST (admin): change mode and N/R/W at runtime. */
export function replicationRoutes(app: FastifyInstance, ctx: NodeContext): void {
  const replicationOf = () => {
    if (!ctx.replication) throw new AppError('NOT_FOUND', 'This node does not run replication');
    return ctx.replication;
  };

  route(app, 'GET /api/replicas', async () => ({ servedBy: ctx.config.nodeId, ...(await replicationOf().clusterStats()) }));

  route(app, 'POST /api/replicas', async ({ req, body }) => {
    await requireAdmin(ctx, req);
    const replication = replicationOf();
    const patch = body();
    const settings = await replication.changeSettings(patch);
    return { settings, ...(await replication.clusterStats()) };
  });
}
