import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../../lib/errors';
import type { ClusterNode } from '../../cluster/cluster-node';
import { clearRestartRequest, CRASH_EXIT_CODE, requestRestart } from '../../cluster/restart-requests';
import { requireAdmin, type NodeContext } from '../context';

const electionBody = z.object({ algorithm: z.enum(['bully', 'ring']), nodeId: z.string().min(1).max(64).optional() });

const faultsBody = z.object({
  /** Peer ids to cut this node off from, both ways; "*" for every peer; [] heals. */
  partitionedFrom: z.array(z.string().min(1).max(64)).max(100).optional(),
  /** Extra delay per peer on messages this node sends. */
  delayToMs: z.record(z.string().min(1).max(64), z.number().int().min(0).max(60_000)).optional(),
  paused: z.boolean().optional(),
  clockSkewMs: z.number().int().min(-86_400_000).max(86_400_000).optional(),
  /** Extra latency on this node's API requests (not health checks or peer messages): a slow node. */
  requestDelayMs: z.number().int().min(0).max(60_000).optional(),
});

const crashBody = z.object({
  /** Ask the supervisor (the launcher of `npm start`) to start the node again after this long. */
  restartAfterMs: z.number().int().min(0).max(600_000).optional(),
}).default({});

const PEER_BODY_LIMIT_BYTES = 64 * 1024 * 1024;

function clusterOf(ctx: NodeContext): ClusterNode {
  if (!ctx.cluster) throw new AppError('NOT_FOUND', 'This node does not run in a cluster');
  return ctx.cluster;
}

/** Peer RPC, clock and election status, and fault injection. */
export function clusterRoutes(app: FastifyInstance, ctx: NodeContext): void {
  // Peer messages may be large (a far-behind replica catches up in one exchange): a larger limit,
  // still bounded, and only for signed peer traffic.
  app.post('/api/peer', { bodyLimit: PEER_BODY_LIMIT_BYTES }, async (req, reply) => {
    const cluster = clusterOf(ctx);
    const result = await cluster.handleInbound(req.body);
    if (result.drop) {
      // A partitioned or paused node: the message is lost, as on a cut network.
      reply.hijack();
      req.raw.socket.destroy();
      return;
    }
    return reply.code(result.status).send(result.body);
  });

  app.get('/api/sync', async () => {
    const cluster = clusterOf(ctx);
    return {
      nodeId: cluster.nodeId,
      lamport: cluster.clock.lamport,
      vector: cluster.clock.vector,
      physical: cluster.clock.physical(),
      nodes: cluster.nodes().map((n) => ({ id: n.id, status: n.status, lamport: 'lamport' in n ? n.lamport : null, vector: 'vector' in n ? n.vector : null })),
      rounds: await cluster.syncHistory(),
    };
  });

  app.get('/api/election', async () => clusterOf(ctx).election());

  app.post('/api/election', async (req) => {
    await requireAdmin(ctx, req);
    const cluster = clusterOf(ctx);
    const { algorithm, nodeId } = electionBody.parse(req.body);
    if (nodeId === undefined || nodeId === cluster.nodeId) return { election: await cluster.triggerElection(algorithm) };
    const forwarded = await cluster.triggerElectionOn(nodeId, algorithm).catch(() => undefined);
    if (!forwarded) throw new AppError('NODE_UNREACHABLE', `Node ${nodeId} is unknown or unreachable`);
    return { election: forwarded };
  });

  app.get('/api/faults', async (req) => {
    await requireAdmin(ctx, req);
    const cluster = clusterOf(ctx);
    return { nodeId: cluster.nodeId, faults: cluster.faultsView() };
  });

  app.post('/api/faults', async (req) => {
    await requireAdmin(ctx, req);
    const cluster = clusterOf(ctx);
    cluster.setFaults(faultsBody.parse(req.body));
    return { nodeId: cluster.nodeId, faults: cluster.faultsView() };
  });

  app.post('/api/cluster/fenced-write-probe', async (req) => {
    await requireAdmin(ctx, req);
    const cluster = clusterOf(ctx);
    return { nodeId: cluster.nodeId, ...(await cluster.fencedWriteProbe()), refused: cluster.refused };
  });

  // Chaos: crash this node right after answering — no graceful leave, so peers detect it through
  // failure detection as after a real crash. Optionally ask the launcher to restart it (see
  // server/cluster/restart-requests.ts and "Chaos from the monitor" in docs/cluster.md).
  app.post('/api/cluster/crash', async (req, reply) => {
    await requireAdmin(ctx, req);
    const cluster = clusterOf(ctx);
    const { restartAfterMs } = crashBody.parse(req.body ?? {});
    if (restartAfterMs === undefined) clearRestartRequest(ctx.config.dataDir, cluster.nodeId);
    else requestRestart(ctx.config.dataDir, cluster.nodeId, restartAfterMs);
    ctx.log.warn(`crash requested by an administrator${restartAfterMs === undefined ? '' : ` (restart after ${restartAfterMs} ms)`}`);
    reply.raw.once('finish', () => setImmediate(() => process.exit(CRASH_EXIT_CODE)));
    return { nodeId: cluster.nodeId, pid: process.pid, crashing: true, restartAfterMs: restartAfterMs ?? null };
  });

  app.post('/api/cluster/sync-now', async (req) => {
    await requireAdmin(ctx, req);
    const cluster = clusterOf(ctx);
    const round = await cluster.syncClocks();
    if (!round) throw new AppError('NOT_LEADER', 'Only the leader runs Berkeley rounds');
    return { round };
  });
}
