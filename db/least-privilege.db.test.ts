import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { buildApi } from '../node/api/app';
import type { NodeContext } from '../node/api/context';
import { ClusterClock } from '../node/cluster/cluster-clock';
import { loadConfig } from '../node/config';
import { client, findShowtime, signedUpClient } from '../harness/helpers';
import { waitFor } from '../harness/cluster';
import { APP_ROLE } from './app-role';
import { createPool, ensureDatabaseExists, EMBEDDED_DATABASE_NAME, prepareSchema, resolveDatabase, type DatabaseHandle } from './database';
import { startEmbeddedPostgres } from './embedded';

/**
 * The embedded database as `npm start` resolves it: the application's connection is a role that
 * is not a superuser and owns only its database — and the whole app (migrations, seed, a booking,
 * LISTEN/NOTIFY, advisory locks) runs on it, on a fresh DATA_DIR and on one from before the role.
 */

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

function tempDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moviebook-least-privilege-'));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function resolveEmbedded(dataDir: string): Promise<DatabaseHandle> {
  const handle = await resolveDatabase({ dataDir }, () => {});
  cleanups.push(() => handle.stop());
  return handle;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, values)).rows;
  } finally {
    await c.end();
  }
}

async function assertLeastPrivilege(url: string): Promise<void> {
  assert.equal(decodeURIComponent(new URL(url).username), APP_ROLE);
  const [role] = await query<{ rolsuper: boolean; rolcreatedb: boolean; rolcreaterole: boolean; rolreplication: boolean; rolbypassrls: boolean; owner: string }>(url,
    `SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls,
            (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()) AS owner
     FROM pg_roles WHERE rolname = current_user`);
  assert.deepEqual(role, { rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolreplication: false, rolbypassrls: false, owner: APP_ROLE });
  await assert.rejects(query(url, 'CREATE DATABASE moviebook_should_not_exist'), /permission denied/);
  await assert.rejects(query(url, 'CREATE ROLE should_not_exist'), /permission denied/);
  await assert.rejects(query(url, 'SELECT rolpassword FROM pg_authid'), /permission denied/);
}

/** Migrate + seed as the app role, then a hold and a booking through the real API, seen on LISTEN. */
async function assertAppRuns(url: string): Promise<void> {
  const db = createPool(url, 5);
  cleanups.push(() => db.end());
  await prepareSchema(db, { seed: true });
  const notOwned = await db.query(`SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relowner <> $1::regrole`, [APP_ROLE]);
  assert.deepEqual(notOwned.rows, [], 'the app role owns every table, index and sequence');

  const listener = new pg.Client({ connectionString: url });
  await listener.connect();
  cleanups.push(() => listener.end());
  const notified: string[] = [];
  listener.on('notification', (n) => notified.push(n.payload ?? ''));
  await listener.query('LISTEN seat_changes');

  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: '/nonexistent', LOG_LEVEL: 'silent' }, { port: 0, host: '127.0.0.1', databaseUrl: url });
  const ctx: NodeContext = {
    config, db, clock: new ClusterClock(config.nodeId), cluster: undefined, replication: undefined, log: pino({ level: 'error' }),
    startedAt: Date.now(), stats: { inFlight: 0, served: 0 },
  };
  const app = await buildApi(ctx);
  cleanups.push(() => app.close());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const user = await signedUpClient(base, 'least-privilege');
  const showtime = await findShowtime(db);
  const hold = await user.api.post('/api/holds', { showtimeId: showtime.id, seats: showtime.seats.slice(0, 2) });
  assert.equal(hold.status, 201, JSON.stringify(hold.body));
  const booking = await client(base, user.token).post('/api/bookings', { holdId: hold.body.hold.id }, { 'idempotency-key': 'least-privilege-1' });
  assert.equal(booking.status, 201, JSON.stringify(booking.body));
  const sold = await db.query('SELECT count(*)::int AS n FROM booking_seats WHERE showtime_id = $1', [showtime.id]);
  assert.equal(sold.rows[0].n, 2);
  await waitFor('the seat change notification', 5_000, async () => notified.some((p) => (JSON.parse(p) as { showtimeId?: number }).showtimeId === showtime.id));
}

test('a fresh DATA_DIR: the app connects as a role that is not a superuser, and everything works', async () => {
  const dataDir = tempDataDir();
  const handle = await resolveEmbedded(dataDir);
  await assertLeastPrivilege(handle.url);
  const credentials = path.join(dataDir, 'postgres-app.json');
  assert.equal(fs.statSync(credentials).mode & 0o777, 0o600);
  assert.equal(JSON.parse(fs.readFileSync(credentials, 'utf8')).user, APP_ROLE);
  await assertAppRuns(handle.url);

  // A second process of the same DATA_DIR attaches and gets the same role.
  const again = await resolveDatabase({ dataDir }, () => {});
  assert.equal(again.url, handle.url);
  await again.stop();

  // Given as DATABASE_URL, the app role is no reason to warn.
  const warnings: string[] = [];
  await resolveDatabase({ databaseUrl: handle.url, dataDir }, () => {}, (msg) => warnings.push(msg));
  assert.deepEqual(warnings, []);
});

test('DATABASE_URL: a warning at start when it connects as a superuser', async () => {
  const warnings: string[] = [];
  const superuserUrl = process.env.TEST_DATABASE_SERVER_URL!;
  const handle = await resolveDatabase({ databaseUrl: superuserUrl, dataDir: '/nonexistent' }, () => {}, (msg) => warnings.push(msg));
  assert.equal(handle.url, superuserUrl, 'DATABASE_URL is used as given');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /superuser/);
});

test('a DATA_DIR from before the app role: its tables are handed over on the next start', async () => {
  const dataDir = tempDataDir();
  // What earlier versions did: the app database, its schema and data, all owned by the superuser.
  const server = await startEmbeddedPostgres(dataDir);
  cleanups.push(() => server.stop());
  const oldUrl = await ensureDatabaseExists(server.url, EMBEDDED_DATABASE_NAME);
  const oldDb = createPool(oldUrl, 2);
  await prepareSchema(oldDb, { seed: true });
  await oldDb.end();
  const [before] = await query<{ owner: string }>(oldUrl, "SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = 'bookings'");
  assert.notEqual(before!.owner, APP_ROLE);

  const handle = await resolveEmbedded(dataDir);
  await assertLeastPrivilege(handle.url);
  await assertAppRuns(handle.url);
});
