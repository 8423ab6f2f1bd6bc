/**
 * Berkeley clock synchronization (Gusella & Zatti), pure core.
 *
 * Master side (the elected leader is the time daemon): for each node it has several poll samples
 * `{sentAt, receivedAt}` read on its own clock plus the `remoteClock` the node answered. It keeps
 * the sample with the smallest round trip, estimates the node's clock at `receivedAt` as
 * `remoteClock + rtt/2`, takes the median of all offsets (its own offset is 0), averages the
 * offsets within `outlierBoundMs` of the median, and gives every node (outliers included, so they
 * are pulled in) the delta that moves its clock onto that average.
 *
 * Node side: the correction is applied to an offset on top of the local clock. Positive
 * corrections step forward at once; negative ones are slewed: the offset shrinks by at most
 * `maxSlewRate` ms per ms of local time, so the app clock keeps advancing at ≥ (1 − maxSlewRate)
 * of real speed and never goes backwards.
 *
 * Achievable bound. Let a poll's request take a ms and its reply b ms. The estimate error is
 * (a − b)/2, so |error| ≤ rtt/2, and ≤ (dmax − dmin)/2 when one-way delays lie in [dmin, dmax].
 * Right after a round every corrected clock equals the average plus its own estimate error, so
 * for any two nodes i, j that took part in the round and finished slewing:
 *
 *   |C_i − C_j| ≤ (rtt_i + rtt_j)/2 + 2·ρ·(syncIntervalMs + 2·roundDurationMs)
 *
 * where ρ is the largest drift rate (e.g. 100 ppm = 1e-4). With `maxRttMs` rejecting slow samples
 * this is ≤ maxRttMs + 2ρ(…). `pairwiseBoundMs` computes it. On loopback (rtt ≈ 1 ms) this is a
 * few ms; the simulator asserts it with its own delay bounds.
 */

export interface ClockSample {
  readonly nodeId: string;
  /** Master's clock when the poll was sent. */
  readonly sentAt: number;
  /** Master's clock when the reply arrived. */
  readonly receivedAt: number;
  /** The node's clock reading in its reply (use `syncClock`). */
  readonly remoteClock: number;
}

export interface BerkeleyConfig {
  /**
   * Offsets farther than this from the median are left out of the average (but still corrected).
   */
  readonly outlierBoundMs: number;
  /** Samples with a longer round trip are discarded: their estimate error could reach rtt/2. */
  readonly maxRttMs: number;
}

export const DEFAULT_BERKELEY_CONFIG: BerkeleyConfig = { outlierBoundMs: 100, maxRttMs: 200 };

export interface OffsetEstimate {
  readonly nodeId: string;
  /** Estimated remote clock minus master clock. */
  readonly offsetMs: number;
  readonly rttMs: number;
  /** Worst-case error of `offsetMs`: rtt/2. */
  readonly errorMs: number;
}

export type ExclusionReason = 'no-valid-sample' | 'outlier';

export interface CorrectionPlan {
  readonly masterId: string;
  /** Fault-tolerant average of the included offsets, relative to the master's clock. */
  readonly averageOffsetMs: number;
  /**
   * Delta to add to each node's clock (master included). Nodes without a valid sample are absent.
   */
  readonly corrections: Readonly<Record<string, number>>;
  readonly estimates: readonly OffsetEstimate[];
  readonly included: readonly string[];
  readonly excluded: readonly { readonly nodeId: string; readonly reason: ExclusionReason }[];
  /** Largest estimate error among the nodes given a correction. */
  readonly maxErrorMs: number;
}

export function estimateOffset(sample: ClockSample): OffsetEstimate {
  const rttMs = sample.receivedAt - sample.sentAt;
  return {
    nodeId: sample.nodeId,
    offsetMs: sample.remoteClock + rttMs / 2 - sample.receivedAt,
    rttMs,
    errorMs: rttMs / 2,
  };
}

/** Per node, the valid sample with the smallest round trip (ties: the earliest in input order). */
export function bestSamples(
  samples: readonly ClockSample[],
  maxRttMs: number,
): Map<string, ClockSample> {
  const best = new Map<string, ClockSample>();
  for (const s of samples) {
    const rtt = s.receivedAt - s.sentAt;
    if (!Number.isFinite(rtt) || !Number.isFinite(s.remoteClock) || rtt < 0 || rtt > maxRttMs)
      continue;
    const current = best.get(s.nodeId);
    if (current === undefined || rtt < current.receivedAt - current.sentAt) best.set(s.nodeId, s);
  }
  return best;
}

function median(sorted: readonly number[]): number {
  const mid = Math.floor(sorted.length / 2);
  const hi = sorted[mid] ?? 0;
  if (sorted.length % 2 === 1) return hi;
  return ((sorted[mid - 1] ?? hi) + hi) / 2;
}

/**
 * One Berkeley round on the master. `samples` may hold several per node and may include the
 * master's own id (ignored: the master's offset is 0 by definition).
 */
export function planCorrections(
  masterId: string,
  samples: readonly ClockSample[],
  config: BerkeleyConfig = DEFAULT_BERKELEY_CONFIG,
): CorrectionPlan {
  const best = bestSamples(
    samples.filter((s) => s.nodeId !== masterId),
    config.maxRttMs,
  );
  const estimates: OffsetEstimate[] = [{ nodeId: masterId, offsetMs: 0, rttMs: 0, errorMs: 0 }];
  for (const s of best.values()) estimates.push(estimateOffset(s));

  const offsets = estimates.map((e) => e.offsetMs).sort((a, b) => a - b);
  const center = median(offsets);
  let inliers = estimates.filter((e) => Math.abs(e.offsetMs - center) <= config.outlierBoundMs);
  // An even split can leave nobody near the median; the master's clock is then the reference.
  if (inliers.length === 0) inliers = estimates.slice(0, 1);
  const averageOffsetMs = inliers.reduce((sum, e) => sum + e.offsetMs, 0) / inliers.length;

  const corrections: Record<string, number> = {};
  for (const e of estimates) corrections[e.nodeId] = averageOffsetMs - e.offsetMs;

  const includedIds = new Set(inliers.map((e) => e.nodeId));
  const excluded: { nodeId: string; reason: ExclusionReason }[] = [];
  for (const e of estimates)
    if (!includedIds.has(e.nodeId)) excluded.push({ nodeId: e.nodeId, reason: 'outlier' });
  const sampled = new Set(samples.map((s) => s.nodeId));
  sampled.delete(masterId);
  for (const id of sampled)
    if (!best.has(id)) excluded.push({ nodeId: id, reason: 'no-valid-sample' });

  return {
    masterId,
    averageOffsetMs,
    corrections,
    estimates,
    included: inliers.map((e) => e.nodeId),
    excluded,
    maxErrorMs: Math.max(...estimates.map((e) => e.errorMs)),
  };
}

export interface PairwiseBoundInput {
  /**
   * Bound on |error_i| + |error_j| of two offset estimates: the `maxRttMs` limit in general
   * (each error ≤ rtt/2), or dmax − dmin when one-way delays are known to lie in [dmin, dmax].
   */
  readonly measurementErrorMs: number;
  /** Largest drift of any clock, in parts per million. */
  readonly maxDriftPpm: number;
  readonly syncIntervalMs: number;
  readonly roundDurationMs: number;
}

/** The guaranteed pairwise bound stated in the module comment. */
export function pairwiseBoundMs(input: PairwiseBoundInput): number {
  const drift = input.maxDriftPpm / 1e6;
  return input.measurementErrorMs + 2 * drift * (input.syncIntervalMs + 2 * input.roundDurationMs);
}

// ---------------------------------------------------------------------------------------------
// Node side: a slewed offset.

/** Negative corrections shrink the offset by at most this many ms per ms of local time. */
export const DEFAULT_MAX_SLEW_RATE = 0.5;

export interface SlewedOffset {
  /** Offset in effect at local time `atMs`. */
  readonly appliedMs: number;
  /** Offset the clock is converging to (sum of all corrections). */
  readonly targetMs: number;
  readonly atMs: number;
  readonly maxSlewRate: number;
}

export function initialOffset(maxSlewRate: number = DEFAULT_MAX_SLEW_RATE): SlewedOffset {
  if (!(maxSlewRate > 0 && maxSlewRate < 1))
    throw new RangeError(`maxSlewRate must be in (0, 1), got ${maxSlewRate}`);
  return { appliedMs: 0, targetMs: 0, atMs: 0, maxSlewRate };
}

/** The offset at local time `nowMs` (a monotonic local reading). */
export function offsetAt(state: SlewedOffset, nowMs: number): number {
  if (state.appliedMs <= state.targetMs) return state.targetMs;
  const elapsed = Math.max(0, nowMs - state.atMs);
  return Math.max(state.targetMs, state.appliedMs - state.maxSlewRate * elapsed);
}

/** Add `deltaMs` to the target. Forward moves take effect now; backward moves are slewed. */
export function applyCorrection(state: SlewedOffset, deltaMs: number, nowMs: number): SlewedOffset {
  if (!Number.isFinite(deltaMs)) return state;
  const at = Math.max(nowMs, state.atMs);
  const current = offsetAt(state, at);
  const targetMs = state.targetMs + deltaMs;
  return {
    appliedMs: Math.max(current, targetMs),
    targetMs,
    atMs: at,
    maxSlewRate: state.maxSlewRate,
  };
}

/** The app's clock: never decreases for non-decreasing `localNowMs`. */
export function appClock(state: SlewedOffset, localNowMs: number): number {
  return localNowMs + offsetAt(state, localNowMs);
}

/** The clock a node reports to the time daemon: where its app clock is converging to. */
export function syncClock(state: SlewedOffset, localNowMs: number): number {
  return localNowMs + state.targetMs;
}

/** Local time at which the pending slew is complete. */
export function slewCompleteAt(state: SlewedOffset): number {
  if (state.appliedMs <= state.targetMs) return state.atMs;
  return state.atMs + (state.appliedMs - state.targetMs) / state.maxSlewRate;
}
