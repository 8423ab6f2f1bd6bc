import type { FastifyInstance } from 'fastify';
import { login, logout, signup } from '../../../db/accounts/accounts';
import { clearSessionCookie, requireUser, sessionToken, setSessionCookie, type NodeContext } from '../context';
import { loginBody, signupBody } from '../schemas';

export function authRoutes(app: FastifyInstance, ctx: NodeContext): void {
  const sessions = { ttlS: ctx.config.sessionTtlS, idleTimeoutS: ctx.config.sessionIdleTimeoutS };
  const limits = ctx.config.accountLimits;
  const failures = { limit: limits.loginFailures, windowMs: limits.loginFailureWindowS * 1000 };

  app.post('/api/auth/signup', async (req, reply) => {
    const session = await signup(ctx.db, signupBody.parse(req.body), sessions);
    setSessionCookie(reply, session.token, session.expiresAt);
    return reply.code(201).send({ user: session.user, token: session.token, expiresAt: session.expiresAt });
  });

  app.post('/api/auth/login', async (req, reply) => {
    const { email, password } = loginBody.parse(req.body);
    const session = await login(ctx.db, email, password, { ...sessions, failures });
    setSessionCookie(reply, session.token, session.expiresAt);
    return { user: session.user, token: session.token, expiresAt: session.expiresAt };
  });

  app.post('/api/auth/logout', async (req, reply) => {
    const token = sessionToken(req);
    if (token) await logout(ctx.db, token);
    clearSessionCookie(reply);
    return { ok: true };
  });

  app.get('/api/auth/me', async (req) => ({ user: await requireUser(ctx, req) }));
}
