import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import pino from 'pino';
import { createPool, type Db } from '../db/pool';
import { buildApi } from '../node/api/app';
import type { NodeContext } from '../node/api/context';
import { loadConfig, type Config } from '../node/config';
import { ClusterClock } from '../node/cluster/cluster-clock';
import { hashPassword } from '../db/accounts/password';

/** Migrated and seeded once per `npm test` run by scripts/run-tests.ts; cloned per test file. */
export const TEMPLATE_DATABASE = 'moviebook_test_template';

function serverUrl(): string {
  const url = process.env.TEST_DATABASE_SERVER_URL;
  if (!url) throw new Error('TEST_DATABASE_SERVER_URL is not set: run database tests through `npm test`');
  return url;
}

export type TestDatabase = { url: string; db: Db; drop(): Promise<void> };

/** A fresh database of our own, cloned from the template, dropped afterwards. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `moviebook_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    // CREATE DATABASE … TEMPLATE fails if another clone is being made at that very moment.
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`);
        break;
      } catch (err) {
        if (attempt >= 20 || (err as { code?: string }).code !== '55006') throw err;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  const db = createPool(url.toString(), 20);
  return {
    url: url.toString(),
    db,
    async drop() {
      await db.end();
      const c = new pg.Client({ connectionString: serverUrl() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export type TestApi = { url: string; ctx: NodeContext; database: TestDatabase; close(): Promise<void> };

/**
 * The real HTTP API (no pages) on a free loopback port, over a fresh database — or over `shared`,
 * another test API's database (two "nodes" on one database), which is then left for its owner to drop.
 */
export async function startTestApi(overrides: Partial<Config> = {}, shared?: TestDatabase): Promise<TestApi> {
  const database = shared ?? (await createTestDatabase());
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: '/nonexistent', LOG_LEVEL: 'silent' }, {
    port: 0, host: '127.0.0.1', databaseUrl: database.url, ...overrides,
  });
  const ctx: NodeContext = {
    config, db: database.db, clock: new ClusterClock(config.nodeId), cluster: undefined, replication: undefined, log: pino({ level: 'silent' }), startedAt: Date.now(),
    stats: { inFlight: 0, served: 0 },
  };
  const app = await buildApi(ctx);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    ctx,
    database,
    async close() {
      await app.close();
      if (!shared) await database.drop();
    },
  };
}

export type Reply<T = any> = { status: number; body: T; headers: Headers }; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A tiny JSON client bound to one base URL and (optionally) one session token. */
export function client(baseUrl: string, token?: string) {
  async function request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
    const res = await fetch(baseUrl + path, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
  return {
    get: <T = any>(path: string, headers?: Record<string, string>) => request<T>('GET', path, undefined, headers), // eslint-disable-line @typescript-eslint/no-explicit-any
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) => request<T>('POST', path, body, headers), // eslint-disable-line @typescript-eslint/no-explicit-any
    delete: <T = any>(path: string, headers?: Record<string, string>) => request<T>('DELETE', path, undefined, headers), // eslint-disable-line @typescript-eslint/no-explicit-any
    request,
  };
}

/** Sign up a fresh user through the API and return a client carrying its token. */
export async function signedUpClient(baseUrl: string, name = 'user'): Promise<{ api: ReturnType<typeof client>; userId: string; token: string }> {
  const email = `${name}-${randomBytes(5).toString('hex')}@example.test`;
  const res = await client(baseUrl).post<{ token: string; user: { id: string } }>('/api/auth/signup', { email, name, password: 'correct horse battery' });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { api: client(baseUrl, res.body.token), userId: res.body.user.id, token: res.body.token };
}

/**
 * Make a user an administrator in the database and return a client with a fresh session (nodes
 * remember a session's user for a few seconds, so an existing token may still carry the old role).
 */
export async function promoteToAdmin(db: Db, baseUrl: string, userId: string): Promise<ReturnType<typeof client>> {
  const { rows } = await db.query<{ email: string }>("UPDATE users SET role = 'admin' WHERE id = $1 RETURNING email", [userId]);
  const res = await client(baseUrl).post<{ token: string }>('/api/auth/login', { email: rows[0]!.email, password: 'correct horse battery' });
  if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
  return client(baseUrl, res.body.token);
}

/**
 * Many users at once, inserted straight into the database with sessions (signing up 100 users
 * through scrypt would dominate the test's time without testing anything new).
 */
export async function createUsersDirect(db: Db, count: number): Promise<{ id: string; token: string }[]> {
  const passwordHash = await hashPassword('not-used-for-login');
  const { createHash } = await import('node:crypto');
  const users: { id: string; token: string }[] = [];
  for (let i = 0; i < count; i++) {
    const token = randomBytes(32).toString('base64url');
    const { rows } = await db.query<{ id: string }>(
      'INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3) RETURNING id',
      [`load-${i}-${randomBytes(4).toString('hex')}@example.test`, `Load ${i}`, passwordHash],
    );
    const id = rows[0]!.id;
    await db.query("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, now() + interval '1 day')", [
      createHash('sha256').update(token).digest(), id,
    ]);
    users.push({ id, token });
  }
  return users;
}

/** The first future showtime of the given screen (by name), with its seat ids. */
export async function findShowtime(db: Db, screenName = 'Grand Hall'): Promise<{ id: number; seats: string[] }> {
  const { rows } = await db.query<{ id: number }>(
    `SELECT s.id FROM showtimes s JOIN screens sc ON sc.id = s.screen_id
     WHERE sc.name = $1 AND s.starts_at > now() + interval '1 hour' ORDER BY s.starts_at LIMIT 1`,
    [screenName],
  );
  const id = rows[0]?.id;
  if (id === undefined) throw new Error(`no future showtime on ${screenName}`);
  const seats = await db.query<{ seat_id: string }>('SELECT seat_id FROM showtime_seats WHERE showtime_id = $1 ORDER BY row_label, seat_number', [id]);
  return { id, seats: seats.rows.map((r) => r.seat_id) };
}
