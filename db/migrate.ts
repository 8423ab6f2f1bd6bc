import fs from 'node:fs/promises';
import path from 'node:path';
import type { Db } from './pool';

const MIGRATIONS_DIR = path.join(process.cwd(), 'db', 'migrations');
// Any constant will do; it only has to be the same for every process that migrates.
const MIGRATION_LOCK_KEY = 4_242_001;

export type Migration = { version: number; name: string; sql: string };

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await fs.readdir(dir)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: Number(file.split('_')[0]),
      name: file.replace(/\.sql$/, ''),
      sql: await fs.readFile(path.join(dir, file), 'utf8'),
    })),
  );
}

/**
 * Apply pending migrations, each in its own transaction. A session-level advisory lock makes
 * concurrent starts (several nodes at once) apply each migration exactly once.
 * Runs `afterMigrate` (e.g. seeding) under the same lock. Returns the versions applied.
 */
export async function migrate(db: Db, afterMigrate?: () => Promise<void>): Promise<number[]> {
  const migrations = await loadMigrations();
  const client = await db.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set(
      (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version),
    );
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.name} failed: ${(err as Error).message}`);
      }
      applied.push(m.version);
    }
    if (afterMigrate) await afterMigrate();
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    client.release();
  }
}
