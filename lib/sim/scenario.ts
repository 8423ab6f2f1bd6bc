/**
 * Random fault scenarios for the cluster simulator, derived entirely from a seed.
 *
 * A run has a fault phase (crashes, restarts, crashes of whoever leads, partitions, lossy and
 * slow networks, on top of skewed and drifting clocks) followed by a calm phase: partitions heal,
 * the network becomes reliable with bounded delay, and every node restarts except a random
 * minority that stays down for good. Checkers then judge the end state and the whole history.
 */
import { createBullyElection } from '../algorithms/bully-election';
import { highestPriority } from '../algorithms/node-id';
import type { ElectionConfig, ElectionCore, ElectionState } from '../algorithms/election';
import { createRingElection } from '../algorithms/ring-election';
import { Cluster, DEFAULT_SIM_CONFIG, type BerkeleySimConfig, type NetworkConditions, type NodeClock, type SimConfig } from './cluster';
import type { History } from './history';
import { createRandom } from './random';

export type AlgorithmName = 'bully' | 'ring';

export const MIN_CLUSTER_SIZE = 3;
export const MAX_CLUSTER_SIZE = 7;
/** Node numbers are drawn from 1..this, so ids like node-9 and node-10 meet. */
export const MAX_NODE_NUMBER = 12;
export const MAX_SKEW_MS = 250;
export const MAX_DRIFT_PPM = 100;
export const FAULT_PHASE_MS = 6000;
export const CALM_PHASE_MS = 7000;
/** Network once faults stop: reliable, one-way delay in [min, max]. */
export const CALM_NETWORK: NetworkConditions = { lossRate: 0, minDelayMs: 1, maxDelayMs: 15 };
/** Worst one-way delay during faults (the claim-majority checker needs it). */
export const MAX_FAULT_DELAY_MS = 400;
const FAULT_LOSS_RATES = [0, 0.05, 0.2, 0.4] as const;
const FAULT_MAX_DELAYS_MS = [15, 60, 150, MAX_FAULT_DELAY_MS] as const;

export function electionCoreFor(algorithm: AlgorithmName, config: Partial<ElectionConfig> = {}): ElectionCore<ElectionState> {
  return algorithm === 'bully' ? createBullyElection(config) : createRingElection(config);
}

export interface ScenarioOptions {
  readonly seed: number;
  readonly algorithm: AlgorithmName;
  /** Replace the election core (tests use deliberately broken ones). */
  readonly core?: ElectionCore<ElectionState>;
  readonly faultPhaseMs?: number;
  readonly calmPhaseMs?: number;
  readonly trace?: (line: string) => void;
  /** Change the time daemon's settings (tests use broken ones). */
  readonly berkeley?: Partial<BerkeleySimConfig>;
}

export interface ScenarioResult {
  readonly history: History;
  readonly calmFromMs: number;
  readonly endMs: number;
  readonly config: SimConfig;
  readonly calmNetwork: NetworkConditions;
  readonly maxDriftPpm: number;
  readonly maxFaultDelayMs: number;
}

export function runScenario(options: ScenarioOptions): ScenarioResult {
  const rng = createRandom(options.seed ^ 0x5eed5eed);
  const faultPhaseMs = options.faultPhaseMs ?? FAULT_PHASE_MS;
  const calmPhaseMs = options.calmPhaseMs ?? CALM_PHASE_MS;
  const endMs = faultPhaseMs + calmPhaseMs;

  const n = rng.int(MIN_CLUSTER_SIZE, MAX_CLUSTER_SIZE);
  const numbers = rng.shuffle(Array.from({ length: MAX_NODE_NUMBER }, (_, i) => i + 1)).slice(0, n);
  const nodeIds = numbers.map((k) => `node-${k}`);
  const clocks: Record<string, NodeClock> = {};
  for (const id of nodeIds) clocks[id] = { skewMs: rng.float(-MAX_SKEW_MS, MAX_SKEW_MS), driftPpm: rng.float(-MAX_DRIFT_PPM, MAX_DRIFT_PPM) };

  const b = DEFAULT_SIM_CONFIG.berkeley;
  // The last round must start early enough for its corrections to land before the end.
  const config: SimConfig = {
    ...DEFAULT_SIM_CONFIG,
    berkeley: { ...b, stopAtMs: endMs - b.roundTimeoutMs - CALM_NETWORK.maxDelayMs - 50, ...options.berkeley },
  };
  const cluster = new Cluster({
    seed: options.seed,
    core: options.core ?? electionCoreFor(options.algorithm),
    nodeIds,
    clocks,
    network: CALM_NETWORK,
    config,
    ...(options.trace === undefined ? {} : { trace: options.trace }),
  });
  cluster.bootAll(50);

  // Fault phase. Actions are chosen now; their targets may depend on the state at that time
  // (e.g. "crash the leader"), which is still deterministic.
  let t = rng.float(300, 1500);
  while (t < faultPhaseMs) {
    const roll = rng.next();
    const pickSeed = rng.next();
    if (roll < 0.2) {
      cluster.at(t, () => {
        const up = nodeIds.filter((id) => cluster.isUp(id));
        const target = up[Math.floor(pickSeed * up.length)];
        if (target !== undefined) cluster.crash(target);
      });
    } else if (roll < 0.35) {
      cluster.at(t, () => {
        const leaders = nodeIds.filter((id) => cluster.isUp(id) && cluster.electionState(id).leader === id);
        const target = leaders[Math.floor(pickSeed * leaders.length)];
        if (target !== undefined) cluster.crash(target);
      });
    } else if (roll < 0.55) {
      cluster.at(t, () => {
        const down = nodeIds.filter((id) => !cluster.isUp(id));
        const target = down[Math.floor(pickSeed * down.length)];
        if (target !== undefined) cluster.restart(target);
      });
    } else if (roll < 0.72) {
      const shuffled = rng.shuffle(nodeIds);
      const cut = rng.int(1, n - 1);
      const groups = rng.chance(0.3) && n >= 4 ? threeWay(shuffled, cut, rng.int(cut + 1, n)) : [shuffled.slice(0, cut), shuffled.slice(cut)];
      cluster.at(t, () => cluster.partition(groups));
    } else if (roll < 0.82) {
      cluster.at(t, () => cluster.heal());
    } else {
      const network: NetworkConditions = {
        lossRate: rng.pick(FAULT_LOSS_RATES),
        minDelayMs: 1,
        maxDelayMs: rng.pick(FAULT_MAX_DELAYS_MS),
      };
      cluster.at(t, () => cluster.setNetwork(network));
    }
    t += rng.chance(0.2) ? rng.float(1500, 3000) : rng.float(100, 1200);
  }

  // Calm phase: a minority may stay down for good (sometimes the highest-priority node).
  const permanentlyDown = new Set<string>();
  if (rng.chance(0.5)) {
    const k = rng.int(1, Math.floor((n - 1) / 2));
    const pool = rng.shuffle(nodeIds);
    if (rng.chance(0.3)) pool.unshift(highestPriority(nodeIds) ?? '');
    for (const id of pool) if (permanentlyDown.size < k) permanentlyDown.add(id);
  }
  cluster.at(faultPhaseMs, () => {
    cluster.heal();
    cluster.setNetwork(CALM_NETWORK);
    for (const id of nodeIds) {
      if (permanentlyDown.has(id)) cluster.crash(id);
      else cluster.restart(id);
    }
  });

  cluster.runUntil(endMs);
  return {
    history: cluster.finish(),
    calmFromMs: faultPhaseMs,
    endMs,
    config,
    calmNetwork: CALM_NETWORK,
    maxDriftPpm: MAX_DRIFT_PPM,
    maxFaultDelayMs: MAX_FAULT_DELAY_MS,
  };
}

function threeWay(ids: readonly string[], a: number, b: number): string[][] {
  return [ids.slice(0, a), ids.slice(a, b), ids.slice(b)].filter((g) => g.length > 0);
}

