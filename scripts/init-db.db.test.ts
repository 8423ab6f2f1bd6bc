import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import { ensureDatabaseExists } from '../db/database';
import { startEmbeddedPostgres } from '../db/embedded';
import { exitCode, npmRun, procInfo, processesUsing, StartedProcesses } from '../harness/process-tree';

/**
 * `npm run db:init` as the spec's setup runs it, twice: against a fresh, empty database given as
 * DATABASE_URL, and on the default embedded database of a fresh DATA_DIR. The first run creates
 * the schema and the sample catalogue; the second succeeds too and changes nothing — the same
 * schema, the same rows in every table (no second copy of a movie or a showtime).
 */

const started = new StartedProcesses();
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  started.killAll();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

const RUN_TIMEOUT_MS = 120_000;

async function dbInit(env: Record<string, string>): Promise<string> {
  const run = npmRun(['run', 'db:init'], { LOG_LEVEL: 'info', ...env });
  started.remember(procInfo(run.proc.pid!));
  const code = await exitCode(run, RUN_TIMEOUT_MS);
  assert.equal(code, 0, `npm run db:init exits 0\n${run.output().slice(-3000)}`);
  return run.output();
}

type Snapshot = { schema: string[]; tables: Record<string, { rows: number; digest: string }> };

/** Everything db:init could have made: columns, constraints, indexes, and each table's rows (count and digest). */
async function snapshot(url: string): Promise<Snapshot> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const schema = [
      ...(await c.query<{ s: string }>(
        `SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS s
         FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1`,
      )).rows.map((r) => r.s),
      ...(await c.query<{ s: string }>(
        `SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS s FROM pg_constraint
         WHERE connamespace = 'public'::regnamespace ORDER BY 1`,
      )).rows.map((r) => r.s),
      ...(await c.query<{ s: string }>(`SELECT indexdef AS s FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`)).rows.map((r) => r.s),
    ];
    const tables: Snapshot['tables'] = {};
    const names = (await c.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map((r) => r.t);
    for (const t of names) {
      const { rows } = await c.query<{ n: number; d: string | null }>(
        `SELECT count(*)::int AS n, md5(string_agg(x::text, E'\\n' ORDER BY x::text)) AS d FROM ${c.escapeIdentifier(t)} x`,
      );
      tables[t] = { rows: rows[0]!.n, digest: rows[0]!.d ?? '' };
    }
    return { schema, tables };
  } finally {
    await c.end();
  }
}

async function assertNoDuplicates(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const dup = async (sql: string) => (await c.query(sql)).rows;
    assert.deepEqual(await dup('SELECT title FROM movies GROUP BY title HAVING count(*) > 1'), [], 'no movie twice');
    assert.deepEqual(await dup('SELECT screen_id, starts_at FROM showtimes GROUP BY 1, 2 HAVING count(*) > 1'), [], 'no showtime twice');
    assert.deepEqual(await dup('SELECT name FROM screens GROUP BY name HAVING count(*) > 1'), [], 'no screen twice');
    assert.deepEqual(await dup("SELECT email FROM users WHERE role = 'admin' GROUP BY email HAVING count(*) > 1"), [], 'one admin account');
  } finally {
    await c.end();
  }
}

/**
 * Run 1's snapshot must equal run 2's. The sample programme is topped up to a week from today, so a
 * run after midnight legitimately adds the new last day: across a change of date, only the schema
 * and the absence of duplicates are compared.
 */
function assertUnchanged(first: Snapshot, second: Snapshot, sameDay: boolean): void {
  assert.deepEqual(second.schema, first.schema, 'the same schema after the second db:init');
  if (sameDay) assert.deepEqual(second.tables, first.tables, 'the same rows in every table after the second db:init');
}

function seeded(s: Snapshot): void {
  for (const t of ['movies', 'screens', 'showtimes', 'showtime_seats', 'users', 'schema_migrations']) {
    assert.ok((s.tables[t]?.rows ?? 0) > 0, `db:init filled ${t}`);
  }
}

test('npm run db:init twice on a fresh, empty DATABASE_URL database: both succeed, the second changes nothing', async () => {
  const serverUrl = process.env.TEST_DATABASE_SERVER_URL!;
  const name = `moviebook_dbinit_${randomBytes(5).toString('hex')}`;
  const url = await ensureDatabaseExists(serverUrl, name);
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'moviebook-dbinit-'));
  cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
  assert.deepEqual((await snapshot(url)).schema, [], 'the database starts empty');

  const day = new Date().toDateString();
  const out1 = await dbInit({ DATABASE_URL: url, DATA_DIR: dataDir });
  const first = await snapshot(url);
  seeded(first);
  assert.match(out1, /admin account admin@moviebook\.local, password/);
  const out2 = await dbInit({ DATABASE_URL: url, DATA_DIR: dataDir });
  const second = await snapshot(url);
  assert.match(out2, /admin account admin@moviebook\.local exists/);
  await assertNoDuplicates(url);
  assertUnchanged(first, second, new Date().toDateString() === day);
});

test('npm run db:init twice on the default embedded database: PostgreSQL started and stopped each time, the second run changes nothing', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'moviebook-dbinit-embedded-'));
  cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const inspect = async (): Promise<Snapshot> => {
    // What db:init left, read through the same embedded server, started for the look and stopped.
    const server = await startEmbeddedPostgres(dataDir);
    try {
      const url = new URL(server.url);
      url.pathname = '/moviebook';
      await assertNoDuplicates(url.toString());
      return await snapshot(url.toString());
    } finally {
      await server.stop();
    }
  };
  const stopped = (run: string) => {
    assert.equal(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid')), false, `${run}: the embedded PostgreSQL stopped cleanly`);
    assert.deepEqual(processesUsing(dataDir).map((p) => `${p.pid} ${p.argv.join(' ')}`), [], `${run}: no process of the DATA_DIR is left`);
  };

  const day = new Date().toDateString();
  const out1 = await dbInit({ DATABASE_URL: '', DATA_DIR: dataDir });
  assert.match(out1, /creating embedded PostgreSQL cluster/);
  stopped('first run');
  const first = await inspect();
  seeded(first);
  const out2 = await dbInit({ DATABASE_URL: '', DATA_DIR: dataDir });
  assert.doesNotMatch(out2, /creating embedded PostgreSQL cluster/, 'the second run reuses the cluster');
  stopped('second run');
  const second = await inspect();
  assertUnchanged(first, second, new Date().toDateString() === day);
});
