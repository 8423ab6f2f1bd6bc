import pino from 'pino';
import { ensureAdmin } from '../db/accounts/accounts';
import { createPool, prepareSchema, resolveDatabase } from '../db/database';
import { loadDotEnv } from '../config/dotenv';
import { loadConfig } from '../node/config';

/** `npm run db:init`: create tables and indexes, insert the sample catalogue and the admin account. */
loadDotEnv();
const config = loadConfig();
const log = pino({ level: 'info' });
const database = await resolveDatabase(config, (msg) => log.info(msg), (msg) => log.warn(msg));
const db = createPool(database.url, 2);
try {
  await prepareSchema(db, { seed: true });
  const admin = await ensureAdmin(db, config.dataDir);
  const counts = await db.query<{ movies: number; showtimes: number; seats: number }>(
    `SELECT (SELECT count(*)::int FROM movies) AS movies, (SELECT count(*)::int FROM showtimes) AS showtimes,
            (SELECT count(*)::int FROM showtime_seats) AS seats`,
  );
  log.info({ ...counts.rows[0] }, 'database ready');
  log.info(admin.password ? `admin account ${admin.email}, password ${admin.password} (saved in ${admin.file})` : `admin account ${admin.email} exists (password in ${admin.file})`);
} finally {
  await db.end();
  await database.stop();
}
