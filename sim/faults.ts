/**
 * Building blocks of the random fault scenarios of both simulators: the cluster drawn from a seed,
 * the pacing of faults, the common faults (crash, restart, partition, heal, a worse network) and
 * the calm phase that ends them. Each scenario mixes these with faults of its own.
 */
import type { NetworkConditions } from './network';
import type { Random } from '../core/random';

export const MIN_CLUSTER_SIZE = 3;
export const MAX_CLUSTER_SIZE = 7;
/** Node numbers are drawn from 1..this, so ids like node-9 and node-10 meet. */
export const MAX_NODE_NUMBER = 12;
/** Network once faults stop: reliable, one-way delay in [min, max]. */
export const CALM_NETWORK: NetworkConditions = { lossRate: 0, minDelayMs: 1, maxDelayMs: 15 };
/** Worst one-way delay during faults. */
export const MAX_FAULT_DELAY_MS = 400;
const FAULT_LOSS_RATES = [0, 0.05, 0.2, 0.4] as const;
const FAULT_MAX_DELAYS_MS = [15, 60, 150, MAX_FAULT_DELAY_MS] as const;

/** What the common faults need of a simulated cluster. */
export interface FaultTarget {
  at(time: number, action: () => void): void;
  isUp(id: string): boolean;
  crash(id: string): void;
  restart(id: string): void;
  partition(groups: readonly (readonly string[])[]): void;
  heal(): void;
  setNetwork(conditions: NetworkConditions): void;
}

/** 3–7 distinct ids `node-k`. */
export function drawNodeIds(rng: Random): string[] {
  const n = rng.int(MIN_CLUSTER_SIZE, MAX_CLUSTER_SIZE);
  return rng
    .shuffle(Array.from({ length: MAX_NODE_NUMBER }, (_, i) => i + 1))
    .slice(0, n)
    .map((k) => `node-${k}`);
}

export interface FaultPacing {
  /** The first fault comes at a time in this range (ms). */
  readonly firstMs: readonly [number, number];
  /** The gap to the next fault: usually short, one time in five long. */
  readonly shortGapMs: readonly [number, number];
  readonly longGapMs: readonly [number, number];
}

/**
 * Calls `fault` for each fault time before `endMs`, with two uniform draws in [0, 1): `roll`
 * chooses the fault, `pickSeed` its target once it fires (targets depend on the state then).
 */
export function forEachFault(rng: Random, pacing: FaultPacing, endMs: number, fault: (time: number, roll: number, pickSeed: number) => void): void {
  let t = rng.float(...pacing.firstMs);
  while (t < endMs) {
    const roll = rng.next();
    const pickSeed = rng.next();
    fault(t, roll, pickSeed);
    t += rng.chance(0.2) ? rng.float(...pacing.longGapMs) : rng.float(...pacing.shortGapMs);
  }
}

/** The item a uniform draw in [0, 1) points at (undefined for an empty list). */
export function pickWith<T>(items: readonly T[], pickSeed: number): T | undefined {
  return items[Math.floor(pickSeed * items.length)];
}

/** At `time`, crash one live node (if any). */
export function crashOneUp(cluster: FaultTarget, nodeIds: readonly string[], time: number, pickSeed: number): void {
  cluster.at(time, () => {
    const target = pickWith(nodeIds.filter((id) => cluster.isUp(id)), pickSeed);
    if (target !== undefined) cluster.crash(target);
  });
}

/** At `time`, restart one crashed node (if any). */
export function restartOneDown(cluster: FaultTarget, nodeIds: readonly string[], time: number, pickSeed: number): void {
  cluster.at(time, () => {
    const target = pickWith(nodeIds.filter((id) => !cluster.isUp(id)), pickSeed);
    if (target !== undefined) cluster.restart(target);
  });
}

/** Random groups that split the cluster in two, or with `threeWayChance` (and 4+ nodes) in three. */
export function drawPartition(rng: Random, nodeIds: readonly string[], threeWayChance = 0): string[][] {
  const n = nodeIds.length;
  const shuffled = rng.shuffle(nodeIds);
  const cut = rng.int(1, n - 1);
  if (threeWayChance > 0 && rng.chance(threeWayChance) && n >= 4) {
    const cut2 = rng.int(cut + 1, n);
    return [shuffled.slice(0, cut), shuffled.slice(cut, cut2), shuffled.slice(cut2)].filter((g) => g.length > 0);
  }
  return [shuffled.slice(0, cut), shuffled.slice(cut)];
}

/** A lossy, slow network; duplicating too when `duplicateRates` are given. */
export function drawFaultNetwork(rng: Random, duplicateRates?: readonly number[]): NetworkConditions {
  const lossRate = rng.pick(FAULT_LOSS_RATES);
  const duplicateRate = duplicateRates === undefined ? 0 : rng.pick(duplicateRates);
  return { lossRate, duplicateRate, minDelayMs: 1, maxDelayMs: rng.pick(FAULT_MAX_DELAYS_MS) };
}

/**
 * In half the runs, a random minority that stays down once faults stop. `favourite`, with its
 * chance, is put first in line (e.g. the highest-priority node).
 */
export function drawPermanentlyDown(rng: Random, nodeIds: readonly string[], favourite?: { readonly id: string; readonly chance: number }): Set<string> {
  const down = new Set<string>();
  if (!rng.chance(0.5)) return down;
  const k = rng.int(1, Math.floor((nodeIds.length - 1) / 2));
  const pool = rng.shuffle(nodeIds);
  if (favourite !== undefined && rng.chance(favourite.chance)) pool.unshift(favourite.id);
  for (const id of pool) if (down.size < k) down.add(id);
  return down;
}

/**
 * At `time` faults stop: partitions heal, the network turns calm, `calm` restores anything else,
 * and every node restarts except those `permanentlyDown`, which crash.
 */
export function startCalmPhase(cluster: FaultTarget, time: number, nodeIds: readonly string[], permanentlyDown: ReadonlySet<string>, calm?: () => void): void {
  cluster.at(time, () => {
    cluster.heal();
    cluster.setNetwork(CALM_NETWORK);
    calm?.();
    for (const id of nodeIds) {
      if (permanentlyDown.has(id)) cluster.crash(id);
      else cluster.restart(id);
    }
  });
}
