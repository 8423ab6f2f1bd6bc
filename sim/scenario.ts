/**
 * Random fault scenarios for the cluster simulator, derived entirely from a seed.
 *
 * A run has a fault phase (crashes, restarts, crashes of whoever leads, partitions, lossy and
 * slow networks, elections an operator triggers, on top of skewed and drifting clocks) followed
 * by a calm phase: partitions heal, the network becomes reliable with bounded delay, and every
 * node restarts except a random minority that stays down for good. Checkers then judge the end
 * state and the whole history. The common faults and the calm phase come from ./faults, shared
 * with the replication simulator.
 */
import { createBullyElection } from '../core/bully-election';
import { highestPriority } from '../core/node-id';
import type { ElectionConfig, ElectionCore, ElectionState } from '../core/election';
import { createRingElection } from '../core/ring-election';
import { Cluster, DEFAULT_SIM_CONFIG, type BerkeleySimConfig, type NetworkConditions, type NodeClock, type SimConfig } from './cluster';
import * as faults from './faults';
import type { History } from './history';
import { createRandom } from '../core/random';
import type { ElectionAlgorithm } from '../core/vocabulary';

export { CALM_NETWORK, MAX_CLUSTER_SIZE, MAX_FAULT_DELAY_MS, MAX_NODE_NUMBER, MIN_CLUSTER_SIZE } from './faults';
export const MAX_SKEW_MS = 250;
export const MAX_DRIFT_PPM = 100;
export const FAULT_PHASE_MS = 6000;
export const CALM_PHASE_MS = 7000;
const FAULT_PACING: faults.FaultPacing = { firstMs: [300, 1500], shortGapMs: [100, 1200], longGapMs: [1500, 3000] };

export function electionCoreFor(algorithm: ElectionAlgorithm, config: Partial<ElectionConfig> = {}): ElectionCore<ElectionState> {
  return algorithm === 'bully' ? createBullyElection(config) : createRingElection(config);
}

export interface ScenarioOptions {
  readonly seed: number;
  readonly algorithm: ElectionAlgorithm;
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

  const nodeIds = faults.drawNodeIds(rng);
  const clocks: Record<string, NodeClock> = {};
  for (const id of nodeIds) clocks[id] = { skewMs: rng.float(-MAX_SKEW_MS, MAX_SKEW_MS), driftPpm: rng.float(-MAX_DRIFT_PPM, MAX_DRIFT_PPM) };

  const b = DEFAULT_SIM_CONFIG.berkeley;
  // The last round must start early enough for its corrections to land before the end.
  const config: SimConfig = {
    ...DEFAULT_SIM_CONFIG,
    berkeley: { ...b, stopAtMs: endMs - b.roundTimeoutMs - faults.CALM_NETWORK.maxDelayMs - 50, ...options.berkeley },
  };
  const cluster = new Cluster({
    seed: options.seed,
    core: options.core ?? electionCoreFor(options.algorithm),
    nodeIds,
    clocks,
    network: faults.CALM_NETWORK,
    config,
    ...(options.trace === undefined ? {} : { trace: options.trace }),
  });
  cluster.bootAll(50);

  // Fault phase. Actions are chosen now; their targets may depend on the state at that time
  // (e.g. "crash the leader"), which is still deterministic.
  faults.forEachFault(rng, FAULT_PACING, faultPhaseMs, (t, roll, pickSeed) => {
    if (roll < 0.2) {
      faults.crashOneUp(cluster, nodeIds, t, pickSeed);
    } else if (roll < 0.35) {
      cluster.at(t, () => {
        const target = faults.pickWith(nodeIds.filter((id) => cluster.isUp(id) && cluster.electionState(id).leader === id), pickSeed);
        if (target !== undefined) cluster.crash(target);
      });
    } else if (roll < 0.55) {
      faults.restartOneDown(cluster, nodeIds, t, pickSeed);
    } else if (roll < 0.72) {
      const groups = faults.drawPartition(rng, nodeIds, 0.3);
      cluster.at(t, () => cluster.partition(groups));
    } else if (roll < 0.82) {
      cluster.at(t, () => cluster.heal());
    } else if (roll < 0.92) {
      const network = faults.drawFaultNetwork(rng);
      cluster.at(t, () => cluster.setNetwork(network));
    } else {
      cluster.at(t, () => {
        const target = faults.pickWith(nodeIds.filter((id) => cluster.isUp(id)), pickSeed);
        if (target !== undefined) cluster.trigger(target, { type: 'trigger' });
      });
    }
  });

  // Calm phase: a minority may stay down for good (sometimes the highest-priority node).
  const permanentlyDown = faults.drawPermanentlyDown(rng, nodeIds, { id: highestPriority(nodeIds) ?? '', chance: 0.3 });
  faults.startCalmPhase(cluster, faultPhaseMs, nodeIds, permanentlyDown);

  cluster.runUntil(endMs);
  return {
    history: cluster.finish(),
    calmFromMs: faultPhaseMs,
    endMs,
    config,
    calmNetwork: faults.CALM_NETWORK,
    maxDriftPpm: MAX_DRIFT_PPM,
    maxFaultDelayMs: faults.MAX_FAULT_DELAY_MS,
  };
}
