import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { createMovie, createShowtime, getMovie, getShowtimeInfo, listMovies, listScreens } from '../../../db/booking/catalog';
import { movieFact, recordFacts, showtimeFact, showtimePrefixes } from '../../../db/booking/facts';
import { getSeatMap, getSeatMapFromReplica } from '../../../db/booking/reservations';
import { publishCommittedFacts, readConsistency, sendSessionToken, sessionTokenOf } from '../replica-reads';
import { AppError } from '../../../core/errors';
import { currentUser, requireAdmin, type NodeContext } from '../context';
import { idParam, movieBody, movieQuery, showtimeBody } from '../schemas';

export function catalogRoutes(app: FastifyInstance, ctx: NodeContext): void {
  app.get('/api/movies', async (req) => {
    const q = movieQuery.parse(req.query);
    if (q.id !== undefined) return { movie: await getMovie(ctx.db, q.id) };
    return { movies: await listMovies(ctx.db, q) };
  });

  app.get('/api/movies/:id', async (req) => {
    const { id } = z.object({ id: idParam }).parse(req.params);
    return { movie: await getMovie(ctx.db, id) };
  });

  app.post('/api/movies', async (req, reply) => {
    await requireAdmin(ctx, req);
    const movie = await createMovie(ctx.db, movieBody.parse(req.body));
    await recordFacts(ctx.db, ctx.config.nodeId, [movieFact(movie)]);
    await publishCommittedFacts(ctx, req, reply);
    return reply.code(201).send({ movie, distributedInfo: ctx.clock.stampEvent() });
  });

  app.get('/api/screens', async () => ({ screens: await listScreens(ctx.db) }));

  app.post('/api/showtimes', async (req, reply) => {
    await requireAdmin(ctx, req);
    const input = showtimeBody.parse(req.body);
    const id = await createShowtime(ctx.db, input);
    if (id === undefined) {
      throw new AppError('VALIDATION_FAILED', 'That screen already has a showtime at that time', { field: 'startsAt' });
    }
    const distributedInfo = ctx.clock.stampEvent();
    const { showtime } = await getSeatMap(ctx.db, id, undefined);
    await recordFacts(ctx.db, ctx.config.nodeId, [showtimeFact(showtime)]);
    await publishCommittedFacts(ctx, req, reply);
    return reply.code(201).send({ showtime, distributedInfo });
  });

  app.get('/api/showtimes/:id', async (req, reply) => {
    const { id } = z.object({ id: idParam }).parse(req.params);
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
