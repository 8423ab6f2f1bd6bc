/**
 * Heartbeat failure detector, pure: the shell reports what it heard and when, and asks for the
 * verdicts at a given time. A peer is `suspect` after `suspectAfterMs` of silence and `dead` after
 * `deadAfterMs`. A refused connection (nothing listens on the peer's port: the process is gone)
 * makes it dead at once — the fast path that lets a crash be noticed within one heartbeat.
 *
 * A peer is `alive` only once heard: a peer just tracked (a node that registered, or every peer of
 * a node that just started) is `suspect` until its first heartbeat, `dead` if none comes within
 * `deadAfterMs`. Counting unheard peers alive let a node that had just started claim leadership
 * with a "majority" it could not reach (found by the cluster simulator once it ran this rule).
 */
import type { PeerStatus } from './vocabulary';

export type FailureDetectorConfig = { suspectAfterMs: number; deadAfterMs: number };

export const DEFAULT_FAILURE_DETECTOR_CONFIG: FailureDetectorConfig = {
  suspectAfterMs: 500,
  deadAfterMs: 1_500,
};

export type PeerRecord = {
  /** When the detector started tracking the peer. */
  trackedAtMs: number;
  lastHeardMs: number | null;
  refusedAtMs: number | null;
};

export type FailureDetectorState = ReadonlyMap<string, PeerRecord>;

export function track(
  state: FailureDetectorState,
  peers: readonly string[],
  nowMs: number,
): FailureDetectorState {
  const next = new Map<string, PeerRecord>();
  const fresh = { trackedAtMs: nowMs, lastHeardMs: null, refusedAtMs: null };
  for (const id of peers) next.set(id, state.get(id) ?? fresh);
  return next;
}

export function heard(
  state: FailureDetectorState,
  peer: string,
  nowMs: number,
): FailureDetectorState {
  const record = state.get(peer);
  if (!record) return state;
  const next = new Map(state);
  next.set(peer, { ...record, lastHeardMs: nowMs, refusedAtMs: null });
  return next;
}

export function refused(
  state: FailureDetectorState,
  peer: string,
  nowMs: number,
): FailureDetectorState {
  const record = state.get(peer);
  if (!record) return state;
  const next = new Map(state);
  next.set(peer, { ...record, refusedAtMs: nowMs });
  return next;
}

export function statusOf(
  record: PeerRecord,
  nowMs: number,
  config: FailureDetectorConfig,
): PeerStatus {
  if (record.refusedAtMs !== null) return 'dead';
  const silentMs = nowMs - (record.lastHeardMs ?? record.trackedAtMs);
  if (silentMs >= config.deadAfterMs) return 'dead';
  if (record.lastHeardMs === null) return 'suspect';
  if (silentMs >= config.suspectAfterMs) return 'suspect';
  return 'alive';
}

export function verdicts(
  state: FailureDetectorState,
  nowMs: number,
  config: FailureDetectorConfig,
): Map<string, PeerStatus> {
  const out = new Map<string, PeerStatus>();
  for (const [id, record] of state) out.set(id, statusOf(record, nowMs, config));
  return out;
}

export type VerdictChange = {
  readonly id: string;
  readonly before: PeerStatus | undefined;
  readonly status: PeerStatus;
};

/**
 * The verdicts now, and which changed since `before`: what a shell tells its election (a peer
 * turned `alive` or `dead`; `suspect` is neither). Peers no longer tracked drop out.
 */
export function reevaluate(
  state: FailureDetectorState,
  before: ReadonlyMap<string, PeerStatus>,
  nowMs: number,
  config: FailureDetectorConfig,
): { verdicts: Map<string, PeerStatus>; changes: VerdictChange[] } {
  const now = verdicts(state, nowMs, config);
  const changes: VerdictChange[] = [];
  for (const [id, status] of now) {
    if (before.get(id) !== status) changes.push({ id, before: before.get(id), status });
  }
  return { verdicts: now, changes };
}
