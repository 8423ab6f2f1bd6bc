import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { getShowtimeInfo } from '../../../lib/booking/catalog';
import { SeatEventHub } from '../../../lib/booking/seat-events';
import { AppError } from '../../../lib/errors';
import type { NodeContext } from '../context';
import { idParam } from '../schemas';

/** A comment line on every open stream this often, so proxies and browsers keep it open. */
export const SSE_HEARTBEAT_INTERVAL_MS = 15_000;
/** How long a browser waits before reconnecting a dropped stream. */
const SSE_RETRY_MS = 2_000;

function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * `GET /api/showtimes/:id/events`: server-sent events for one showtime's seat map. `hello` once
 * subscribed, then `seats` ({ showtimeId, resync? }) after every committed seat change, on
 * whichever node it happened (PostgreSQL LISTEN/NOTIFY, see lib/booking/seat-events.ts). The
 * client refetches `GET /api/showtimes/:id` on each.
 *
 * The listener lives and dies with this API server: started when it is ready, and stopped —
 * after every open stream is closed — before it closes (an open stream would otherwise keep
 * `close()` waiting forever).
 */
export function eventsRoutes(app: FastifyInstance, ctx: NodeContext): void {
  const hub = new SeatEventHub(ctx.db.options.connectionString ?? '', ctx.log);
  const streams = new Set<ServerResponse>();
  let heartbeat: NodeJS.Timeout | undefined;

  app.addHook('onReady', async () => {
    hub.start();
    heartbeat = setInterval(() => {
      for (const res of streams) res.write(': heartbeat\n\n');
    }, SSE_HEARTBEAT_INTERVAL_MS);
    heartbeat.unref();
  });

  app.addHook('preClose', async () => {
    clearInterval(heartbeat);
    // Destroyed, not ended: a hijacked reply that finishes would still reach onResponse (see below).
    for (const res of streams) res.destroy();
    streams.clear();
    await hub.stop();
  });

  // A stream never ends, and Node sends a HEAD's answer only when it ends: no automatic HEAD route.
  app.head('/api/showtimes/:id/events', async (_req, reply) => {
    reply.header('allow', 'GET');
    throw new AppError('METHOD_NOT_ALLOWED', 'An event stream is read with GET');
  });

  app.get('/api/showtimes/:id/events', { exposeHeadRoute: false }, async (req, reply) => {
    const { id } = z.object({ id: idParam }).parse(req.params);
    await getShowtimeInfo(ctx.db, id); // 404 for an unknown showtime, before the stream opens
    const res = reply.raw;
    const unsubscribe = hub.subscribe(id, (event) => res.write(sseFrame('seats', event)));
    if (!unsubscribe) throw new AppError('RATE_LIMITED', 'This server has too many live connections; try again shortly');

    // From here on the response is ours, not Fastify's: it stays open until the client leaves.
    reply.hijack();
    // An open stream is not load. A hijacked reply that never finishes (the client leaves, or we
    // destroy it at shutdown) never reaches onResponse, so it is taken off the count here.
    ctx.stats.inFlight -= 1;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${SSE_RETRY_MS}\n\n`);
    res.write(sseFrame('hello', { showtimeId: id, nodeId: ctx.config.nodeId, listening: hub.listening }));
    streams.add(res);
    res.on('close', () => {
      unsubscribe();
      streams.delete(res);
    });
  });
}
