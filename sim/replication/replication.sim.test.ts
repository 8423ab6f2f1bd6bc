/**
 * Deterministic simulation of replication: random faults on 3–7 node clusters, client sessions
 * writing and reading through random nodes, every checker on every run, for every mode.
 *
 *   SIM_SEEDS=2000 node --import tsx --test sim/replication/replication.sim.test.ts   more seeds (default 400 per mode)
 *   SIM_SEED_BASE=70000 …                                                                 another range of seeds (default 1)
 *   SIM_SEED=1234 SIM_MODE=gossip node --import tsx --test sim/replication/replication.sim.test.ts   replay one seed
 *   SIM_TRACE=1 (with SIM_SEED)                                                           print every core step of the replay
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ReplicationCheckError, replayCommand } from './checkers';
import { assertNoFailures, failingSeeds, seedsFromEnv } from '../seed-runs';
import { runAndCheck, runScenario } from './scenario';
import { REPLICATION_MODES, type ReplicationMode } from '../../core/vocabulary';

/** 3 × 400 = 1,200 seeds per run. */
const DEFAULT_SEEDS_PER_MODE = 400;

const env = process.env;
const modes: readonly ReplicationMode[] = REPLICATION_MODES.includes(env.SIM_MODE as ReplicationMode) ? [env.SIM_MODE as ReplicationMode] : REPLICATION_MODES;
const { seeds, trace } = seedsFromEnv(DEFAULT_SEEDS_PER_MODE);

for (const mode of modes) {
  test(`${mode}: ${seeds.length} random-fault seeds pass every checker`, (t) => {
    const convergence: number[] = [];
    let ops = 0;
    const failures = failingSeeds(
      seeds,
      (seed) => {
        const result = runAndCheck({ seed, mode, ...(trace === undefined ? {} : { trace }) });
        ops += result.history.ops.length;
        if (result.convergenceMs !== null) convergence.push(result.convergenceMs);
      },
      { label: mode, isCheckFailure: (error) => error instanceof ReplicationCheckError, replay: (seed) => replayCommand(seed, mode) },
    );
    convergence.sort((a, b) => a - b);
    t.diagnostic(`${ops} client ops; replicas agreed after the last client op: p50 ${convergence[Math.floor(convergence.length / 2)]} ms, max ${convergence.at(-1)} ms (simulated)`);
    assertNoFailures(failures, seeds.length);
  });
}

test('a seed replays exactly', () => {
  for (const mode of modes) {
    const digest = (): string => {
      const h = runScenario({ seed: seeds[0] ?? 1, mode }).history;
      return JSON.stringify([h.ops, h.topology, h.finalReplicas.map((r) => [r.id, r.up, r.content]), h.droppedMessages, h.deliveredMessages]);
    };
    assert.equal(digest(), digest());
  }
});
