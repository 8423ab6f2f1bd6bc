import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config';
import type { Db } from '../../db/pool';
import { userForToken } from '../../db/accounts/accounts';
import { SESSION_COOKIE, type User } from '../../contract/accounts';
import { AppError } from '../../core/errors';
import { wantsSecureCookie, type CookieSecureMode } from '../../http/browser-edge';
import type { ClusterClock } from '../cluster/cluster-clock';
import type { ClusterNode } from '../cluster/cluster-node';
import type { ReplicationNode } from '../replication/replication-node';
import type { NodeMetrics } from './metrics';

/** What every route handler may use: one per node process. */
export type NodeContext = {
  config: Config;
  db: Db;
  clock: ClusterClock;
  /** Absent in API-only tests that run a node outside any cluster. */
  cluster: ClusterNode | undefined;
  /** This node's replica and the replication protocol (absent in API-only tests: reads go to PostgreSQL). */
  replication: ReplicationNode | undefined;
  log: Logger;
  startedAt: number;
  /**
   * Where the node process is: its port opens before it has joined the cluster and loaded its
   * replica (`starting`), and it drains on SIGTERM (`stopping`). Absent: an API-only test node.
   */
  phase?: 'starting' | 'serving' | 'stopping';
  /** Requests being served and served so far (reported as this node's load). */
  stats: { inFlight: number; served: number };
  /** Prometheus metrics (node/api/metrics.ts): made by buildApi when not given. */
  metrics?: NodeMetrics;
};


/** The session token from `Authorization: Bearer …` or the session cookie. */
export function sessionToken(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim() || undefined;
  const cookie = req.headers.cookie;
  if (!cookie) return undefined;
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return decodeCookieValue(part.slice(eq + 1).trim()) || undefined;
  }
  return undefined;
}

/** A cookie value with broken %-encoding is no session (not a 500). */
function decodeCookieValue(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{20,100}$/;

export async function currentUser(ctx: NodeContext, req: FastifyRequest): Promise<User | undefined> {
  const token = sessionToken(req);
  if (!token || !TOKEN_PATTERN.test(token)) return undefined;
  return userForToken(ctx.db, token, ctx.config.sessionIdleTimeoutS);
}

export async function requireUser(ctx: NodeContext, req: FastifyRequest): Promise<User> {
  const user = await currentUser(ctx, req);
  if (!user) throw new AppError('UNAUTHENTICATED', 'Log in first (session cookie or Authorization: Bearer <token>)');
  return user;
}

export async function requireAdmin(ctx: NodeContext, req: FastifyRequest): Promise<User> {
  const user = await requireUser(ctx, req);
  if (user.role !== 'admin') throw new AppError('FORBIDDEN', 'Only an administrator may do this');
  return user;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** COOKIE_SECURE, decorated by buildApi. */
    cookieSecure: CookieSecureMode;
  }
}

/** `; Secure` when COOKIE_SECURE says so for this request (auto: it came over TLS). */
function secureAttribute(reply: FastifyReply): string {
  return wantsSecureCookie(reply.server.cookieSecure ?? 'auto', reply.request.headers) ? '; Secure' : '';
}

export function setSessionCookie(reply: FastifyReply, token: string, expiresAt: Date): void {
  const maxAgeS = Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000));
  reply.header('set-cookie', `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeS}${secureAttribute(reply)}`);
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${secureAttribute(reply)}`);
}
