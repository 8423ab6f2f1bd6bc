import { z } from 'zod';

// Ids are positive integers that fit comfortably in a JS number and in PostgreSQL's bigint.
export const idParam = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
export const uuidParam = z.uuid();

/** Seat ids as typed by a user ("f7" is F7); unknown ones are reported by the service. */
export const seatList = z.array(z.string().min(1).max(8)).max(500);

export const holdBody = z.object({ showtimeId: idParam, seats: seatList });

export const bookingBody = z
  .object({ holdId: z.uuid().optional(), showtimeId: idParam.optional(), seats: seatList.optional() })
  .refine((b) => b.holdId !== undefined || (b.showtimeId !== undefined && b.seats !== undefined), {
    message: 'Send either { holdId } or { showtimeId, seats }',
  });

export const signupBody = z.object({
  email: z.email().max(254),
  name: z.string().trim().min(1).max(100),
  password: z.string().min(8).max(200),
});

export const loginBody = z.object({ email: z.string().min(1).max(254), password: z.string().min(1).max(200) });

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

export const showtimeBody = z.object({
  movieId: idParam,
  // screens.id is a PostgreSQL int: a larger id would be a database error, not "no such screen".
  screenId: idParam.max(2_147_483_647),
  startsAt: z.iso.datetime({ offset: true }).transform((s) => new Date(s)),
});

export const movieQuery = z.object({
  id: idParam.optional(),
  search: z.string().trim().max(100).optional(),
  genre: z.string().trim().max(40).optional(),
});

export const bookingsQuery = z.object({ userId: z.uuid().optional() });

/** Idempotency-Key: printable ASCII, 1–255 characters. */
export const idempotencyKey = z.string().regex(/^[\x21-\x7e]{1,255}$/);
