import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { ClusterClock } from '../cluster/cluster-clock';
import { loadConfig } from '../config';
import { createTestDatabase, findShowtime, signedUpClient, type TestDatabase } from '../../harness/helpers';
import { startCluster, startGateway, type TestCluster, type TestGateway } from '../../harness/cluster';
import { buildApi } from './app';
import type { NodeContext } from './context';

/**
 * The browser-facing edge as a hostile page would meet it: real node processes (and the gateway in
 * front of them), raw HTTP requests with exactly the headers a browser would send, and the
 * database as the judge of whether anything changed.
 */

type RawReply = { status: number; headers: http.IncomingHttpHeaders; body: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

/** node:http, so Origin / Sec-Fetch-Site / Host go out exactly as given. */
function raw(base: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<RawReply> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, {
      method,
      headers: { ...headers, ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode!, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

let database: TestDatabase;
let cluster: TestCluster;
let gateway: TestGateway;
before(async () => {
  database = await createTestDatabase();
  cluster = await startCluster(1, database.url);
  gateway = await startGateway(database.url);
});
after(async () => {
  await gateway?.stop();
  await cluster?.stop();
  await database?.drop();
});

async function holdsOf(userId: string): Promise<number> {
  const { rows } = await database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM seat_holds WHERE user_id = $1', [userId]);
  return rows[0]!.n;
}

for (const via of ['node', 'gateway'] as const) {
  describe(`cross-site requests with the session cookie (through the ${via})`, () => {
    const base = () => (via === 'node' ? cluster.node('node-1').url : gateway.url);

    test('a foreign Origin, Origin: null or Sec-Fetch-Site: cross-site is refused with 403 and holds nothing', async () => {
      const user = await signedUpClient(base(), 'csrf');
      const { id: showtimeId, seats } = await findShowtime(database.db);
      const cookie = `mb_session=${user.token}`;
      const attacks: Record<string, string>[] = [
        { origin: 'http://evil.example' },
        { origin: 'null' },
        { 'sec-fetch-site': 'cross-site' },
        { origin: `${base()}.evil.example` },
        { origin: base().replace('http:', 'https:'), 'sec-fetch-site': 'cross-site' },
      ];
      for (const headers of attacks) {
        const res = await raw(base(), 'POST', '/api/holds', { cookie, ...headers }, { showtimeId, seats: [seats[0]] });
        assert.equal(res.status, 403, JSON.stringify(headers));
        assert.equal(res.body.error.code, 'CROSS_ORIGIN_REQUEST');
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
      }
      assert.equal(await holdsOf(user.userId), 0, 'no hold was created');
      const release = await raw(base(), 'DELETE', '/api/holds/00000000-0000-4000-8000-000000000000', { cookie, origin: 'http://evil.example' });
      assert.equal(release.status, 403);
    });

    test('the same request from the site itself (its Origin, or no Origin at all) holds the seat', async () => {
      const user = await signedUpClient(base(), 'same-site');
      const { id: showtimeId, seats } = await findShowtime(database.db, 'Studio 2');
      const cookie = `mb_session=${user.token}`;
      const offset = via === 'node' ? 0 : 2;
      const own = await raw(base(), 'POST', '/api/holds', { cookie, origin: base(), 'sec-fetch-site': 'same-origin' }, { showtimeId, seats: [seats[offset]] });
      assert.equal(own.status, 201, JSON.stringify(own.body));
      const program = await raw(base(), 'POST', '/api/holds', { cookie }, { showtimeId, seats: [seats[offset + 1]] });
      assert.equal(program.status, 201, JSON.stringify(program.body));
      assert.equal(await holdsOf(user.userId), 2);
    });

    test('a bearer token carries no ambient credential: a foreign Origin does not matter', async () => {
      const user = await signedUpClient(base(), 'bearer');
      const { id: showtimeId, seats } = await findShowtime(database.db, 'Studio 2');
      const res = await raw(base(), 'POST', '/api/holds', { authorization: `Bearer ${user.token}`, origin: 'http://evil.example' }, { showtimeId, seats: [seats[via === 'node' ? 10 : 11]!] });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    });

    test('logging in or signing up from another site is refused (login CSRF)', async () => {
      const email = `victim-${via}-${Date.now()}@example.test`;
      const signup = await raw(base(), 'POST', '/api/auth/signup', { origin: 'http://evil.example' }, { email, name: 'V', password: 'correct horse battery' });
      assert.equal(signup.status, 403);
      assert.equal(signup.body.error.code, 'CROSS_ORIGIN_REQUEST');
      assert.equal(signup.headers['set-cookie'], undefined);
      const { rows } = await database.db.query('SELECT 1 FROM users WHERE email = $1', [email]);
      assert.equal(rows.length, 0);
      const login = await raw(base(), 'POST', '/api/auth/login', { 'sec-fetch-site': 'cross-site' }, { email, password: 'x' });
      assert.equal(login.status, 403);
    });
  });
}

describe('the session cookie', () => {
  test('is Secure when the request came over TLS (X-Forwarded-Proto: https), and not on plain http (COOKIE_SECURE=auto)', async () => {
    const base = cluster.node('node-1').url;
    const user = await signedUpClient(base, 'tls');
    const { rows } = await database.db.query<{ email: string }>('SELECT email FROM users WHERE id = $1', [user.userId]);
    const credentials = { email: rows[0]!.email, password: 'correct horse battery' };
    const overTls = await raw(base, 'POST', '/api/auth/login', { 'x-forwarded-proto': 'https' }, credentials);
    assert.equal(overTls.status, 200);
    assert.match(String(overTls.headers['set-cookie']), /; HttpOnly; SameSite=Lax; Max-Age=\d+; Secure$/);
    const plain = await raw(base, 'POST', '/api/auth/login', {}, credentials);
    assert.doesNotMatch(String(plain.headers['set-cookie']), /Secure/);
    const logout = await raw(base, 'POST', '/api/auth/logout', { 'x-forwarded-proto': 'https', authorization: `Bearer ${overTls.body.token}` });
    assert.match(String(logout.headers['set-cookie']), /Max-Age=0; Secure$/);
  });
});

describe('security headers', () => {
  test('API answers of a node process carry nosniff, DENY, a referrer policy and a CSP that forbids framing', async () => {
    for (const path of ['/api/health', '/api/movies', '/api/nope']) {
      const res = await raw(cluster.node('node-1').url, 'GET', path, {});
      assert.equal(res.headers['x-content-type-options'], 'nosniff', path);
      assert.equal(res.headers['x-frame-options'], 'DENY', path);
      assert.equal(res.headers['referrer-policy'], 'strict-origin-when-cross-origin', path);
      assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/, path);
    }
  });

  test('pages (the fallback handler) carry them too, with a policy the pages can run under', async () => {
    const config = loadConfig({ NODE_ENV: 'production', DATA_DIR: '/nonexistent', LOG_LEVEL: 'silent' }, { port: 0, host: '127.0.0.1', databaseUrl: database.url });
    const ctx: NodeContext = {
      config, db: database.db, clock: new ClusterClock(config.nodeId), cluster: undefined, replication: undefined, log: pino({ level: 'silent' }),
      startedAt: Date.now(), stats: { inFlight: 0, served: 0 },
    };
    const app = await buildApi(ctx, (_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end('<!doctype html><p>page</p>');
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const page = await raw(url, 'GET', '/', {});
      assert.equal(page.status, 200);
      assert.equal(page.headers['x-content-type-options'], 'nosniff');
      assert.equal(page.headers['x-frame-options'], 'DENY');
      assert.equal(page.headers['referrer-policy'], 'strict-origin-when-cross-origin');
      const csp = String(page.headers['content-security-policy']);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.match(csp, /script-src 'self' 'unsafe-inline'(;|$)/, 'production pages need no eval');
      assert.match(csp, /connect-src 'self'(;|$)/);
    } finally {
      await app.close();
    }
  });
});
