import type { FastifyInstance, FastifyRequest } from 'fastify';
import { showtimePrefixes, type BookingFact } from '../../../db/booking/facts';
import {
  bookingsFromReplica, cancelBooking, createBooking, createHold, getBooking, listBookings, sortBookings, releaseHold, type BookingRequest,
} from '../../../db/booking/reservations';
import { AppError } from '../../../core/errors';
import { enforce } from '../../../db/limits';
import { requireUser, type NodeContext } from '../context';
import { publishCommittedFacts, readConsistency, sendSessionToken, sessionTokenOf } from '../replica-reads';
import { idempotencyKey, type Booking } from '../../../contract/booking';
import { route } from '../route';

const ONE_MINUTE_MS = 60_000;

function readIdempotencyKey(req: FastifyRequest): string | undefined {
  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  const parsed = idempotencyKey.safeParse(raw);
  if (!parsed.success) throw new AppError('INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1–255 printable ASCII characters');
  return parsed.data;
}

/**
 * The owner's bookings of showtimes compacted out of the replicas (docs/replication.md), from the
 * system of record: those that started before the retention cutoff (plus a margin for the
 * difference between the database's clock and the node's), kept where this replica retired the
 * showtime. Cost: the owner's old bookings, not every showtime ever retired.
 */
async function compactedBookings(ctx: NodeContext, owner: string): Promise<Booking[]> {
  const retired = ctx.replication!.retiredGroups;
  if (retired.size === 0) return [];
  const cutoff = new Date(Date.now() - ctx.config.replication.retentionMs + CLOCK_MARGIN_MS);
  const past = await listBookings(ctx.db, owner, cutoff);
  return past.filter((b) => retired.has(showtimePrefixes(b.showtimeId)[0]!));
}

/** How far the database's clock and a node's may differ for the cutoff above. */
const CLOCK_MARGIN_MS = 3_600_000;

export function reservationRoutes(app: FastifyInstance, ctx: NodeContext): void {
  const { holdsPerMin, bookingsPerMin, maxHeldSeats } = ctx.config.accountLimits;
  const limits = { holdTtlS: ctx.config.holdTtlS, maxSeatsPerBooking: ctx.config.maxSeatsPerBooking, maxHeldSeats, origin: ctx.config.nodeId };
  const holdRate = { limit: holdsPerMin, windowMs: ONE_MINUTE_MS };
  const bookingRate = { limit: bookingsPerMin, windowMs: ONE_MINUTE_MS };

  route(app, 'POST /api/holds', async ({ req, reply, body }) => {
    const user = await requireUser(ctx, req);
    sessionTokenOf(req);
    const request = body();
    await enforce(ctx.db, `hold:${user.id}`, holdRate, 'hold requests from this account');
    const hold = await createHold(ctx.db, user, request, limits);
    ctx.metrics?.holds.inc();
    await publishCommittedFacts(ctx, req, reply);
    return { hold, distributedInfo: ctx.clock.stampEvent() };
  });

  route(app, 'DELETE /api/holds/:id', async ({ req, reply, params }) => {
    const user = await requireUser(ctx, req);
    const { id } = params();
    sessionTokenOf(req);
    const hold = await releaseHold(ctx.db, user, id, ctx.config.nodeId);
    await publishCommittedFacts(ctx, req, reply);
    return { hold, distributedInfo: ctx.clock.stampEvent() };
  });

  route(app, 'POST /api/bookings', async ({ req, reply, body }) => {
    const user = await requireUser(ctx, req);
    const key = readIdempotencyKey(req);
    sessionTokenOf(req);
    const input = body();
    const request: BookingRequest = input.holdId !== undefined
      ? { holdId: input.holdId }
      : { showtimeId: input.showtimeId!, seats: input.seats! };
    await enforce(ctx.db, `booking:${user.id}`, bookingRate, 'booking requests from this account');
    const result = await createBooking(ctx.db, user, request, {
      limits, ...(key ? { idempotencyKey: key } : {}), stamp: () => ctx.clock.stampEvent(),
    });
    if (result.replayed) reply.header('idempotent-replayed', 'true');
    ctx.metrics?.bookings.inc({ outcome: result.replayed ? 'replayed' : 'created' });
    await publishCommittedFacts(ctx, req, reply);
    return { booking: result.booking, distributedInfo: result.booking.distributedInfo };
  });

  route(app, 'GET /api/bookings', async ({ req, reply, query }) => {
    const user = await requireUser(ctx, req);
    const { userId } = query();
    if (userId !== undefined && userId !== user.id && user.role !== 'admin') {
      throw new AppError('FORBIDDEN', 'You may only list your own bookings');
    }
    const owner = userId ?? user.id;
    if (!ctx.replication) return { bookings: await listBookings(ctx.db, owner) };
    // Read from the replicas, at the consistency the client asks for.
    const consistency = readConsistency(ctx, req);
    const read = await ctx.replication.readRange({ prefixes: ['booking:'], owner }, consistency, sessionTokenOf(req));
    sendSessionToken(reply, read.token);
    reply.header('x-replica-served-by', read.servedBy);
    const facts = read.entries.map((e) => e.value as unknown as BookingFact);
    const [live, past] = await Promise.all([bookingsFromReplica(ctx.db, facts), compactedBookings(ctx, owner)]);
    return { bookings: sortBookings([...live, ...past]), consistency };
  });

  route(app, 'GET /api/bookings/:id', async ({ req, params }) => {
    const user = await requireUser(ctx, req);
    const { id } = params();
    return { booking: await getBooking(ctx.db, user, id) };
  });

  route(app, 'POST /api/bookings/:id/cancel', async ({ req, reply, params }) => {
    const user = await requireUser(ctx, req);
    const { id } = params();
    sessionTokenOf(req);
    const booking = await cancelBooking(ctx.db, user, id, ctx.config.nodeId);
    await publishCommittedFacts(ctx, req, reply);
    return { booking, distributedInfo: ctx.clock.stampEvent() };
  });
}
