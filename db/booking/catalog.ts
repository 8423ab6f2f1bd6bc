import type pg from 'pg';
import { AppError } from '../../core/errors';
import type { Db } from '../pool';
import type { Movie, MovieDetail, MovieListItem, Screen, ScreenLayout, ShowtimeSummary } from '../../contract/booking';
import { screenLayout } from '../../contract/booking';
import { expandLayout, type LayoutSeat } from './layout';

/** What never changes about a showtime once created: safe to cache for the process's life. */
export type ShowtimeInfo = {
  id: number;
  movieId: number;
  movieTitle: string;
  screenId: number;
  screenName: string;
  startsAt: Date;
  categories: ScreenLayout['categories'];
  rows: ScreenLayout['rows'];
  seats: LayoutSeat[];
  seatsById: Map<string, LayoutSeat>;
};

const MOVIE_COLUMNS = `id, title, description, genre, certificate, rating::float8 AS rating,
  duration_min AS "durationMin", release_year AS "releaseYear", poster_hue AS "posterHue"`;

export async function listMovies(db: Db, filter: { search?: string; genre?: string } = {}): Promise<MovieListItem[]> {
  const { rows } = await db.query(
    `SELECT ${MOVIE_COLUMNS},
       (SELECT min(starts_at) FROM showtimes s WHERE s.movie_id = m.id AND s.starts_at > now()) AS "nextShowtime",
       (SELECT count(*)::int FROM showtimes s WHERE s.movie_id = m.id AND s.starts_at > now()) AS "showtimeCount"
     FROM movies m
     WHERE ($1::text IS NULL OR m.title ILIKE '%' || $1 || '%' OR m.description ILIKE '%' || $1 || '%')
       AND ($2::text IS NULL OR lower(m.genre) = lower($2))
     ORDER BY m.id`,
    [filter.search ?? null, filter.genre ?? null],
  );
  return rows;
}

export async function getMovie(db: Db, id: number): Promise<MovieDetail> {
  const { rows } = await db.query<Movie>(`SELECT ${MOVIE_COLUMNS} FROM movies m WHERE id = $1`, [id]);
  const movie = rows[0];
  if (!movie) throw new AppError('MOVIE_NOT_FOUND', `No movie with id ${id}`);
  const showtimes = await db.query<ShowtimeSummary>(
    `SELECT s.id, s.movie_id AS "movieId", s.screen_id AS "screenId", sc.name AS "screenName",
            s.starts_at AS "startsAt", sc.seat_count AS "seatsTotal",
            (SELECT count(*)::int FROM showtime_seats ss WHERE ss.showtime_id = s.id AND ss.booking_id IS NULL) AS "seatsLeft"
     FROM showtimes s JOIN screens sc ON sc.id = s.screen_id
     WHERE s.movie_id = $1 AND s.starts_at > now()
     ORDER BY s.starts_at, sc.name`,
    [id],
  );
  return { ...movie, showtimes: showtimes.rows };
}

export type NewMovie = Omit<Movie, 'id' | 'releaseYear'> & { releaseYear?: number | null };

export async function createMovie(db: Db | pg.PoolClient, input: NewMovie): Promise<Movie> {
  try {
    const { rows } = await db.query<Movie>(
      `INSERT INTO movies (title, description, genre, certificate, rating, duration_min, release_year, poster_hue)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${MOVIE_COLUMNS}`,
      [input.title, input.description, input.genre, input.certificate, input.rating, input.durationMin, input.releaseYear ?? null, input.posterHue],
    );
    return rows[0]!;
  } catch (err) {
    if ((err as { code?: string }).code === '23505') {
      throw new AppError('VALIDATION_FAILED', `A movie titled "${input.title}" already exists`, { field: 'title' });
    }
    throw err;
  }
}

export async function listScreens(db: Db): Promise<Screen[]> {
  const { rows } = await db.query('SELECT id, name, seat_count AS "seatCount", layout FROM screens ORDER BY id');
  return rows;
}

/**
 * Create a showtime and its seat inventory from the screen's layout. Returns undefined when the
 * screen already has a showtime at that time (so seeding can run concurrently and repeatedly).
 */
export async function createShowtime(
  client: Db | pg.PoolClient,
  input: { movieId: number; screenId: number; startsAt: Date },
): Promise<number | undefined> {
  const screen = await client.query<{ layout: unknown }>('SELECT layout FROM screens WHERE id = $1', [input.screenId]);
  if (!screen.rows[0]) throw new AppError('VALIDATION_FAILED', `No screen with id ${input.screenId}`, { field: 'screenId' });
  const movie = await client.query('SELECT 1 FROM movies WHERE id = $1', [input.movieId]);
  if (!movie.rowCount) throw new AppError('MOVIE_NOT_FOUND', `No movie with id ${input.movieId}`);
  const seats = expandLayout(screenLayout.parse(screen.rows[0].layout));
  // One statement, so the showtime never exists without its seats.
  const { rows } = await client.query<{ id: number }>(
    `WITH s AS (
       INSERT INTO showtimes (movie_id, screen_id, starts_at) VALUES ($1, $2, $3)
       ON CONFLICT (screen_id, starts_at) DO NOTHING RETURNING id
     ), seats AS (
       INSERT INTO showtime_seats (showtime_id, seat_id, row_label, seat_number, category, price_cents, wheelchair)
       SELECT s.id, x.id, x.row, x.number, x.category, x."priceCents", x.wheelchair
       FROM s, jsonb_to_recordset($4::jsonb) AS x(id text, row text, number int, category text, "priceCents" int, wheelchair bool)
     )
     SELECT id FROM s`,
    [input.movieId, input.screenId, input.startsAt, JSON.stringify(seats)],
  );
  return rows[0]?.id;
}

const SHOWTIME_CACHE_LIMIT = 2_000;
const showtimeCache = new Map<string, ShowtimeInfo>();

/** The static part of a showtime (layout, prices, start). Cached: showtimes are never edited. */
export async function getShowtimeInfo(db: Db, id: number): Promise<ShowtimeInfo> {
  const cacheKey = `${db.options.connectionString ?? ''}#${id}`;
  const cached = showtimeCache.get(cacheKey);
  if (cached) return cached;
  const { rows } = await db.query<{
    id: number; movie_id: number; title: string; screen_id: number; name: string; starts_at: Date; layout: unknown;
  }>({
    name: 'showtime_info',
    text: `SELECT s.id, s.movie_id, m.title, s.screen_id, sc.name, s.starts_at, sc.layout
           FROM showtimes s JOIN movies m ON m.id = s.movie_id JOIN screens sc ON sc.id = s.screen_id
           WHERE s.id = $1`,
    values: [id],
  });
  const row = rows[0];
  if (!row) throw new AppError('SHOWTIME_NOT_FOUND', `No showtime with id ${id}`);
  const seatRows = await db.query<{ seat_id: string; row_label: string; seat_number: number; category: string; price_cents: number; wheelchair: boolean }>(
    `SELECT seat_id, row_label, seat_number, category, price_cents, wheelchair
     FROM showtime_seats WHERE showtime_id = $1 ORDER BY row_label, seat_number`,
    [id],
  );
  const layout = screenLayout.parse(row.layout);
  const seats: LayoutSeat[] = seatRows.rows.map((s) => ({
    id: s.seat_id, row: s.row_label, number: s.seat_number, category: s.category, priceCents: s.price_cents, wheelchair: s.wheelchair,
  }));
  const info: ShowtimeInfo = {
    id: row.id,
    movieId: row.movie_id,
    movieTitle: row.title,
    screenId: row.screen_id,
    screenName: row.name,
    startsAt: row.starts_at,
    categories: layout.categories,
    rows: layout.rows,
    seats,
    seatsById: new Map(seats.map((s) => [s.id, s])),
  };
  if (showtimeCache.size >= SHOWTIME_CACHE_LIMIT) showtimeCache.clear();
  showtimeCache.set(cacheKey, info);
  return info;
}
