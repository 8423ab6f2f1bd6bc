/**
 * The gateway as an edge against hostile clients: the real gateway process in front of 3 real
 * nodes, attacked over raw sockets where fetch cannot send what an attacker sends. Each group of
 * tests uses its own loopback client address (127.0.0.x), so one test's limits do not spill into
 * the next — and that also shows the limits are per address. After all of it, no node was ever
 * ejected and every node is still eligible.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { client, createTestDatabase, createUsersDirect, type TestDatabase } from '../harness/helpers';
import { startCluster, startGateway, waitFor, type TestCluster, type TestGateway } from '../harness/cluster';
import { errorCodeOf, rawExchange, rawHead, type RawResult } from '../harness/raw-http';

type LbNode = { id: string; eligible: boolean; healthy: boolean; ejections?: number; errors: number };
type LbStats = { nodes: LbNode[]; edge?: Record<string, number> };

const NODES = ['node-1', 'node-2', 'node-3'];
const BODY_LIMIT = 65_536; // the nodes' and the gateway's default BODY_LIMIT_BYTES
const THREE_MB = 3 * 1024 * 1024;
const TEST_REQUEST_TIMEOUT_MS = 3_000;
const TEST_HEADERS_TIMEOUT_MS = 2_500;
const TEST_KEEPALIVE_TIMEOUT_MS = 3_000;
const CONNECTIONS_PER_ADDRESS = 60;
const SSE_PER_ADDRESS = 5;
/** Small limits, so a flood meets them in a few dozen requests whatever the machine's speed. */
const EDGE_ENV = {
  LB_ADDRESS_LIMITS: 'on',
  LB_LOGIN_RATE_PER_MIN: '20',
  LB_LOGIN_BURST: '10',
  LB_SIGNUP_RATE_PER_MIN: '5',
  LB_SIGNUP_BURST: '3',
  LB_WRITE_RATE_PER_MIN: '60',
  LB_WRITE_BURST: '20',
  LB_READ_RATE_PER_SEC: '5',
  LB_READ_BURST: '20',
  LB_SSE_STREAMS_PER_ADDRESS: String(SSE_PER_ADDRESS),
  LB_CONNECTIONS_PER_ADDRESS: String(CONNECTIONS_PER_ADDRESS),
  LB_REQUEST_TIMEOUT_MS: String(TEST_REQUEST_TIMEOUT_MS),
  LB_HEADERS_TIMEOUT_MS: String(TEST_HEADERS_TIMEOUT_MS),
  LB_KEEPALIVE_TIMEOUT_MS: String(TEST_KEEPALIVE_TIMEOUT_MS),
  NODE_ENV: 'production',
  // Health checks on a busy test machine (other suites' clusters beside this one) can be slow.
  LB_HEALTH_TIMEOUT_MS: '5000',
};

const agents = new Map<string, Agent>();
/** An HTTP request from a given loopback address (undici, keep-alive per address). */
async function from(address: string, url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  let agent = agents.get(address);
  if (!agent) {
    // undici's connect options have no localAddress: a connector of our own binds the socket.
    const connect: Agent.Options['connect'] = (opts, callback) => {
      const socket = net.connect({ host: opts.hostname, port: Number(opts.port), localAddress: address });
      socket.once('connect', () => callback(null, socket));
      socket.once('error', (err) => callback(err, null));
      return socket;
    };
    agents.set(address, (agent = new Agent({ connect })));
  }
  const res = await request(url, { dispatcher: agent, method: (init.method ?? 'GET') as 'GET', headers: init.headers, body: init.body, headersTimeout: 10_000 });
  const text = await res.body.text();
  const header = (name: string) => {
    const v = res.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  };
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch { /* not JSON */ }
  return { status: res.statusCode, header, text, code };
}

function statusesOf(r: RawResult): number[] {
  return r.responses.map((x) => x.status);
}

describe('the gateway as an edge, in front of 3 real nodes', () => {
  let database: TestDatabase;
  let cluster: TestCluster;
  let gateway: TestGateway;
  let showtimeId: number;

  async function lb(g = gateway): Promise<LbStats> {
    return (await client(g.url).get<LbStats>('/api/lb')).body;
  }

  before(async () => {
    database = await createTestDatabase();
    cluster = await startCluster(3, database.url);
    gateway = await startGateway(database.url, EDGE_ENV);
    await waitFor('every node eligible at the gateway', 60_000, async () => (await lb()).nodes.filter((n) => n.eligible).length === NODES.length);
    const { rows } = await database.db.query<{ id: number }>("SELECT id FROM showtimes WHERE starts_at > now() + interval '1 hour' ORDER BY starts_at LIMIT 1");
    showtimeId = rows[0]!.id;
  });
  after(async () => {
    for (const agent of agents.values()) await agent.close();
    await gateway?.stop();
    await cluster?.stop();
    await database?.drop();
  });

  test('Expect: 100-continue gets a 100 from the gateway and then the node\'s real answer; no node is ejected', async () => {
    for (let i = 0; i < 3; i++) {
      const get = await rawExchange(gateway.url, [rawHead('GET', '/api/health', [['Host', 'x'], ['Expect', '100-continue']])], { responses: 1 });
      const final = get.responses.find((r) => r.status >= 200);
      assert.equal(final?.status, 200, `GET with Expect: ${get.text.slice(0, 300)}`);
    }
    const body = JSON.stringify({ email: 'nobody@example.test', password: 'wrong-password' });
    const post = await rawExchange(gateway.url, [
      rawHead('POST', '/api/auth/login', [['Host', 'x'], ['Content-Type', 'application/json'], ['Content-Length', String(body.length)], ['Expect', '100-continue']]),
      body,
    ], { responses: 1, gapMs: 100 });
    assert.deepEqual(statusesOf(post), [100, 401], post.text.slice(0, 400));
    assert.equal(errorCodeOf(post.responses[1]), 'INVALID_CREDENTIALS');
    // An Expect the gateway cannot meet: 417, not forwarded.
    const other = await rawExchange(gateway.url, [rawHead('GET', '/api/health', [['Host', 'x'], ['Expect', 'something-else']])], { responses: 1 });
    assert.equal(other.responses[0]?.status, 417, other.text.slice(0, 300));
    assert.equal(errorCodeOf(other.responses[0]), 'EXPECTATION_FAILED');
    for (const n of (await lb()).nodes) assert.ok(n.eligible, `${n.id} still eligible: ${JSON.stringify(n)}`);
  });

  test('duplicate Host, duplicate Content-Length, Content-Length with Transfer-Encoding, garbage: 400 with a code, no node touched', async () => {
    const cases: [string, string][] = [
      ['two Host headers', rawHead('GET', '/api/health', [['Host', 'a.example'], ['Host', 'b.example']])],
      ['two Host headers on a POST', rawHead('POST', '/api/holds', [['Host', 'a'], ['Host', 'b'], ['Content-Length', '2']]) + '{}'],
      ['two different Content-Lengths', rawHead('POST', '/api/holds', [['Host', 'a'], ['Content-Length', '2'], ['Content-Length', '3']]) + '{}x'],
      ['Content-Length and Transfer-Encoding', rawHead('POST', '/api/holds', [['Host', 'a'], ['Content-Length', '2'], ['Transfer-Encoding', 'chunked']]) + '2\r\n{}\r\n0\r\n\r\n'],
      ['Transfer-Encoding: gzip, chunked', rawHead('POST', '/api/holds', [['Host', 'a'], ['Transfer-Encoding', 'gzip, chunked']]) + '2\r\n{}\r\n0\r\n\r\n'],
      ['no Host at all', 'GET /api/health HTTP/1.1\r\n\r\n'],
      ['a broken request line', 'GET /api/health HTTP/9.9 extra\r\nHost: a\r\n\r\n'],
      ['a header without a colon', 'GET /api/health HTTP/1.1\r\nHost: a\r\nnot a header\r\n\r\n'],
    ];
    for (const [what, raw] of cases) {
      const r = await rawExchange(gateway.url, [raw], { responses: 1 });
      const first = r.responses[0];
      assert.equal(first?.status, 400, `${what}: ${r.text.slice(0, 300)}`);
      assert.ok(errorCodeOf(first), `${what}: a JSON error body with a code: ${r.text.slice(0, 300)}`);
      assert.equal(first?.headers['x-served-by'], undefined, `${what}: answered by the gateway, not a node`);
    }
    for (const n of (await lb()).nodes) assert.ok(n.eligible, `${n.id} still eligible: ${JSON.stringify(n)}`);
  });

  test('3 MB bodies (Content-Length or chunked) get 413 from the gateway before any node is contacted', async () => {
    const big = Buffer.alloc(THREE_MB, 'x');
    const withLength = await rawExchange(gateway.url, [
      rawHead('POST', '/api/holds', [['Host', 'a'], ['Content-Type', 'application/json'], ['Content-Length', String(big.length)]]), big,
    ], { responses: 1 });
    assert.equal(withLength.responses[0]?.status, 413, withLength.text.slice(0, 300));
    assert.equal(errorCodeOf(withLength.responses[0]), 'PAYLOAD_TOO_LARGE');
    assert.equal(withLength.responses[0]?.headers['x-served-by'], undefined);

    const chunk = Buffer.alloc(256 * 1024, 'y');
    const pieces: (string | Buffer)[] = [rawHead('POST', '/api/holds', [['Host', 'a'], ['Content-Type', 'application/json'], ['Transfer-Encoding', 'chunked']])];
    for (let sent = 0; sent < THREE_MB; sent += chunk.length) pieces.push(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
    pieces.push('0\r\n\r\n');
    const chunked = await rawExchange(gateway.url, pieces, { responses: 1 });
    assert.equal(chunked.responses[0]?.status, 413, chunked.text.slice(0, 300));
    assert.equal(errorCodeOf(chunked.responses[0]), 'PAYLOAD_TOO_LARGE');
    await waitFor('the gateway to close the connection after a body past the limit', 5_000, async () => {
      const again = await rawExchange(gateway.url, pieces.slice(0, 8), { timeoutMs: 3_000 });
      return again.closed && again.responses[0]?.status === 413;
    });

    // Just under the limit passes through to a node (which answers for itself: 401 without a session).
    const fits = JSON.stringify({ pad: 'z'.repeat(BODY_LIMIT - 100) });
    const small = await rawExchange(gateway.url, [
      rawHead('POST', '/api/holds', [['Host', 'a'], ['Content-Type', 'application/json'], ['Content-Length', String(fits.length)]]), fits,
    ], { responses: 1 });
    assert.equal(small.responses[0]?.status, 401, small.text.slice(0, 300));
    assert.ok(NODES.includes(small.responses[0]!.headers['x-served-by']!));
    for (const n of (await lb()).nodes) assert.ok(n.eligible, `${n.id} still eligible: ${JSON.stringify(n)}`);
  });

  test('200 slow uploads from 4 addresses: a legit request beside them answers at once; the uploads are cut with 408', async () => {
    const SLOW = 200;
    const sockets: net.Socket[] = [];
    const answers: string[] = [];
    const closed: Promise<void>[] = [];
    for (let i = 0; i < SLOW; i++) {
      const socket = net.connect({ port: Number(new URL(gateway.url).port), host: '127.0.0.1', localAddress: `127.0.0.${10 + (i % 4)}` });
      sockets.push(socket);
      let got = '';
      socket.on('data', (c: Buffer) => (got += c.toString('latin1')));
      socket.on('error', () => {});
      closed.push(new Promise((resolve) => socket.on('close', () => {
        answers.push(got);
        resolve();
      })));
      socket.write(rawHead('POST', '/api/auth/logout', [['Host', 'a'], ['Content-Type', 'application/json'], ['Content-Length', '1000']]) + '{"s');
    }
    const drip = setInterval(() => {
      for (const s of sockets) if (!s.destroyed) s.write('x');
    }, 500);
    try {
      await waitFor('the slow uploads to be connected', 10_000, async () => sockets.every((s) => !s.connecting));
      const started = performance.now();
      const legit = await from('127.0.0.20', `${gateway.url}/api/showtimes/${showtimeId}`);
      const ms = performance.now() - started;
      console.log(`a legit seat map beside ${SLOW} slow uploads: ${legit.status} in ${ms.toFixed(1)} ms`);
      assert.equal(legit.status, 200);
      const login = await from('127.0.0.20', `${gateway.url}/api/auth/login`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'a@example.test', password: 'wrong-password' }),
      });
      assert.equal(login.status, 401, 'a POST beside them reaches a node');
      await Promise.race([
        Promise.all(closed),
        new Promise((_, reject) => setTimeout(() => reject(new Error('slow uploads not cut')), TEST_REQUEST_TIMEOUT_MS + 8_000)),
      ]);
    } finally {
      clearInterval(drip);
      for (const s of sockets) s.destroy();
    }
    const cut = answers.filter((a) => a.startsWith('HTTP/1.1 408') && a.includes('REQUEST_TIMEOUT')).length;
    assert.equal(cut, SLOW, `every slow upload got 408 REQUEST_TIMEOUT: ${answers.find((a) => !a.startsWith('HTTP/1.1 408'))?.slice(0, 200)}`);
  });

  test('slow headers are cut with 408 and an idle keep-alive connection is closed, each within its timeout', async () => {
    const port = Number(new URL(gateway.url).port);
    const slowloris = Array.from({ length: 20 }, () => {
      const socket = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.25' });
      let got = '';
      socket.on('data', (c: Buffer) => (got += c.toString('latin1')));
      socket.on('error', () => {});
      socket.write('GET /api/health HTTP/1.1\r\nHost: a\r\n');
      const closed = new Promise<number>((resolve) => {
        const started = performance.now();
        socket.on('close', () => resolve(performance.now() - started));
      });
      return { socket, closed, got: () => got };
    });
    const drip = setInterval(() => {
      for (const s of slowloris) if (!s.socket.destroyed) s.socket.write('X-Slow: 1\r\n');
    }, 300);
    try {
      const bound = TEST_HEADERS_TIMEOUT_MS + 5_000;
      const ms = await Promise.race([Promise.all(slowloris.map((s) => s.closed)), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('slow headers not cut')), bound))]);
      console.log(`slow headers cut after ${Math.round(Math.max(...ms))} ms (LB_HEADERS_TIMEOUT_MS ${TEST_HEADERS_TIMEOUT_MS})`);
      for (const s of slowloris) assert.ok(s.got().startsWith('HTTP/1.1 408') && s.got().includes('REQUEST_TIMEOUT'), s.got().slice(0, 200));
    } finally {
      clearInterval(drip);
      for (const s of slowloris) s.socket.destroy();
    }
    // One request, then silence: the gateway closes the connection after its keep-alive timeout.
    const idle = await rawExchange(gateway.url, [rawHead('GET', '/api/ping', [['Host', 'a']])], { timeoutMs: TEST_KEEPALIVE_TIMEOUT_MS + 5_000, localAddress: '127.0.0.26' });
    assert.equal(idle.responses[0]?.status, 200);
    assert.ok(idle.closed, 'the idle connection was closed by the gateway');
  });

  test('login, signup and hold floods from one address meet 429 RATE_LIMITED with Retry-After, without a node; another address is unaffected', async () => {
    const attacker = '127.0.0.30';
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof from>> | undefined;
    for (let i = 0; i < 30; i++) {
      const r = await from(attacker, `${gateway.url}/api/auth/login`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: `guess-${i}@example.test`, password: 'wrong-password' }),
      });
      statuses.push(r.status);
      if (r.status === 429) limited ??= r;
    }
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401), 'the burst reaches the nodes');
    assert.ok(limited, `no 429 in ${statuses.join(',')}`);
    assert.equal(limited.code, 'RATE_LIMITED');
    assert.ok(Number(limited.header('retry-after')) >= 1, `Retry-After: ${limited.header('retry-after')}`);
    assert.equal(limited.header('x-served-by'), undefined, 'refused at the edge');
    assert.ok(statuses.filter((s) => s === 429).length >= 15, statuses.join(','));

    const bystander = await from('127.0.0.31', `${gateway.url}/api/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'me@example.test', password: 'wrong-password' }),
    });
    assert.equal(bystander.status, 401, 'another address logs in as usual');

    const signups: number[] = [];
    for (let i = 0; i < 6; i++) {
      signups.push((await from(attacker, `${gateway.url}/api/auth/signup`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: `bot-${i}-${Date.now()}@example.test`, name: 'Bot', password: 'bot-password-1' }),
      })).status);
    }
    assert.deepEqual(signups.slice(0, 3), [201, 201, 201], signups.join(','));
    assert.ok(signups.slice(3).every((s) => s === 429), signups.join(','));

    const holds: number[] = [];
    for (let i = 0; i < 30; i++) holds.push((await from(attacker, `${gateway.url}/api/holds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status);
    assert.ok(holds.slice(0, 20).every((s) => s === 401), holds.join(','));
    assert.ok(holds.includes(429), holds.join(','));
  });

  test('a flood of costly reads meets 429; cheap reads are not limited', async () => {
    const reader = '127.0.0.40';
    const results = await Promise.all(Array.from({ length: 60 }, () => from(reader, `${gateway.url}/api/showtimes/${showtimeId}`)));
    const counts = results.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});
    assert.ok((counts[429] ?? 0) >= 20, JSON.stringify(counts));
    assert.ok((counts[200] ?? 0) >= 20, JSON.stringify(counts));
    const refused = results.find((r) => r.status === 429)!;
    assert.equal(refused.code, 'RATE_LIMITED');
    assert.ok(Number(refused.header('retry-after')) >= 1);
    const ping = await from(reader, `${gateway.url}/api/ping`);
    assert.equal(ping.status, 200, 'a cheap read passes');
  });

  test("a flood of the gateway's own /metrics meets 429 like any costly read", async () => {
    const scraper = '127.0.0.45';
    const scrape = () => from(scraper, `${gateway.url}/metrics`);
    const results = await Promise.all(Array.from({ length: 60 }, scrape));
    const counts: Record<number, number> = {};
    for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
    assert.ok((counts[429] ?? 0) >= 20, JSON.stringify(counts));
    assert.ok((counts[200] ?? 0) >= 20, JSON.stringify(counts));
    assert.equal(results.find((r) => r.status === 429)!.code, 'RATE_LIMITED');
  });

  test('event streams per address: beyond the cap 429, a closed stream frees its place', async () => {
    const address = '127.0.0.50';
    const port = Number(new URL(gateway.url).port);
    const open = async (localAddress: string, accept = true) => {
      const socket = net.connect({ port, host: '127.0.0.1', localAddress });
      socket.on('error', () => {});
      let got = '';
      socket.on('data', (c: Buffer) => (got += c.toString('latin1')));
      socket.write(rawHead('GET', `/api/showtimes/${showtimeId}/events`, [['Host', 'a'], ...(accept ? [['Accept', 'text/event-stream'] as [string, string]] : [])]));
      await waitFor('an answer to the event stream request', 10_000, async () => /^HTTP\/1\.1 \d{3}/.test(got));
      return { socket, status: Number(got.slice(9, 12)), text: () => got };
    };
    const streams = [];
    for (let i = 0; i < SSE_PER_ADDRESS + 2; i++) streams.push(await open(address, i !== SSE_PER_ADDRESS));
    try {
      // The one sent without `Accept: text/event-stream` is a stream all the same: counted too.
      assert.deepEqual(streams.map((s) => s.status), [...Array(SSE_PER_ADDRESS).fill(200), 429, 429]);
      assert.ok(streams[SSE_PER_ADDRESS]!.text().includes('RATE_LIMITED'));
      const head = await rawExchange(gateway.url, [rawHead('HEAD', `/api/showtimes/${showtimeId}/events`, [['Host', 'a']])], { responses: 1, localAddress: '127.0.0.52', head: true });
      assert.equal(head.responses[0]?.status, 405, `HEAD of a stream is answered, not left to time out: ${head.text.slice(0, 200)}`);
      const other = await open('127.0.0.51');
      assert.equal(other.status, 200, 'another address opens its own');
      other.socket.destroy();
      streams[0]!.socket.destroy();
      await waitFor('the closed stream to free its place', 5_000, async () => {
        const again = await open(address);
        if (again.status === 200) streams.push(again);
        else again.socket.destroy();
        return again.status === 200;
      });
    } finally {
      for (const s of streams) s.socket.destroy();
    }
  });

  test('connections per address: beyond the cap a 429 TOO_MANY_CONNECTIONS and a close; others unaffected', async () => {
    const port = Number(new URL(gateway.url).port);
    const sockets: net.Socket[] = [];
    const refused: string[] = [];
    try {
      for (let i = 0; i < CONNECTIONS_PER_ADDRESS + 5; i++) {
        const socket = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.60' });
        let got = '';
        socket.on('data', (c: Buffer) => (got += c.toString('latin1')));
        socket.on('error', () => {});
        socket.on('close', () => refused.push(got));
        sockets.push(socket);
        await new Promise((resolve) => socket.once('connect', resolve));
      }
      const tooMany = () => refused.filter((r) => r.startsWith('HTTP/1.1 429') && r.includes('TOO_MANY_CONNECTIONS'));
      await waitFor('5 connections refused', 5_000, async () => tooMany().length >= 5);
      assert.equal(tooMany().length, 5);
      // The others, silent, may meanwhile have met the headers timeout: that and nothing else.
      for (const r of refused) assert.ok(/^HTTP\/1\.1 (429|408)/.test(r), r.slice(0, 200));
      assert.equal((await from('127.0.0.61', `${gateway.url}/api/ping`)).status, 200);
    } finally {
      for (const s of sockets) s.destroy();
    }
    await waitFor('the address to connect again once its connections closed', 5_000, async () => (await rawExchange(gateway.url, [rawHead('GET', '/api/ping', [['Host', 'a']])], { responses: 1, localAddress: '127.0.0.60' })).responses[0]?.status === 200);
  });

  test('peer-only paths are never proxied, however spelled; websocket upgrades are refused in production', async () => {
    for (const path of ['/api/peer', '/api//peer', '/api/pe%65r', '/api/peer?x=1', '/api/peer/']) {
      const r = await rawExchange(gateway.url, [rawHead('POST', path, [['Host', 'a'], ['Content-Type', 'application/json'], ['Content-Length', '2']]) + '{}'], { responses: 1 });
      assert.equal(r.responses[0]?.status, 404, `${path}: ${r.text.slice(0, 200)}`);
      assert.equal(errorCodeOf(r.responses[0]), 'NOT_FOUND');
      assert.equal(r.responses[0]?.headers['x-served-by'], undefined, `${path} reached a node`);
    }
    // With a body it will never read, the gateway closes after its answer (lingering, so the
    // answer is not reset away) instead of reading and dropping megabytes to keep the connection.
    const big = Buffer.alloc(THREE_MB, 'p');
    const bigPeer = await rawExchange(gateway.url, [
      rawHead('POST', '/api/peer', [['Host', 'a'], ['Content-Type', 'application/json'], ['Content-Length', String(big.length)]]), big,
    ], { responses: 1 });
    assert.equal(bigPeer.responses[0]?.status, 404, bigPeer.text.slice(0, 200));
    const refusal = bigPeer.responses[0]?.headers.connection;
    assert.equal(refusal, 'close', 'a refusal that leaves a body unread ends the connection');
    const upgrade = await rawExchange(gateway.url, [rawHead('GET', '/_next/webpack-hmr', [['Host', 'a'], ['Connection', 'Upgrade'], ['Upgrade', 'websocket'], ['Sec-WebSocket-Version', '13'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ==']])], { responses: 1 });
    assert.equal(upgrade.responses[0]?.status, 404, upgrade.text.slice(0, 200));
    assert.equal(errorCodeOf(upgrade.responses[0]), 'NOT_FOUND');
  });

  test('X-Forwarded-Proto from outside is not trusted by default: the node sees http', async () => {
    const [user] = await createUsersDirect(database.db, 1);
    const { rows } = await database.db.query<{ email: string }>('SELECT email FROM users WHERE id = $1', [user!.id]);
    const res = await from('127.0.0.70', `${gateway.url}/api/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' }, body: JSON.stringify({ email: rows[0]!.email, password: 'not-used-for-login' }),
    });
    assert.equal(res.status, 200);
    assert.doesNotMatch(res.header('set-cookie') ?? '', /;\s*Secure/i);
  });

  test('the gateway\'s own answers carry the security headers; another site cannot switch the balancer with an admin\'s cookie', async () => {
    const token = await cluster.adminToken();
    const before = await from('127.0.0.80', `${gateway.url}/api/lb`);
    assert.equal(before.header('x-content-type-options'), 'nosniff');
    assert.equal(before.header('x-frame-options'), 'DENY');
    assert.match(before.header('content-security-policy') ?? '', /frame-ancestors 'none'/);
    const algorithm = (JSON.parse(before.text) as { algorithm: string }).algorithm;
    const other = algorithm === 'weighted' ? 'round-robin' : 'weighted';
    const cookie = `mb_session=${token}`;
    const crossSite = await from('127.0.0.80', `${gateway.url}/api/lb`, {
      method: 'POST', headers: { 'content-type': 'application/json', cookie, origin: 'http://evil.example' }, body: JSON.stringify({ algorithm: other }),
    });
    assert.equal(crossSite.status, 403, crossSite.text);
    assert.equal(crossSite.code, 'CROSS_ORIGIN_REQUEST');
    assert.equal(crossSite.header('x-content-type-options'), 'nosniff');
    assert.equal((await lb()).nodes.length, NODES.length);
    assert.equal((JSON.parse((await from('127.0.0.80', `${gateway.url}/api/lb`)).text) as { algorithm: string }).algorithm, algorithm);
    // The site's own page (Origin = the Host it was sent to) may.
    const sameSite = await from('127.0.0.80', `${gateway.url}/api/lb`, {
      method: 'POST', headers: { 'content-type': 'application/json', cookie, origin: gateway.url }, body: JSON.stringify({ algorithm }),
    });
    assert.equal(sameSite.status, 200, sameSite.text);
  });

  test('after all of it: every node eligible and healthy, 0 ejections, the edge\'s own answers counted', async () => {
    const stats = await lb();
    for (const id of NODES) {
      const n = stats.nodes.find((x) => x.id === id);
      assert.ok(n?.eligible && n.healthy, `${id}: ${JSON.stringify(n)}`);
      assert.equal(n.ejections, 0, `${id} was ejected: ${JSON.stringify(n)}`);
    }
    for (const code of ['RATE_LIMITED', 'PAYLOAD_TOO_LARGE', 'MALFORMED_REQUEST', 'REQUEST_TIMEOUT', 'TOO_MANY_CONNECTIONS', 'NOT_FOUND']) {
      assert.ok((stats.edge?.[code] ?? 0) > 0, `edge.${code}: ${JSON.stringify(stats.edge)}`);
    }
  });
});

describe('a gateway with a larger body limit and a trusted front proxy', () => {
  let database: TestDatabase;
  let cluster: TestCluster;
  let gateway: TestGateway;

  before(async () => {
    database = await createTestDatabase();
    cluster = await startCluster(2, database.url);
    gateway = await startGateway(database.url, { BODY_LIMIT_BYTES: String(4 * 1024 * 1024), LB_TRUST_PROXY: 'on', LB_HEALTH_TIMEOUT_MS: '5000' });
    await waitFor('both nodes eligible', 60_000, async () => (await client(gateway.url).get<LbStats>('/api/lb')).body.nodes.filter((n) => n.eligible).length === 2);
  });
  after(async () => {
    await gateway?.stop();
    await cluster?.stop();
    await database?.drop();
  });

  test('a node\'s early 413 while the body still streams is relayed as it is, not a 502, and ejects nobody', async () => {
    const big = Buffer.alloc(1024 * 1024, 'x');
    for (let i = 0; i < 4; i++) {
      const r = await rawExchange(gateway.url, [rawHead('POST', '/api/holds', [['Host', 'a'], ['Content-Type', 'application/json'], ['Content-Length', String(big.length)]]), big], { responses: 1 });
      assert.equal(r.responses[0]?.status, 413, r.text.slice(0, 300));
      assert.equal(errorCodeOf(r.responses[0]), 'PAYLOAD_TOO_LARGE');
      assert.match(r.responses[0]!.headers['x-served-by'] ?? '', /^node-/, 'the node\'s own answer, relayed');
    }
    const stats = (await client(gateway.url).get<LbStats>('/api/lb')).body;
    for (const n of stats.nodes) {
      assert.ok(n.eligible, `${n.id}: ${JSON.stringify(n)}`);
      assert.equal(n.ejections, 0);
    }
  });

  test('X-Forwarded-Proto: https from the trusted front proxy reaches the node (Secure cookie)', async () => {
    const [user] = await createUsersDirect(database.db, 1);
    const { rows } = await database.db.query<{ email: string }>('SELECT email FROM users WHERE id = $1', [user!.id]);
    const login = (proto?: string) => fetch(`${gateway.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(proto ? { 'x-forwarded-proto': proto } : {}) },
      body: JSON.stringify({ email: rows[0]!.email, password: 'not-used-for-login' }),
    });
    const tls = await login('https');
    assert.equal(tls.status, 200);
    assert.match(tls.headers.get('set-cookie') ?? '', /;\s*Secure/i);
    const plain = await login();
    assert.equal(plain.status, 200);
    assert.doesNotMatch(plain.headers.get('set-cookie') ?? '', /;\s*Secure/i);
  });
});
