/**
 * How fast a write spreads, measured in the simulator with the real cores: for each mode, the
 * time from a write until every replica holds it, and for gossip the rounds and simulated seconds
 * until a share of the nodes (50%, 99%, 99.99%, 100%) has it. `spreadTable` runs the standard
 * set (100 and 1,000 nodes); a benchmark script prints it beside Serf's model.
 */
import { createRandom } from '../../core/random';
import { createReplication } from '../../core/replication/index';
import type { ReplicationConfig } from '../../core/replication/replication';
import { ReplicationCluster, type NetworkConditions } from './cluster';
import type { ReplicationMode } from '../../core/vocabulary';

/** A LAN: one-way delay 1–10 ms, no loss. */
export const SPREAD_NETWORK: NetworkConditions = { lossRate: 0, duplicateRate: 0, minDelayMs: 1, maxDelayMs: 10 };
/** memberlist's gossip settings. */
export const SPREAD_GOSSIP_INTERVAL_MS = 200;
export const SPREAD_FANOUT = 3;
/** Serf's published convergence model: 99.99% of 1,000 nodes informed in about 2.2 s (200 ms, 3 peers). */
export const SERF_1000_NODES_99_99_S = 2.2;

export const SPREAD_SHARES = [0.5, 0.99, 0.9999, 1] as const;

export interface SpreadOptions {
  readonly mode: ReplicationMode;
  readonly nodes: number;
  /** Writes measured, one after another through random nodes. */
  readonly trials: number;
  readonly seed?: number;
  readonly network?: NetworkConditions;
  readonly config?: Partial<ReplicationConfig>;
  /** Give up on a write this long after it was made. */
  readonly maxMsPerTrial?: number;
}

export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
}

export interface SpreadResult {
  readonly mode: ReplicationMode;
  readonly nodes: number;
  readonly trials: number;
  readonly intervalMs: number;
  /** Write → acknowledged (simulated ms). */
  readonly ackMs: Percentiles;
  /** Acknowledged → every replica holds it (0 when all held it before the ack). */
  readonly afterAckMs: Percentiles;
  /** Per share of nodes (`SPREAD_SHARES`): write → that many nodes hold it, in simulated ms and in gossip rounds. */
  readonly shares: readonly { readonly share: number; readonly nodes: number; readonly ms: Percentiles; readonly rounds: Percentiles }[];
  /** Writes that did not reach every node within `maxMsPerTrial`. */
  readonly incomplete: number;
}

function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { p50: Number.NaN, p99: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99) };
}

interface Trial {
  readonly key: string;
  readonly start: number;
  ack: number | null;
  readonly holders: Set<string>;
  readonly reachedAt: (number | null)[];
}

export function measureSpread(options: SpreadOptions): SpreadResult {
  const seed = options.seed ?? 1;
  const rng = createRandom(seed ^ 0x5b7ead);
  const nodeIds = Array.from({ length: options.nodes }, (_, i) => `node-${i + 1}`);
  const intervalMs = options.config?.gossipIntervalMs ?? SPREAD_GOSSIP_INTERVAL_MS;
  const config: Partial<ReplicationConfig> = { gossipIntervalMs: intervalMs, fanout: SPREAD_FANOUT, ...options.config };
  const maxMs = options.maxMsPerTrial ?? 20_000;
  const thresholds = SPREAD_SHARES.map((share) => Math.ceil(share * options.nodes));
  const trials: Trial[] = [];
  const active = new Map<string, Trial>();

  const cluster = new ReplicationCluster({
    seed,
    core: createReplication(options.mode, config),
    nodeIds,
    network: options.network ?? SPREAD_NETWORK,
    // Faults are not measured here: a slow detector keeps large clusters cheap to simulate.
    detector: { minCheckMs: 300, maxCheckMs: 1000, falseSuspicionRate: 0 },
    electionModel: { minDelayMs: 100, maxDelayMs: 200, maxNotifyMs: 20, maxDeposedNotifyMs: 0 },
    onStep(node, time, state) {
      for (const trial of active.values()) {
        if (trial.holders.has(node) || !state.store.entries.has(trial.key)) continue;
        trial.holders.add(node);
        thresholds.forEach((count, i) => {
          if (trial.holders.size === count) trial.reachedAt[i] = time - trial.start;
        });
        if (trial.holders.size === options.nodes) active.delete(trial.key);
      }
    },
  });
  cluster.bootAll(intervalMs); // random gossip phases
  const warmupMs = 2500;
  cluster.runUntil(warmupMs);

  for (let i = 0; i < options.trials; i++) {
    const trial: Trial = { key: `spread:${i}`, start: cluster.now, ack: null, holders: new Set(), reachedAt: SPREAD_SHARES.map(() => null) };
    trials.push(trial);
    active.set(trial.key, trial);
    cluster.write('bench', rng.pick(nodeIds), trial.key, `v${i}`, {}, (r) => {
      if (r.ok) trial.ack = cluster.now - trial.start;
    });
    const deadline = cluster.now + maxMs;
    while ((active.has(trial.key) || trial.ack === null) && cluster.now < deadline) cluster.runUntil(cluster.now + 50);
    active.delete(trial.key);
    cluster.runUntil(cluster.now + rng.float(0, intervalMs)); // the next write lands at another point of the rounds
  }

  const done = trials.filter((t) => t.reachedAt.at(-1) !== null && t.ack !== null);
  return {
    mode: options.mode,
    nodes: options.nodes,
    trials: options.trials,
    intervalMs,
    ackMs: percentiles(done.map((t) => t.ack ?? 0)),
    afterAckMs: percentiles(done.map((t) => Math.max(0, (t.reachedAt.at(-1) ?? 0) - (t.ack ?? 0)))),
    shares: SPREAD_SHARES.map((share, i) => {
      const ms = done.map((t) => t.reachedAt[i] ?? 0);
      return { share, nodes: thresholds[i] ?? options.nodes, ms: percentiles(ms), rounds: percentiles(ms.map((x) => x / intervalMs)) };
    }),
    incomplete: trials.length - done.length,
  };
}

/**
 * The mean-field push epidemic behind Serf's convergence model: each informed node tells `fanout`
 * random nodes per round, so the informed share grows as x' = x + (1 − x)(1 − e^(−fanout·x)).
 * Returns the rounds until `share` of `nodes` is informed, starting from one node.
 */
export function pushEpidemicRounds(nodes: number, fanout: number, share: number): number {
  let informed = 1 / nodes;
  let rounds = 0;
  while (informed < share && rounds < 1000) {
    informed = informed + (1 - informed) * (1 - Math.exp(-fanout * informed));
    rounds += 1;
  }
  return rounds;
}

export interface SpreadRow extends SpreadResult {
  /** The push model's rounds to 99.99% (for the comparison with Serf). */
  readonly pushModelRounds: number;
}

/** The benchmark: every mode at 100 and 1,000 nodes. */
export function spreadTable(options: { readonly sizes?: readonly number[]; readonly trials?: number; readonly seed?: number } = {}): SpreadRow[] {
  const rows: SpreadRow[] = [];
  for (const nodes of options.sizes ?? [100, 1000]) {
    for (const mode of ['gossip', 'multi-master', 'master-slave'] as const) {
      const result = measureSpread({ mode, nodes, trials: options.trials ?? (nodes >= 1000 ? 20 : 50), seed: options.seed ?? 1 });
      rows.push({ ...result, pushModelRounds: pushEpidemicRounds(nodes, SPREAD_FANOUT, 0.9999) });
    }
  }
  return rows;
}
