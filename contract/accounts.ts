/** Accounts and sessions: sign up, log in, log out, who am I. */
import { z } from 'zod';
import { timestamp, uuid } from './shapes';

export const user = z.object({
  id: uuid,
  email: z.string(),
  name: z.string(),
  role: z.enum(['user', 'admin']),
});
export type User = z.output<typeof user>;

export const signupBody = z.object({
  email: z.email().max(254),
  name: z.string().trim().min(1).max(100),
  password: z.string().min(8).max(200),
});

export const loginBody = z.object({
  email: z.string().min(1).max(254),
  password: z.string().min(1).max(200),
});

/** The cookie that carries the session token (httpOnly); or send the token as a Bearer token. */
export const SESSION_COOKIE = 'mb_session';

/** The token is also set as the httpOnly cookie `mb_session`; or send it as a Bearer token. */
export const sessionAnswer = z.object({ user, token: z.string(), expiresAt: timestamp });
export const meAnswer = z.object({ user });
