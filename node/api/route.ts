/**
 * A route of the API's contract (contract/operations.ts): registered under the contract's method
 * and path, parsing with the contract's schemas, and typed to answer what the contract says. The
 * parsers are called by the handler, in its own order: who may call it is checked before what
 * was sent, as before.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { assert } from '../../core/assert';
import { splitKey } from '../../contract/keys';
import {
  operations,
  type AnswerOf,
  type Operation,
  type OperationKey,
  type Operations,
} from '../../contract/operations';

type Parsed<K extends OperationKey, F extends string> =
  Operations[K] extends Record<F, z.ZodType> ? z.output<Operations[K][F]> : never;

type RouteInput<K extends OperationKey> = {
  req: FastifyRequest;
  reply: FastifyReply;
  params(): Parsed<K, 'params'>;
  query(): Parsed<K, 'query'>;
  body(): Parsed<K, 'body'>;
};

declare const SENT: unique symbol;
/** A reply the handler sent itself (an error answer with headers of its own: `sent(reply.send(…))`). */
export type Sent = { readonly [SENT]: true };
export function sent(reply: FastifyReply): Sent {
  return reply as unknown as Sent; // Fastify's way to say "already sent": return the reply
}

/** A value of T, or of T with read-only parts (what the cores hand out). */
type Readable<T> = T extends (infer U)[]
  ? readonly Readable<U>[]
  : T extends object
    ? { readonly [P in keyof T]: Readable<T[P]> }
    : T;

/** The answer the contract names, or a reply already sent. */
type Handler<K extends OperationKey> = (
  input: RouteInput<K>,
) => Promise<Readable<AnswerOf<K>> | Sent>;

export function route<K extends OperationKey>(
  app: FastifyInstance,
  key: K,
  handler: NoInfer<Handler<K>>,
): void {
  const [method, url] = splitKey(key);
  const op: Operation = operations[key];
  const parse = (schema: z.ZodType | undefined, value: unknown) => {
    assert(schema !== undefined, `${key} declares no schema for what its handler parses`);
    return schema.parse(value);
  };
  app.route({
    method: method as 'GET',
    url,
    handler: async (req, reply) => {
      if (op.status !== undefined) reply.code(op.status);
      return handler({
        req,
        reply,
        params: () => parse(op.params, req.params) as Parsed<K, 'params'>,
        query: () => parse(op.query, req.query) as Parsed<K, 'query'>,
        body: () => parse(op.body, req.body) as Parsed<K, 'body'>,
      });
    },
  });
}

/** Every route must be in the contract: a node with an undocumented route refuses to start. */
export function requireRoutesInContract(app: FastifyInstance): void {
  app.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const method of methods) {
      // HEAD routes are Fastify's own companions of GET routes (and the SSE route's refusal).
      if (method === 'HEAD') continue;
      assert(
        Object.hasOwn(operations, `${method} ${r.url}`),
        `${method} ${r.url} is not in contract/operations.ts`,
      );
    }
  });
}
