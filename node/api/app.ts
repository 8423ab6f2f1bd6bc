import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type ConnectionError, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { ZodError } from 'zod';
import { AppError, type ErrorCode } from '../../core/errors';
import { sqlState } from '../../db/pool';
import { ReplicationUnavailable } from '../replication/replication-node';
import { replicationRoutes } from './routes/replication';
import { API_CONTENT_SECURITY_POLICY, isCrossSiteRequest, pageContentSecurityPolicy, SECURITY_HEADERS } from '../../http/browser-edge';
import type { NodeContext } from './context';
import { authRoutes } from './routes/auth';
import { catalogRoutes } from './routes/catalog';
import { clusterRoutes } from './routes/cluster';
import { contractRoutes } from './routes/contract';
import { requireRoutesInContract } from './route';
import { acceptedRequestId } from '../../http/request-id';
import { metricsRoutes, nodeMetrics } from './metrics';
import { eventsRoutes } from './routes/events';
import { healthRoutes } from './routes/health';
import { pingRoutes } from './routes/ping';
import { reservationRoutes } from './routes/reservations';

/** Handles every request that is not for the API (in a node: Next.js pages and assets). */
export type FallbackHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

const FASTIFY_ERRORS: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  // Raised by the router before any route runs: a path with broken %-encoding, an overlong path parameter.
  FST_ERR_BAD_URL: 'VALIDATION_FAILED',
  FST_ERR_MAX_PARAM_LENGTH: 'VALIDATION_FAILED',
};

// Connection-level failures (server down, restarting, too many clients) are the database being
// unavailable, not a bug: 503 so clients and the load balancer retry elsewhere or later.
const DB_UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08003', '08006']);

// Text PostgreSQL cannot store (a NUL character, say, in a search term or a name) is bad input.
const DB_BAD_TEXT_STATES = new Set(['22021', '22P05']);

export function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  if (err instanceof ReplicationUnavailable) {
    return new AppError('REPLICA_UNAVAILABLE', `No replica could answer at this consistency (${err.reason}); try again or ask for eventual consistency`, { reason: err.reason });
  }
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
  if (DB_BAD_TEXT_STATES.has(sqlState(err))) {
    return new AppError('VALIDATION_FAILED', 'The request contains characters that cannot be stored (such as NUL)');
  }
  const errno = (err as NodeJS.ErrnoException).code;
  if (DB_UNAVAILABLE_STATES.has(sqlState(err)) || errno === 'ECONNREFUSED' || /Connection terminated|timeout exceeded when trying to connect/i.test(String((err as Error).message))) {
    return new AppError('DATABASE_UNAVAILABLE', 'The database is unavailable, try again shortly');
  }
  return undefined;
}

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const appError = toAppError(err) ?? new AppError('INTERNAL', 'Something went wrong on our side');
  return sendAppError(reply, appError);
}

/** An error answer; a RATE_LIMITED one with its Retry-After (seconds) as a header too. */
function sendAppError(reply: FastifyReply, appError: AppError): FastifyReply {
  const retryAfterS = (appError.details as { retryAfterS?: unknown } | undefined)?.retryAfterS;
  if (typeof retryAfterS === 'number') void reply.header('retry-after', String(retryAfterS));
  return reply.code(appError.status).send(appError.toJSON());
}

/**
 * Requests that Node's HTTP parser rejects before Fastify sees them (an unknown method, a malformed
 * request line or header) get the API's error shape too, instead of Fastify's default body.
 */
function clientErrorHandler(err: ConnectionError, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      socket.write('HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    } else {
      const appError = err.code === 'HPE_INVALID_METHOD'
        ? new AppError('METHOD_NOT_ALLOWED', 'Unsupported HTTP method')
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? new AppError('PAYLOAD_TOO_LARGE', 'The request headers are too large')
          : new AppError('VALIDATION_FAILED', 'Malformed HTTP request');
      const body = JSON.stringify(appError.toJSON());
      socket.write(
        `HTTP/1.1 ${appError.status} ${http.STATUS_CODES[appError.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
  }
  socket.destroy(err);
}

/** Paths the slow-node fault never delays, so the node can still be observed and healed. */
const UNDELAYED = /^\/api\/(health|faults|peer)(\?|$)/;

/**
 * The node's load (requests in flight and served; the slow-node fault delays them) and, at
 * LOG_LEVEL=debug, one line per request with its id (the gateway logs the same id).
 */
function loadHooks(app: FastifyInstance, ctx: NodeContext): void {
  app.addHook('onRequest', async (req) => {
    if (req.url === '/api/peer') return;
    ctx.stats.inFlight += 1;
    const delay = ctx.cluster?.requestDelayMs ?? 0;
    if (delay > 0 && !UNDELAYED.test(req.url)) await new Promise((resolve) => setTimeout(resolve, delay));
  });
  const logRequests = ctx.log.isLevelEnabled('debug');
  const requests = ctx.metrics?.requests;
  // One hook for the load, the request histogram and the log: every hook costs every request.
  app.addHook('onResponse', async (req, reply) => {
    if (req.url === '/api/peer') return;
    ctx.stats.inFlight -= 1;
    ctx.stats.served += 1;
    // Route templates (`/api/bookings/:id`, never an id) keep the labels few.
    const route = req.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    const labels = { method: req.method, route, status_code: String(status) };
    if (route !== '/metrics') requests?.observe(labels, reply.elapsedTime / 1000);
    if (!logRequests) return;
    const ms = Math.round(reply.elapsedTime * 100) / 100;
    ctx.log.debug({ requestId: req.id, method: req.method, route, status, ms }, 'request');
  });
}

export async function buildApi(ctx: NodeContext, fallback?: FallbackHandler): Promise<FastifyInstance> {
  const pageCsp = pageContentSecurityPolicy(ctx.config.dev);
  const metrics = (ctx.metrics ??= nodeMetrics(ctx));
  const app = Fastify({
    logger: false,
    bodyLimit: ctx.config.bodyLimitBytes,
    frameworkErrors: (err, _req, reply) => void sendError(reply, err),
    // The gateway's X-Request-Id (or a client's own short token): the same id in both logs.
    genReqId: (req) => acceptedRequestId(req.headers['x-request-id']) ?? randomUUID(),
    clientErrorHandler,
    // Only /api/* reaches Fastify; everything else goes straight to the fallback (Next.js).
    // Every answer, page or API, carries the security headers (set here once: the cheapest place).
    serverFactory: (handler) =>
      http.createServer((req, res) => {
        for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
        const url = req.url ?? '/';
        if (!fallback || url === '/api' || url.startsWith('/api/') || url === '/metrics') {
          res.setHeader('Content-Security-Policy', API_CONTENT_SECURITY_POLICY);
          return handler(req, res);
        }
        res.setHeader('Content-Security-Policy', pageCsp);
        void fallback(req, res);
      }),
  });

  app.setErrorHandler((err, req, reply) => {
    const appError = toAppError(err);
    if (appError) return sendAppError(reply, appError);
    ctx.log.error({ err, requestId: req.id, method: req.method, url: req.url }, 'unhandled error');
    return reply.code(500).send(new AppError('INTERNAL', 'Something went wrong on our side').toJSON());
  });
  // The API speaks JSON only: a text/plain body is refused (415), not handed to the routes as a string.
  app.removeContentTypeParser('text/plain');
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(new AppError('NOT_FOUND', `No API endpoint ${req.method} ${req.url.split('?')[0]}`).toJSON()),
  );

  loadHooks(app, ctx);
  // Cross-site request forgery: refused before the body is read (after the stats hook, whose
  // onResponse counterpart runs for this refusal too).
  app.addHook('onRequest', (req, reply, done) => {
    if (!isCrossSiteRequest(req.method, req.headers, ctx.config.siteOrigins)) return done();
    const refused = new AppError('CROSS_ORIGIN_REQUEST', 'Cross-site request refused: send it from the site itself, or authenticate with Authorization: Bearer');
    void reply.code(refused.status).send(refused.toJSON());
  });
  app.decorate('cookieSecure', ctx.config.cookieSecure);

  requireRoutesInContract(app);
  metricsRoutes(app, metrics);
  healthRoutes(app, ctx);
  pingRoutes(app, ctx);
  contractRoutes(app);
  clusterRoutes(app, ctx);
  replicationRoutes(app, ctx);
  authRoutes(app, ctx);
  catalogRoutes(app, ctx);
  reservationRoutes(app, ctx);
  eventsRoutes(app, ctx);
  await app.ready();
  return app;
}
