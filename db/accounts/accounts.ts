import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../core/errors';
import { sqlState, type Db } from '../pool';
import { enforce, unhit } from '../limits';
import type { Rule } from '../../core/limits/window';
import { hashPassword, verifyPassword } from './password';

import type { User } from '../../contract/accounts';
export type Session = { user: User; token: string; expiresAt: Date };

/** A session ends at ttlS after login, or earlier after idleTimeoutS without a request. */
export type SessionSettings = { ttlS: number; idleTimeoutS: number };

export const ADMIN_EMAIL = 'admin@moviebook.local';

function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

async function openSession(db: Db, user: User, settings: SessionSettings): Promise<Session> {
  const token = randomBytes(32).toString('base64url');
  const { rows } = await db.query<{ expires_at: Date }>(
    `INSERT INTO sessions (token_hash, user_id, expires_at, idle_expires_at)
     VALUES ($1, $2, now() + make_interval(secs => $3), now() + make_interval(secs => $4)) RETURNING expires_at`,
    [tokenHash(token), user.id, settings.ttlS, settings.idleTimeoutS],
  );
  return { user, token, expiresAt: rows[0]!.expires_at };
}

export async function signup(db: Db, input: { email: string; name: string; password: string }, settings: SessionSettings): Promise<Session> {
  const passwordHash = await hashPassword(input.password);
  try {
    const { rows } = await db.query<User>(
      `INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3) RETURNING id, email, name, role`,
      [input.email, input.name, passwordHash],
    );
    return await openSession(db, rows[0]!, settings);
  } catch (err) {
    if (sqlState(err) === '23505') throw new AppError('EMAIL_TAKEN', 'An account with this email already exists');
    throw err;
  }
}

/**
 * Failed logins are counted per account (lower-cased email, known or not) in a window shared by
 * every node. Each attempt takes a slot before its password is checked, so concurrent guesses
 * cannot overrun the limit; a successful login gives its slot back (only failures count). While
 * the account is over its limit every attempt is refused with RATE_LIMITED before any password
 * is checked, the right one too: otherwise the lockout would tell a guesser when it guessed right.
 */
export async function login(
  db: Db, email: string, password: string, settings: SessionSettings & { failures: Rule },
): Promise<Session> {
  const key = `login:${email.toLowerCase()}`;
  await enforce(db, key, settings.failures, 'failed logins for this account');
  const { rows } = await db.query<User & { password_hash: string }>(
    'SELECT id, email, name, role, password_hash FROM users WHERE lower(email) = lower($1)',
    [email],
  );
  const row = rows[0];
  // An unknown email costs one scrypt too, so timing does not tell which emails have accounts.
  const matches = await verifyPassword(password, row?.password_hash ?? (await dummyPasswordHash()));
  if (!row || !matches) throw new AppError('INVALID_CREDENTIALS', 'Email or password is wrong');
  await unhit(db, key);
  return openSession(db, { id: row.id, email: row.email, name: row.name, role: row.role }, settings);
}

let dummyHash: Promise<string> | undefined;

/** A hash of a random password with today's scrypt parameters, made once per process. */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString('base64url'));
  return dummyHash;
}

export async function logout(db: Db, token: string): Promise<void> {
  sessionCache.delete(token);
  await db.query('DELETE FROM sessions WHERE token_hash = $1', [tokenHash(token)]);
}

/**
 * Valid sessions are remembered for SESSION_CACHE_TTL_MS, saving a query on every request (the
 * booking benchmark measured it at 15% of throughput). The price: a session ended on another node
 * stays usable here for at most that long; this node's own logouts take effect at once. A session
 * that expires or goes idle likewise works here for at most that long past its deadline.
 */
const SESSION_CACHE_TTL_MS = 5_000;
const SESSION_CACHE_LIMIT = 10_000;
const sessionCache = new Map<string, { user: User; until: number }>();

export async function userForToken(db: Db, token: string, idleTimeoutS: number): Promise<User | undefined> {
  const cached = sessionCache.get(token);
  if (cached && cached.until > Date.now()) return cached.user;
  const user = await lookupSession(db, token, idleTimeoutS);
  if (sessionCache.size >= SESSION_CACHE_LIMIT) sessionCache.clear();
  if (user) sessionCache.set(token, { user, until: Date.now() + SESSION_CACHE_TTL_MS });
  else sessionCache.delete(token);
  return user;
}

/** A session's idle deadline moves at most this often, so a lookup is rarely also a write. */
export const SESSION_TOUCH_INTERVAL_S = 60;

// One round trip: find a live session and, when it was last touched over a minute ago (or its
// deadline is beyond what the idle timeout allows now), move its idle deadline forward.
const LOOKUP_SESSION = `
  WITH live AS (
    SELECT s.user_id, s.last_seen_at, s.idle_expires_at FROM sessions s
    WHERE s.token_hash = $1 AND s.expires_at > now() AND s.idle_expires_at > now()
  ), touched AS (
    UPDATE sessions SET last_seen_at = now(), idle_expires_at = now() + make_interval(secs => $2)
    FROM live
    WHERE sessions.token_hash = $1
      AND (live.last_seen_at <= now() - make_interval(secs => $3) OR live.idle_expires_at > now() + make_interval(secs => $2))
  )
  SELECT u.id, u.email, u.name, u.role FROM live JOIN users u ON u.id = live.user_id`;

async function lookupSession(db: Db, token: string, idleTimeoutS: number): Promise<User | undefined> {
  const { rows } = await db.query<User>({
    name: 'user_for_token', text: LOOKUP_SESSION, values: [tokenHash(token), idleTimeoutS, SESSION_TOUCH_INTERVAL_S],
  });
  return rows[0];
}

/**
 * Create the admin account on first start. Its random password is stored under DATA_DIR and
 * returned once (when created) so the caller can print it; there is no default password.
 */
export async function ensureAdmin(db: Db, dataDir: string): Promise<{ email: string; password?: string; file: string }> {
  const file = path.join(dataDir, 'admin-credentials.txt');
  const existing = await db.query("SELECT 1 FROM users WHERE role = 'admin' LIMIT 1");
  if (existing.rowCount) return { email: ADMIN_EMAIL, file };
  const password = randomBytes(12).toString('base64url');
  const inserted = await db.query(
    `INSERT INTO users (email, name, password_hash, role) VALUES ($1, 'Administrator', $2, 'admin')
     ON CONFLICT DO NOTHING`,
    [ADMIN_EMAIL, await hashPassword(password)],
  );
  if (!inserted.rowCount) return { email: ADMIN_EMAIL, file };
  await fs.mkdir(dataDir, { recursive: true });
  await fs.writeFile(file, `email: ${ADMIN_EMAIL}\npassword: ${password}\n`, { mode: 0o600 });
  return { email: ADMIN_EMAIL, password, file };
}
