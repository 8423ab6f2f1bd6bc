import pg from 'pg';
import { connectedAsSuperuser, provisionAppDatabase } from './app-role';
import { startEmbeddedPostgres } from './embedded';
import { migrate } from './migrate';
import { createPool, sqlState, type Db } from './pool';
import { seedSampleData } from './seed';

export const EMBEDDED_DATABASE_NAME = 'moviebook';

export type DatabaseHandle = {
  /** Connection string of the application database. */
  url: string;
  /** Stop what this process started (the embedded server, if it owns it). */
  stop(): Promise<void>;
};

/**
 * The system of record: DATABASE_URL when given (with a warning when it connects as a superuser),
 * else the embedded PostgreSQL under DATA_DIR (started, or attached to if another process of this
 * DATA_DIR already runs it), reached as the app role that owns its database and nothing else.
 */
export async function resolveDatabase(
  options: { databaseUrl?: string | undefined; dataDir: string },
  log: (msg: string) => void,
  warn: (msg: string) => void = log,
): Promise<DatabaseHandle> {
  if (options.databaseUrl) {
    await warnIfSuperuser(options.databaseUrl, warn);
    return { url: options.databaseUrl, stop: async () => {} };
  }
  const embedded = await startEmbeddedPostgres(`${options.dataDir}`, log);
  try {
    const url = await provisionAppDatabase(embedded.url, EMBEDDED_DATABASE_NAME, options.dataDir, log);
    return { url, stop: () => embedded.stop() };
  } catch (err) {
    await embedded.stop();
    throw err;
  }
}

async function warnIfSuperuser(databaseUrl: string, warn: (msg: string) => void): Promise<void> {
  // Only a warning: if the server cannot be reached, the migrations say so next.
  const found = await connectedAsSuperuser(databaseUrl).catch(() => undefined);
  if (!found) return;
  const { role, superuser } = found;
  if (superuser) {
    warn(`DATABASE_URL connects as ${role}, a superuser: give the application a role that only owns its database (README, "Configuration")`);
  }
}

/** Create `name` on the server of `serverUrl` if missing; returns its connection string. */
export async function ensureDatabaseExists(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!found.rowCount) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`).catch((err: unknown) => {
        // Another process created it between our check and our CREATE.
        if (sqlState(err) !== '42P04' && sqlState(err) !== '23505') throw err;
      });
    }
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Apply migrations and keep the sample programme topped up. */
export async function prepareSchema(db: Db, options: { seed: boolean }): Promise<void> {
  await migrate(db, options.seed ? async () => void (await seedSampleData(db)) : undefined);
}

export { createPool };
