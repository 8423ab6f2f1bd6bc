/**
 * The OpenAPI 3.1 document of the API, built from the contract's table (operations.ts) with zod's
 * own JSON Schema output (OpenAPI 3.1 schemas are JSON Schema 2020-12). Requests are described as
 * a client sends them (zod's input side), answers as it receives them (the output side, closed:
 * a field the contract does not name fails validation).
 */
import { z } from 'zod';
import { SESSION_COOKIE } from './accounts';
import { openApiPath, splitKey } from './keys';
import { operations, TAGS, type Operation } from './operations';
import { errorAnswer } from './shapes';

type JsonSchema = Record<string, unknown>;

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
}

function parametersOf(where: 'path' | 'query' | 'header', schema: z.ZodType | undefined) {
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => ({
    name,
    in: where,
    required: where === 'path' || !field.safeParse(undefined).success,
    schema: schemaOf(field, 'input'),
  }));
}

const json = (schema: JsonSchema) => ({ 'application/json': { schema } });

function operationOf(key: string, op: Operation) {
  const success = {
    description:
      op.media === 'text/event-stream'
        ? "Server-Sent Events; each `seats` event's data:"
        : 'Success',
    content: { [op.media ?? 'application/json']: { schema: schemaOf(op.answer, 'output') } },
  };
  return {
    operationId: operationIdOf(key),
    summary: op.summary,
    tags: [op.tag],
    ...(op.auth ? { security: [{ session: [] }, { bearer: [] }] } : {}),
    ...(op.auth === 'admin' ? { description: 'Administrators only.' } : {}),
    parameters: [
      ...parametersOf('path', op.params),
      ...parametersOf('query', op.query),
      ...parametersOf('header', op.headers),
    ],
    ...(op.body
      ? {
          requestBody: {
            required: !op.body.safeParse(undefined).success,
            content: json(schemaOf(op.body, 'input')),
          },
        }
      : {}),
    responses: {
      [String(op.status ?? 200)]: success,
      default: {
        description: 'An error (docs/errors.md)',
        content: json(schemaOf(errorAnswer, 'output')),
      },
    },
  };
}

/** `POST /api/bookings/:id/cancel` → `postBookingsByIdCancel` (an identifier for generators). */
export function operationIdOf(key: string): string {
  const [method, path] = splitKey(key);
  const words = path
    .replace(/^\/api\//, '')
    .split(/[/.-]/)
    .map((w) => (w.startsWith(':') ? `by-${w.slice(1)}` : w));
  const camel = words.join('-').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  return method.toLowerCase() + camel.charAt(0).toUpperCase() + camel.slice(1);
}

export function openApiDocument(version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [key, op] of Object.entries(operations) as [string, Operation][]) {
    const [method, path] = splitKey(key);
    (paths[openApiPath(path)] ??= {})[method.toLowerCase()] = operationOf(key, op);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'MovieBook API',
      version,
      description:
        'Book cinema seats on a cluster of nodes behind a load balancer. Reads may name a ' +
        'consistency (`X-Consistency`: strong, eventual, causal) and send back the ' +
        '`X-Session-Token` of earlier answers to read their own writes on any node.',
    },
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
        bearer: { type: 'http', scheme: 'bearer' },
      },
    },
    paths,
  };
}
