/**
 * The checkers must be able to fail: deliberately broken cores (sim/mutants.ts), configurations
 * that promise less than the checker demands, and corrupted histories are caught.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  atLeast,
  checkAnswered,
  checkConvergence,
  checkDurability,
  checkReadAfterAck,
  checkSessions,
  ReplicationCheckError,
} from './checkers';
import { amnesiacMaster, credulousGossip, forgetfulGossip, noRepairMultiMaster, tokenBlind, unconfirmedMaster } from './mutants';
import { runAndCheck, runScenario, type ScenarioOptions } from './scenario';
import type { ReplicationMode } from '../../core/vocabulary';

/** Seeds tried before concluding that a broken core goes unnoticed. */
const MUTANT_SEED_BUDGET = 150;

function firstFailure(options: Omit<ScenarioOptions, 'seed'>): ReplicationCheckError | undefined {
  for (let seed = 1; seed <= MUTANT_SEED_BUDGET; seed++) {
    try {
      runAndCheck({ ...options, seed });
    } catch (error) {
      if (error instanceof ReplicationCheckError) return error;
      throw error;
    }
  }
  return undefined;
}

test('gossip that exchanges digests but forgets to send the entries is caught', () => {
  const failure = firstFailure({ mode: 'gossip', core: forgetfulGossip });
  assert.ok(failure, 'no seed exposed it');
  assert.match(failure.message, /convergence|durability/);
  assert.match(failure.message, /\n  replay: SIM_SEED=\d+ SIM_MODE=gossip node --import tsx --test sim\/replication\/replication\.sim\.test\.ts/);
});

test("gossip that trusts a peer's seen vector before getting its entries is caught", () => {
  const failure = firstFailure({ mode: 'gossip', core: credulousGossip });
  assert.ok(failure, 'no seed exposed it');
});

for (const mode of ['gossip', 'multi-master', 'master-slave'] as const satisfies readonly ReplicationMode[]) {
  test(`${mode}: causal reads that ignore the session token are caught`, () => {
    const failure = firstFailure({ mode, core: tokenBlind(mode) });
    assert.ok(failure, 'no seed exposed it');
    assert.match(failure.message, /causal session/);
  });
}

test('multi-master without hinted handoff, read repair and anti-entropy is caught', () => {
  const failure = firstFailure({ mode: 'multi-master', core: noRepairMultiMaster });
  assert.ok(failure, 'no seed exposed it');
  assert.match(failure.message, /convergence|durability/);
});

test('multi-master with R + W ≤ N serves stale strong reads (the checker sees it)', () => {
  const failure = firstFailure({ mode: 'multi-master', config: { n: 3, r: 1, w: 1 }, forceReadAfterAck: true });
  assert.ok(failure, 'no seed exposed it');
  assert.match(failure.message, /read after acknowledged write/);
});

test('asynchronous master-slave loses acknowledged writes on failover (the checker sees it)', () => {
  const failure = firstFailure({ mode: 'master-slave', config: { synchronous: false }, forceReadAfterAck: true });
  assert.ok(failure, 'no seed exposed it');
  assert.match(failure.message, /read after acknowledged write|durability/);
});

test('a new master that skips the catch-up is caught', () => {
  const failure = firstFailure({ mode: 'master-slave', core: amnesiacMaster, config: { synchronous: true } });
  assert.ok(failure, 'no seed exposed it');
  assert.match(failure.message, /read after acknowledged write|durability/);
});

test('a master that serves strong reads without confirming its leadership is caught', () => {
  const failure = firstFailure({ mode: 'master-slave', core: unconfirmedMaster, config: { synchronous: true } });
  assert.ok(failure, 'no seed exposed it');
  assert.match(failure.message, /read after acknowledged write/);
});

// ---------------------------------------------------------------------------------------------
// Corrupted histories

function sample(mode: ReplicationMode = 'gossip'): ReturnType<typeof runScenario> {
  for (let seed = 1; ; seed++) {
    const r = runScenario({ seed, mode });
    if (r.checks.allUp && r.history.ops.some((op) => op.kind === 'read' && op.consistency === 'causal' && op.ok && op.stamp !== null)) return r;
  }
}

test('atLeast: the same write, or a later (ts, origin)', () => {
  const a = { key: 'k', origin: 'node-1', seq: 1, ts: 10, deleted: false };
  assert.ok(atLeast(a, a));
  assert.ok(atLeast({ ...a, origin: 'node-2', seq: 1 }, a));
  assert.ok(!atLeast(a, { ...a, origin: 'node-2' }));
  assert.ok(atLeast({ ...a, seq: 2, ts: 11 }, a));
  assert.ok(!atLeast(null, a));
});

test('a replica that misses an entry breaks convergence and durability', () => {
  const r = sample();
  const h = r.history;
  checkConvergence(h);
  checkDurability(h, true);
  const victim = h.finalReplicas[0];
  assert.ok(victim);
  const entries = new Map(victim.entries);
  const write = h.ops.find((op) => op.kind === 'write' && op.ok);
  assert.ok(write);
  entries.delete(write.key);
  h.finalReplicas[0] = { ...victim, entries, content: `${victim.content}!` };
  assert.throws(() => checkConvergence(h), /convergence: .* differ on 1 key/);
  assert.throws(() => checkDurability(h, true), /durability: acknowledged write .* is missing on/);
});

test('a strong read older than an acknowledged write is caught', () => {
  const h = sample('multi-master').history;
  checkReadAfterAck(h);
  const w = h.ops.find((op) => op.kind === 'write' && op.ok && op.stamp !== null);
  assert.ok(w && w.stamp);
  h.ops.push({ kind: 'read', session: 'x', node: 'node-1', key: w.key, consistency: 'strong', start: w.end + 1, end: w.end + 2, ok: true, stamp: null, servedBy: 'node-1' });
  assert.throws(() => checkReadAfterAck(h), /read after acknowledged write: strong read .* returned nothing/);
});

test('a causal session going backwards is caught; an eventual one is not judged', () => {
  const h = sample().history;
  checkSessions(h);
  const last = [...h.ops].reverse().find((op) => op.ok && op.stamp !== null);
  assert.ok(last && last.stamp);
  const older = { ...last.stamp, ts: last.stamp.ts - 1_000_000, seq: 0 };
  h.ops.push({ kind: 'read', session: last.session, node: 'node-1', key: last.key, consistency: 'eventual', start: h.endTime, end: h.endTime, ok: true, stamp: older, servedBy: 'node-1' });
  checkSessions(h);
  h.ops.push({ kind: 'read', session: last.session, node: 'node-1', key: last.key, consistency: 'causal', start: h.endTime, end: h.endTime, ok: true, stamp: older, servedBy: 'node-1' });
  assert.throws(() => checkSessions(h), (e: unknown) => e instanceof ReplicationCheckError && /causal session: session/.test(e.message) && e.message.includes(`seed=${h.seed}`));
});

test('a request nobody answered is caught', () => {
  const h = sample().history;
  checkAnswered(h);
  h.ops.push({ kind: 'read', session: 'x', node: 'node-1', key: 'k', consistency: 'causal', start: 0, end: 10_000, ok: false, error: 'client-timeout', stamp: null, servedBy: null });
  assert.throws(() => checkAnswered(h), /every request answered/);
});
