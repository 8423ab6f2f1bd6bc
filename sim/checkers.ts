/**
 * Checkers over a recorded simulation history. Each throws an Error naming the seed and the
 * command that replays it. They judge from the record (leader effects, register operations, the
 * message graph, clock readings), not from what nodes say about themselves.
 */
import { pairwiseBoundMs } from '../core/berkeley';
import { checkClockTrace, type ClockCheckReport, type ClockViolation } from '../core/clock-check';
import { highestPriority } from '../core/node-id';
import { compare, type CausalOrder, type VectorClock } from '../core/vector-clock';
import type { History, TopologyChange } from './history';
import type { ScenarioResult } from './scenario';

export const SIM_TEST_FILE = 'sim/cluster.sim.test.ts';

export function replayCommand(seed: number, algorithm: string): string {
  return `SIM_SEED=${seed} SIM_ALGORITHM=${algorithm} node --import tsx --test ${SIM_TEST_FILE}`;
}

export class SimCheckError extends Error {
  constructor(
    readonly seed: number,
    readonly algorithm: string,
    readonly check: string,
    detail: string,
  ) {
    super(`[sim ${algorithm} seed=${seed}] ${check}: ${detail}\n  replay: ${replayCommand(seed, algorithm)}`);
    this.name = 'SimCheckError';
  }
}

function fail(h: History, check: string, detail: string): never {
  throw new SimCheckError(h.seed, h.algorithm, check, detail);
}

/** After faults stop: every live node names the highest-priority live node, all in one epoch. */
export function checkAgreedLeader(h: History): void {
  const live = h.finalState.filter((f) => f.up);
  if (live.length * 2 <= h.nodeIds.length) fail(h, 'agreed leader', `only ${live.length} of ${h.nodeIds.length} nodes live; the scenario must keep a majority`);
  const expected = highestPriority(live.map((f) => f.id));
  const beliefs = new Map<string, { leader: string | null; epoch: number }>();
  for (const b of h.leaderBeliefs) {
    const f = live.find((x) => x.id === b.node);
    if (f !== undefined && b.incarnation === f.incarnation) beliefs.set(b.node, { leader: b.leader, epoch: b.epoch });
  }
  const summary = live.map((f) => `${f.id}→${beliefs.get(f.id)?.leader ?? 'none'}@${beliefs.get(f.id)?.epoch ?? 0}`).join(', ');
  let epoch: number | null = null;
  for (const f of live) {
    const b = beliefs.get(f.id);
    if (b === undefined || b.leader !== expected) fail(h, 'agreed leader', `expected every live node to follow ${expected}; beliefs: ${summary}`);
    if (epoch !== null && b.epoch !== epoch) fail(h, 'agreed leader', `live nodes disagree on the epoch; beliefs: ${summary}`);
    epoch = b.epoch;
  }
  const granted = h.registerOps.find((op) => op.ok && op.epoch === epoch);
  if (granted === undefined || granted.leader !== expected) {
    fail(h, 'agreed leader', `epoch ${epoch} of ${expected} was not granted to it by the fencing register`);
  }
}

/** Never two leaders of one epoch; every leader belief is backed by an accepted claim. */
export function checkUniqueLeaderPerEpoch(h: History): void {
  const granted = new Map<number, string>();
  let lastEpoch = 0;
  for (const op of h.registerOps) {
    if (!op.ok) continue;
    if (op.epoch <= lastEpoch) fail(h, 'unique leader per epoch', `register accepted epoch ${op.epoch} after ${lastEpoch}`);
    lastEpoch = op.epoch;
    granted.set(op.epoch, op.leader);
  }
  const believed = new Map<number, string>();
  for (const b of h.leaderBeliefs) {
    if (b.leader === null) continue;
    const other = believed.get(b.epoch);
    if (other !== undefined && other !== b.leader) {
      fail(h, 'unique leader per epoch', `epoch ${b.epoch} has two leaders: ${other} and ${b.leader} (t=${b.time.toFixed(1)} at ${b.node})`);
    }
    believed.set(b.epoch, b.leader);
    const holder = granted.get(b.epoch);
    if (holder !== b.leader) {
      fail(h, 'unique leader per epoch', `${b.node} believed ${b.leader} leads epoch ${b.epoch} at t=${b.time.toFixed(1)}, but the register gave it to ${holder ?? 'nobody'}`);
    }
  }
}

function topologyAt(h: History, time: number): { current: TopologyChange | undefined; lastReduction: number } {
  let current: TopologyChange | undefined;
  let lastReduction = -Infinity;
  for (const change of h.topology) {
    if (change.time > time) break;
    current = change;
    if (change.kind === 'crash' || change.kind === 'partition') lastReduction = change.time;
  }
  return { current, lastReduction };
}

/**
 * A node cut off from the majority never claims: once the topology has been stable longer than
 * the failure detector needs (`settleMs`), every claim comes from a node whose reachable live
 * set is a strict majority of the membership.
 */
export function checkClaimsNeedMajority(h: History, settleMs: number): void {
  for (const c of h.claimDecisions) {
    const { current, lastReduction } = topologyAt(h, c.time);
    if (current === undefined || c.time - lastReduction < settleMs) continue;
    const side = current.component[c.node];
    const reachable = current.up.filter((id) => current.component[id] === side);
    if (reachable.length * 2 <= h.nodeIds.length) {
      fail(h, 'claims need a majority', `${c.node} claimed epoch ${c.epoch} at t=${c.time.toFixed(1)} while it could reach only ${reachable.join(', ')} of ${h.nodeIds.length} nodes`);
    }
  }
}

/**
 * A leader cut off from the majority steps down: `settleMs` after a crash or partition (with no
 * further one meanwhile), no node that believes itself leader is on a minority side.
 */
export function checkIsolatedLeadersStepDown(h: History, settleMs: number): void {
  const reductions = h.topology.filter((c) => c.kind === 'crash' || c.kind === 'partition');
  reductions.forEach((change, i) => {
    const at = change.time + settleMs;
    const next = reductions[i + 1];
    if ((next !== undefined && next.time <= at) || at > h.endTime) return;
    const { current } = topologyAt(h, at);
    if (current === undefined) return;
    const believesItLeads = new Map<string, boolean>();
    for (const b of h.leaderBeliefs) {
      if (b.time > at) break;
      believesItLeads.set(`${b.node}#${b.incarnation}`, b.leader === b.node);
    }
    for (const f of h.finalState) {
      const incarnation = incarnationAt(h, f.id, at);
      if (!current.up.includes(f.id) || believesItLeads.get(`${f.id}#${incarnation}`) !== true) continue;
      const side = current.component[f.id];
      const reachable = current.up.filter((id) => current.component[id] === side);
      if (reachable.length * 2 <= h.nodeIds.length) {
        fail(h, 'isolated leader steps down', `${f.id} still led at t=${at.toFixed(1)}, ${settleMs} ms after a ${change.kind} left it reaching only ${reachable.join(', ')}`);
      }
    }
  });
}

/** Incarnation of `node` at `time`: one per boot or restart up to then. */
function incarnationAt(h: History, node: string, time: number): number {
  let incarnation = 0;
  let wasUp = false;
  for (const change of h.topology) {
    if (change.time > time) break;
    const up = change.up.includes(node);
    if (up !== wasUp) incarnation += 1; // boot/restart and crash each start a new incarnation number
    wasUp = up;
  }
  return incarnation;
}

export const VECTOR_CLOCK_SAMPLE_PAIRS = 200;

/**
 * Lamport and vector clocks judged against the causal history recorded in the run, by the same
 * checker that judges real nodes' traces (core/clock-check.ts). `only` limits the
 * verdict to one family of violations.
 */
export function checkClocks(
  h: History,
  options: { samplePairs?: number; compare?: (a: VectorClock, b: VectorClock) => CausalOrder; only?: ClockViolation['check'] } = {},
): ClockCheckReport {
  const report = checkClockTrace(h.clockTrace, { samplePairs: options.samplePairs ?? VECTOR_CLOCK_SAMPLE_PAIRS, seed: h.seed ^ 0x7ec7c10c, maxViolations: 1, ...(options.compare && { compare: options.compare }) });
  const relevant = report.violations.filter((v) => options.only === undefined || v.check === options.only || v.check === 'trace');
  const first = relevant[0];
  if (first !== undefined) fail(h, first.check === 'lamport' ? 'lamport order' : 'vector clocks', `${first.detail} (${report.violationCount} violations)`);
  return report;
}

/** Lamport clocks grow along every local step and every message: they respect happens-before. */
export function checkLamport(h: History): void {
  checkClocks(h, { only: 'lamport' });
}

/** Vector clocks agree with the true causal history (exactly, at every record; and for sampled pairs). */
export function checkVectorClocks(
  h: History,
  samplePairs = VECTOR_CLOCK_SAMPLE_PAIRS,
  compareVectorClocks: (a: VectorClock, b: VectorClock) => CausalOrder = compare,
): void {
  checkClocks(h, { samplePairs, compare: compareVectorClocks, only: 'vector' });
}

/** The app clock never runs backwards within one process lifetime. */
export function checkClocksMonotonic(h: History): void {
  const last = new Map<string, number>();
  for (const r of h.clockReadings) {
    const key = `${r.node}#${r.incarnation}`;
    const before = last.get(key);
    if (before !== undefined && r.appClockMs < before - 1e-9) {
      fail(h, 'clock monotonic', `${r.node} app clock went back from ${before.toFixed(3)} to ${r.appClockMs.toFixed(3)} at t=${r.time.toFixed(1)}`);
    }
    last.set(key, r.appClockMs);
  }
}

/** Every pair of live clocks within `boundMs` at the end of the run. */
export function checkClockBound(h: History, boundMs: number): void {
  const live = h.finalState.filter((f) => f.up);
  if (live.length < 2) return;
  const sorted = [...live].sort((a, b) => a.appClockMs - b.appClockMs);
  const lo = sorted[0];
  const hi = sorted.at(-1);
  if (lo === undefined || hi === undefined) return;
  const spread = hi.appClockMs - lo.appClockMs;
  if (spread > boundMs) {
    fail(h, 'berkeley bound', `clocks of ${lo.id} and ${hi.id} are ${spread.toFixed(3)} ms apart, bound ${boundMs.toFixed(3)} ms`);
  }
}

/** Largest pairwise spread of live clocks at the end (for reports). */
export function clockSpreadMs(h: History): number {
  const clocks = h.finalState.filter((f) => f.up).map((f) => f.appClockMs);
  return clocks.length < 2 ? 0 : Math.max(...clocks) - Math.min(...clocks);
}

/** The Berkeley bound the scenario guarantees once faults stop (see berkeley.ts). */
export function scenarioClockBoundMs(r: ScenarioResult): number {
  const b = r.config.berkeley;
  // Per-node estimate error ≤ (dmax − dmin)/2, so a pair is within dmax − dmin plus drift.
  return pairwiseBoundMs({
    measurementErrorMs: r.calmNetwork.maxDelayMs - r.calmNetwork.minDelayMs,
    maxDriftPpm: r.maxDriftPpm,
    syncIntervalMs: b.syncIntervalMs,
    roundDurationMs: b.roundTimeoutMs,
  });
}

/** How long after a crash or partition every failure detector has caught up. */
export function scenarioSettleMs(r: ScenarioResult): number {
  const { failureDetector, heartbeatIntervalMs } = r.config;
  return r.maxFaultDelayMs + failureDetector.deadAfterMs + heartbeatIntervalMs + 50;
}

export function checkAll(r: ScenarioResult): void {
  const h = r.history;
  checkUniqueLeaderPerEpoch(h);
  checkClaimsNeedMajority(h, scenarioSettleMs(r));
  checkIsolatedLeadersStepDown(h, scenarioSettleMs(r));
  checkAgreedLeader(h);
  checkClocks(h);
  checkClocksMonotonic(h);
  checkClockBound(h, scenarioClockBoundMs(r));
}
