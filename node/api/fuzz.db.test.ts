/**
 * Fuzzing the HTTP API: every endpoint gets random and malformed input — random JSON and
 * non-JSON bodies, wrong types, huge strings, bodies over the size limit, broken JSON, wrong
 * content types, junk path parameters and query strings, junk credentials — as an anonymous
 * user, a normal user and an administrator. Whatever comes in:
 *
 *  - the answer is never a 5xx;
 *  - every 4xx is `{ error: { code, message } }` with a code from ERROR_STATUS and its status;
 *  - a 4xx (and any GET) changes nothing: a digest of every mutable table is the same after.
 *
 * Then targeted cases, each with its exact error code (and details where the API promises them).
 * Requests go over a raw node:http client so that paths, methods, headers and bodies arrive
 * exactly as written (no URL normalisation, no body encoding).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { ERROR_STATUS, isErrorCode } from '../../core/errors';
import { client, findShowtime, signedUpClient, startTestApi, type TestApi } from '../../harness/helpers';

const RUNS_PER_ENDPOINT = 30;
const BODY_LIMIT = 65_536; // the default BODY_LIMIT_BYTES
const PEER_BODY_LIMIT = 1_048_576; // PEER_BODY_LIMIT_BYTES, transport/transport.ts

// ---------------------------------------------------------------- raw HTTP with checks

type RawRequest = { method: string; path: string; headers?: Record<string, string>; body?: string | Buffer };
type RawReply = { status: number; headers: http.IncomingHttpHeaders; text: string; json: unknown };

let api: TestApi;
let port: number;

function send(req: RawRequest): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    // Header values travel as bytes: send characters beyond Latin-1 as their UTF-8 bytes.
    const headers = Object.fromEntries(
      Object.entries(req.headers ?? {}).map(([k, v]) => [k, /[^\u0000-\u00ff]/.test(v) ? Buffer.from(v, 'utf8').toString('latin1') : v]),
    );
    if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
    const outgoing = http.request({ host: '127.0.0.1', port, method: req.method, path: req.path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

/**
 * Everything that can change through the API, as one string: row counts and an md5 of the rows of
 * each table (of showtime_seats only the hold and booking columns, and only of seats that have
 * any, plus the total count).
 */
async function digest(): Promise<string> {
  const t = (table: string, order: string) =>
    `(SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY ${order})), '-') FROM ${table} x)`;
  const { rows } = await api.database.db.query<Record<string, string>>(`SELECT
    ${t('users', 'x.id')} AS users,
    ${t('sessions', 'x.token_hash')} AS sessions,
    ${t('movies', 'x.id')} AS movies,
    ${t('showtimes', 'x.id')} AS showtimes,
    ${t('seat_holds', 'x.id')} AS seat_holds,
    ${t('bookings', 'x.id')} AS bookings,
    ${t('booking_seats', 'x.showtime_id, x.seat_id')} AS booking_seats,
    ${t('idempotency_keys', 'x.user_id, x.key')} AS idempotency_keys,
    (SELECT count(*) || ':' || coalesce(md5(string_agg(concat_ws(',', showtime_id, seat_id, hold_id, held_by, held_until, booking_id), '|'
       ORDER BY showtime_id, seat_id) FILTER (WHERE hold_id IS NOT NULL OR held_by IS NOT NULL OR held_until IS NOT NULL OR booking_id IS NOT NULL)), '-')
     FROM showtime_seats) AS showtime_seats`);
  return JSON.stringify(rows[0]);
}

const seenCodes = new Map<string, number>();

function describeRequest(req: RawRequest): string {
  const body = req.body === undefined ? '' : ` body(${Buffer.byteLength(req.body)}B)=${JSON.stringify(String(req.body).slice(0, 200))}`;
  return `${req.method} ${req.path.slice(0, 300)} headers=${JSON.stringify(req.headers ?? {}).slice(0, 300)}${body}`;
}

/** Send one request and check the invariants every response must meet. */
async function check(req: RawRequest, expected?: { status?: number; code?: string }): Promise<RawReply> {
  const before = await digest();
  const res = await send(req);
  const what = `${describeRequest(req)} -> ${res.status} ${res.text.slice(0, 300)}`;
  assert.ok(res.status >= 200 && res.status < 500, `no 5xx (nor anything odd): ${what}`);
  if (res.status >= 400) {
    if (req.method !== 'HEAD') {
      assert.match(String(res.headers['content-type']), /^application\/json/, `JSON error: ${what}`);
      const error = (res.json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      assert.ok(error && typeof error === 'object', `{ error: {...} } body: ${what}`);
      assert.ok(isErrorCode(error.code), `known error code: ${what}`);
      assert.equal(ERROR_STATUS[error.code], res.status, `status matches the code's: ${what}`);
      assert.equal(typeof error.message, 'string', `error message: ${what}`);
      seenCodes.set(error.code, (seenCodes.get(error.code) ?? 0) + 1);
    }
    assert.equal(await digest(), before, `a ${res.status} must change nothing: ${what}`);
  } else if (req.method === 'GET' || req.method === 'HEAD') {
    assert.equal(await digest(), before, `a GET must change nothing: ${what}`);
  }
  if (expected?.status !== undefined) assert.equal(res.status, expected.status, what);
  if (expected?.code !== undefined) assert.equal((res.json as { error?: { code?: string } }).error?.code, expected.code, what);
  return res;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const json = (body: unknown) => JSON.stringify(body);

// ---------------------------------------------------------------- fixtures

type Actor = { name: string; headers: () => Record<string, string> };
let user: { userId: string; token: string };
let admin: { userId: string; token: string };
let other: { userId: string; token: string };
let showtime: { id: number; seats: string[] };
let movieId: number;
/** Ids of things that exist, so that fuzzed requests sometimes hit real rows. */
const existing = { holds: [] as string[], bookings: [] as string[] };

/** A fresh session of `userId` (for logout, which ends the session it is sent with). */
async function freshSession(userId: string): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await api.database.db.query("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, now() + interval '1 day')", [
    createHash('sha256').update(token).digest(), userId,
  ]);
  return token;
}

before(async () => {
  api = await startTestApi();
  port = Number(new URL(api.url).port);
  user = await signedUpClient(api.url, 'fuzz-user');
  other = await signedUpClient(api.url, 'fuzz-other');
  admin = await signedUpClient(api.url, 'fuzz-admin');
  await api.database.db.query("UPDATE users SET role = 'admin' WHERE id = $1", [admin.userId]);
  showtime = await findShowtime(api.database.db, 'Boutique');
  movieId = (await api.database.db.query<{ movie_id: number }>('SELECT movie_id FROM showtimes WHERE id = $1', [showtime.id])).rows[0]!.movie_id;
  // A hold and a booking of each user's, on the last row (E), out of the way of the targeted cases.
  for (const [who, seat, holdSeat] of [[user, 'E1', 'E2'], [other, 'E3', 'E4']] as const) {
    const c = client(api.url, who.token);
    const hold = await c.post('/api/holds', { showtimeId: showtime.id, seats: [holdSeat] });
    assert.equal(hold.status, 201);
    existing.holds.push(hold.body.hold.id);
    const booking = await c.post('/api/bookings', { showtimeId: showtime.id, seats: [seat] });
    assert.equal(booking.status, 201);
    existing.bookings.push(booking.body.booking.id);
  }
});

after(async () => {
  await api?.close();
});

const ACTORS: Actor[] = [
  { name: 'anonymous', headers: () => ({}) },
  { name: 'user', headers: () => ({ authorization: `Bearer ${user.token}` }) },
  { name: 'admin', headers: () => ({ authorization: `Bearer ${admin.token}` }) },
  { name: 'user by cookie', headers: () => ({ cookie: `theme=dark; mb_session=${user.token}` }) },
  { name: 'unknown token', headers: () => ({ authorization: `Bearer ${randomBytes(32).toString('base64url')}` }) },
  { name: 'junk bearer', headers: () => ({ authorization: 'Bearer ../../%00 <script>' }) },
  { name: 'junk scheme', headers: () => ({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }) },
  { name: 'broken cookie', headers: () => ({ cookie: 'mb_session=%E0%A4%A; other=%' }) },
];
// Counterexamples show an actor by its name.
for (const actor of ACTORS) Object.assign(actor, { [fc.toStringMethod]: () => `actor(${actor.name})` });
const actorArb = fc.constantFrom(...ACTORS);

// ---------------------------------------------------------------- generators

/** Percent-encode every byte of the UTF-8 form except unreserved characters (lone surrogates become U+FFFD). */
function pct(s: string): string {
  return [...Buffer.from(s, 'utf8')].map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

/** Path parameter candidates, already in URL form. */
const pathParamArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('1', '0', '-1', '1.5', '1e3', '0x10', '+7', '%201', '9007199254740991', '9007199254740993', '99999999999999999999999999',
    'NaN', 'Infinity', 'null', 'undefined', 'true', '[]', '%00', '%E0', '%E0%A4%A', '%', '..', '%2e%2e', '%2F', 'a%2Fb', '%C3%A9', '%F0%9F%8E%AC'),
  fc.integer().map(String),
  fc.uuid(),
  fc.constant(0).map(() => existing.holds[0] ?? randomUUID()),
  fc.constant(0).map(() => existing.bookings[1] ?? randomUUID()),
  fc.string({ unit: 'binary', maxLength: 40 }).map(pct),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }).map(pct),
  fc.integer({ min: 101, max: 400 }).map((n) => 'x'.repeat(n)),
);

/** Query strings, sometimes with broken %-encoding, repeated keys or huge values. */
const queryArb = (keys: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant('') },
    {
      weight: 5,
      arbitrary: fc
        .array(
          fc.tuple(
            fc.oneof(fc.constantFrom(...keys, 'id', 'userId', '__proto__', 'constructor', 'a[b]', ''), fc.string({ maxLength: 8 })),
            fc.oneof(
              fc.string({ unit: 'binary', maxLength: 30 }).map(pct),
              fc.constantFrom('%00', '%E0', '%', '1', '-1', randomUUID(), '', 'a'.repeat(5000), '%ZZ', 'x%00y'),
              fc.integer().map(String),
            ),
          ),
          { maxLength: 4 },
        )
        .map((pairs) => `?${pairs.map(([k, v]) => `${pct(k)}=${v}`).join('&')}`),
    },
    { weight: 1, arbitrary: fc.constantFrom('?', '?&&', '?=', '?a', '?%', '?a=1&a=2&a=3', '?search=%00', '?genre=%E0%A4%A') },
  );

/** Values of the wrong type, in odd forms, for any field. */
const weirdValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(-1, 0, 1.5, -0.5, 1e308, -1e308, 2 ** 31, 2 ** 53 + 2, 9007199254740991, '', ' ', '\u0000', 'a\u0000b', '\ud800', '1', 'true', null, true, false, [], {}, [null], { $gt: '' }),
  fc.integer({ min: 256, max: 8_000 }).map((n) => 'é'.repeat(n)),
);

type Field = fc.Arbitrary<unknown>;
const seatArb = fc.oneof(fc.constantFrom('A1', 'b2', ' C3 ', 'E5', 'Z9', 'A7', 'ß', ''), fc.string({ maxLength: 9 }));
const FIELDS: Record<string, Field> = {
  showtimeId: fc.oneof(fc.constant(0).map(() => showtime.id), fc.integer(), weirdValueArb),
  movieId: fc.oneof(fc.constant(0).map(() => movieId), fc.integer(), weirdValueArb),
  screenId: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer(), fc.constant(2 ** 40), weirdValueArb),
  seats: fc.oneof(fc.array(seatArb, { maxLength: 14 }), weirdValueArb),
  holdId: fc.oneof(fc.constant(0).map(() => existing.holds[1] ?? randomUUID()), fc.uuid(), weirdValueArb),
  startsAt: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.constantFrom('2030-02-30T00:00:00Z', '0000-01-01T00:00:00Z', 'tomorrow'), weirdValueArb),
  email: fc.oneof(fc.emailAddress(), fc.constantFrom('a@b', 'not-an-email', `${'a'.repeat(250)}@x.io`, 'x\u0000@y.io'), weirdValueArb),
  name: fc.oneof(fc.string({ maxLength: 120 }), weirdValueArb),
  password: fc.oneof(fc.string({ maxLength: 210 }), weirdValueArb),
  title: fc.oneof(fc.string({ maxLength: 210 }), weirdValueArb),
  description: fc.oneof(fc.string({ maxLength: 50 }), weirdValueArb),
  genre: fc.oneof(fc.string({ maxLength: 50 }), weirdValueArb),
  certificate: fc.oneof(fc.string({ maxLength: 12 }), weirdValueArb),
  rating: fc.oneof(fc.double(), weirdValueArb),
  durationMin: fc.oneof(fc.integer({ min: -5, max: 700 }), weirdValueArb),
  releaseYear: fc.oneof(fc.integer({ min: 1800, max: 2300 }), weirdValueArb),
  posterHue: fc.oneof(fc.integer({ min: -5, max: 400 }), weirdValueArb),
  totalCents: fc.oneof(fc.integer(), weirdValueArb),
  algorithm: fc.oneof(fc.constantFrom('bully', 'ring'), weirdValueArb),
};

type BodyKind = 'json' | 'malformed' | 'too-large' | 'wrong-type' | 'none';
type Body = { kind: BodyKind; headers: Record<string, string>; body?: string; tooLarge?: { size: number; shape: 'string' | 'array' } };

/** The bytes to send (an oversized body is only built here, to keep counterexamples readable). */
function bodyText(b: Body): string | undefined {
  if (!b.tooLarge) return b.body;
  const { size, shape } = b.tooLarge;
  return shape === 'string' ? json({ seats: ['A1'], title: 'x'.repeat(size) }) : json(Array.from({ length: Math.ceil(size / 2) }, () => 1));
}

const JSON_CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8'];
const OTHER_CONTENT_TYPES = [
  'text/plain', 'text/plain; charset=utf-8', 'application/xml', 'text/html', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
  'application/octet-stream', 'application/jsonx', 'image/png', 'garbage',
];

function bodyArb(fields: string[]): fc.Arbitrary<Body> {
  const structured = fc
    .tuple(
      fc.record(Object.fromEntries(fields.map((f) => [f, FIELDS[f]!])), { requiredKeys: [] }),
      fc.dictionary(fc.string({ maxLength: 10 }), weirdValueArb, { maxKeys: 2 }),
    )
    .map(([known, extra]) => ({ ...extra, ...known }));
  const jsonText = fc.oneof(
    { weight: 5, arbitrary: structured.map(json) },
    { weight: 2, arbitrary: fc.jsonValue().map(json) },
    { weight: 1, arbitrary: fc.anything().map((v) => { try { return JSON.stringify(v) ?? 'null'; } catch { return 'null'; } }) },
  );
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(jsonText, fc.constantFrom(...JSON_CONTENT_TYPES)).map(([body, ct]): Body => ({ kind: 'json', headers: { 'content-type': ct }, body })) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.oneof(
            fc.constantFrom('{', '{"a":', '[1,]', "{'a':1}", 'nul', '{"a":1}}', '\u0000', '{"a":"\\x"}', 'undefined', '{"a":1,}', ' '),
            fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).filter((s) => { try { JSON.parse(s); return false; } catch { return s.trim() !== ''; } }),
          ),
          fc.constantFrom(...JSON_CONTENT_TYPES),
        )
        .map(([body, ct]): Body => ({ kind: 'malformed', headers: { 'content-type': ct }, body })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: BODY_LIMIT + 1, max: 3 * BODY_LIMIT }), fc.constantFrom('string', 'array'))
        .map(([size, shape]): Body => ({ kind: 'too-large', headers: JSON_TYPE, tooLarge: { size, shape } })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(jsonText, fc.constantFrom(...OTHER_CONTENT_TYPES))
        .map(([body, ct]): Body => ({ kind: 'wrong-type', headers: { 'content-type': ct }, body: body || '{}' })),
    },
    { weight: 1, arbitrary: fc.constant<Body>({ kind: 'none', headers: {} }) },
  );
}

// ---------------------------------------------------------------- endpoints

type Endpoint = {
  method: 'GET' | 'POST' | 'DELETE';
  /** With `:p` where the path parameter goes. */
  path: string;
  auth: 'public' | 'user' | 'admin';
  fields?: string[];
  query?: string[];
  idempotencyKey?: boolean;
};

const ENDPOINTS: Endpoint[] = [
  { method: 'GET', path: '/api/health', auth: 'public' },
  { method: 'GET', path: '/api/health/live', auth: 'public' },
  { method: 'GET', path: '/api/health/ready', auth: 'public' },
  { method: 'GET', path: '/api/movies', auth: 'public', query: ['id', 'search', 'genre'] },
  { method: 'POST', path: '/api/movies', auth: 'admin', fields: ['title', 'description', 'genre', 'certificate', 'rating', 'durationMin', 'releaseYear', 'posterHue'] },
  { method: 'GET', path: '/api/movies/:p', auth: 'public' },
  { method: 'GET', path: '/api/screens', auth: 'public' },
  { method: 'POST', path: '/api/showtimes', auth: 'admin', fields: ['movieId', 'screenId', 'startsAt'] },
  { method: 'GET', path: '/api/showtimes/:p', auth: 'public' },
  { method: 'POST', path: '/api/holds', auth: 'user', fields: ['showtimeId', 'seats'] },
  { method: 'DELETE', path: '/api/holds/:p', auth: 'user' },
  { method: 'POST', path: '/api/bookings', auth: 'user', fields: ['holdId', 'showtimeId', 'seats', 'totalCents'], idempotencyKey: true },
  { method: 'GET', path: '/api/bookings', auth: 'user', query: ['userId'] },
  { method: 'GET', path: '/api/bookings/:p', auth: 'user' },
  { method: 'POST', path: '/api/bookings/:p/cancel', auth: 'user' },
  { method: 'POST', path: '/api/auth/signup', auth: 'public', fields: ['email', 'name', 'password'] },
  { method: 'POST', path: '/api/auth/login', auth: 'public', fields: ['email', 'password'] },
  { method: 'POST', path: '/api/auth/logout', auth: 'public' },
  { method: 'GET', path: '/api/auth/me', auth: 'user' },
  // Cluster endpoints exist on every node; outside a cluster (as here) they answer 4xx.
  { method: 'GET', path: '/api/sync', auth: 'public' },
  { method: 'GET', path: '/api/election', auth: 'public' },
  { method: 'POST', path: '/api/election', auth: 'admin', fields: ['algorithm'] },
  { method: 'POST', path: '/api/peer', auth: 'public', fields: ['from', 'to', 'type', 'body'] },
];
for (const f of ['from', 'to', 'type', 'body']) FIELDS[f] ??= weirdValueArb;

const idempotencyKeyArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.stringMatching(/^[\x21-\x7e]{1,20}$/) },
  { weight: 2, arbitrary: fc.constantFrom('', ' ', 'a b', 'k'.repeat(256), 'k'.repeat(255), 'ключ', '\u00ff\u00fe', 'key\t1', 'fixed-key') },
);

type FuzzCase = { actor: Actor; param: string; query: string; body: Body; key: string | undefined };

function caseArb(e: Endpoint): fc.Arbitrary<FuzzCase> {
  return fc.record({
    actor: actorArb,
    param: pathParamArb,
    query: e.query || e.method === 'GET' ? queryArb(e.query ?? []) : fc.constant(''),
    body: e.method === 'GET' ? fc.constant<Body>({ kind: 'none', headers: {} }) : e.fields ? bodyArb(e.fields) : fc.oneof(fc.constant<Body>({ kind: 'none', headers: {} }), bodyArb([])),
    key: e.idempotencyKey ? idempotencyKeyArb : fc.constant(undefined),
  });
}

/** Path parameters the router itself refuses (broken %-encoding, over 100 characters) or that change the route. */
function routable(param: string): boolean {
  if (param.length > 100 || /%(?![0-9A-F]{2})/i.test(param)) return false;
  try {
    const decoded = decodeURIComponent(param);
    return !decoded.includes('/') && decoded !== '' && !/^\.\.?$/.test(decoded) && !/[\u0000-\u001f]/.test(decoded);
  } catch {
    return false;
  }
}

async function runCase(e: Endpoint, c: FuzzCase): Promise<void> {
  const headers: Record<string, string> = { ...c.actor.headers(), ...c.body.headers };
  if (c.key !== undefined) headers['idempotency-key'] = c.key;
  if (e.path === '/api/auth/logout') {
    // Logging out ends the session it is sent with: use a throwaway one.
    if (c.actor.name === 'user' || c.actor.name === 'admin') headers.authorization = `Bearer ${await freshSession(c.actor.name === 'user' ? user.userId : admin.userId)}`;
    if (c.actor.name === 'user by cookie') headers.cookie = `mb_session=${await freshSession(user.userId)}`;
  }
  const path = e.path.replace(':p', c.param) + c.query;
  const body = bodyText(c.body);
  const req: RawRequest = { method: e.method, path, headers, ...(body === undefined ? {} : { body }) };
  const res = await check(req);

  // What the kind of input decides on its own, before any route code runs.
  const code = (res.json as { error?: { code?: string } } | undefined)?.error?.code;
  const paramOk = !e.path.includes(':p') || routable(c.param);
  const queryOk = !/%(?![0-9A-F]{2})/i.test(c.query);
  const what = `${describeRequest(req)} -> ${res.status} ${res.text.slice(0, 200)}`;
  if (!paramOk || !queryOk) return;
  // (Several huge fields together can also take a JSON body over the limit.) Signed peer messages
  // have a limit of their own (1 MiB: replication splits larger messages).
  const limit = e.path === '/api/peer' ? PEER_BODY_LIMIT : BODY_LIMIT;
  const tooLarge = body !== undefined && Buffer.byteLength(body) > limit;
  if (c.body.kind === 'too-large' && e.path !== '/api/peer') assert.ok(tooLarge, `an oversized body: ${what}`);
  if (e.method !== 'GET') {
    if (c.body.kind === 'wrong-type') assert.ok(code === 'UNSUPPORTED_MEDIA_TYPE' || (tooLarge && code === 'PAYLOAD_TOO_LARGE'), what);
    else if (tooLarge) assert.equal(code, 'PAYLOAD_TOO_LARGE', what);
    // (Peer messages are authenticated before they are parsed: an unsigned one never reaches JSON.parse.)
    else if (c.body.kind === 'malformed' && e.path !== '/api/peer') assert.equal(code, 'INVALID_JSON', what);
  }
  // (A valid JSON body with a __proto__ or constructor.prototype key is refused as INVALID_JSON.)
  const bodyParsed = c.body.kind === 'none' || (c.body.kind === 'json' && !tooLarge && !/__proto__|constructor/.test(c.body.body ?? ''));
  const anonymous = !['user', 'admin', 'user by cookie'].includes(c.actor.name);
  if (bodyParsed && e.auth !== 'public' && anonymous) assert.equal(code, 'UNAUTHENTICATED', what);
  if (bodyParsed && e.auth === 'admin' && (c.actor.name === 'user' || c.actor.name === 'user by cookie')) assert.equal(code, 'FORBIDDEN', what);
}

// ---------------------------------------------------------------- targeted cases (first: the fuzzing may take seats)

describe('targeted invalid input', () => {
  const as = (token?: string, extra: Record<string, string> = {}) => ({ ...(token ? { authorization: `Bearer ${token}` } : {}), ...JSON_TYPE, ...extra });
  const post = (path: string, body: unknown, token?: string, extra?: Record<string, string>) =>
    ({ method: 'POST', path, headers: as(token, extra), body: typeof body === 'string' ? body : json(body) });

  test('wrong types are VALIDATION_FAILED', async () => {
    const bad = { status: 400, code: 'VALIDATION_FAILED' };
    await check(post('/api/holds', { showtimeId: 'abc', seats: ['A1'] }, user.token), bad);
    await check(post('/api/holds', { showtimeId: showtime.id, seats: 'A1' }, user.token), bad);
    await check(post('/api/holds', { showtimeId: showtime.id, seats: [1, 2] }, user.token), bad);
    await check(post('/api/holds', { showtimeId: 1.5, seats: ['A1'] }, user.token), bad);
    await check(post('/api/holds', { showtimeId: -3, seats: ['A1'] }, user.token), bad);
    await check(post('/api/holds', { showtimeId: showtime.id, seats: ['A1'.repeat(5)] }, user.token), bad);
    await check(post('/api/holds', [showtime.id, ['A1']], user.token), bad);
    await check(post('/api/holds', 'null', user.token), bad);
    await check(post('/api/holds', '"A1"', user.token), bad);
    await check(post('/api/bookings', { holdId: 'not-a-uuid' }, user.token), bad);
    await check(post('/api/bookings', { showtimeId: showtime.id, seats: [null] }, user.token), bad);
    await check(post('/api/auth/signup', { email: 'x@example.test', name: 'X', password: 12345678 }), bad);
    await check(post('/api/auth/signup', { email: 'not an email', name: 'X', password: '12345678' }), bad);
    await check(post('/api/auth/signup', { email: 'y@example.test', name: 'Y', password: 'short' }), bad);
    await check(post('/api/auth/signup', { email: 'z@example.test', name: 'Z\u0000', password: 'long enough' }), bad);
    await check(post('/api/auth/login', { email: ['a'], password: 'x' }), bad);
    await check(post('/api/auth/login', { email: 'a\u0000b@example.test', password: 'whatever' }), bad);
    await check(post('/api/movies', { title: 'T', genre: 'G', durationMin: '90' }, admin.token), bad);
    await check(post('/api/movies', { title: 'Nul\u0000title', genre: 'G', durationMin: 90 }, admin.token), bad);
    await check(post('/api/movies', { title: 'T', genre: 'G', durationMin: 90, rating: 11 }, admin.token), bad);
    await check(post('/api/showtimes', { movieId, screenId: 1, startsAt: 'next tuesday' }, admin.token), bad);
    await check(post('/api/showtimes', { movieId, screenId: 2 ** 40, startsAt: '2031-01-01T10:00:00Z' }, admin.token), bad);
    await check(post('/api/showtimes', { movieId, screenId: 999_999, startsAt: '2031-01-01T10:00:00Z' }, admin.token), bad);
    for (const path of ['/api/movies/abc', '/api/movies/0', '/api/movies/-1', '/api/showtimes/1.5', '/api/showtimes/%00', '/api/movies/%E0', `/api/movies/${'9'.repeat(200)}`]) {
      await check({ method: 'GET', path }, bad);
    }
    for (const path of ['/api/movies?id=abc', '/api/movies?search=%00', `/api/movies?search=${'s'.repeat(101)}`, '/api/movies?genre=a%00b', '/api/movies?search=a&search=b']) {
      const res = await check({ method: 'GET', path });
      assert.ok(res.status === 200 || res.status === 400, `${path}: ${res.status}`);
      if (res.status !== 200) assert.equal((res.json as { error: { code: string } }).error.code, 'VALIDATION_FAILED');
    }
    for (const path of ['/api/holds/123', '/api/holds/%E0']) await check({ method: 'DELETE', path, headers: { authorization: `Bearer ${user.token}` } }, bad);
    await check({ method: 'GET', path: '/api/bookings/nope', headers: { authorization: `Bearer ${user.token}` } }, bad);
    await check({ method: 'POST', path: '/api/bookings/nope/cancel', headers: { authorization: `Bearer ${user.token}` } }, bad);
  });

  test('missing fields are VALIDATION_FAILED', async () => {
    const bad = { status: 400, code: 'VALIDATION_FAILED' };
    await check(post('/api/holds', {}, user.token), bad);
    await check(post('/api/holds', { seats: ['A1'] }, user.token), bad);
    await check(post('/api/holds', { showtimeId: showtime.id }, user.token), bad);
    await check(post('/api/bookings', {}, user.token), bad);
    await check(post('/api/bookings', { showtimeId: showtime.id }, user.token), bad);
    await check(post('/api/bookings', { seats: ['A1'] }, user.token), bad);
    await check(post('/api/auth/signup', { email: 'm@example.test', password: 'long enough' }), bad);
    await check(post('/api/auth/login', { email: 'm@example.test' }), bad);
    await check(post('/api/movies', { title: 'No genre', durationMin: 90 }, admin.token), bad);
    await check(post('/api/showtimes', { movieId, startsAt: '2031-01-01T10:00:00Z' }, admin.token), bad);
    await check({ method: 'POST', path: '/api/holds', headers: { authorization: `Bearer ${user.token}` } }, bad);
  });

  test('unknown showtimes are SHOWTIME_NOT_FOUND; unknown movies, holds and bookings are their NOT_FOUNDs', async () => {
    const missing = { status: 404, code: 'SHOWTIME_NOT_FOUND' };
    await check({ method: 'GET', path: '/api/showtimes/987654321' }, missing);
    await check(post('/api/holds', { showtimeId: 987654321, seats: ['A1'] }, user.token), missing);
    await check(post('/api/bookings', { showtimeId: 9007199254740991, seats: ['A1'] }, user.token), missing);
    await check({ method: 'GET', path: '/api/movies/987654321' }, { status: 404, code: 'MOVIE_NOT_FOUND' });
    await check({ method: 'GET', path: '/api/movies?id=987654321' }, { status: 404, code: 'MOVIE_NOT_FOUND' });
    await check(post('/api/showtimes', { movieId: 987654321, screenId: 1, startsAt: '2031-01-01T10:00:00Z' }, admin.token), { status: 404, code: 'MOVIE_NOT_FOUND' });
    await check({ method: 'DELETE', path: `/api/holds/${randomUUID()}`, headers: { authorization: `Bearer ${user.token}` } }, { status: 404, code: 'HOLD_NOT_FOUND' });
    await check(post('/api/bookings', { holdId: randomUUID() }, user.token), { status: 404, code: 'HOLD_NOT_FOUND' });
    await check({ method: 'GET', path: `/api/bookings/${randomUUID()}`, headers: { authorization: `Bearer ${user.token}` } }, { status: 404, code: 'BOOKING_NOT_FOUND' });
    await check({ method: 'POST', path: `/api/bookings/${randomUUID()}/cancel`, headers: { authorization: `Bearer ${user.token}` } }, { status: 404, code: 'BOOKING_NOT_FOUND' });
    // Someone else's hold or booking is reported as missing, not forbidden.
    await check({ method: 'DELETE', path: `/api/holds/${existing.holds[1]}`, headers: { authorization: `Bearer ${user.token}` } }, { status: 404, code: 'HOLD_NOT_FOUND' });
    await check(post('/api/bookings', { holdId: existing.holds[1] }, user.token), { status: 404, code: 'HOLD_NOT_FOUND' });
    await check({ method: 'GET', path: `/api/bookings/${existing.bookings[1]}`, headers: { authorization: `Bearer ${user.token}` } }, { status: 404, code: 'BOOKING_NOT_FOUND' });
    await check({ method: 'POST', path: `/api/bookings/${existing.bookings[1]}/cancel`, headers: { authorization: `Bearer ${user.token}` } }, { status: 404, code: 'BOOKING_NOT_FOUND' });
  });

  test('seat lists: UNKNOWN_SEATS (exact seats), DUPLICATE_SEATS, NO_SEATS, TOO_MANY_SEATS', async () => {
    type Err = { error: { code: string; details?: { seats?: string[]; max?: number; requested?: number } } };
    for (const path of ['/api/holds', '/api/bookings']) {
      // Boutique: row A has 6 seats, row E has 6; there is no row Z.
      const unknown = await check(post(path, { showtimeId: showtime.id, seats: ['a7', 'B1', ' z9 ', 'E7', 'A6'] }, user.token), { status: 422, code: 'UNKNOWN_SEATS' });
      assert.deepEqual((unknown.json as Err).error.details?.seats, ['A7', 'Z9', 'E7']);
      const dup = await check(post(path, { showtimeId: showtime.id, seats: ['B1', 'b1 ', 'C2', 'C2', 'C3'] }, user.token), { status: 422, code: 'DUPLICATE_SEATS' });
      assert.deepEqual((dup.json as Err).error.details?.seats, ['B1', 'C2']);
      await check(post(path, { showtimeId: showtime.id, seats: [] }, user.token), { status: 422, code: 'NO_SEATS' });
      const eleven = showtime.seats.slice(6, 17);
      assert.equal(eleven.length, 11);
      const many = await check(post(path, { showtimeId: showtime.id, seats: eleven }, user.token), { status: 422, code: 'TOO_MANY_SEATS' });
      assert.deepEqual((many.json as Err).error.details, { max: 10, requested: 11 });
      // Ten is fine (checked without keeping them), by an account that holds nothing else (the cap
      // on seats held at once is MAX_SEATS_PER_BOOKING too).
      if (path === '/api/holds') {
        const ten = await check(post(path, { showtimeId: showtime.id, seats: showtime.seats.slice(6, 16) }, admin.token), { status: 201 });
        const holdId = (ten.json as { hold: { id: string } }).hold.id;
        await check({ method: 'DELETE', path: `/api/holds/${holdId}`, headers: { authorization: `Bearer ${admin.token}` } }, { status: 200 });
      }
    }
  });

  test('the same Idempotency-Key with a different body is IDEMPOTENCY_KEY_REUSED; the same body replays', async () => {
    const key = `fuzz-${randomUUID()}`;
    const first = await check(post('/api/bookings', { showtimeId: showtime.id, seats: ['D1'] }, user.token, { 'idempotency-key': key }), { status: 201 });
    const replay = await check(post('/api/bookings', { showtimeId: showtime.id, seats: [' d1'] }, user.token, { 'idempotency-key': key }), { status: 201 });
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal((replay.json as { booking: { id: string } }).booking.id, (first.json as { booking: { id: string } }).booking.id);
    await check(post('/api/bookings', { showtimeId: showtime.id, seats: ['D2'] }, user.token, { 'idempotency-key': key }), { status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    await check(post('/api/bookings', { holdId: existing.holds[0] }, user.token, { 'idempotency-key': key }), { status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    // Another user's identical key is theirs alone.
    await check(post('/api/bookings', { showtimeId: showtime.id, seats: ['D2'] }, other.token, { 'idempotency-key': key }), { status: 201 });
    for (const bad of ['', ' ', 'k'.repeat(256), 'tab\there', '\u00e9t\u00e9']) {
      await check(post('/api/bookings', { showtimeId: showtime.id, seats: ['D3'] }, user.token, { 'idempotency-key': bad }), { status: 400, code: 'INVALID_IDEMPOTENCY_KEY' });
    }
  });

  test('a client-sent price is ignored: the server computes the total', async () => {
    const map = await client(api.url).get<{ seats: { id: string; priceCents: number }[] }>(`/api/showtimes/${showtime.id}`);
    const price = new Map(map.body.seats.map((s) => [s.id, s.priceCents]));
    const seats = ['D4', 'E5'];
    const expected = seats.reduce((sum, s) => sum + price.get(s)!, 0);
    assert.ok(expected > 0);
    const res = await check(post('/api/bookings', { showtimeId: showtime.id, seats, totalCents: 1, priceCents: 0, price: 0.01, seatsPrice: { D4: 0 } }, user.token), { status: 201 });
    const booking = (res.json as { booking: { id: string; totalCents: number; seats: { priceCents: number }[] } }).booking;
    assert.equal(booking.totalCents, expected);
    assert.deepEqual(booking.seats.map((s) => s.priceCents), seats.map((s) => price.get(s)));
    const stored = await api.database.db.query<{ total_cents: number }>('SELECT total_cents FROM bookings WHERE id = $1', [booking.id]);
    assert.equal(stored.rows[0]!.total_cents, expected);
    const hold = await check(post('/api/holds', { showtimeId: showtime.id, seats: ['D5'], totalCents: 0 }, user.token), { status: 201 });
    assert.equal((hold.json as { hold: { totalCents: number } }).hold.totalCents, price.get('D5'));
  });

  test("?userId= of someone else is FORBIDDEN for a user, allowed for the admin", async () => {
    const mine = await check({ method: 'GET', path: `/api/bookings?userId=${user.userId}`, headers: { authorization: `Bearer ${user.token}` } }, { status: 200 });
    assert.ok((mine.json as { bookings: unknown[] }).bookings.length > 0);
    await check({ method: 'GET', path: `/api/bookings?userId=${other.userId}`, headers: { authorization: `Bearer ${user.token}` } }, { status: 403, code: 'FORBIDDEN' });
    await check({ method: 'GET', path: `/api/bookings?userId=${randomUUID()}`, headers: { authorization: `Bearer ${user.token}` } }, { status: 403, code: 'FORBIDDEN' });
    await check({ method: 'GET', path: '/api/bookings?userId=someone', headers: { authorization: `Bearer ${user.token}` } }, { status: 400, code: 'VALIDATION_FAILED' });
    await check({ method: 'GET', path: `/api/bookings?userId=${other.userId}` }, { status: 401, code: 'UNAUTHENTICATED' });
    const theirs = await check({ method: 'GET', path: `/api/bookings?userId=${other.userId}`, headers: { authorization: `Bearer ${admin.token}` } }, { status: 200 });
    const ids = (theirs.json as { bookings: { id: string; userId: string }[] }).bookings;
    assert.ok(ids.length > 0 && ids.every((b) => b.userId === other.userId));
  });

  test('authentication and authorisation failures', async () => {
    const anon = { status: 401, code: 'UNAUTHENTICATED' };
    await check(post('/api/holds', { showtimeId: showtime.id, seats: ['A1'] }), anon);
    await check(post('/api/bookings', { showtimeId: showtime.id, seats: ['A1'] }, undefined, { 'idempotency-key': 'k' }), anon);
    await check({ method: 'GET', path: '/api/bookings' }, anon);
    await check({ method: 'GET', path: '/api/auth/me', headers: { cookie: 'mb_session=%E0%A4%A' } }, anon);
    await check({ method: 'GET', path: '/api/auth/me', headers: { authorization: 'Bearer ' } }, anon);
    await check({ method: 'GET', path: '/api/auth/me', headers: { authorization: `Bearer ${'a'.repeat(101)}` } }, anon);
    await check(post('/api/auth/logout', '{}', undefined, { cookie: 'mb_session=%' }), { status: 200 });
    await check(post('/api/movies', { title: 'Mine', genre: 'G', durationMin: 90 }), anon);
    await check(post('/api/movies', { title: 'Mine', genre: 'G', durationMin: 90 }, user.token), { status: 403, code: 'FORBIDDEN' });
    await check(post('/api/showtimes', { movieId, screenId: 1, startsAt: '2031-01-01T10:00:00Z' }, user.token), { status: 403, code: 'FORBIDDEN' });
    await check(post('/api/auth/login', { email: 'nobody@example.test', password: 'whatever' }), { status: 401, code: 'INVALID_CREDENTIALS' });
    const email = (await api.database.db.query<{ email: string }>('SELECT email FROM users WHERE id = $1', [user.userId])).rows[0]!.email;
    await check(post('/api/auth/login', { email, password: 'wrong password' }), { status: 401, code: 'INVALID_CREDENTIALS' });
    await check(post('/api/auth/signup', { email: email.toUpperCase(), name: 'Again', password: 'long enough' }), { status: 409, code: 'EMAIL_TAKEN' });
  });

  test('bodies: too large, malformed JSON, wrong content types', async () => {
    const big = json({ showtimeId: showtime.id, seats: ['A1'], pad: 'x'.repeat(BODY_LIMIT) });
    for (const path of ['/api/holds', '/api/bookings', '/api/auth/signup', '/api/auth/login', '/api/movies', '/api/auth/logout']) {
      await check(post(path, big, user.token), { status: 413, code: 'PAYLOAD_TOO_LARGE' });
      await check(post(path, big), { status: 413, code: 'PAYLOAD_TOO_LARGE' });
      for (const broken of ['{', '{"showtimeId": 1,', "{'a': 1}", 'NaN', '{"__proto__": {"x": 1}}', '{"constructor": {"prototype": {"x": 1}}}']) {
        await check(post(path, broken, user.token), { status: 400, code: 'INVALID_JSON' });
      }
      await check({ method: 'POST', path, headers: as(user.token) , body: '' }, { status: 400, code: 'INVALID_JSON' });
      for (const contentType of OTHER_CONTENT_TYPES) {
        await check(post(path, json({ showtimeId: showtime.id, seats: ['A1'] }), user.token, { 'content-type': contentType }), { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
      }
      await check({ method: 'POST', path, headers: { authorization: `Bearer ${user.token}` }, body: '{"a":1}' }, { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    }
  });
});

// ---------------------------------------------------------------- fuzzing

describe('fuzzing every endpoint', () => {
  for (const e of ENDPOINTS) {
    test(`${e.method} ${e.path}`, async () => {
      await fc.assert(fc.asyncProperty(caseArb(e), (c) => runCase(e, c)), { numRuns: RUNS_PER_ENDPOINT, includeErrorInReport: true });
    });
  }

  test('unknown paths and methods', async () => {
    const methodArb = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'PURGE', 'SEARCH', 'LINK', 'FOO', 'BREW', 'M-SEARCH');
    const pathArb = fc.oneof(
      fc.constantFrom('/api', '/api/', '/api/movies/', '/api/movies/1/', '/api/showtimes', '/api/holds', '/api/bookings/x/y', '//api/movies',
        '/api/auth', '/api/auth/me/', '/api/%', '/api/%00', '/api/../api/health', '/API/movies', '/api/movies?', '/api/health#x'),
      fc.array(fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).map(pct), { minLength: 1, maxLength: 4 }).map((segments) => `/api/${segments.join('/')}`),
    );
    await fc.assert(
      fc.asyncProperty(methodArb, pathArb, actorArb, async (method, path, actor) => {
        const res = await check({ method, path, headers: actor.headers() });
        if (['FOO', 'BREW'].includes(method)) assert.equal(res.status, 405, `${method} ${path}`);
      }),
      { numRuns: 150, includeErrorInReport: true },
    );
    // Known paths with methods they do not have.
    for (const [method, path] of [['PUT', '/api/movies'], ['PATCH', '/api/bookings'], ['DELETE', '/api/movies/1'], ['GET', '/api/holds'], ['POST', '/api/health'], ['GET', '/api/auth/logout']]) {
      await check({ method: method!, path: path! }, { status: 404, code: 'NOT_FOUND' });
    }
    await check({ method: 'FOO', path: '/api/movies' }, { status: 405, code: 'METHOD_NOT_ALLOWED' });
  });
});

test('the fuzzing reached the interesting errors', () => {
  for (const code of ['VALIDATION_FAILED', 'INVALID_JSON', 'INVALID_IDEMPOTENCY_KEY', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'METHOD_NOT_ALLOWED',
    'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'SHOWTIME_NOT_FOUND', 'UNKNOWN_SEATS', 'DUPLICATE_SEATS', 'NO_SEATS', 'TOO_MANY_SEATS', 'IDEMPOTENCY_KEY_REUSED']) {
    assert.ok(seenCodes.has(code), `never saw ${code}: ${JSON.stringify(Object.fromEntries(seenCodes))}`);
  }
});
