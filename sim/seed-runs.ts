/**
 * Random-fault tests over many seeds, for both simulators' sim tests. From the environment:
 * SIM_SEEDS (how many), SIM_SEED_BASE (the first, default 1), SIM_SEED (replay one seed) and
 * SIM_TRACE=1 (with SIM_SEED: print every core step of the replay).
 */
import assert from 'node:assert/strict';

const MAX_FAILURES_LISTED = 5;

export interface SeedSelection {
  readonly seeds: readonly number[];
  readonly trace: ((line: string) => void) | undefined;
}

export function seedsFromEnv(defaultCount: number, env: NodeJS.ProcessEnv = process.env): SeedSelection {
  const replaySeed = env.SIM_SEED === undefined ? undefined : Number(env.SIM_SEED);
  const seedCount = Number(env.SIM_SEEDS ?? defaultCount);
  const seedBase = Number(env.SIM_SEED_BASE ?? 1);
  return {
    seeds: replaySeed !== undefined ? [replaySeed] : Array.from({ length: seedCount }, (_, i) => seedBase + i),
    trace: replaySeed !== undefined && env.SIM_TRACE === '1' ? (line: string) => console.log(line) : undefined,
  };
}

export interface SeedRunLabels {
  /** Names the run in a crash report, e.g. the algorithm. */
  readonly label: string;
  /** A checker's verdict (its message already names the seed and the replay command). */
  readonly isCheckFailure: (error: unknown) => boolean;
  readonly replay: (seed: number) => string;
}

/** Runs every seed; returns a message per failing seed: a checker's verdict, or a crash with its replay command. */
export function failingSeeds(seeds: readonly number[], run: (seed: number) => void, labels: SeedRunLabels): string[] {
  const failures: string[] = [];
  for (const seed of seeds) {
    try {
      run(seed);
    } catch (error) {
      if (labels.isCheckFailure(error)) failures.push((error as Error).message);
      else failures.push(`[sim ${labels.label} seed=${seed}] crashed: ${(error as Error).stack ?? String(error)}\n  replay: ${labels.replay(seed)}`);
    }
  }
  return failures;
}

/** Fails the test, listing the first few failures. */
export function assertNoFailures(failures: readonly string[], seedCount: number): void {
  if (failures.length > 0) {
    assert.fail(`${failures.length} of ${seedCount} seeds failed:\n${failures.slice(0, MAX_FAILURES_LISTED).join('\n')}`);
  }
}
