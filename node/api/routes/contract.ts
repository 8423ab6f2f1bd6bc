import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { openApiDocument } from '../../../contract/openapi';
import { route } from '../route';

const { version } = JSON.parse(
  readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
) as { version: string };

/** `GET /api/openapi.json`: the API's contract as OpenAPI 3.1 (built once, on first request). */
export function contractRoutes(app: FastifyInstance): void {
  let document: ReturnType<typeof openApiDocument> | undefined;
  route(app, 'GET /api/openapi.json', async ({ reply }) => {
    reply.header('cache-control', 'public, max-age=300');
    return (document ??= openApiDocument(version));
  });
}
