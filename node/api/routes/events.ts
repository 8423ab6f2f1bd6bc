import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { getShowtimeInfo } from '../../../db/booking/catalog';
import { SeatEventHub, type SeatEvent } from '../../../db/booking/seat-events';
import { AppError } from '../../../core/errors';
import { currentUser, type NodeContext } from '../context';
import { operations } from '../../../contract/operations';

/** A comment line on every open stream this often, so proxies and browsers keep it open. */
export const SSE_HEARTBEAT_INTERVAL_MS = 15_000;
/** How long a browser waits before reconnecting a dropped stream. */
const SSE_RETRY_MS = 2_000;

function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * What one stream is told of a seat event: the change itself, with `heldByYou` when the stream's
 * own user holds the seats — never who holds them.
 */
export function seatsEventFor(event: SeatEvent, userId: string | undefined) {
  if ('resync' in event) return { showtimeId: event.showtimeId, resync: true as const };
  const { holder, ...change } = event;
  return change.status === 'held' && holder !== undefined && holder === userId ? { ...change, heldByYou: true as const } : change;
}

/**
 * `GET /api/showtimes/:id/events`: server-sent events for one showtime's seat map, on whichever
 * node a change happened (PostgreSQL LISTEN/NOTIFY, see db/booking/seat-events.ts; in order of
 * commit). `hello` once subscribed ({ showtimeId, nodeId, listening }), then a `seats` event per
 * committed change, carrying the change itself:
 *
 *   { showtimeId, version, status: 'available' | 'held' | 'booked', seats: ['F7', 'F8'], heldByYou?: true }
 *
 * every listed seat is now in `status`, at `version` (the seats' `version` in
 * `GET /api/showtimes/:id` counts the same way: a seat's newer state has the higher version).
 * `heldByYou` marks a hold of the stream's own user (the session cookie or bearer token it was
 * opened with). `{ showtimeId, resync: true }` instead says that changes may have gone unheard
 * (the node's listener reconnected; a change too big for one notification): refetch the seat map.
 * A client applies a change to the seats it names only where it is newer than what it shows, and
 * merges a seat-map read the same way, so a read from a replica that lags cannot undo an event.
 * See docs/live-seat-map.md.
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
    const { id } = operations['GET /api/showtimes/:id/events'].params.parse(req.params);
    await getShowtimeInfo(ctx.db, id); // 404 for an unknown showtime, before the stream opens
    const userId = (await currentUser(ctx, req))?.id;
    const res = reply.raw;
    const unsubscribe = hub.subscribe(id, (event) => res.write(sseFrame('seats', seatsEventFor(event, userId))));
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
