import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openApiPath, splitKey } from './keys';
import { openApiDocument, operationIdOf } from './openapi';
import { operations } from './operations';

const document = openApiDocument('test');
const keys = Object.keys(operations);

test('every operation is in the document once, under its path, with a unique operationId', () => {
  const ids = keys.map(operationIdOf);
  assert.equal(new Set(ids).size, keys.length);
  for (const key of keys) {
    const [method, path] = splitKey(key);
    const op = (
      document.paths[openApiPath(path)] as Record<string, { operationId: string }> | undefined
    )?.[method.toLowerCase()];
    assert.equal(op?.operationId, operationIdOf(key), key);
  }
  assert.equal(operationIdOf('POST /api/bookings/:id/cancel'), 'postBookingsByIdCancel');
});

test("each path's {params} are the operation's path parameters, and all are required", () => {
  for (const [path, byMethod] of Object.entries(document.paths)) {
    const named = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    for (const op of Object.values(byMethod) as {
      parameters: { name: string; in: string; required: boolean }[];
    }[]) {
      const inPath = op.parameters.filter((p) => p.in === 'path');
      assert.deepEqual(
        inPath.map((p) => p.name),
        named,
        path,
      );
      assert.ok(
        inPath.every((p) => p.required),
        path,
      );
    }
  }
});

test('answers are closed objects: a field the contract does not name is not allowed', () => {
  const ping = document.paths['/api/ping'] as {
    get: { responses: { 200: { content: { 'application/json': { schema: object } } } } };
  };
  assert.deepEqual(ping.get.responses[200].content['application/json'].schema, {
    type: 'object',
    properties: {
      ok: { type: 'boolean', const: true },
      nodeId: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
    },
    required: ['ok', 'nodeId'],
    additionalProperties: false,
  });
});
