import http from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { ZodError } from 'zod';
import { AppError, type ErrorCode } from '../../lib/errors';
import { sqlState } from '../../lib/db/pool';
import type { NodeContext } from './context';
import { authRoutes } from './routes/auth';
import { catalogRoutes } from './routes/catalog';
import { healthRoutes } from './routes/health';
import { reservationRoutes } from './routes/reservations';

/** Handles every request that is not for the API (in a node: Next.js pages and assets). */
export type FallbackHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

const FASTIFY_ERRORS: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
};

// Connection-level failures (server down, restarting, too many clients) are the database being
// unavailable, not a bug: 503 so clients and the load balancer retry elsewhere or later.
const DB_UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08003', '08006']);

export function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  if (err instanceof ZodError) {
    const details = err.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    return new AppError('VALIDATION_FAILED', details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; '), details);
  }
  const fastifyError = err as Partial<FastifyError>;
  const mapped = fastifyError.code ? FASTIFY_ERRORS[fastifyError.code] : undefined;
  if (mapped) return new AppError(mapped, fastifyError.message ?? mapped);
  if (err instanceof SyntaxError || (fastifyError.statusCode === 400 && /JSON/i.test(fastifyError.message ?? ''))) {
    return new AppError('INVALID_JSON', 'The request body is not valid JSON');
  }
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new AppError('VALIDATION_FAILED', fastifyError.message ?? 'Bad request');
  }
  const errno = (err as NodeJS.ErrnoException).code;
  if (DB_UNAVAILABLE_STATES.has(sqlState(err)) || errno === 'ECONNREFUSED' || /Connection terminated|timeout exceeded when trying to connect/i.test(String((err as Error).message))) {
    return new AppError('DATABASE_UNAVAILABLE', 'The database is unavailable, try again shortly');
  }
  return undefined;
}

export async function buildApi(ctx: NodeContext, fallback?: FallbackHandler): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: ctx.config.bodyLimitBytes,
    // Only /api/* reaches Fastify; everything else goes straight to the fallback (Next.js).
    serverFactory: (handler) =>
      http.createServer((req, res) => {
        if (!fallback || req.url === '/api' || req.url?.startsWith('/api/')) return handler(req, res);
        void fallback(req, res);
      }),
  });

  app.setErrorHandler((err, req, reply) => {
    const appError = toAppError(err);
    if (appError) return reply.code(appError.status).send(appError.toJSON());
    ctx.log.error({ err, method: req.method, url: req.url }, 'unhandled error');
    return reply.code(500).send(new AppError('INTERNAL', 'Something went wrong on our side').toJSON());
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(new AppError('NOT_FOUND', `No API endpoint ${req.method} ${req.url.split('?')[0]}`).toJSON()),
  );

  healthRoutes(app, ctx);
  authRoutes(app, ctx);
  catalogRoutes(app, ctx);
  reservationRoutes(app, ctx);
  await app.ready();
  return app;
}
