import type { FastifyReply, FastifyRequest } from 'fastify';
import { merge, type VectorClock } from '../../core/vector-clock';
import { AppError } from '../../core/errors';
import { decodeSessionToken, encodeSessionToken } from '../../core/replication/session-token';
import type { NodeContext } from './context';
import type { Consistency } from '../../core/vocabulary';
import { consistency } from '../../contract/booking';

export const SESSION_TOKEN_HEADER = 'x-session-token';

/** `?consistency=` or `X-Consistency`, else the node's default (READ_CONSISTENCY). */
export function readConsistency(ctx: NodeContext, req: FastifyRequest): Consistency {
  const raw = (req.query as { consistency?: unknown } | undefined)?.consistency ?? req.headers['x-consistency'];
  if (raw === undefined) return ctx.config.replication.readConsistency;
  const parsed = consistency.safeParse(raw);
  if (!parsed.success) throw new AppError('VALIDATION_FAILED', 'consistency must be strong, eventual or causal', { field: 'consistency' });
  return parsed.data;
}

/** The client's session token (`X-Session-Token`): what it has written or read so far. */
export function sessionTokenOf(req: FastifyRequest): VectorClock {
  const raw = req.headers[SESSION_TOKEN_HEADER];
  if (raw === undefined) return {};
  const token = typeof raw === 'string' ? decodeSessionToken(raw) : null;
  if (!token) throw new AppError('INVALID_SESSION_TOKEN', 'X-Session-Token is not a token this service issued');
  return token;
}

export function sendSessionToken(reply: FastifyReply, token: VectorClock): void {
  reply.header(SESSION_TOKEN_HEADER, encodeSessionToken(token));
}

/**
 * After a state change committed: publish its facts to the replicas and answer with a session
 * token covering them, so the client's next read — on any node — sees its own write. If
 * replication cannot acknowledge now, the facts stay in the outbox and spread later; the
 * committed change stands either way.
 */
export async function publishCommittedFacts(ctx: NodeContext, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (!ctx.replication) return;
  const incoming = sessionTokenOf(req);
  const published = await ctx.replication.publish().catch(() => ({}));
  sendSessionToken(reply, merge(incoming, published));
}
