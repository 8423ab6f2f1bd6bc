import type { FastifyInstance } from 'fastify';
import { login, logout, signup } from '../../../db/accounts/accounts';
import { clearSessionCookie, requireUser, sessionToken, setSessionCookie, type NodeContext } from '../context';
import { route } from '../route';

export function authRoutes(app: FastifyInstance, ctx: NodeContext): void {
  const sessions = { ttlS: ctx.config.sessionTtlS, idleTimeoutS: ctx.config.sessionIdleTimeoutS };
  const limits = ctx.config.accountLimits;
  const failures = { limit: limits.loginFailures, windowMs: limits.loginFailureWindowS * 1000 };

  route(app, 'POST /api/auth/signup', async ({ reply, body }) => {
    const session = await signup(ctx.db, body(), sessions);
    setSessionCookie(reply, session.token, session.expiresAt);
    return { user: session.user, token: session.token, expiresAt: session.expiresAt.toISOString() };
  });

  route(app, 'POST /api/auth/login', async ({ reply, body }) => {
    const { email, password } = body();
    const session = await login(ctx.db, email, password, { ...sessions, failures });
    setSessionCookie(reply, session.token, session.expiresAt);
    return { user: session.user, token: session.token, expiresAt: session.expiresAt.toISOString() };
  });

  route(app, 'POST /api/auth/logout', async ({ req, reply }) => {
    const token = sessionToken(req);
    if (token) await logout(ctx.db, token);
    clearSessionCookie(reply);
    return { ok: true as const };
  });

  route(app, 'GET /api/auth/me', async ({ req }) => ({ user: await requireUser(ctx, req) }));
}
