import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { InvariantViolation } from '../../core/assert';
import { requireRoutesInContract, route } from './route';

test('a route the contract lacks cannot be registered; a contract route can, under its own method and path', async () => {
  const app = Fastify();
  requireRoutesInContract(app);
  assert.throws(() => app.get('/api/undocumented', async () => ({})), InvariantViolation);
  assert.throws(() => app.post('/api/ping', async () => ({})), InvariantViolation);
  route(app, 'GET /api/ping', async () => ({ ok: true, nodeId: 'node-1' }));
  const res = await app.inject({ method: 'GET', url: '/api/ping' });
  assert.deepEqual(res.json(), { ok: true, nodeId: 'node-1' });
  await app.close();
});

test("a route parses with the contract's schemas, and answers with the contract's success status", async () => {
  const app = Fastify();
  app.setErrorHandler((err: Error, _req, reply) => reply.code(400).send({ name: err.name }));
  route(app, 'POST /api/holds', async ({ body }) => {
    const { showtimeId, seats } = body();
    return {
      hold: {
        id: '00000000-0000-4000-8000-000000000000',
        showtimeId,
        seats,
        expiresAt: new Date(0).toISOString(),
        totalCents: 0,
      },
      distributedInfo: {
        processedBy: 'node-1',
        logicalClock: 1,
        vectorClock: {},
        timestamp: new Date(0).toISOString(),
      },
    };
  });
  const ok = await app.inject({
    method: 'POST',
    url: '/api/holds',
    payload: { showtimeId: '7', seats: ['F7'] },
  });
  assert.equal(ok.statusCode, 201);
  assert.equal(ok.json().hold.showtimeId, 7, 'coerced by the contract');
  const bad = await app.inject({
    method: 'POST',
    url: '/api/holds',
    payload: { showtimeId: -1, seats: ['F7'] },
  });
  assert.equal(
    bad.json().name,
    'ZodError',
    'refused by the schema (the API answers 400 VALIDATION_FAILED)',
  );
  await app.close();
});
