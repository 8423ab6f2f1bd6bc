/**
 * The contract test: every operation of the OpenAPI document, called through the real gateway in
 * front of 3 real nodes, answers what the document says — each success validated with Ajv against
 * the schema in the document the gateway served (closed objects: an undocumented field fails), and
 * an error answer against the error schema. Coverage is checked too: an operation of the document
 * that no call reached with a success fails the test (the peer endpoint, signed envelopes only,
 * is checked for its refusal).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { requestLine } from '../client/api';
import { waitFor } from '../harness/cluster';
import { findShowtime } from '../harness/helpers';
import { systemForTests } from '../harness/system';
import { openApiPath, splitKey } from './keys';
import { operations, type Operation, type OperationKey } from './operations';

const system = systemForTests(3);

type Document = {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content: Record<string, { schema: object }> }> }>
  >;
};
type Answer = { status: number; body: unknown; headers: Headers };
type Call = {
  params?: Record<string, string | number>;
  query?: object;
  body?: unknown;
  token?: string;
  node?: string;
  headers?: Record<string, string>;
};

let document: Document;
let admin: string;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
const validators = new Map<string, ValidateFunction>();
const answered = new Set<OperationKey>();

before(async () => {
  await system.ready;
  admin = await system.cluster.adminToken();
  const res = await fetch(`${system.gateway.url}/api/openapi.json`);
  assert.equal(res.status, 200);
  document = (await res.json()) as Document;
});

async function call(key: OperationKey, input: Call = {}): Promise<Answer> {
  const [method, path] = requestLine(key, input);
  const res = await fetch(system.gateway.url + path, {
    method,
    headers: {
      ...(input.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(input.token ? { authorization: `Bearer ${input.token}` } : {}),
      ...(input.node ? { 'x-node': input.node } : {}),
      ...input.headers,
    },
    ...(input.body === undefined ? {} : { body: JSON.stringify(input.body) }),
  });
  const text = await res.text();
  const json = res.headers.get('content-type')?.startsWith('application/json');
  return { status: res.status, body: json ? JSON.parse(text) : text, headers: res.headers };
}

/** The document's schema of `key`'s answer with `status` (else its `default`: the error shape). */
function validatorOf(
  key: OperationKey,
  status: number,
  media = 'application/json',
): ValidateFunction {
  const id = `${key} ${status} ${media}`;
  let validate = validators.get(id);
  if (!validate) {
    const [method, path] = splitKey(key);
    const op = document.paths[openApiPath(path)]?.[method.toLowerCase()];
    assert.ok(op, `${key} is in the document`);
    const response = op.responses[String(status)] ?? op.responses.default!;
    validate = ajv.compile(response.content[media]!.schema);
    validators.set(id, validate);
  }
  return validate;
}

function conforms(key: OperationKey, status: number, body: unknown, media?: string): void {
  const validate = validatorOf(key, status, media);
  assert.ok(
    validate(body),
    `${key} → ${status} does not match the document: ${ajv.errorsText(validate.errors)}\n` +
      JSON.stringify(body).slice(0, 600),
  );
}

/** A success of `key`: the status the contract names, and a body that matches the document. */
async function succeeds<T = Record<string, unknown>>(
  key: OperationKey,
  input: Call = {},
): Promise<T> {
  const res = await call(key, input);
  const op: Operation = operations[key];
  assert.equal(res.status, op.status ?? 200, `${key}: ${JSON.stringify(res.body).slice(0, 400)}`);
  conforms(key, res.status, res.body, op.media);
  answered.add(key);
  return res.body as T;
}

/** An error of `key`: the status, the code, and the document's error shape. */
async function fails(key: OperationKey, input: Call, status: number, code: string): Promise<void> {
  const res = await call(key, input);
  assert.equal(res.status, status, `${key}: ${JSON.stringify(res.body).slice(0, 400)}`);
  conforms(key, res.status, res.body);
  assert.equal((res.body as { error: { code: string } }).error.code, code);
}

/** The first `seats` event of a showtime's stream after `act`, validated as the document says. */
async function firstSeatsEvent(showtimeId: number, act: () => Promise<unknown>): Promise<unknown> {
  const key = 'GET /api/showtimes/:id/events';
  const controller = new AbortController();
  const res = await fetch(
    `${system.gateway.url}${requestLine(key, { params: { id: showtimeId } })[1]}`,
    {
      signal: controller.signal,
    },
  );
  assert.equal(res.status, 200);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  const next = async () => {
    const { value, done } = await reader.read();
    assert.ok(!done, 'the stream ended');
    text += value;
  };
  while (!text.includes('event: hello')) await next();
  await act();
  const deadline = Date.now() + 10_000;
  let frame: RegExpExecArray | null = null;
  while (!(frame = /event: seats\ndata: (.*)\n\n/.exec(text))) {
    assert.ok(Date.now() < deadline, 'no seats event within 10 s');
    await next();
  }
  controller.abort();
  const data: unknown = JSON.parse(frame[1]!);
  conforms(key, 200, data, 'text/event-stream');
  answered.add(key);
  return data;
}

test('health, the contract itself and accounts', async () => {
  await succeeds('GET /api/health/live');
  await succeeds('GET /api/health/ready');
  await succeeds('GET /api/health');
  await succeeds('GET /api/ping');
  await succeeds('GET /api/openapi.json');
  const metrics = await succeeds<string>('GET /metrics');
  assert.match(
    metrics,
    /^moviebook_gateway_upstream_requests_total\{node="node-1",service="gateway"\} \d+$/m,
  );
  const email = `contract-${Date.now()}@example.test`;
  const signedUp = await succeeds<{ token: string }>('POST /api/auth/signup', {
    body: { email, name: 'Contract', password: 'correct horse battery' },
  });
  await fails(
    'POST /api/auth/signup',
    { body: { email, name: 'Contract', password: 'correct horse battery' } },
    409,
    'EMAIL_TAKEN',
  );
  await fails(
    'POST /api/auth/signup',
    { body: { email: 'not an email', name: '', password: 'x' } },
    400,
    'VALIDATION_FAILED',
  );
  const { token } = await succeeds<{ token: string }>('POST /api/auth/login', {
    body: { email, password: 'correct horse battery' },
  });
  await succeeds('GET /api/auth/me', { token });
  await succeeds('POST /api/auth/logout', { token: signedUp.token });
  await fails('GET /api/auth/me', { token: signedUp.token }, 401, 'UNAUTHENTICATED');
});

test('the catalogue, the seat map, holds, bookings and the live stream', async () => {
  const { id: showtimeId, seats } = await findShowtime(system.database.db);
  const { movies } = await succeeds<{ movies: { id: number }[] }>('GET /api/movies');
  await succeeds('GET /api/movies', { query: { id: movies[0]!.id } });
  await succeeds('GET /api/movies/:id', { params: { id: movies[0]!.id } });
  await fails('GET /api/movies/:id', { params: { id: 999_999 } }, 404, 'MOVIE_NOT_FOUND');
  const { screens } = await succeeds<{ screens: { id: number }[] }>('GET /api/screens');
  const { movie } = await succeeds<{ movie: { id: number } }>('POST /api/movies', {
    token: admin,
    body: { title: `Contract ${Date.now()}`, genre: 'Drama', durationMin: 101, releaseYear: 2026 },
  });
  await succeeds('POST /api/showtimes', {
    token: admin,
    body: {
      movieId: movie.id,
      screenId: screens[0]!.id,
      startsAt: new Date(Date.now() + 40 * 86_400_000).toISOString(),
    },
  });
  await succeeds('GET /api/showtimes/:id', {
    params: { id: showtimeId },
    query: { consistency: 'strong' },
  });

  const { token } = await succeeds<{ token: string }>('POST /api/auth/signup', {
    body: {
      email: `booker-${Date.now()}@example.test`,
      name: 'Booker',
      password: 'correct horse battery',
    },
  });
  let holdId = '';
  await firstSeatsEvent(showtimeId, async () => {
    ({
      hold: { id: holdId },
    } = await succeeds<{ hold: { id: string } }>('POST /api/holds', {
      token,
      body: { showtimeId, seats: [seats[0]] },
    }));
  });
  await succeeds('DELETE /api/holds/:id', { token, params: { id: holdId } });
  const held = await succeeds<{ hold: { id: string } }>('POST /api/holds', {
    token,
    body: { showtimeId, seats: [seats[1]] },
  });
  const { booking } = await succeeds<{ booking: { id: string } }>('POST /api/bookings', {
    token,
    body: { holdId: held.hold.id },
    headers: { 'idempotency-key': `contract-${Date.now()}` },
  });
  await fails(
    'POST /api/bookings',
    { token, body: { showtimeId, seats: [seats[1]] } },
    409,
    'SEATS_UNAVAILABLE',
  );
  await succeeds('GET /api/bookings', { token, query: { consistency: 'causal' } });
  await succeeds('GET /api/bookings/:id', { token, params: { id: booking.id } });
  await succeeds('POST /api/bookings/:id/cancel', { token, params: { id: booking.id } });
});

test('the cluster: clocks, the election, faults, replication, the balancer', async () => {
  await succeeds('GET /api/sync');
  const { leader } = await succeeds<{ leader: string }>('GET /api/election');
  await succeeds('POST /api/cluster/sync-now', { token: admin, node: leader });
  await succeeds('POST /api/election', { token: admin, body: { algorithm: 'bully' } });
  await succeeds('GET /api/faults', { token: admin, node: 'node-2' });
  await succeeds('POST /api/faults', {
    token: admin,
    node: 'node-2',
    body: { requestDelayMs: 0, partitionedFrom: [] },
  });
  await succeeds('POST /api/cluster/fenced-write-probe', { token: admin, node: 'node-2' });
  await fails('POST /api/faults', { node: 'node-2', body: {} }, 401, 'UNAUTHENTICATED');
  await succeeds('GET /api/replicas');
  await succeeds('POST /api/replicas', { token: admin, body: { r: 2 } });
  await succeeds('GET /api/lb');
  await succeeds('POST /api/lb', { token: admin, body: { algorithm: 'round-robin' } });
  await fails(
    'POST /api/lb',
    { token: admin, body: { algorithm: 'random' } },
    400,
    'VALIDATION_FAILED',
  );
  // Peer messages are node-to-node: the gateway refuses them, a node refuses an unsigned one.
  await fails('POST /api/peer', { body: {} }, 404, 'NOT_FOUND');
  const unsigned = await fetch(`${system.cluster.node('node-1').url}/api/peer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  assert.equal(unsigned.status, 401);
  conforms('POST /api/peer', 401, await unsigned.json());
  // Last: node-3 crashes right after its answer (and this test's launcher does not restart it).
  await succeeds('POST /api/cluster/crash', { token: admin, node: 'node-3', body: {} });
  await waitFor(
    'node-3 to exit',
    10_000,
    async () => system.cluster.node('node-3').proc?.exitCode !== null,
  );
});

test('every operation of the document was answered as it says', () => {
  const unanswered = (Object.keys(operations) as OperationKey[]).filter(
    (key) => !answered.has(key) && !('envelope' in operations[key]),
  );
  assert.deepEqual(unanswered, []);
  const documented = Object.entries(document.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
  );
  assert.equal(
    documented.length,
    Object.keys(operations).length,
    'one document entry per operation',
  );
});
