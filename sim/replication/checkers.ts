/**
 * Checkers over a recorded replication history. Each throws a ReplicationCheckError naming the
 * seed, the mode and the command that replays it. They judge from what clients were answered and
 * what the replicas hold at the end, with their own notion of order: a version `a` is at least
 * `b` when it is the same write or wins last-write-wins on (ts, origin) — hybrid timestamps make
 * every causally later version win too, so this is the order every replica must converge to.
 */

import type { Op, ReadOp, ReplicationHistory, Stamp, WriteOp } from './history';
import type { ReplicationMode } from '../../core/vocabulary';

export const REPLICATION_SIM_TEST_FILE = 'sim/replication/replication.sim.test.ts';

export function replayCommand(seed: number, mode: ReplicationMode | string): string {
  return `SIM_SEED=${seed} SIM_MODE=${mode} node --import tsx --test ${REPLICATION_SIM_TEST_FILE}`;
}

export class ReplicationCheckError extends Error {
  constructor(
    readonly seed: number,
    readonly mode: string,
    readonly check: string,
    detail: string,
  ) {
    super(`[sim ${mode} seed=${seed}] ${check}: ${detail}\n  replay: ${replayCommand(seed, mode)}`);
    this.name = 'ReplicationCheckError';
  }
}

function fail(h: ReplicationHistory, check: string, detail: string): never {
  throw new ReplicationCheckError(h.seed, h.mode, check, detail);
}

function show(s: Stamp | null | undefined): string {
  return s === null || s === undefined ? 'nothing' : `${s.seq}@${s.origin} (ts ${s.ts}${s.deleted ? ', deleted' : ''})`;
}

/** `a` is the same write as `b` or supersedes it. */
export function atLeast(a: Stamp | null | undefined, b: Stamp): boolean {
  if (a === null || a === undefined) return false;
  if (a.origin === b.origin && a.seq === b.seq) return true;
  return a.ts > b.ts || (a.ts === b.ts && a.origin > b.origin);
}

/** After healing and a quiet period every live replica holds exactly the same entries (and digest). */
export function checkConvergence(h: ReplicationHistory): void {
  const live = h.finalReplicas.filter((r) => r.up);
  const first = live[0];
  if (first === undefined) return;
  for (const r of live.slice(1)) {
    if (r.content === first.content && r.digest.join() === first.digest.join()) continue;
    const keys = new Set([...first.entries.keys(), ...r.entries.keys()]);
    const differing = [...keys].filter((k) => show(first.entries.get(k)) !== show(r.entries.get(k))).sort();
    const k = differing[0];
    fail(
      h,
      'convergence',
      k === undefined
        ? `${first.id} and ${r.id} hold the same stamps but different content or digests`
        : `${first.id} and ${r.id} differ on ${differing.length} key(s), e.g. ${k}: ${show(first.entries.get(k))} vs ${show(r.entries.get(k))}`,
    );
  }
}

/**
 * Acknowledged writes are never lost: each is held (or superseded) by some node's persisted
 * replica; when every node is back at the end (`allUp`), by every replica.
 */
export function checkDurability(h: ReplicationHistory, allUp: boolean): void {
  for (const op of h.ops) {
    if (op.kind !== 'write' || !op.ok || op.stamp === null) continue;
    const holders = h.finalReplicas.filter((r) => atLeast(r.entries.get(op.key), op.stamp as Stamp));
    if (holders.length === 0) fail(h, 'durability', `acknowledged write ${show(op.stamp)} of ${op.key} (session ${op.session}, t=${op.end.toFixed(1)}) is on no replica`);
    if (allUp && holders.length < h.finalReplicas.length) {
      const missing = h.finalReplicas.filter((r) => !holders.includes(r));
      fail(h, 'durability', `acknowledged write ${show(op.stamp)} of ${op.key} is missing on ${missing.map((r) => `${r.id} (has ${show(r.entries.get(op.key))})`).join(', ')}`);
    }
  }
}

/** Strong reads (when the configuration promises it, e.g. R + W > N) return every write acknowledged before they began. */
export function checkReadAfterAck(h: ReplicationHistory): void {
  const acked = h.ops.filter((op): op is WriteOp => op.kind === 'write' && op.ok && op.stamp !== null);
  for (const read of h.ops) {
    if (read.kind !== 'read' || read.consistency !== 'strong' || !read.ok) continue;
    let floor: Stamp | null = null;
    let source: WriteOp | null = null;
    for (const w of acked) {
      if (w.key !== read.key || w.end >= read.start || w.stamp === null) continue;
      if (floor === null || !atLeast(floor, w.stamp)) {
        floor = w.stamp;
        source = w;
      }
    }
    if (floor !== null && !atLeast(read.stamp, floor)) {
      fail(
        h,
        'read after acknowledged write',
        `strong read of ${read.key} at ${read.node} (t=${read.start.toFixed(1)}, served by ${read.servedBy}) returned ${show(read.stamp)}, but ${show(floor)} was acknowledged at t=${source?.end.toFixed(1)} (through ${source?.node})`,
      );
    }
  }
}

/**
 * Causal sessions never go backwards: a causal read returns, for its key, at least every version
 * the session wrote (acknowledged) or read before (read-your-writes, monotonic reads).
 */
export function checkSessions(h: ReplicationHistory): void {
  const floors = new Map<string, Map<string, { stamp: Stamp; op: Op }>>();
  for (const op of h.ops) {
    let floor = floors.get(op.session);
    if (floor === undefined) {
      floor = new Map();
      floors.set(op.session, floor);
    }
    if (!op.ok) continue;
    const before = floor.get(op.key);
    if (op.kind === 'read' && op.consistency === 'causal' && before !== undefined && !atLeast(op.stamp, before.stamp)) {
      const what = before.op.kind === 'write' ? 'wrote' : `read (${(before.op as ReadOp).consistency}, from ${(before.op as ReadOp).servedBy})`;
      fail(
        h,
        'causal session',
        `session ${op.session} read ${op.key} at ${op.node} (t=${op.start.toFixed(1)}, served by ${(op as ReadOp).servedBy}) and got ${show(op.stamp)}, older than the ${show(before.stamp)} it ${what} at t=${before.op.end.toFixed(1)}`,
      );
    }
    if (op.stamp !== null && (before === undefined || !atLeast(before.stamp, op.stamp))) floor.set(op.key, { stamp: op.stamp, op });
  }
}

/** Every request got an answer from the core (none hit the client-side timeout). */
export function checkAnswered(h: ReplicationHistory): void {
  const stuck = h.ops.find((op) => op.error === 'client-timeout');
  if (stuck !== undefined) fail(h, 'every request answered', `${stuck.kind} of ${stuck.key} at ${stuck.node} (t=${stuck.start.toFixed(1)}) was never answered`);
}

export interface CheckOptions {
  /** Every node was up at the end. */
  readonly allUp: boolean;
  /** The configuration promises read-after-acknowledged-write for strong reads. */
  readonly strongReadsSeeAckedWrites: boolean;
  /** The calm phase reached convergence before the deadline. */
  readonly converged: boolean;
  readonly convergenceDeadlineMs: number;
}

export function checkAll(h: ReplicationHistory, o: CheckOptions): void {
  checkAnswered(h);
  if (!o.converged) {
    checkConvergence(h); // names the difference
    fail(h, 'convergence', `live replicas did not agree within ${o.convergenceDeadlineMs} ms after healing (clients still waiting?)`);
  }
  checkConvergence(h);
  checkDurability(h, o.allUp);
  if (o.strongReadsSeeAckedWrites) checkReadAfterAck(h);
  checkSessions(h);
}
