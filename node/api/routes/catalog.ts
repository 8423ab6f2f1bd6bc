import type { FastifyInstance } from 'fastify';
import { createMovie, createShowtime, getMovie, getShowtimeInfo, listMovies, listScreens } from '../../../db/booking/catalog';
import { movieFact, recordFacts, showtimeFact, showtimePrefixes } from '../../../db/booking/facts';
import { getSeatMap, getSeatMapFromReplica } from '../../../db/booking/reservations';
import { publishCommittedFacts, readConsistency, sendSessionToken, sessionTokenOf } from '../replica-reads';
import { AppError } from '../../../core/errors';
import { currentUser, requireAdmin, type NodeContext } from '../context';
import { route } from '../route';

export function catalogRoutes(app: FastifyInstance, ctx: NodeContext): void {
  route(app, 'GET /api/movies', async ({ query }) => {
    const q = query();
    if (q.id !== undefined) return { movie: await getMovie(ctx.db, q.id) };
    return { movies: await listMovies(ctx.db, q) };
  });

  route(app, 'GET /api/movies/:id', async ({ params }) => {
    const { id } = params();
    return { movie: await getMovie(ctx.db, id) };
  });

  route(app, 'POST /api/movies', async ({ req, reply, body }) => {
    await requireAdmin(ctx, req);
    const movie = await createMovie(ctx.db, body());
    await recordFacts(ctx.db, ctx.config.nodeId, [movieFact(movie)]);
    await publishCommittedFacts(ctx, req, reply);
    return { movie, distributedInfo: ctx.clock.stampEvent() };
  });

  route(app, 'GET /api/screens', async () => ({ screens: await listScreens(ctx.db) }));

  route(app, 'POST /api/showtimes', async ({ req, reply, body }) => {
    await requireAdmin(ctx, req);
    const input = body();
    const id = await createShowtime(ctx.db, input);
    if (id === undefined) {
      throw new AppError('VALIDATION_FAILED', 'That screen already has a showtime at that time', { field: 'startsAt' });
    }
    const distributedInfo = ctx.clock.stampEvent();
    const { showtime } = await getSeatMap(ctx.db, id, undefined);
    await recordFacts(ctx.db, ctx.config.nodeId, [showtimeFact(showtime)]);
    await publishCommittedFacts(ctx, req, reply);
    return { showtime, distributedInfo };
  });

  route(app, 'GET /api/showtimes/:id', async ({ req, reply, params }) => {
    const { id } = params();
    const user = await currentUser(ctx, req);
    if (!ctx.replication) return getSeatMap(ctx.db, id, user?.id);
    // The seat statuses come from the replicas, at the consistency the client asks for.
    const consistency = readConsistency(ctx, req);
    const token = sessionTokenOf(req);
    await getShowtimeInfo(ctx.db, id); // 404 for an unknown showtime before any replica work
    if (ctx.replication.retiredGroups.has(showtimePrefixes(id)[0]!)) {
      // Compacted out of the replicas (long past): the system of record answers, at least as fresh as any level.
      sendSessionToken(reply, token);
      reply.header('x-replica-served-by', 'database');
      return { ...(await getSeatMap(ctx.db, id, user?.id)), consistency };
    }
    const read = await ctx.replication.readRange({ prefixes: showtimePrefixes(id) }, consistency, token);
    sendSessionToken(reply, read.token);
    reply.header('x-replica-served-by', read.servedBy);
    return { ...(await getSeatMapFromReplica(ctx.db, id, user?.id, read.entries)), consistency };
  });
}
