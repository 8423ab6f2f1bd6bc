import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Cleanup, cleanUpOnSignal, openBenchDatabase, runMain } from '../harness/kit';
import { createPool, prepareSchema } from '../db/database';
import { check, formatReport, type DbSnapshot } from './checker';
import { readHistory } from './history';
import { figuresMarkdown, writeFigures } from './figures';
import { killEverythingNow, resultsDir, runChaos } from './runner';

/**
 * `npm run chaos -- --duration 120 --nodes 5 --seed N`: a chaos run against a fresh cluster — the
 * real gateway and node processes on a database of their own (a fresh database on DATABASE_URL's
 * server, else a fresh embedded PostgreSQL in a temporary directory) — then the checker.
 * Writes chaos-results/history-<seed>.jsonl and summary-<seed>.json, prints the human summary and
 * exits 1 when an invariant is broken (2 when the run itself failed).
 *
 * Options: --duration <s> (120), --nodes <n> (5), --seed <n> (random), --clients <n> (12),
 * --heal-bound <s> (30), --out <dir> (chaos-results), --doc (write the figures into
 * docs/reliability.md). TEST_CLUSTER_LOG_DIR=<dir> keeps node logs. The database snapshot the
 * checker read is saved as snapshot-<seed>.json; `--recheck --seed N` runs the checker again on
 * history-N.jsonl and snapshot-N.json without starting anything.
 */

const log = (msg: string) => console.log(`[chaos] ${msg}`);
const DOC_FILE = path.join('docs', 'reliability.md');

function int(value: string | undefined, fallback: number, what: string, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${what} must be an integer in ${min}–${max}, got "${value}"`);
  return n;
}

function readOptions() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' }, nodes: { type: 'string' }, seed: { type: 'string' }, clients: { type: 'string' },
      'heal-bound': { type: 'string' }, out: { type: 'string' }, doc: { type: 'boolean' }, recheck: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  return {
    durationS: int(values.duration, 120, '--duration', 5, 86_400),
    nodes: int(values.nodes, 5, '--nodes', 3, 9),
    seed: int(values.seed, randomBytes(3).readUIntBE(0, 3), '--seed', 0, 2 ** 31 - 1),
    clients: int(values.clients, 12, '--clients', 1, 64),
    healBoundS: int(values['heal-bound'], 30, '--heal-bound', 1, 3_600),
    out: values.out ? path.resolve(values.out) : resultsDir(),
    doc: values.doc ?? false,
    recheck: values.recheck ?? false,
    seedGiven: values.seed !== undefined,
  };
}

/** The checker again over a saved history and snapshot: nothing is started. */
function recheck(options: ReturnType<typeof readOptions>): number {
  if (!options.seedGiven) throw new Error('--recheck needs --seed');
  const history = readHistory(path.join(options.out, `history-${options.seed}.jsonl`));
  const snapshot = JSON.parse(fs.readFileSync(path.join(options.out, `snapshot-${options.seed}.json`), 'utf8')) as DbSnapshot;
  const report = check(history, snapshot);
  console.log(formatReport(report));
  return report.ok ? 0 : 1;
}

async function main(): Promise<number> {
  const options = readOptions();
  if (options.recheck) return recheck(options);
  const cleanup = new Cleanup();
  cleanUpOnSignal(cleanup, log, killEverythingNow);
  process.once('exit', killEverythingNow);
  try {
    // A database of our own (dropped afterwards; on the embedded server, the whole server goes).
    const { url } = await openBenchDatabase(cleanup, log, `moviebook_chaos_${options.seed}`);
    const pool = createPool(url, 2);
    try {
      await prepareSchema(pool, { seed: true });
    } finally {
      await pool.end();
    }

    fs.mkdirSync(options.out, { recursive: true });
    const historyFile = path.join(options.out, `history-${options.seed}.jsonl`);
    const summaryFile = path.join(options.out, `summary-${options.seed}.json`);
    const began = performance.now();
    const snapshotFile = path.join(options.out, `snapshot-${options.seed}.json`);
    const { report, injected } = await runChaos({
      databaseUrl: url, nodes: options.nodes, durationMs: options.durationS * 1000, seed: options.seed, clients: options.clients,
      historyFile, snapshotFile, healBoundMs: options.healBoundS * 1000, log,
    });
    const elapsedS = (performance.now() - began) / 1000;
    fs.writeFileSync(summaryFile, `${JSON.stringify({ ...report, injected, elapsedS: Math.round(elapsedS), loadAverage: os.loadavg() }, null, 2)}\n`);
    console.log(`\n${formatReport(report)}\n`);
    console.log(`history: ${path.relative(process.cwd(), historyFile)}\nsummary: ${path.relative(process.cwd(), summaryFile)}\nsnapshot: ${path.relative(process.cwd(), snapshotFile)}`);
    if (options.doc) {
      const command = `npm run chaos -- --duration ${options.durationS} --nodes ${options.nodes} --seed ${options.seed} --clients ${options.clients}`;
      writeFigures(DOC_FILE, figuresMarkdown(report, { command, clients: options.clients, elapsedS: Math.round(elapsedS), loadAverage: os.loadavg(), injected }));
      console.log(`figures written to ${DOC_FILE}`);
    }
    console.log(`whole run ${elapsedS.toFixed(0)} s; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; replay the schedule with --seed ${options.seed}`);
    return report.ok ? 0 : 1;
  } finally {
    await cleanup.run();
  }
}

runMain(main, { failCode: 2, onFailure: killEverythingNow });
