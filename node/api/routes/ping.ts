import type { FastifyInstance } from 'fastify';
import type { NodeContext } from '../context';
import { route } from '../route';

/**
 * `GET /api/ping`: the cheapest answer a node can give — `{ ok: true, nodeId }`, no database, no
 * session lookup. The "hello world" of `npm run bench:gateway`, to measure a proxy's own cost.
 */
export function pingRoutes(app: FastifyInstance, ctx: NodeContext): void {
  const nodeId = ctx.config.nodeId;
  route(app, 'GET /api/ping', async () => ({ ok: true, nodeId }));
}
