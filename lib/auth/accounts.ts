import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors';
import { sqlState, type Db } from '../db/pool';
import { hashPassword, verifyPassword } from './password';

export type User = { id: string; email: string; name: string; role: 'user' | 'admin' };
export type Session = { user: User; token: string; expiresAt: Date };

export const ADMIN_EMAIL = 'admin@moviebook.local';

function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

async function openSession(db: Db, user: User, ttlS: number): Promise<Session> {
  const token = randomBytes(32).toString('base64url');
  const { rows } = await db.query<{ expires_at: Date }>(
    `INSERT INTO sessions (token_hash, user_id, expires_at)
     VALUES ($1, $2, now() + make_interval(secs => $3)) RETURNING expires_at`,
    [tokenHash(token), user.id, ttlS],
  );
  return { user, token, expiresAt: rows[0]!.expires_at };
}

export async function signup(db: Db, input: { email: string; name: string; password: string }, ttlS: number): Promise<Session> {
  const passwordHash = await hashPassword(input.password);
  try {
    const { rows } = await db.query<User>(
      `INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3) RETURNING id, email, name, role`,
      [input.email, input.name, passwordHash],
    );
    return await openSession(db, rows[0]!, ttlS);
  } catch (err) {
    if (sqlState(err) === '23505') throw new AppError('EMAIL_TAKEN', 'An account with this email already exists');
    throw err;
  }
}

export async function login(db: Db, email: string, password: string, ttlS: number): Promise<Session> {
  const { rows } = await db.query<User & { password_hash: string }>(
    'SELECT id, email, name, role, password_hash FROM users WHERE lower(email) = lower($1)',
    [email],
  );
  const row = rows[0];
  if (!row || !(await verifyPassword(password, row.password_hash))) {
    throw new AppError('INVALID_CREDENTIALS', 'Email or password is wrong');
  }
  return openSession(db, { id: row.id, email: row.email, name: row.name, role: row.role }, ttlS);
}

export async function logout(db: Db, token: string): Promise<void> {
  sessionCache.delete(token);
  await db.query('DELETE FROM sessions WHERE token_hash = $1', [tokenHash(token)]);
}

/**
 * Valid sessions are remembered for SESSION_CACHE_TTL_MS, saving a query on every request (the
 * booking benchmark measured it at 15% of throughput). The price: a session ended on another node
 * stays usable here for at most that long; this node's own logouts take effect at once.
 */
const SESSION_CACHE_TTL_MS = 5_000;
const SESSION_CACHE_LIMIT = 10_000;
const sessionCache = new Map<string, { user: User; until: number }>();

export async function userForToken(db: Db, token: string): Promise<User | undefined> {
  const cached = sessionCache.get(token);
  if (cached && cached.until > Date.now()) return cached.user;
  const user = await lookupSession(db, token);
  if (sessionCache.size >= SESSION_CACHE_LIMIT) sessionCache.clear();
  if (user) sessionCache.set(token, { user, until: Date.now() + SESSION_CACHE_TTL_MS });
  else sessionCache.delete(token);
  return user;
}

async function lookupSession(db: Db, token: string): Promise<User | undefined> {
  const { rows } = await db.query<User>({
    name: 'user_for_token',
    text: `SELECT u.id, u.email, u.name, u.role FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE s.token_hash = $1 AND s.expires_at > now()`,
    values: [tokenHash(token)],
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
