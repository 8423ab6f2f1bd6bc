/**
 * The outsider's fuzz of the edge: a real cluster (3 node processes) behind the real gateway, and
 * only what a client on the network can send, over raw sockets (node:net) so that every byte
 * arrives as written. Seeded: a failure names FUZZ_SEED=<seed>, which replays it exactly.
 *
 *  1. every API endpoint (README's table, node/api/routes/*.ts, the gateway's /api/lb) with every
 *     body shape — valid, missing fields, wrong types, huge strings, deep nesting, arrays, nulls,
 *     non-JSON, wrong or no content type, empty, chunked, behind `Expect: 100-continue` — as
 *     anonymous, user, admin, cookie and junk-credential callers, from one or from many addresses;
 *  2. sizes around each limit: BODY_LIMIT_BYTES ± 1, 3 MB (with and without Expect, chunked), the
 *     header size limit ± a little, many headers;
 *  3. malformed HTTP: bad request lines, duplicate Host / Content-Length, CL + TE, invalid chunked
 *     encoding, NUL / CR / LF in headers, HTTP/1.0, pipelining, a body cut short, absolute-form
 *     and `..` paths, broken %-encoding, peer-only paths.
 *
 * Judged from outside: no answer ≥ 500 (all nodes run, so not even 502/503), every request gets an
 * answer or a clean close before REQUEST_TIMEOUT_MS, every 4xx carries a documented error code, no
 * node is ever ejected or unhealthy at the gateway (`ejections` from GET /api/lb), a 4xx (and any
 * GET) changes nothing in the database, and every node still answers /api/health at the end.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { ERROR_STATUS } from '../core/errors';
import { startCluster, startGateway, waitFor, type TestCluster, type TestGateway } from '../harness/cluster';
import { client, createTestDatabase, createUsersDirect, findShowtime, type TestDatabase } from '../harness/helpers';

const SEED = Number(process.env.FUZZ_SEED ?? randomBytes(4).readUInt32BE() >>> 1);
/** Fuzzed requests against the endpoints (test 1). */
const ENDPOINT_RUNS = Number(process.env.FUZZ_RUNS ?? 1_000);
/** A request with no answer and no close within this time is a hang. */
const REQUEST_TIMEOUT_MS = 15_000;
/** The nodes' and the gateway's default BODY_LIMIT_BYTES. */
const BODY_LIMIT_BYTES = 65_536;
const BIG_BODY_BYTES = 3 * 1024 * 1024;
/** Node's default --max-http-header-size, which both the gateway and the nodes run with. */
const HEADER_LIMIT_BYTES = 16_384;
/** After this many ejections the fuzz stops (each costs up to EJECTION_RECOVERY_MS of waiting). */
const MAX_EJECTION_INCIDENTS = 4;
/** An ejected node is back within the gateway's longest ejection (LB_EJECT_MAX_MS, 30 s by default). */
const EJECTION_RECOVERY_MS = 35_000;
/** A node that stops answering /api/health meanwhile gets this long to answer again at the end. */
const HEALTH_WAIT_MS = 10_000;

// ---------------------------------------------------------------- the cluster and its observers

let database: TestDatabase;
let cluster: TestCluster;
let gateway: TestGateway;
let gatewayPort: number;
const ids = ['node-1', 'node-2', 'node-3'];

type NodeStats = { id: string; eligible: boolean; healthy: boolean; errors: number; ejections?: number };

async function lbNodes(): Promise<NodeStats[]> {
  const res = await client(gateway.url).get<{ nodes: NodeStats[] }>('/api/lb').catch((err: Error) => {
    const exit = gateway.proc.exitCode ?? gateway.proc.signalCode;
    throw new Error(`GET /api/lb: ${err.message}${exit === null ? '' : ` (the gateway exited: ${exit})`}; problems so far:\n${problems.join('\n')}\nthe gateway's log:\n${gateway.log.join('').slice(-3_000)}`);
  });
  assert.equal(res.status, 200, `GET /api/lb: ${res.status}`);
  return res.body.nodes;
}

/** Ejections seen so far per node (the gateway's `ejections`; absent on a gateway without it). */
const ejectionsSeen = new Map<string, number>();
let ejectionIncidents = 0;

/**
 * Every node known, eligible and healthy, and not ejected since the last look; else a problem
 * (blamed on `what`, the exchange just before), and the fuzz goes on once the nodes are back.
 */
async function checkEjections(what: string): Promise<void> {
  const nodes = await lbNodes();
  const out: string[] = [];
  for (const id of ids) {
    const n = nodes.find((x) => x.id === id);
    const newly = (n?.ejections ?? 0) - (ejectionsSeen.get(id) ?? 0);
    ejectionsSeen.set(id, n?.ejections ?? 0);
    if (!n || newly > 0 || !n.eligible || !n.healthy) out.push(n ? `${id} ${JSON.stringify({ ejections: n.ejections, newly, eligible: n.eligible, healthy: n.healthy, errors: n.errors })}` : `${id} unknown`);
  }
  if (!out.length) return;
  problems.push(`${what}: ejected or unhealthy at the gateway: ${out.join('; ')}`);
  ejectionIncidents += 1;
  if (ejectionIncidents === MAX_EJECTION_INCIDENTS + 1) assert.fail(`${ejectionIncidents} ejections: stopping (${FUZZ_SEED_HINT}): ${problems.join('\n')}`);
  assert.ok(ejectionIncidents <= MAX_EJECTION_INCIDENTS, `stopped after ${MAX_EJECTION_INCIDENTS} ejections (see above)`);
  await waitFor('every node eligible again', EJECTION_RECOVERY_MS, async () => (await lbNodes()).filter((n) => n.eligible && n.healthy).length === ids.length);
  for (const n of await lbNodes()) ejectionsSeen.set(n.id, n.ejections ?? 0);
}

/** Everything the API can change, by stable columns (counters or timestamps others may add do not count). */
async function digest(): Promise<string> {
  const t = (table: string, columns: string, order: string) =>
    `(SELECT count(*) || ':' || coalesce(md5(string_agg(concat_ws(',', ${columns}), '|' ORDER BY ${order})), '-') FROM ${table})`;
  const { rows } = await database.db.query<Record<string, string>>(`SELECT
    ${t('users', 'id, email, role', 'id')} AS users,
    ${t('sessions', 'token_hash, user_id', 'token_hash')} AS sessions,
    ${t('movies', 'id, title', 'id')} AS movies,
    ${t('showtimes', 'id, starts_at', 'id')} AS showtimes,
    ${t('seat_holds', 'id, status, seat_ids', 'id')} AS seat_holds,
    ${t('bookings', 'id, status, seat_ids', 'id')} AS bookings,
    ${t('booking_seats', 'showtime_id, seat_id', 'showtime_id, seat_id')} AS booking_seats,
    ${t('idempotency_keys', 'user_id, key', 'user_id, key')} AS idempotency_keys,
    (SELECT count(*) FILTER (WHERE hold_id IS NOT NULL OR booking_id IS NOT NULL) || ':' || coalesce(md5(string_agg(concat_ws(',', showtime_id, seat_id, hold_id, booking_id), '|'
       ORDER BY showtime_id, seat_id) FILTER (WHERE hold_id IS NOT NULL OR booking_id IS NOT NULL)), '-') FROM showtime_seats) AS showtime_seats`);
  return JSON.stringify(rows[0]);
}

/** Codes and statuses of the one error table: core/errors.ts and docs/errors.md (gateway codes included). */
function documentedCodes(): Map<string, number> {
  const codes = new Map<string, number>(Object.entries(ERROR_STATUS));
  const table = fs.readFileSync(path.resolve('docs/errors.md'), 'utf8');
  for (const m of table.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)) codes.set(m[1]!, Number(m[2]));
  return codes;
}

// ---------------------------------------------------------------- raw HTTP over node:net

type Answer = { status: number; head: string; body: Buffer };
type Outcome = { answers: Answer[]; informational: number[]; closed: boolean; timedOut: boolean; malformed?: string };
/** What a raw exchange does, in order: send bytes, wait for 100 Continue (or an early answer), half-close. */
type Step = { write: string | Buffer } | { await100: true } | { end: true };

function headerOf(head: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(head);
  return m?.[1]?.trim();
}

/** Take every complete response off the front of `buf`; returns what is left. */
function consume(buf: Buffer, out: Outcome, atClose: boolean, headMethod: boolean): Buffer {
  for (;;) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) {
      if (atClose && buf.length) out.malformed = `an incomplete response head: ${JSON.stringify(buf.toString('latin1').slice(0, 120))}`;
      return buf;
    }
    const head = buf.subarray(0, end).toString('latin1');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (!m) {
      out.malformed = `not an HTTP response: ${JSON.stringify(head.slice(0, 120))}`;
      return Buffer.alloc(0);
    }
    const status = Number(m[1]);
    const rest = buf.subarray(end + 4);
    if (status < 200) {
      out.informational.push(status);
      buf = rest;
      continue;
    }
    if (headMethod || status === 204 || status === 304) {
      out.answers.push({ status, head, body: Buffer.alloc(0) });
      buf = rest;
      continue;
    }
    if (/text\/event-stream/i.test(headerOf(head, 'content-type') ?? '')) {
      out.answers.push({ status, head, body: rest }); // a stream: answered once its head is in
      return Buffer.alloc(0);
    }
    if (/chunked/i.test(headerOf(head, 'transfer-encoding') ?? '')) {
      const chunks: Buffer[] = [];
      let at = 0;
      for (;;) {
        const lineEnd = rest.indexOf('\r\n', at);
        if (lineEnd < 0) return buf;
        const size = parseInt(rest.subarray(at, lineEnd).toString('latin1'), 16);
        if (size === 0) {
          const trailerEnd = rest.indexOf('\r\n', lineEnd + 2);
          if (trailerEnd < 0) return buf;
          out.answers.push({ status, head, body: Buffer.concat(chunks) });
          buf = rest.subarray(trailerEnd + 2);
          break;
        }
        if (rest.length < lineEnd + 2 + size + 2) return buf;
        chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
      continue;
    }
    const length = headerOf(head, 'content-length');
    if (length === undefined) {
      if (!atClose) return buf; // delimited by the close
      out.answers.push({ status, head, body: rest });
      return Buffer.alloc(0);
    }
    if (rest.length < Number(length)) {
      if (atClose) out.malformed = `a response body cut short (${rest.length} of ${length} bytes)`;
      return buf;
    }
    out.answers.push({ status, head, body: rest.subarray(0, Number(length)) });
    buf = rest.subarray(Number(length));
  }
}

/**
 * Connect to the gateway (from `localAddress`, any of 127.0.0.0/8), run the steps, and collect the
 * answers until `expect` final answers are complete, the gateway closes, or REQUEST_TIMEOUT_MS.
 */
function exchange(steps: Step[], options: { expect?: number; localAddress?: string; headMethod?: boolean } = {}): Promise<Outcome> {
  const expect = options.expect ?? 1;
  return new Promise((resolve) => {
    const out: Outcome = { answers: [], informational: [], closed: false, timedOut: false };
    const socket = net.connect({ host: '127.0.0.1', port: gatewayPort, localAddress: options.localAddress ?? '127.0.0.1' });
    let buf: Buffer = Buffer.alloc(0);
    let settled = false;
    let heard: (() => void) | undefined;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(out);
    };
    const timer = setTimeout(() => {
      out.timedOut = true;
      finish();
    }, REQUEST_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => {
      buf = consume(Buffer.concat([buf, chunk]), out, false, options.headMethod ?? false);
      if (out.informational.length || out.answers.length) heard?.();
      if (out.answers.length >= expect || out.malformed) finish();
    });
    socket.on('error', () => {}); // a reset is a close, judged below
    socket.on('close', () => {
      if (settled) return;
      consume(buf, out, true, options.headMethod ?? false);
      out.closed = true;
      finish();
    });
    socket.on('connect', async () => {
      for (const step of steps) {
        if (settled || socket.destroyed) return;
        if ('write' in step) socket.write(step.write);
        else if ('end' in step) socket.end();
        else if (!out.informational.length && !out.answers.length) await new Promise<void>((r) => (heard = r));
        // An early final answer (413 before the body, say): the rest is not sent.
        if ('await100' in step && out.answers.length) return;
      }
    });
  });
}

// ---------------------------------------------------------------- judging what came back

const statusCounts = new Map<number, number>();
const codeCounts = new Map<string, number>();
const problems: string[] = [];
let requests = 0;
let codes: Map<string, number>;
const FUZZ_SEED_HINT = `replay with FUZZ_SEED=${SEED}`;

function errorCodeOf(answer: Answer): string | undefined {
  try {
    const code = (JSON.parse(answer.body.toString('utf8')) as { error?: { code?: unknown; message?: unknown } }).error;
    return typeof code?.code === 'string' && typeof code.message === 'string' ? code.code : undefined;
  } catch {
    return undefined;
  }
}

type Judgement = { closeAllowed?: boolean; expect?: number; headMethod?: boolean };

/** The rules for every exchange; returns the answers for further checks. Problems are collected, then asserted. */
function judge(what: string, out: Outcome, rules: Judgement = {}): Answer[] {
  requests += 1;
  const problem = (p: string) => problems.push(`${what}: ${p}`);
  if (out.timedOut) problem(`no answer and no close within ${REQUEST_TIMEOUT_MS} ms`);
  if (out.malformed) problem(out.malformed);
  if (!out.timedOut && out.answers.length < (rules.expect ?? 1) && !rules.closeAllowed) {
    problem(`closed after ${out.answers.length} of ${rules.expect ?? 1} answers`);
  }
  for (const a of out.answers) {
    statusCounts.set(a.status, (statusCounts.get(a.status) ?? 0) + 1);
    if (a.status >= 500) problem(`answered ${a.status}: ${a.head.split('\r\n')[0]} ${a.body.toString('utf8').slice(0, 200)}`);
    if (a.status < 400 || rules.headMethod) continue;
    const code = errorCodeOf(a);
    if (code === undefined) problem(`a ${a.status} without { error: { code, message } }: ${JSON.stringify(a.body.toString('utf8').slice(0, 120))}`);
    else if (codes.get(code) !== a.status) problem(`a ${a.status} with code ${code}, which is not in the error table with that status`);
    else codeCounts.set(code, (codeCounts.get(code) ?? 0) + 1);
  }
  return out.answers;
}

/** The problems found since `from` (problems.length when the test began) must be none. */
function assertNoProblems(from: number): void {
  const found = problems.slice(from);
  assert.deepEqual(found, [], `${found.length} problem(s) (${FUZZ_SEED_HINT}); answers so far by status ${JSON.stringify(Object.fromEntries(statusCounts))}`);
}

// ---------------------------------------------------------------- fixtures

type Who = { id: string; token: string };
let user: Who;
let other: Who;
let adminToken: string;
let showtime: { id: number; seats: string[] };
let movieId: number;
const existing = { holds: [] as string[], bookings: [] as string[] };

async function freshSession(userId: string): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await database.db.query("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, now() + interval '1 day')", [
    createHash('sha256').update(token).digest(), userId,
  ]);
  return token;
}

before(async () => {
  codes = documentedCodes();
  database = await createTestDatabase();
  cluster = await startCluster(3, database.url);
  // The edge as it ships under `npm start`: production (no websocket tunnels), per-address limits on
  // at their defaults (tests otherwise turn them off). A loaded 2-core machine (other test files run
  // beside this one) must not fail health checks by itself.
  gateway = await startGateway(database.url, { NODE_ENV: 'production', LB_ADDRESS_LIMITS: 'on', LB_HEALTH_TIMEOUT_MS: '5000' });
  gatewayPort = Number(new URL(gateway.url).port);
  adminToken = await cluster.adminToken();
  [user, other] = await createUsersDirect(database.db, 2) as [Who, Who];
  showtime = await findShowtime(database.db, 'Boutique');
  movieId = (await database.db.query<{ movie_id: number }>('SELECT movie_id FROM showtimes WHERE id = $1', [showtime.id])).rows[0]!.movie_id;
  for (const [who, seat, holdSeat] of [[user, 'E1', 'E2'], [other, 'E3', 'E4']] as const) {
    const api = client(gateway.url, who.token);
    const hold = await api.post('/api/holds', { showtimeId: showtime.id, seats: [holdSeat] });
    assert.equal(hold.status, 201, JSON.stringify(hold.body));
    existing.holds.push(hold.body.hold.id);
    const booking = await api.post('/api/bookings', { showtimeId: showtime.id, seats: [seat] });
    assert.equal(booking.status, 201, JSON.stringify(booking.body));
    existing.bookings.push(booking.body.booking.id);
  }
  await waitFor('every node eligible at the gateway', 20_000, async () => (await lbNodes()).filter((n) => n.eligible && n.healthy).length === 3);
  const start = await lbNodes();
  for (const n of start) ejectionsSeen.set(n.id, n.ejections ?? 0);
  console.log(`gateway fuzz: FUZZ_SEED=${SEED}${start[0]?.ejections === undefined ? ' (the gateway reports no `ejections`: judged by eligible/healthy)' : ''}`);
});

after(async () => {
  console.log(`gateway fuzz: ${requests} exchanges; answers by status ${JSON.stringify(Object.fromEntries([...statusCounts].sort((a, b) => a[0] - b[0])))}; `
    + `error codes ${JSON.stringify(Object.fromEntries(codeCounts))}`);
  await gateway?.stop();
  await cluster?.stop();
  await database?.drop();
});

// ---------------------------------------------------------------- building requests

type Req = {
  method: string; target: string; headers: [string, string][]; body?: Buffer;
  chunked?: boolean; expect100?: boolean; localAddress?: string;
};

function encodeHead(r: Req): string {
  const lines = [`${r.method} ${r.target} HTTP/1.1`, `Host: 127.0.0.1:${gatewayPort}`];
  for (const [k, v] of r.headers) lines.push(`${k}: ${v}`);
  if (r.body !== undefined) lines.push(r.chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${r.body.length}`);
  if (r.expect100) lines.push('Expect: 100-continue');
  lines.push('Connection: close');
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** The body on the wire: as it is, or in chunks of at most 16 KiB. */
function encodeBody(r: Req): Buffer {
  if (!r.body) return Buffer.alloc(0);
  if (!r.chunked) return r.body;
  const parts: Buffer[] = [];
  for (let at = 0; at < r.body.length; at += 16_384) {
    const piece = r.body.subarray(at, at + 16_384);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

function describeReq(r: Req): string {
  const body = r.body ? ` body(${r.body.length} B${r.chunked ? ', chunked' : ''}${r.expect100 ? ', expect 100' : ''})=${JSON.stringify(r.body.subarray(0, 120).toString('utf8'))}` : '';
  return `${r.method} ${r.target.slice(0, 200)} from ${r.localAddress ?? '127.0.0.1'} headers=${JSON.stringify(r.headers).slice(0, 300)}${body}`;
}

/** Send one well-formed request; judge it; a 4xx or a GET must leave the database as it was. */
async function send(r: Req, expected?: { status?: number | number[]; code?: string }): Promise<Answer | undefined> {
  const before = await digest();
  const head = Buffer.from(encodeHead(r), 'latin1');
  const steps: Step[] = r.expect100 ? [{ write: head }, { await100: true }, { write: encodeBody(r) }] : [{ write: Buffer.concat([head, encodeBody(r)]) }];
  const what = describeReq(r);
  const [answer] = judge(what, await exchange(steps, { localAddress: r.localAddress, headMethod: r.method === 'HEAD' }), { headMethod: r.method === 'HEAD' });
  if (answer && (answer.status >= 400 || r.method === 'GET' || r.method === 'HEAD')) {
    const afterwards = await digest();
    if (afterwards !== before) problems.push(`${what}: a ${answer.status} changed the database`);
  }
  if (answer && expected?.status !== undefined) {
    const allowed = ([] as number[]).concat(expected.status);
    if (!allowed.includes(answer.status)) problems.push(`${what}: expected ${allowed.join(' or ')}, got ${answer.status} ${answer.body.toString('utf8').slice(0, 200)}`);
  }
  if (answer && expected?.code !== undefined && errorCodeOf(answer) !== expected.code) {
    problems.push(`${what}: expected code ${expected.code}, got ${answer.status} ${answer.body.toString('utf8').slice(0, 200)}`);
  }
  return answer;
}

// ---------------------------------------------------------------- generators

/** Percent-encode every byte of the UTF-8 form except unreserved characters. */
function pct(s: string): string {
  return [...Buffer.from(s, 'utf8')].map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

type Actor = { name: string; admin: boolean; headers: () => [string, string][] };
const ACTORS: Actor[] = [
  { name: 'anonymous', admin: false, headers: () => [] },
  { name: 'user', admin: false, headers: () => [['Authorization', `Bearer ${user.token}`]] },
  { name: 'admin', admin: true, headers: () => [['Authorization', `Bearer ${adminToken}`]] },
  { name: 'user by cookie', admin: false, headers: () => [['Cookie', `theme=dark; mb_session=${user.token}`]] },
  { name: 'cookie from evil.example', admin: false, headers: () => [['Cookie', `mb_session=${user.token}`], ['Origin', 'http://evil.example'], ['Sec-Fetch-Site', 'cross-site']] },
  { name: 'unknown token', admin: false, headers: () => [['Authorization', `Bearer ${randomBytes(32).toString('base64url')}`]] },
  { name: 'junk bearer', admin: false, headers: () => [['Authorization', 'Bearer ../../%00 <script>']] },
  { name: 'broken cookie', admin: false, headers: () => [['Cookie', 'mb_session=%E0%A4%A; other=%']] },
];
for (const a of ACTORS) Object.assign(a, { [fc.toStringMethod]: () => `actor(${a.name})` });

const pathParamArb = fc.oneof(
  fc.constantFrom('1', '0', '-1', '1.5', '1e3', '0x10', '9007199254740993', '99999999999999999999', 'NaN', 'null', '%00', '%E0%A4%A', '%', '%zz',
    '..', '%2e%2e', '%2F', 'a%2Fb', '%F0%9F%8E%AC'),
  fc.integer().map(String),
  fc.uuid(),
  fc.constant(0).map(() => existing.holds[0]!),
  fc.constant(0).map(() => existing.bookings[1]!),
  fc.constant(0).map(() => String(showtime.id)),
  fc.string({ unit: 'binary', maxLength: 30 }).map(pct),
  fc.integer({ min: 101, max: 3_000 }).map((n) => 'x'.repeat(n)),
);

const queryArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 2, arbitrary: fc.constantFrom('?', '?%', '?a=%E0%A4%A', '?search=%00', '?id=abc', '?consistency=strong', '?consistency=bogus', '?userId=x', '?a=1&a=2&a=3', `?search=${'s'.repeat(5_000)}`, '?__proto__[x]=1') },
  { weight: 2, arbitrary: fc.array(fc.tuple(fc.constantFrom('id', 'search', 'genre', 'userId', 'consistency', 'x'), fc.string({ unit: 'binary', maxLength: 20 }).map(pct)), { minLength: 1, maxLength: 3 })
    .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`) },
);

const weirdValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom(-1, 0, 1.5, 1e308, 2 ** 31, 2 ** 53 + 2, '', '\u0000', 'a\u0000b', '\ud800', null, true, [], {}, [null], { $gt: '' }),
  fc.integer({ min: 1_000, max: 20_000 }).map((n) => 'é'.repeat(n)),
);

const seatArb = fc.oneof(fc.constantFrom('A1', 'b2', ' C3 ', 'D5', 'Z9', ''), fc.string({ maxLength: 9 }));
const FIELDS: Record<string, fc.Arbitrary<unknown>> = {
  showtimeId: fc.oneof(fc.constant(0).map(() => showtime.id), fc.integer(), weirdValueArb),
  movieId: fc.oneof(fc.constant(0).map(() => movieId), weirdValueArb),
  screenId: fc.oneof(fc.integer({ min: 1, max: 3 }), weirdValueArb),
  startsAt: fc.oneof(fc.constantFrom('2031-02-03T10:00:00Z', '2030-02-30T00:00:00Z', 'tomorrow'), weirdValueArb),
  seats: fc.oneof(fc.array(seatArb, { maxLength: 14 }), weirdValueArb),
  holdId: fc.oneof(fc.constant(0).map(() => existing.holds[1]!), fc.uuid(), weirdValueArb),
  email: fc.oneof(fc.emailAddress(), fc.constant(0).map(() => 'admin@moviebook.local'), weirdValueArb),
  name: fc.oneof(fc.string({ maxLength: 120 }), weirdValueArb),
  password: fc.oneof(fc.string({ maxLength: 210 }), weirdValueArb),
  title: fc.oneof(fc.string({ maxLength: 210 }), weirdValueArb),
  genre: fc.oneof(fc.string({ maxLength: 50 }), weirdValueArb),
  durationMin: fc.oneof(fc.integer({ min: -5, max: 700 }), weirdValueArb),
  algorithm: fc.oneof(fc.constantFrom('bully', 'ring', 'round-robin', 'weighted'), weirdValueArb),
  weights: fc.oneof(fc.constant({ 'node-1': 0, 'node-2': 0, 'node-3': 0 }), weirdValueArb),
  requestDelayMs: fc.oneof(fc.integer({ min: -1, max: 70_000 }), weirdValueArb),
  mode: fc.oneof(fc.constantFrom('gossip', 'master-slave', 'multi-master'), weirdValueArb),
  from: weirdValueArb, to: weirdValueArb, type: fc.oneof(fc.constantFrom('heartbeat', 'election', 'replicate'), weirdValueArb), body: weirdValueArb,
};

type BodyShape = { kind: string; contentType?: string; text?: () => Buffer };
const json = (v: unknown) => Buffer.from(JSON.stringify(v) ?? 'null', 'utf8');
const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON'];
const OTHER_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonx', 'garbage', ''];

function bodyArb(fields: string[]): fc.Arbitrary<BodyShape> {
  const structured = fc.record(Object.fromEntries(fields.map((f) => [f, FIELDS[f]!])), { requiredKeys: [] });
  const ct = fc.constantFrom(...JSON_TYPES);
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(structured, ct).map(([v, c]): BodyShape => ({ kind: 'fields', contentType: c, text: () => json(v) })) },
    { weight: 2, arbitrary: fc.tuple(fc.jsonValue({ maxDepth: 3 }), ct).map(([v, c]): BodyShape => ({ kind: 'any JSON', contentType: c, text: () => json(v) })) },
    { weight: 1, arbitrary: fc.constantFrom('null', '[]', '[null]', '""', '0', 'true', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}')
      .map((t): BodyShape => ({ kind: 'odd JSON', contentType: 'application/json', text: () => Buffer.from(t) })) },
    { weight: 2, arbitrary: fc.constantFrom('{', '{"a":', '[1,]', "{'a':1}", 'nul', '\u0000', '{"a":1}}', ' ', '\xff\xfe')
      .map((t): BodyShape => ({ kind: 'not JSON', contentType: 'application/json', text: () => Buffer.from(t, 'latin1') })) },
    { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 32_000 }).map((depth): BodyShape => ({ kind: `nested ${depth} deep`, contentType: 'application/json', text: () => Buffer.from('['.repeat(depth) + ']'.repeat(depth)) })) },
    { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 30_000 }).map((depth): BodyShape => ({ kind: `objects ${depth} deep`, contentType: 'application/json', text: () => Buffer.from('{"a":'.repeat(depth) + '1' + '}'.repeat(depth)) })) },
    { weight: 1, arbitrary: fc.integer({ min: 10_000, max: BODY_LIMIT_BYTES - 100 }).map((n): BodyShape => ({ kind: `a ${n}-character string`, contentType: 'application/json', text: () => json({ showtimeId: showtime.id, seats: ['A1'], email: 'x'.repeat(n) }) })) },
    { weight: 1, arbitrary: fc.integer({ min: 100, max: 6_000 }).map((n): BodyShape => ({ kind: `an array of ${n} seats`, contentType: 'application/json', text: () => json({ showtimeId: showtime.id, seats: Array.from({ length: n }, (_, i) => `A${i}`) }) })) },
    { weight: 1, arbitrary: fc.integer({ min: BODY_LIMIT_BYTES + 1, max: 4 * BODY_LIMIT_BYTES }).map((n): BodyShape => ({ kind: `${n} bytes`, contentType: 'application/json', text: () => json({ pad: 'x'.repeat(n) }) })) },
    { weight: 1, arbitrary: fc.tuple(structured, fc.constantFrom(...OTHER_TYPES)).map(([v, c]): BodyShape => ({ kind: 'wrong content type', contentType: c, text: () => json(v) })) },
    { weight: 1, arbitrary: fc.constant<BodyShape>({ kind: 'empty', contentType: 'application/json', text: () => Buffer.alloc(0) }) },
    { weight: 1, arbitrary: fc.constant<BodyShape>({ kind: 'JSON without a content type', text: () => json({ showtimeId: showtime.id, seats: ['A1'] }) }) },
    { weight: 1, arbitrary: fc.constant<BodyShape>({ kind: 'none' }) },
  );
}

/** Headers that tricked the gateway or the nodes before, and others an attacker tries. */
const extraHeadersArb: fc.Arbitrary<[string, string][]> = fc.subarray([
  ['X-Forwarded-For', '10.0.0.1, 127.0.0.1'], ['X-Forwarded-Proto', 'https'], ['X-Real-IP', '1.2.3.4'], ['X-Node', 'node-2'], ['X-Node', '../../etc'],
  ['Accept', 'text/event-stream'], ['Content-Encoding', 'gzip'], ['Connection', 'keep-alive, Upgrade'], ['Upgrade', 'websocket'],
  ['Idempotency-Key', 'fuzz-fixed-key'], ['Idempotency-Key', 'k'.repeat(256)], ['X-Session-Token', 'junk'], ['Range', 'bytes=0-1'],
  ['If-None-Match', '*'], ['X-HTTP-Method-Override', 'DELETE'], ['Cookie', `pad=${'c'.repeat(6_000)}`], ['Origin', 'null'], ['Referer', 'http://evil.example/'],
] as [string, string][], { maxLength: 3 });

type Endpoint = { method: string; path: string; fields?: string[]; adminSafe: boolean };
/** Every endpoint; `adminSafe: false` where a valid admin request would change the cluster (faults, crash, settings). */
const ENDPOINTS: Endpoint[] = [
  { method: 'POST', path: '/api/auth/signup', fields: ['email', 'name', 'password'], adminSafe: true },
  { method: 'POST', path: '/api/auth/login', fields: ['email', 'password'], adminSafe: true },
  { method: 'POST', path: '/api/auth/logout', adminSafe: true },
  { method: 'GET', path: '/api/auth/me', adminSafe: true },
  { method: 'GET', path: '/api/movies', adminSafe: true },
  { method: 'GET', path: '/api/movies/:p', adminSafe: true },
  { method: 'POST', path: '/api/movies', fields: ['title', 'genre', 'durationMin'], adminSafe: true },
  { method: 'GET', path: '/api/screens', adminSafe: true },
  { method: 'POST', path: '/api/showtimes', fields: ['movieId', 'screenId', 'startsAt'], adminSafe: true },
  { method: 'GET', path: '/api/showtimes/:p', adminSafe: true },
  { method: 'GET', path: '/api/showtimes/:p/events', adminSafe: true },
  { method: 'POST', path: '/api/holds', fields: ['showtimeId', 'seats'], adminSafe: true },
  { method: 'DELETE', path: '/api/holds/:p', adminSafe: true },
  { method: 'POST', path: '/api/bookings', fields: ['holdId', 'showtimeId', 'seats'], adminSafe: true },
  { method: 'GET', path: '/api/bookings', adminSafe: true },
  { method: 'GET', path: '/api/bookings/:p', adminSafe: true },
  { method: 'POST', path: '/api/bookings/:p/cancel', adminSafe: true },
  { method: 'GET', path: '/api/health', adminSafe: true },
  { method: 'GET', path: '/api/ping', adminSafe: true },
  { method: 'GET', path: '/api/sync', adminSafe: true },
  { method: 'GET', path: '/api/election', adminSafe: true },
  { method: 'POST', path: '/api/election', fields: ['algorithm'], adminSafe: false },
  { method: 'GET', path: '/api/faults', adminSafe: true },
  { method: 'POST', path: '/api/faults', fields: ['requestDelayMs'], adminSafe: false },
  { method: 'GET', path: '/api/lb', adminSafe: true },
  { method: 'POST', path: '/api/lb', fields: ['algorithm', 'weights'], adminSafe: false },
  { method: 'GET', path: '/api/replicas', adminSafe: true },
  { method: 'POST', path: '/api/replicas', fields: ['mode'], adminSafe: false },
  { method: 'POST', path: '/api/cluster/crash', adminSafe: false },
  { method: 'POST', path: '/api/cluster/sync-now', adminSafe: false },
  { method: 'POST', path: '/api/cluster/fenced-write-probe', adminSafe: false },
  { method: 'POST', path: '/api/peer', fields: ['from', 'to', 'type', 'body'], adminSafe: true },
];
for (const e of ENDPOINTS) Object.assign(e, { [fc.toStringMethod]: () => `${e.method} ${e.path}` });

type Case = {
  endpoint: Endpoint; actor: Actor; param: string; query: string; body: BodyShape; extra: [string, string][];
  transport: 'length' | 'chunked' | 'expect-100'; method: string; address: 'shared' | number;
};

const caseArb: fc.Arbitrary<Case> = fc.constantFrom(...ENDPOINTS).chain((endpoint) => fc.record({
  endpoint: fc.constant(endpoint),
  actor: fc.constantFrom(...ACTORS.filter((a) => endpoint.adminSafe || !a.admin)),
  param: pathParamArb,
  query: queryArb,
  body: endpoint.method === 'GET' || endpoint.method === 'DELETE'
    ? fc.oneof({ weight: 5, arbitrary: fc.constant<BodyShape>({ kind: 'none' }) }, { weight: 1, arbitrary: bodyArb([]) })
    : bodyArb(endpoint.fields ?? []),
  extra: extraHeadersArb,
  transport: fc.constantFrom('length', 'length', 'chunked', 'expect-100'),
  // Sometimes another method on the same path: HEAD of a GET, OPTIONS, PUT, an unknown one.
  method: fc.oneof({ weight: 8, arbitrary: fc.constant(endpoint.method) }, { weight: 1, arbitrary: fc.constantFrom('HEAD', 'OPTIONS', 'PUT', 'PATCH', 'TRACE', 'FOO') }),
  // One address for many requests (it meets the per-address limits) or one of many (a botnet).
  address: fc.oneof(fc.constant<'shared'>('shared'), fc.integer({ min: 1, max: 60_000 })),
}));

function addressOf(a: Case['address']): string {
  return a === 'shared' ? '127.0.0.2' : `127.${100 + (a >> 16)}.${(a >> 8) & 255}.${(a & 255) || 1}`;
}

async function runCase(c: Case): Promise<void> {
  let headers: [string, string][] = [...c.actor.headers(), ...c.extra];
  // Logging out ends the session it carries (by cookie or bearer): it gets a throwaway one in their place.
  if (c.endpoint.path === '/api/auth/logout') {
    const throwaway = await freshSession(user.id);
    headers = headers.map(([k, v]) => [k, v.replaceAll(user.token, throwaway).replaceAll(adminToken, throwaway)]);
  }
  // A safe admin method only: an admin with another method could still POST to a settings path.
  const method = c.actor.admin && c.method !== c.endpoint.method && c.method !== 'HEAD' ? c.endpoint.method : c.method;
  const text = c.body.text?.();
  if (text !== undefined && c.body.contentType) headers.push(['Content-Type', c.body.contentType]);
  await send({
    method: c.method === 'HEAD' && c.endpoint.method !== 'GET' ? 'OPTIONS' : method,
    target: c.endpoint.path.replace(':p', c.param) + c.query,
    headers,
    ...(text === undefined ? {} : { body: text, chunked: c.transport === 'chunked', expect100: c.transport === 'expect-100' }),
    localAddress: addressOf(c.address),
  });
}

// ---------------------------------------------------------------- the tests

describe('the edge against hostile input, through the gateway', () => {
  test('every endpoint, every body shape, every caller', async () => {
    const from = problems.length;
    await fc.assert(fc.asyncProperty(caseArb, async (c) => {
      await runCase(c);
      await checkEjections(`${c.endpoint.method} ${c.endpoint.path}`);
    }), { numRuns: ENDPOINT_RUNS, seed: SEED, endOnFailure: true });
    assertNoProblems(from);
  });

  test('sizes around each limit: BODY_LIMIT_BYTES ± 1, 3 MB (plain, chunked, behind Expect), the header limit', async () => {
    const from = problems.length;
    const holdAs = (size: number): Buffer => {
      // A valid hold request padded to exactly `size` bytes (an unknown seat, so it takes nothing).
      const base = JSON.stringify({ showtimeId: showtime.id, seats: ['Z99'], pad: '' });
      return Buffer.from(base.replace('"pad":""', `"pad":"${'x'.repeat(size - base.length)}"`));
    };
    const auth: [string, string][] = [['Authorization', `Bearer ${user.token}`], ['Content-Type', 'application/json']];
    for (const transport of ['length', 'chunked', 'expect-100'] as const) {
      const opts = { chunked: transport === 'chunked', expect100: transport === 'expect-100' };
      for (const size of [BODY_LIMIT_BYTES - 1, BODY_LIMIT_BYTES]) {
        // Within the limit: the node reads it (an unknown seat is 422), whatever the transport.
        await send({ method: 'POST', target: '/api/holds', headers: auth, body: holdAs(size), ...opts, localAddress: '127.0.0.3' }, { status: [422, 429] });
      }
      for (const size of [BODY_LIMIT_BYTES + 1, 2 * BODY_LIMIT_BYTES, BIG_BODY_BYTES]) {
        await send({ method: 'POST', target: '/api/holds', headers: auth, body: holdAs(size), ...opts, localAddress: '127.0.0.3' }, { status: 413, code: 'PAYLOAD_TOO_LARGE' });
        await send({ method: 'POST', target: '/api/auth/login', headers: [['Content-Type', 'application/json']], body: holdAs(size), ...opts, localAddress: '127.0.0.4' }, { status: 413 });
      }
      await checkEjections(`bodies around the limit (${transport})`);
    }
    // A 3 MB body on a GET and on unknown paths: refused or ignored, never a node failure.
    for (const target of ['/api/movies', '/api/nowhere', '/api/peer', '/']) {
      await send({ method: target === '/api/movies' ? 'GET' : 'POST', target, headers: [['Content-Type', 'application/json']], body: Buffer.alloc(BIG_BODY_BYTES, 0x20), localAddress: '127.0.0.5' });
    }
    // The header limit: a little under answers, a little over is 431 (or 400), never 5xx.
    for (const size of [HEADER_LIMIT_BYTES - 1_000, HEADER_LIMIT_BYTES + 100, 4 * HEADER_LIMIT_BYTES, 1_048_576]) {
      await send({ method: 'GET', target: '/api/movies', headers: [['X-Pad', 'p'.repeat(size)]], localAddress: '127.0.0.6' }, {
        status: size < HEADER_LIMIT_BYTES ? 200 : [400, 413, 431],
      });
    }
    await send({ method: 'GET', target: '/api/movies', headers: Array.from({ length: 2_000 }, (_, i): [string, string] => [`X-H${i}`, 'v']), localAddress: '127.0.0.6' }, { status: [200, 400, 431] });
    await checkEjections('header sizes');
    assertNoProblems(from);
  });

  test('malformed HTTP over raw sockets: an answer or a clean close, never a 5xx, never an ejection', async () => {
    const from = problems.length;
    const host = `Host: 127.0.0.1:${gatewayPort}`;
    const auth = `Authorization: Bearer ${user.token}`;
    const loginBody = JSON.stringify({ email: 'admin@moviebook.local', password: 'wrong password' });
    const holdBody = JSON.stringify({ showtimeId: showtime.id, seats: ['Z99'] });
    const rng = fc.sample(fc.uint8Array({ minLength: 16, maxLength: 200 }), { seed: SEED, numRuns: 4 });
    type RawCase = { name: string; steps: Step[]; expect?: number; closeAllowed?: boolean; status?: number[]; headMethod?: boolean };
    const req = (head: string, body = '') => [{ write: Buffer.from(`${head}\r\n\r\n${body}`, 'latin1') }];
    const cases: RawCase[] = [
      // request lines
      { name: 'junk request line', steps: req('GARBAGE'), closeAllowed: true, status: [400] },
      { name: 'no target', steps: req(`GET\r\n${host}`), closeAllowed: true, status: [400] },
      { name: 'HTTP/9.9', steps: req(`GET /api/health HTTP/9.9\r\n${host}`), closeAllowed: true, status: [400, 505] },
      { name: 'extra token in the request line', steps: req(`GET /api/health HTTP/1.1 extra\r\n${host}`), closeAllowed: true, status: [400] },
      { name: 'lower-case method', steps: req(`get /api/health HTTP/1.1\r\n${host}`), closeAllowed: true, status: [400, 405] },
      { name: 'unknown method', steps: req(`BREW /api/health HTTP/1.1\r\n${host}`), closeAllowed: true, status: [400, 404, 405] },
      { name: 'tabs and double spaces', steps: req(`GET  /api/health\tHTTP/1.1\r\n${host}`), closeAllowed: true, status: [400] },
      { name: 'the HTTP/2 preface', steps: [{ write: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' }], closeAllowed: true },
      { name: 'a TLS ClientHello', steps: [{ write: Buffer.from('160301007a0100007603035f', 'hex') }], closeAllowed: true },
      ...rng.map((bytes, i) => ({ name: `random bytes #${i}`, steps: [{ write: Buffer.from(bytes) }, { write: '\r\n\r\n' }], closeAllowed: true })),
      { name: 'leading empty lines', steps: req(`\r\n\r\nGET /api/health HTTP/1.1\r\n${host}\r\nConnection: close`), status: [200] },
      // Host
      { name: 'duplicate Host', steps: req(`GET /api/health HTTP/1.1\r\n${host}\r\nHost: evil.example\r\nConnection: close`), closeAllowed: true, status: [400] },
      { name: 'duplicate Host on a POST', steps: req(`POST /api/auth/login HTTP/1.1\r\n${host}\r\nHost: evil.example\r\nContent-Type: application/json\r\nContent-Length: ${loginBody.length}\r\nConnection: close`, loginBody), closeAllowed: true, status: [400] },
      { name: 'no Host on HTTP/1.1', steps: req('GET /api/health HTTP/1.1\r\nConnection: close'), closeAllowed: true, status: [400] },
      { name: 'empty Host', steps: req('GET /api/health HTTP/1.1\r\nHost:\r\nConnection: close'), closeAllowed: true, status: [200, 400] },
      // lengths and encodings
      { name: 'two different Content-Lengths', steps: req(`POST /api/auth/login HTTP/1.1\r\n${host}\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: ${loginBody.length}`, loginBody), closeAllowed: true, status: [400] },
      { name: 'the same Content-Length twice', steps: req(`POST /api/auth/login HTTP/1.1\r\n${host}\r\nContent-Type: application/json\r\nContent-Length: ${loginBody.length}\r\nContent-Length: ${loginBody.length}\r\nConnection: close`, loginBody), closeAllowed: true, status: [400, 401, 429] },
      { name: 'Content-Length and Transfer-Encoding (CL.TE smuggling)', steps: req(`POST /api/holds HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Type: application/json\r\nContent-Length: 6\r\nTransfer-Encoding: chunked`, '0\r\n\r\nG'), closeAllowed: true, status: [400] },
      { name: 'Transfer-Encoding twice', steps: req(`POST /api/holds HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked`, '0\r\n\r\n'), closeAllowed: true, status: [400] },
      { name: 'Transfer-Encoding: gzip, chunked', steps: req(`POST /api/holds HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close`, '2\r\n{}\r\n0\r\n\r\n'), closeAllowed: true, status: [400, 415, 501] },
      { name: 'Transfer-Encoding: xchunked', steps: req(`POST /api/holds HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Type: application/json\r\nTransfer-Encoding: xchunked`, '2\r\n{}\r\n0\r\n\r\n'), closeAllowed: true, status: [400, 501] },
      { name: 'space before the colon', steps: req(`POST /api/holds HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Type: application/json\r\nTransfer-Encoding : chunked`, '0\r\n\r\n'), closeAllowed: true, status: [400] },
      { name: 'negative Content-Length', steps: req(`POST /api/holds HTTP/1.1\r\n${host}\r\nContent-Length: -1`, '{}'), closeAllowed: true, status: [400] },
      { name: 'Content-Length not a number', steps: req(`POST /api/holds HTTP/1.1\r\n${host}\r\nContent-Length: 1e3`, '{}'), closeAllowed: true, status: [400] },
      { name: 'a huge Content-Length, no body', steps: [...req(`POST /api/holds HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Type: application/json\r\nContent-Length: 99999999999999`), { end: true }], closeAllowed: true, status: [400, 413] },
      { name: 'chunk size not hex', steps: req(`POST /api/holds HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked`, 'zz\r\n{}\r\n0\r\n\r\n'), closeAllowed: true, status: [400] },
      { name: 'chunk size overflow', steps: req(`POST /api/holds HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked`, 'fffffffffffffffffff\r\n{}\r\n0\r\n\r\n'), closeAllowed: true, status: [400, 413] },
      { name: 'chunk without its CRLF', steps: req(`POST /api/holds HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked`, `${holdBody.length.toString(16)}\r\n${holdBody}XX0\r\n\r\n`), closeAllowed: true, status: [400] },
      { name: 'chunk longer than it says', steps: req(`POST /api/auth/login HTTP/1.1\r\n${host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked`, `2\r\n${loginBody}\r\n0\r\n\r\n`), closeAllowed: true, status: [400] },
      { name: 'a chunk extension', steps: req(`POST /api/auth/login HTTP/1.1\r\n${host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close`, `${loginBody.length.toString(16)};ext="x"\r\n${loginBody}\r\n0\r\n\r\n`), closeAllowed: true, status: [400, 401, 429] },
      { name: 'bare LF line endings', steps: [{ write: `GET /api/health HTTP/1.1\n${host}\nConnection: close\n\n` }], closeAllowed: true, status: [200, 400] },
      // Expect
      { name: 'Expect: 100-continue on a GET without a body', steps: req(`GET /api/movies HTTP/1.1\r\n${host}\r\nExpect: 100-continue\r\nConnection: close`), status: [200] },
      { name: 'Expect: 100-continue, twice in a row (took the site down)', steps: req(`GET /api/health HTTP/1.1\r\n${host}\r\nExpect: 100-continue\r\nConnection: close`), status: [200] },
      { name: 'Expect: 100-continue with a body, sent after 100', steps: [{ write: `POST /api/auth/login HTTP/1.1\r\n${host}\r\nContent-Type: application/json\r\nContent-Length: ${loginBody.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n` }, { await100: true }, { write: loginBody }], status: [401, 429] },
      { name: 'Expect: 100-continue with the body sent at once', steps: req(`POST /api/auth/login HTTP/1.1\r\n${host}\r\nContent-Type: application/json\r\nContent-Length: ${loginBody.length}\r\nExpect: 100-continue\r\nConnection: close`, loginBody), status: [401, 429] },
      { name: 'Expect: 100-continue on a 3 MB body (answered before the body)', steps: [{ write: `POST /api/holds HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Type: application/json\r\nContent-Length: ${BIG_BODY_BYTES}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n` }, { await100: true }, { write: Buffer.alloc(BIG_BODY_BYTES, 0x20) }], closeAllowed: true, status: [413] },
      { name: 'Expect: something else', steps: req(`GET /api/health HTTP/1.1\r\n${host}\r\nExpect: 200-ok\r\nConnection: close`), closeAllowed: true, status: [200, 417] },
      // bytes that do not belong in headers
      { name: 'NUL in a header value', steps: req(`GET /api/health HTTP/1.1\r\n${host}\r\nX-A: a\u0000b\r\nConnection: close`), closeAllowed: true, status: [400] },
      { name: 'a lone CR in a header value', steps: req(`GET /api/health HTTP/1.1\r\n${host}\r\nX-A: a\rb: c\r\nConnection: close`), closeAllowed: true, status: [400] },
      { name: 'a lone LF in a header value (header injection)', steps: req(`GET /api/health HTTP/1.1\r\n${host}\r\nX-A: a\nX-Injected: 1\r\nConnection: close`), closeAllowed: true, status: [200, 400] },
      { name: 'a space in a header name', steps: req(`GET /api/health HTTP/1.1\r\n${host}\r\nX A: b\r\nConnection: close`), closeAllowed: true, status: [400] },
      { name: 'a header without a colon', steps: req(`GET /api/health HTTP/1.1\r\n${host}\r\nnocolon\r\nConnection: close`), closeAllowed: true, status: [400] },
      { name: 'an obs-fold continuation line', steps: req(`GET /api/health HTTP/1.1\r\n${host}\r\nX-A: a\r\n folded\r\nConnection: close`), closeAllowed: true, status: [200, 400] },
      { name: 'a UTF-8 header value', steps: req(`GET /api/health HTTP/1.1\r\n${host}\r\nX-Name: ${Buffer.from('é🎬', 'utf8').toString('latin1')}\r\nConnection: close`), status: [200] },
      { name: 'a header name of 10 KB', steps: req(`GET /api/health HTTP/1.1\r\n${host}\r\n${'N'.repeat(10_000)}: v\r\nConnection: close`), closeAllowed: true, status: [200, 400, 431] },
      // HTTP/1.0 and pipelining
      { name: 'HTTP/1.0 without Host', steps: req('GET /api/health HTTP/1.0'), status: [200, 400] },
      { name: 'HTTP/1.0 keep-alive, two requests', steps: req(`GET /api/ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /api/ping HTTP/1.0`), expect: 2, closeAllowed: true, status: [200] },
      { name: 'HTTP/1.0 POST without a length (body until close)', steps: [{ write: `POST /api/auth/login HTTP/1.0\r\nContent-Type: application/json\r\n\r\n${loginBody}` }, { end: true }], closeAllowed: true, status: [400, 401, 411, 429] },
      { name: 'three pipelined GETs', steps: req(`GET /api/ping HTTP/1.1\r\n${host}\r\n\r\nGET /api/movies HTTP/1.1\r\n${host}\r\n\r\nGET /api/screens HTTP/1.1\r\n${host}\r\nConnection: close`), expect: 3, status: [200] },
      { name: 'pipelined: a POST then a GET', steps: req(`POST /api/auth/login HTTP/1.1\r\n${host}\r\nContent-Type: application/json\r\nContent-Length: ${loginBody.length}\r\n\r\n${loginBody}GET /api/ping HTTP/1.1\r\n${host}\r\nConnection: close`), expect: 2, status: [200, 401, 429] },
      { name: 'pipelined: good, malformed, good', steps: req(`GET /api/ping HTTP/1.1\r\n${host}\r\n\r\nGET /x y z\r\n\r\nGET /api/ping HTTP/1.1\r\n${host}\r\nConnection: close`), expect: 2, closeAllowed: true, status: [200, 400] },
      // bodies cut short
      { name: 'a body shorter than its Content-Length, then close', steps: [...req(`POST /api/holds HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Type: application/json\r\nContent-Length: 500`, '{"showtimeId":'), { end: true }], closeAllowed: true, status: [400, 408] },
      { name: 'a chunked body cut short, then close', steps: [...req(`POST /api/bookings HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked`, '40\r\n{"showtimeId":'), { end: true }], closeAllowed: true, status: [400, 408] },
      { name: 'a login cut short, then close', steps: [...req(`POST /api/auth/login HTTP/1.1\r\n${host}\r\nContent-Type: application/json\r\nContent-Length: 50000`, loginBody), { end: true }], closeAllowed: true, status: [400, 408] },
      // targets
      { name: 'absolute-form URL (ours)', steps: req(`GET http://127.0.0.1:${gatewayPort}/api/health HTTP/1.1\r\n${host}\r\nConnection: close`), closeAllowed: true, status: [200, 400] },
      { name: 'absolute-form URL (another site)', steps: req(`GET http://evil.example/api/health HTTP/1.1\r\n${host}\r\nConnection: close`), closeAllowed: true, status: [200, 400, 404] },
      { name: 'absolute-form to the peer port', steps: req(`GET http://127.0.0.1:${cluster.node('node-1').port}/api/peer HTTP/1.1\r\n${host}\r\nConnection: close`), closeAllowed: true, status: [400, 403, 404, 405] },
      { name: 'CONNECT (authority-form)', steps: req(`CONNECT 127.0.0.1:${cluster.node('node-1').port} HTTP/1.1\r\n${host}`), closeAllowed: true, status: [400, 404, 405] },
      { name: 'OPTIONS *', steps: req(`OPTIONS * HTTP/1.1\r\n${host}\r\nConnection: close`), closeAllowed: true, status: [200, 204, 400, 404, 405] },
      { name: 'a path without the leading slash', steps: req(`GET api/health HTTP/1.1\r\n${host}\r\nConnection: close`), closeAllowed: true, status: [400, 404] },
      ...['/api/../api/health', '/api/showtimes/../../../etc/passwd', '/api/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc/passwd', '//api//movies', '/./api/./movies',
        '/api/movies/%', '/api/movies/%zz', '/api/movies?search=%E0%A4%A', '/%', '/api/%00', `/api/movies/${'%41'.repeat(3_000)}`, '/api/movies#frag']
        .map((p): RawCase => ({ name: `path ${p.slice(0, 60)}`, steps: req(`GET ${p} HTTP/1.1\r\n${host}\r\nConnection: close`), closeAllowed: true, status: [200, 400, 404] })),
      // peer-only and internal paths are never proxied, however they are spelled
      ...['/api/peer', '/api/peer/', '/api/peer?x=1', '/API/PEER', '/api//peer', '/api/./peer', '/api/x/../peer', '/api/%70eer', '/api/peer%00', '/api/peer;x']
        .map((p): RawCase => ({ name: `POST ${p}`, steps: req(`POST ${p} HTTP/1.1\r\n${host}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close`, '{}'), closeAllowed: true, status: [400, 403, 404, 405] })),
      // A HEAD of an event stream once got no answer from a node: the gateway timed it out, ejected the node and retried on the next.
      { name: 'HEAD of a seat-map event stream', steps: req(`HEAD /api/showtimes/${showtime.id}/events HTTP/1.1\r\n${host}\r\nConnection: close`), status: [200, 405], headMethod: true },
      // upgrades (none in production)
      { name: 'a websocket upgrade', steps: req(`GET /api/health HTTP/1.1\r\n${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13`), closeAllowed: true, status: [200, 400, 403, 404, 426] },
      { name: 'an h2c upgrade', steps: req(`GET /api/health HTTP/1.1\r\n${host}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nConnection: close`), closeAllowed: true, status: [200, 400, 403, 426] },
      // The gateway's own API, last: these two once hung it, or took the whole gateway process down.
      { name: 'POST /api/lb behind Expect: 100-continue', steps: [{ write: `POST /api/lb HTTP/1.1\r\n${host}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n` }, { await100: true }, { write: '{}' }], status: [401] },
      { name: 'POST /api/lb with a body cut short, then close', steps: [...req(`POST /api/lb HTTP/1.1\r\n${host}\r\nContent-Type: application/json\r\nContent-Length: 100`, '{"algo'), { end: true }], closeAllowed: true, status: [400, 408] },
    ];
    for (const [i, c] of cases.entries()) {
      const before = await digest();
      const out = await exchange(c.steps, { expect: c.expect ?? 1, localAddress: `127.0.1.${(i % 250) + 1}`, headMethod: c.headMethod });
      const answers = judge(`raw: ${c.name}`, out, { closeAllowed: c.closeAllowed, expect: c.expect, headMethod: c.headMethod });
      for (const a of answers) {
        if (c.status && !c.status.includes(a.status)) problems.push(`raw: ${c.name}: answered ${a.status} (expected ${c.status.join(' or ')}): ${a.body.toString('utf8').slice(0, 160)}`);
      }
      if (!answers.some((a) => a.status < 300) && (await digest()) !== before) problems.push(`raw: ${c.name}: changed the database without a 2xx`);
      await checkEjections(`raw: ${c.name}`);
    }
    assertNoProblems(from);
  });

  test('afterwards: no 5xx at all, no node ejected, every node answers its health, directly and through the gateway', async () => {
    assert.equal(problems.length, 0, `${problems.length} problem(s) in the tests above (${FUZZ_SEED_HINT})`);
    assert.deepEqual([...statusCounts.keys()].filter((s) => s >= 500), [], `5xx answers: ${JSON.stringify(Object.fromEntries(statusCounts))}`);
    await checkEjections('the whole fuzz');
    for (const id of ids) {
      await waitFor(`${id} to answer /api/health`, HEALTH_WAIT_MS, async () => (await fetch(`${cluster.node(id).url}/api/health`)).status === 200);
      const via = await fetch(`${gateway.url}/api/health`, { headers: { 'x-node': id } });
      assert.equal(via.status, 200, `${id} through the gateway`);
      assert.equal(((await via.json()) as { nodeId: string }).nodeId, id);
    }
  });
});
