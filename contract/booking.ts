/** The catalogue (movies, screens, showtimes), the seat map, holds and bookings. */
import { z } from 'zod';
import { CONSISTENCIES, SEAT_STATUSES, type SeatStatus } from '../core/vocabulary';
import { count, distributedInfo, id, idParam, timestamp, uuid } from './shapes';

// ---- the catalogue ------------------------------------------------------------------------------

export const movie = z.object({
  id,
  title: z.string(),
  description: z.string(),
  genre: z.string(),
  certificate: z.string(),
  rating: z.number(),
  durationMin: z.number().int(),
  releaseYear: z.number().int().nullable(),
  posterHue: z.number().int(),
});
export type Movie = z.output<typeof movie>;

export const showtimeSummary = z.object({
  id,
  movieId: id,
  screenId: id,
  screenName: z.string(),
  startsAt: timestamp,
  seatsTotal: count,
  seatsLeft: count,
});
export type ShowtimeSummary = z.output<typeof showtimeSummary>;

export const movieListItem = movie.extend({
  nextShowtime: timestamp.nullable(),
  showtimeCount: count,
});
export type MovieListItem = z.output<typeof movieListItem>;
export const movieDetail = movie.extend({ showtimes: z.array(showtimeSummary) });
export type MovieDetail = z.output<typeof movieDetail>;

export const movieQuery = z.object({
  id: idParam.optional(),
  search: z.string().trim().max(100).optional(),
  genre: z.string().trim().max(40).optional(),
});
/** `?id=` asks for one movie (the spec's form); otherwise the (filtered) list. */
export const movieListAnswer = z.union([
  z.object({ movies: z.array(movieListItem) }),
  z.object({ movie: movieDetail }),
]);
export const movieAnswer = z.object({ movie: movieDetail });

export const movieBody = z.object({
  title: z.string().trim().min(1).max(200),
  description: z.string().max(2_000).default(''),
  genre: z.string().trim().min(1).max(40),
  certificate: z.string().trim().min(1).max(10).default('PG-13'),
  rating: z.number().min(0).max(10).default(0),
  durationMin: z.number().int().min(1).max(600),
  releaseYear: z.number().int().min(1880).max(2200).optional(),
  posterHue: z.number().int().min(0).max(359).default(210),
});
export const movieCreated = z.object({ movie, distributedInfo });

/** A screen's seat layout as stored in screens.layout. */
export const screenLayout = z.object({
  categories: z
    .array(
      z.object({
        code: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
        name: z.string().min(1).max(40),
        priceCents: z.number().int().min(0).max(1_000_000),
        color: z.string().regex(/^#[0-9a-fA-F]{6}$/),
      }),
    )
    .min(1),
  rows: z
    .array(
      z.object({
        label: z.string().regex(/^[A-Z]{1,2}$/),
        seats: z.number().int().min(1).max(60),
        category: z.string(),
        /** Seat numbers after which the map shows an aisle. */
        aisleAfter: z.array(z.number().int().min(1)).optional(),
        /** Seat numbers that are wheelchair spaces. */
        wheelchair: z.array(z.number().int().min(1)).optional(),
      }),
    )
    .min(1),
});
export type ScreenLayout = z.output<typeof screenLayout>;
export type SeatCategory = ScreenLayout['categories'][number];

export const screen = z.object({ id, name: z.string(), seatCount: count, layout: screenLayout });
export type Screen = z.output<typeof screen>;
export const screensAnswer = z.object({ screens: z.array(screen) });

export const showtimeBody = z.object({
  movieId: idParam,
  // screens.id is a PostgreSQL int: a larger id would be a database error, not "no such screen".
  screenId: idParam.max(2_147_483_647),
  startsAt: z.iso.datetime({ offset: true }).transform((s) => new Date(s)),
});

export const showtime = z.object({
  id,
  movieId: id,
  movieTitle: z.string(),
  screenId: id,
  screenName: z.string(),
  startsAt: timestamp,
});
export const showtimeCreated = z.object({ showtime, distributedInfo });

// ---- the seat map -------------------------------------------------------------------------------

export { SEAT_STATUSES, type SeatStatus };

export const seat = z.object({
  id: z.string(),
  row: z.string(),
  number: z.number().int(),
  category: z.string(),
  priceCents: count,
  wheelchair: z.boolean(),
  status: z.enum(SEAT_STATUSES),
  heldByYou: z.literal(true).optional(),
  /** The version of the change that put the seat in this state (client/live-seat-map.ts). */
  version: count,
});
export type Seat = z.output<typeof seat>;

export const consistency = z.enum(CONSISTENCIES);

export const seatMap = z.object({
  showtime,
  categories: screenLayout.shape.categories,
  rows: z.array(z.object({ label: z.string(), seats: count, aisleAfter: z.array(count) })),
  seats: z.array(seat),
  summary: z.object({ total: count, available: count, held: count, booked: count }),
  /** The consistency the seat statuses were read at (absent on a node without replication). */
  consistency: consistency.optional(),
});
export type SeatMapData = z.output<typeof seatMap>;

/**
 * The live stream's `seats` event (`GET /api/showtimes/:id/events`): every listed seat is now in
 * `status`, at `version`; or `resync`: changes may have gone unheard, fetch the seat map again.
 */
export const seatsEvent = z.union([
  z.object({
    showtimeId: id,
    version: count,
    status: z.enum(SEAT_STATUSES),
    seats: z.array(z.string()),
    heldByYou: z.literal(true).optional(),
  }),
  z.object({ showtimeId: id, resync: z.literal(true) }),
]);
export type SeatsEvent = z.output<typeof seatsEvent>;

// ---- holds and bookings -------------------------------------------------------------------------

/** Seat ids as typed by a user ("f7" is F7); unknown ones are reported by the service. */
export const seatList = z.array(z.string().min(1).max(8)).max(500);

export const holdBody = z.object({ showtimeId: idParam, seats: seatList });

export const hold = z.object({
  id: uuid,
  showtimeId: id,
  seats: z.array(z.string()),
  expiresAt: timestamp,
  totalCents: count,
});
export type Hold = z.output<typeof hold>;
/** A hold's life (seat_holds.status). */
export const HOLD_STATUSES = ['active', 'released', 'expired', 'booked'] as const;

export type HoldStatus = (typeof HOLD_STATUSES)[number];

export const holdCreated = z.object({ hold, distributedInfo });
export const holdReleased = z.object({
  hold: z.object({ id: uuid, status: z.enum(HOLD_STATUSES) }),
  distributedInfo,
});

export const bookingBody = z
  .object({ holdId: uuid.optional(), showtimeId: idParam.optional(), seats: seatList.optional() })
  .refine((b) => b.holdId !== undefined || (b.showtimeId !== undefined && b.seats !== undefined), {
    message: 'Send either { holdId } or { showtimeId, seats }',
  });

export const booking = z.object({
  id: uuid,
  userId: uuid,
  showtimeId: id,
  movieTitle: z.string(),
  screenName: z.string(),
  startsAt: timestamp,
  seats: z.array(z.object({ id: z.string(), category: z.string(), priceCents: count })),
  totalCents: count,
  status: z.enum(['confirmed', 'cancelled']),
  createdAt: timestamp,
  cancelledAt: timestamp.nullable(),
  distributedInfo,
});
export type Booking = z.output<typeof booking>;

export const bookingAnswer = z.object({ booking });
export const bookingChanged = z.object({ booking, distributedInfo });
export const bookingsQuery = z.object({ userId: uuid.optional() });
export const bookingsAnswer = z.object({
  bookings: z.array(booking),
  consistency: consistency.optional(),
});

// ---- headers ------------------------------------------------------------------------------------

/** Idempotency-Key: printable ASCII, 1–255 characters. */
export const idempotencyKey = z.string().regex(/^[\x21-\x7e]{1,255}$/);

/** What a read may say about freshness (docs/replication.md, "Session tokens"). */
export const readHeaders = z.object({
  'x-consistency': consistency.optional(),
  'x-session-token': z.string().max(4_096).optional(),
});
export const writeHeaders = z.object({ 'x-session-token': z.string().max(4_096).optional() });
export const bookingHeaders = writeHeaders.extend({ 'idempotency-key': idempotencyKey.optional() });
