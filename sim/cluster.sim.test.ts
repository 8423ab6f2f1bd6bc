/**
 * Deterministic simulation: random faults on 3–7 node clusters, every checker on every run.
 *
 *   SIM_SEEDS=5000 node --import tsx --test sim/cluster.sim.test.ts       more seeds (default 1000 per algorithm)
 *   SIM_SEED_BASE=70000 …                                                     another range of seeds (default 1)
 *   SIM_SEED=1234 SIM_ALGORITHM=ring node --import tsx --test sim/cluster.sim.test.ts   replay one seed
 *   SIM_TRACE=1 (with SIM_SEED)                                               print every core step of the replay
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkAll, clockSpreadMs, replayCommand, scenarioClockBoundMs, SimCheckError } from './checkers';
import { runScenario } from './scenario';
import { ELECTION_ALGORITHMS, type ElectionAlgorithm } from '../core/vocabulary';
import { assertNoFailures, failingSeeds, seedsFromEnv } from './seed-runs';

const DEFAULT_SEEDS_PER_ALGORITHM = 1000;

const env = process.env;
const chosen = ELECTION_ALGORITHMS.find((a) => a === env.SIM_ALGORITHM);
const algorithms: readonly ElectionAlgorithm[] = chosen ? [chosen] : ELECTION_ALGORITHMS;
const { seeds, trace } = seedsFromEnv(DEFAULT_SEEDS_PER_ALGORITHM);

for (const algorithm of algorithms) {
  test(`${algorithm}: ${seeds.length} random-fault seeds pass every checker`, (t) => {
    let worstSpreadMs = 0;
    let bound = 0;
    const failures = failingSeeds(
      seeds,
      (seed) => {
        const result = runScenario({ seed, algorithm, ...(trace === undefined ? {} : { trace }) });
        bound = scenarioClockBoundMs(result);
        worstSpreadMs = Math.max(worstSpreadMs, clockSpreadMs(result.history));
        checkAll(result);
      },
      { label: algorithm, isCheckFailure: (error) => error instanceof SimCheckError, replay: (seed) => replayCommand(seed, algorithm) },
    );
    t.diagnostic(`worst clock spread after sync ${worstSpreadMs.toFixed(2)} ms (bound ${bound.toFixed(2)} ms)`);
    assertNoFailures(failures, seeds.length);
  });
}

test('a seed replays exactly', () => {
  for (const algorithm of algorithms) {
    const digest = (): string => {
      const h = runScenario({ seed: seeds[0] ?? 1, algorithm }).history;
      return JSON.stringify([h.leaderBeliefs, h.registerOps, h.finalState, h.clockTrace.map((r) => r.clock.lamport), h.droppedMessages]);
    };
    assert.equal(digest(), digest());
  }
});
