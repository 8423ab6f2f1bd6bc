import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../harness/helpers';
import { formatReport, INVARIANTS, readLines } from './checker';
import { FAULT_KINDS } from './history';
import { runChaos, type ChaosResult } from './runner';

/**
 * The short form of `npm run chaos`: 3 real nodes behind the real gateway, ~30 s of clients and a
 * fixed-seed nemesis that injects every kind of fault at least once, then the checker; every
 * invariant must be 0. `CHAOS_TEST_SEED` picks another schedule; the history of a failing run is
 * kept (its path is printed) so the checker's report can be read against it.
 */
const SEED = Number(process.env.CHAOS_TEST_SEED ?? 20_251);
const DURATION_MS = 30_000;

describe(`chaos: 3 nodes, ${DURATION_MS / 1000} s, seed ${SEED}`, () => {
  let database: TestDatabase;
  let result: ChaosResult;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moviebook-chaos-test-'));
  const historyFile = path.join(dir, `history-${SEED}.jsonl`);

  before(async () => {
    database = await createTestDatabase();
    result = await runChaos({
      databaseUrl: database.url, nodes: 3, durationMs: DURATION_MS, seed: SEED, clients: 8, historyFile,
      schedule: { gapMs: [500, 1_200], faultMs: [1_500, 3_000], switchWindowMs: 2_000 },
    });
    if (!result.report.ok) console.log(`${formatReport(result.report)}\n(history kept in ${historyFile})`);
  });

  after(async () => {
    await database?.drop();
    if (result?.report.ok) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('every kind of fault was injected while clients were running', () => {
    const { report } = result;
    for (const kind of FAULT_KINDS) assert.ok((report.faults.byKind[kind] ?? 0) >= 1, `${kind} injected: ${JSON.stringify(report.faults.byKind)}`);
    assert.ok(report.availability.duringFaults.ops > 50, `operations during faults: ${JSON.stringify(report.availability.duringFaults)}`);
    assert.ok(report.bookings.acknowledged > 5, `bookings acknowledged: ${report.bookings.acknowledged}`);
    assert.ok((report.operations.byKind['read-bookings']?.ok ?? 0) > 20);
    assert.ok(report.elections.samples > 20);
    assert.equal(report.vacuous, null);
  });

  test('strong and eventual reads were made, and judged, during the faults and after convergence', () => {
    const { strong, eventual, linearizability } = result.report.reads;
    console.log(readLines(result.report).join('\n'));
    // Judged while the nemesis ran (the reads after convergence are 3 per client and level on top).
    assert.ok(strong.checked - strong.afterConvergence > 10, `strong reads judged: ${JSON.stringify(strong)}`);
    assert.ok(eventual.checked - eventual.afterConvergence > 10, `eventual reads judged: ${JSON.stringify(eventual)}`);
    assert.ok(strong.afterConvergence > 0 && eventual.afterConvergence > 0, 'reads after convergence judged');
    assert.ok(linearizability.documents > 0, 'booking documents with strong observations');
  });

  for (const invariant of INVARIANTS) {
    test(`${invariant} is 0`, () => {
      const { counts, violations } = result.report;
      assert.equal(counts[invariant], 0, JSON.stringify(violations.filter((v) => v.invariant === invariant).slice(0, 5)));
    });
  }

  test('after the heal every replica holds exactly what PostgreSQL holds', () => {
    const { report, snapshot } = result;
    const truth = new Map(snapshot.bookings.map((b) => [b.id, b.status]));
    assert.equal(snapshot.outbox, 0, 'nothing left in the outbox');
    assert.equal(snapshot.replicas.length, 3, 'every node has a replica');
    for (const replica of snapshot.replicas) {
      const docs = new Map(replica.bookings.map((b) => [b.id, b.status]));
      assert.deepEqual([...truth].filter(([id, status]) => docs.get(id) !== status), [], `${replica.nodeId}: bookings missing or with another status`);
      assert.deepEqual([...docs.keys()].filter((id) => !truth.has(id)), [], `${replica.nodeId}: unknown bookings`);
    }
    assert.ok(report.convergence.converged, JSON.stringify(report.violations.filter((v) => v.invariant === 'notConverged')));
  });
});
