import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FROM_HEADER, isSignatureShaped, SIGNATURE_HEADER } from '../../../transport/envelope';
import { PEER_BODY_LIMIT_BYTES } from '../../../transport/transport';
import { AppError } from '../../../core/errors';
import type { ClusterNode } from '../../cluster/cluster-node';
import { clearRestartRequest, CRASH_EXIT_CODE, requestRestart } from '../../cluster/restart-requests';
import { requireAdmin, type NodeContext } from '../context';
import { route } from '../route';

function clusterOf(ctx: NodeContext): ClusterNode {
  if (!ctx.cluster) throw new AppError('NOT_FOUND', 'This node does not run in a cluster');
  return ctx.cluster;
}

/**
 * After refusing a request whose body was not read to its end: close our side, discard what
 * still arrives for at most this long, then drop the connection. Closing at once would reset it
 * with the upload still arriving, and the client could lose our answer (nginx: lingering_close).
 */
const PEER_LINGER_MS = 1_000;

function refuseEarly(reply: FastifyReply, error: AppError): FastifyReply {
  return reply.code(error.status).send(error.toJSON());
}

function lingerThenClose(req: FastifyRequest): void {
  const socket = req.raw.socket;
  req.raw.resume();
  socket.end();
  setTimeout(() => socket.destroy(), PEER_LINGER_MS).unref();
}

/**
 * POST /api/peer, authenticated before it is parsed: the body is read as raw bytes (at most
 * PEER_BODY_LIMIT_BYTES; a larger Content-Length is refused before reading), the HMAC in
 * X-Peer-Signature is checked over exactly those bytes, and only then are they parsed (see
 * ClusterNode.handleInbound). A refusal before the body was read closes the connection.
 */
function peerRoute(scope: FastifyInstance, ctx: NodeContext): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: PEER_BODY_LIMIT_BYTES }, (_req, body, done) => done(null, body));
  // (Fastify asks for `Connection: close` after a body it stopped reading: that closes at once, so
  // the linger below does it instead.)
  scope.addHook('onSend', async (req, reply) => {
    if (!req.raw.complete) reply.removeHeader('connection');
  });
  scope.addHook('onResponse', async (req) => {
    if (!req.raw.complete) lingerThenClose(req);
  });
  const cheapChecks = async (req: FastifyRequest, reply: FastifyReply) => {
    if (Number(req.headers['content-length']) > PEER_BODY_LIMIT_BYTES) {
      ctx.cluster?.refuse('too-large', 413, 'PAYLOAD_TOO_LARGE');
      return refuseEarly(reply, new AppError('PAYLOAD_TOO_LARGE', `Peer messages are at most ${PEER_BODY_LIMIT_BYTES} bytes`));
    }
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0;
    if (hasBody && !/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
      return refuseEarly(reply, new AppError('UNSUPPORTED_MEDIA_TYPE', 'Peer messages are application/json'));
    }
    if (!ctx.cluster) return refuseEarly(reply, new AppError('NOT_FOUND', 'This node does not run in a cluster'));
    const signature = req.headers[SIGNATURE_HEADER];
    if (typeof signature !== 'string' || !isSignatureShaped(signature) || typeof req.headers[FROM_HEADER] !== 'string') {
      ctx.cluster.refuse('unsigned', 401, 'PEER_MESSAGE_REFUSED');
      return refuseEarly(reply, new AppError('PEER_MESSAGE_REFUSED', `unsigned: ${SIGNATURE_HEADER} and ${FROM_HEADER} are required`));
    }
  };
  scope.post('/api/peer', { bodyLimit: PEER_BODY_LIMIT_BYTES, onRequest: cheapChecks }, async (req, reply) => {
    const cluster = clusterOf(ctx);
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const result = await cluster.handleInbound(bytes, req.headers[SIGNATURE_HEADER] as string, req.headers[FROM_HEADER] as string);
    if (result.drop) {
      // A partitioned or paused node: the message is lost, as on a cut network.
      reply.hijack();
      req.raw.socket.destroy();
      return;
    }
    if ('reply' in result) return reply.code(200).header(SIGNATURE_HEADER, result.reply.signature).type('application/json').send(result.reply.bytes);
    return reply.code(result.status).send({ error: result.error });
  });
}

/** Peer RPC, clock and election status, and fault injection. */
export function clusterRoutes(app: FastifyInstance, ctx: NodeContext): void {
  app.register(async (scope) => peerRoute(scope, ctx));

  route(app, 'GET /api/sync', async () => {
    const cluster = clusterOf(ctx);
    return {
      nodeId: cluster.nodeId,
      lamport: cluster.clock.lamport,
      vector: cluster.clock.vector,
      physical: cluster.clock.physical(),
      nodes: cluster.nodes().map((n) => ({ id: n.id, status: n.status, lamport: n.lamport ?? null, vector: n.vector ?? null })),
      rounds: await cluster.syncHistory(),
    };
  });

  route(app, 'GET /api/election', async () => clusterOf(ctx).election());

  route(app, 'POST /api/election', async ({ req, body }) => {
    await requireAdmin(ctx, req);
    const cluster = clusterOf(ctx);
    const { algorithm, nodeId } = body();
    if (nodeId === undefined || nodeId === cluster.nodeId) return { election: await cluster.triggerElection(algorithm) };
    const forwarded = await cluster.triggerElectionOn(nodeId, algorithm).catch(() => undefined);
    if (!forwarded) throw new AppError('NODE_UNREACHABLE', `Node ${nodeId} is unknown or unreachable`);
    return { election: forwarded };
  });

  route(app, 'GET /api/faults', async ({ req }) => {
    await requireAdmin(ctx, req);
    const cluster = clusterOf(ctx);
    return { nodeId: cluster.nodeId, faults: cluster.faultsView() };
  });

  route(app, 'POST /api/faults', async ({ req, body }) => {
    await requireAdmin(ctx, req);
    const cluster = clusterOf(ctx);
    cluster.setFaults(body());
    return { nodeId: cluster.nodeId, faults: cluster.faultsView() };
  });

  route(app, 'POST /api/cluster/fenced-write-probe', async ({ req }) => {
    await requireAdmin(ctx, req);
    const cluster = clusterOf(ctx);
    return { nodeId: cluster.nodeId, ...(await cluster.fencedWriteProbe()), refused: cluster.refused };
  });

  // Chaos: crash this node right after answering — no graceful leave, so peers detect it through
  // failure detection as after a real crash. Optionally ask the launcher to restart it (see
  // node/cluster/restart-requests.ts and "Chaos from the monitor" in docs/cluster.md).
  route(app, 'POST /api/cluster/crash', async ({ req, reply, body }) => {
    await requireAdmin(ctx, req);
    const cluster = clusterOf(ctx);
    const { restartAfterMs } = body();
    if (restartAfterMs === undefined) clearRestartRequest(ctx.config.dataDir, cluster.nodeId);
    else requestRestart(ctx.config.dataDir, cluster.nodeId, restartAfterMs);
    ctx.log.warn(`crash requested by an administrator${restartAfterMs === undefined ? '' : ` (restart after ${restartAfterMs} ms)`}`);
    reply.raw.once('finish', () => setImmediate(() => process.exit(CRASH_EXIT_CODE)));
    return { nodeId: cluster.nodeId, pid: process.pid, crashing: true, restartAfterMs: restartAfterMs ?? null };
  });

  route(app, 'POST /api/cluster/sync-now', async ({ req }) => {
    await requireAdmin(ctx, req);
    const cluster = clusterOf(ctx);
    const round = await cluster.syncClocks();
    if (!round) throw new AppError('NOT_LEADER', 'Only the leader runs Berkeley rounds');
    return { round };
  });
}
