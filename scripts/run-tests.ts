import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../db/embedded';
import { createPool, ensureDatabaseExists, prepareSchema } from '../db/database';
import { TEMPLATE_DATABASE } from '../harness/helpers';
import { sourceFiles } from '../harness/source-files';
import { buildIfNeeded } from './build-if-needed';
import { ensureBrowser } from './ensure-browser';

/**
 * `npm test` (after lint and typecheck): every `*.test.ts` with node's test runner.
 * Database tests get a PostgreSQL server — DATABASE_URL when set, else an embedded one in a
 * temporary directory — and a migrated, seeded template database from which each test file
 * clones its own fresh database. `--db-only` runs only the database tests (`*.db.test.ts`);
 * file arguments run just those files.
 */
const dbOnly = process.argv.includes('--db-only');
const chosenFiles = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const findTests = (dir: string) =>
  sourceFiles(dir, (name) => name.endsWith('.test.ts') && (!dbOnly || name.endsWith('.db.test.ts')));

async function prepareTemplate(serverUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
  await admin.end();
  const url = await ensureDatabaseExists(serverUrl, TEMPLATE_DATABASE);
  const db = createPool(url, 2);
  await prepareSchema(db, { seed: true });
  await db.end();
}

async function main(): Promise<number> {
  const files = chosenFiles.length ? chosenFiles : findTests('.');
  if (!files.length) throw new Error('no test files found');
  // Browser tests run the pages as in production: build them once here, not in parallel per file.
  // and make sure they have a browser (installed from Debian's packages when missing).
  if (files.some((f) => f.endsWith('.e2e.test.ts'))) {
    process.env.CHROMIUM_PATH = ensureBrowser();
    buildIfNeeded();
  }
  let serverUrl = process.env.DATABASE_URL;
  let stopServer = async () => {};
  let tempDir: string | undefined;
  if (!serverUrl) {
    tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'moviebook-test-'));
    const embedded = await startEmbeddedPostgres(tempDir);
    serverUrl = embedded.url;
    stopServer = () => embedded.stop();
  }
  try {
    await prepareTemplate(serverUrl);
    const concurrency = Number(process.env.TEST_CONCURRENCY ?? Math.max(1, os.availableParallelism()));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files],
      { stdio: 'inherit', env: { ...process.env, TEST_DATABASE_SERVER_URL: serverUrl, NEXT_TELEMETRY_DISABLED: '1' } },
    );
    return await new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  } finally {
    await stopServer();
    if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
