/**
 * Random fault scenarios for the replication simulator, derived entirely from a seed.
 *
 * A run has a fault phase — crashes, restarts, partitions, lossy, slow and duplicating networks,
 * false suspicions by the failure detector, skewed clocks — while client sessions write and read
 * random keys through random nodes (each session's ops run one after another, carrying its
 * session token). Then a calm phase: partitions heal, the network is reliable, every node
 * restarts except, in half the runs, a minority that stays down; sessions go on for a while,
 * then the run continues until every live replica has the same digest (or a deadline).
 * The common faults and the calm phase come from sim/faults, shared with the election simulator.
 */
import { EMPTY_VECTOR_CLOCK, type VectorClock } from '../../core/vector-clock';
import * as faults from '../faults';
import { createRandom, type Random } from '../../core/random';
import { createReplication } from '../../core/replication/index';
import type { ReplicationConfig, ReplicationCore } from '../../core/replication/replication';
import { checkAll, type CheckOptions } from './checkers';
import { DEFAULT_DETECTOR, ReplicationCluster } from './cluster';
import type { ReplicationHistory } from './history';
import type { Consistency, ReplicationMode } from '../../core/vocabulary';

export { CALM_NETWORK, MAX_CLUSTER_SIZE, MAX_NODE_NUMBER, MIN_CLUSTER_SIZE } from '../faults';
export const MAX_SKEW_MS = 300;
export const FAULT_PHASE_MS = 5000;
/** Sessions keep going this long into the calm phase. */
export const CALM_TRAFFIC_MS = 1500;
/** Convergence is expected no later than this after healing. */
export const CONVERGENCE_DEADLINE_MS = 30_000;
const CONVERGENCE_POLL_MS = 50;
const FAULT_PACING: faults.FaultPacing = { firstMs: [300, 1200], shortGapMs: [100, 900], longGapMs: [1200, 2500] };
const FAULT_DUPLICATE_RATES = [0, 0, 0.05, 0.2] as const;
const SESSIONS = 3;
const CONSISTENCIES: readonly Consistency[] = ['strong', 'eventual', 'causal', 'causal'];

/** Multi-master (N, R, W) choices; those with R + W > N promise read-after-acknowledged-write. */
const QUORUMS: readonly (readonly [number, number, number])[] = [
  [3, 2, 2],
  [3, 1, 3],
  [3, 3, 1],
  [5, 3, 3],
  [2, 1, 2],
  [3, 1, 1],
  [3, 2, 1],
];

/** Replication settings for the simulation: faster periods than production, so runs stay short. */
export const SIM_REPLICATION_CONFIG: Partial<ReplicationConfig> = {
  writeTimeoutMs: 1500,
  readTimeoutMs: 600,
  causalWaitMs: 200,
  retryIntervalMs: 200,
  syncIntervalMs: 500,
  gossipIntervalMs: 200,
};

export interface ScenarioOptions {
  readonly seed: number;
  readonly mode: ReplicationMode;
  /** Replace the core (tests use deliberately broken ones); gets the run's configuration. */
  readonly core?: (config: Partial<ReplicationConfig>) => ReplicationCore;
  /** Override the run's configuration after it was drawn. */
  readonly config?: Partial<ReplicationConfig>;
  /** Check read-after-acknowledged-write even if the configuration does not promise it. */
  readonly forceReadAfterAck?: boolean;
  readonly trace?: (line: string) => void;
}

export interface ScenarioResult {
  readonly history: ReplicationHistory;
  readonly config: Partial<ReplicationConfig>;
  readonly checks: CheckOptions;
  /** Simulated ms from the end of client traffic until every live replica agreed (and every client was answered). */
  readonly convergenceMs: number | null;
}

export function runScenario(options: ScenarioOptions): ScenarioResult {
  const rng = createRandom(options.seed ^ 0x2e91ca7e);
  const nodeIds = faults.drawNodeIds(rng);
  const n = nodeIds.length;
  const skewMs: Record<string, number> = {};
  for (const id of nodeIds) skewMs[id] = Math.round(rng.float(-MAX_SKEW_MS, MAX_SKEW_MS));

  let config: Partial<ReplicationConfig> = { ...SIM_REPLICATION_CONFIG };
  let promisesReadAfterAck = true;
  if (options.mode === 'master-slave') {
    const synchronous = rng.chance(0.75);
    config = { ...config, synchronous };
    promisesReadAfterAck = synchronous;
  } else if (options.mode === 'multi-master') {
    const [qn, qr, qw] = rng.pick(QUORUMS);
    config = { ...config, n: qn, r: qr, w: qw };
  } else {
    config = { ...config, fanout: rng.int(1, 3) };
  }
  config = { ...config, ...options.config };
  if (options.mode === 'multi-master') {
    const effectiveN = Math.min(config.n ?? 3, n);
    promisesReadAfterAck = Math.min(config.r ?? 2, effectiveN) + Math.min(config.w ?? 2, effectiveN) > effectiveN;
  }
  if (options.mode === 'master-slave' && options.config?.synchronous !== undefined) promisesReadAfterAck = options.config.synchronous;

  const core = options.core !== undefined ? options.core(config) : createReplication(options.mode, config);
  const cluster = new ReplicationCluster({
    seed: options.seed,
    core,
    nodeIds,
    skewMs,
    network: faults.CALM_NETWORK,
    detector: DEFAULT_DETECTOR,
    ...(options.trace === undefined ? {} : { trace: options.trace }),
  });
  cluster.bootAll(50);

  // Fault phase.
  faults.forEachFault(rng, FAULT_PACING, FAULT_PHASE_MS, (t, roll, pickSeed) => {
    if (roll < 0.2) {
      faults.crashOneUp(cluster, nodeIds, t, pickSeed);
    } else if (roll < 0.35 && options.mode === 'master-slave') {
      // Crash the master, or cut it off with a minority (it learns it was deposed only later).
      const isolate = rng.chance(0.5);
      const shuffled = rng.shuffle(nodeIds);
      const minority = rng.int(0, Math.floor((n - 1) / 2) - 1);
      cluster.at(t, () => {
        const target = faults.pickWith(nodeIds.filter((id) => cluster.isUp(id) && cluster.state(id).role !== 'follower'), pickSeed);
        if (target === undefined) return;
        if (!isolate) cluster.crash(target);
        else {
          const side = [target, ...shuffled.filter((id) => id !== target).slice(0, Math.max(0, minority))];
          cluster.partition([side, nodeIds.filter((id) => !side.includes(id))]);
        }
      });
    } else if (roll < 0.5) {
      faults.restartOneDown(cluster, nodeIds, t, pickSeed);
    } else if (roll < 0.67) {
      const groups = faults.drawPartition(rng, nodeIds);
      cluster.at(t, () => cluster.partition(groups));
    } else if (roll < 0.77) {
      cluster.at(t, () => cluster.heal());
    } else if (roll < 0.87) {
      const falseSuspicionRate = rng.pick([0, 0.1, 0.3]);
      cluster.at(t, () => cluster.setDetector({ ...DEFAULT_DETECTOR, falseSuspicionRate }));
    } else {
      const network = faults.drawFaultNetwork(rng, FAULT_DUPLICATE_RATES);
      cluster.at(t, () => cluster.setNetwork(network));
    }
  });

  const permanentlyDown = faults.drawPermanentlyDown(rng, nodeIds);
  faults.startCalmPhase(cluster, FAULT_PHASE_MS, nodeIds, permanentlyDown, () => cluster.setDetector(DEFAULT_DETECTOR));

  const keys = Array.from({ length: rng.int(2, 6) }, (_, i) => `seat:${i + 1}`);
  const stopAt = FAULT_PHASE_MS + CALM_TRAFFIC_MS;
  for (let i = 0; i < SESSIONS; i++) startSession(cluster, rng.fork(), `s${i + 1}`, nodeIds, keys, stopAt);

  cluster.runUntil(stopAt);
  const deadline = FAULT_PHASE_MS + CONVERGENCE_DEADLINE_MS;
  let converged = cluster.converged();
  while (!converged && cluster.now < deadline) {
    cluster.runUntil(cluster.now + CONVERGENCE_POLL_MS);
    converged = cluster.converged();
  }
  const convergedAt = cluster.now;
  return {
    history: cluster.finish(),
    config,
    checks: {
      allUp: permanentlyDown.size === 0,
      strongReadsSeeAckedWrites: promisesReadAfterAck || options.forceReadAfterAck === true,
      converged,
      convergenceDeadlineMs: CONVERGENCE_DEADLINE_MS,
    },
    convergenceMs: converged ? convergedAt - stopAt : null,
  };
}

/** A client session: one op at a time through a random node, carrying its token. */
function startSession(cluster: ReplicationCluster, rng: Random, session: string, nodeIds: readonly string[], keys: readonly string[], stopAt: number): void {
  let token: VectorClock = EMPTY_VECTOR_CLOCK;
  let written = 0;
  const next = (): void => {
    if (cluster.now >= stopAt) return;
    const node = rng.pick(nodeIds);
    const key = rng.pick(keys);
    const after = (r: { ok: boolean; token?: VectorClock }): void => {
      if (r.ok && r.token !== undefined) token = r.token;
      cluster.at(cluster.now + rng.float(10, 250), next);
    };
    const consistency = rng.pick(CONSISTENCIES);
    if (rng.chance(0.4)) cluster.write(session, node, key, `${session}:${++written}`, token, after);
    // Most strong reads come from a client with no session (a fresh browser): the protocol
    // alone, not the session token, must make them see every acknowledged write.
    else if (consistency === 'strong' && rng.chance(0.9)) cluster.read(`${session}/fresh`, node, key, consistency, EMPTY_VECTOR_CLOCK, () => cluster.at(cluster.now + rng.float(10, 250), next));
    else cluster.read(session, node, key, consistency, token, after);
  };
  cluster.at(rng.float(100, 400), next);
}

export function runAndCheck(options: ScenarioOptions): ScenarioResult {
  const result = runScenario(options);
  checkAll(result.history, result.checks);
  return result;
}
