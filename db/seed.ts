import type { Db } from './pool';
import { movieFact, recordFacts, SEED_ORIGIN, showtimeFact, type Fact } from './booking/facts';
import { createShowtime } from './booking/catalog';
import { expandLayout } from './booking/layout';
import { DAILY_START_HOURS, SAMPLE_MOVIES, SAMPLE_SCREENS, SHOWTIME_DAYS_AHEAD } from './sample-data';

/**
 * Fill an empty database with the sample catalogue, and keep the programme topped up so there are
 * always showtimes for the next SHOWTIME_DAYS_AHEAD days. Safe to run on every start.
 */
export async function seedSampleData(db: Db, now = new Date()): Promise<{ showtimesCreated: number }> {
  const screenCount = await db.query('SELECT 1 FROM screens LIMIT 1');
  if (!screenCount.rowCount) {
    for (const screen of SAMPLE_SCREENS) {
      await db.query('INSERT INTO screens (name, layout, seat_count) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [
        screen.name, JSON.stringify(screen.layout), expandLayout(screen.layout).length,
      ]);
    }
  }
  const created: Fact[] = [];
  const movieCount = await db.query('SELECT 1 FROM movies LIMIT 1');
  if (!movieCount.rowCount) {
    for (const m of SAMPLE_MOVIES) {
      const inserted = await db.query<{ id: number }>(
        `INSERT INTO movies (title, description, genre, certificate, rating, duration_min, release_year, poster_hue)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id`,
        [m.title, m.description, m.genre, m.certificate, m.rating, m.durationMin, m.releaseYear, m.posterHue],
      );
      if (inserted.rows[0]) created.push(movieFact({ id: inserted.rows[0].id, ...m }));
    }
  }
  const screens = (await db.query<{ id: number }>('SELECT id FROM screens ORDER BY id')).rows;
  const movies = (await db.query<{ id: number }>('SELECT id FROM movies ORDER BY id')).rows;
  if (!movies.length) return { showtimesCreated: 0 };
  const existing = new Set(
    (await db.query<{ key: string }>(
      `SELECT screen_id || '@' || extract(epoch FROM starts_at)::bigint AS key FROM showtimes WHERE starts_at > $1`, [now],
    )).rows.map((r) => r.key),
  );

  let showtimesCreated = 0;
  for (let day = 0; day < SHOWTIME_DAYS_AHEAD; day++) {
    for (const [slot, hour] of DAILY_START_HOURS.entries()) {
      const startsAt = new Date(now.getFullYear(), now.getMonth(), now.getDate() + day, hour, 0, 0, 0);
      if (startsAt <= now) continue;
      for (const [screenIndex, screen] of screens.entries()) {
        if (existing.has(`${screen.id}@${startsAt.getTime() / 1000}`)) continue;
        // A varied but deterministic programme: each screen walks the catalogue at its own pace.
        const dayNumber = Math.floor(startsAt.getTime() / 86_400_000);
        const movie = movies[(dayNumber * DAILY_START_HOURS.length + slot + screenIndex * 3) % movies.length]!;
        const id = await createShowtime(db, { movieId: movie.id, screenId: screen.id, startsAt });
        if (id === undefined) continue;
        showtimesCreated++;
        created.push(showtimeFact({ id, movieId: movie.id, screenId: screen.id, startsAt: startsAt.toISOString() }));
      }
    }
  }
  // The catalogue goes to the replicas like any committed fact: the first node to find these
  // outbox rows (left by no node: `seed`) publishes them.
  await recordFacts(db, SEED_ORIGIN, created);
  return { showtimesCreated };
}
