/**
 * Heartbeat failure detector, pure: the shell reports what it heard and when, and asks for the
 * verdicts at a given time. A peer is `suspect` after `suspectAfterMs` of silence and `dead` after
 * `deadAfterMs`. A refused connection (nothing listens on the peer's port: the process is gone)
 * makes it dead at once — the fast path that lets a crash be noticed within one heartbeat.
 */
import type { PeerStatus } from './vocabulary';

export type FailureDetectorConfig = { suspectAfterMs: number; deadAfterMs: number };

export const DEFAULT_FAILURE_DETECTOR_CONFIG: FailureDetectorConfig = {
  suspectAfterMs: 500,
  deadAfterMs: 1_500,
};

export type PeerRecord = { lastHeardMs: number | null; refusedAtMs: number | null };

export type FailureDetectorState = ReadonlyMap<string, PeerRecord>;

export function track(
  state: FailureDetectorState,
  peers: readonly string[],
  nowMs: number,
): FailureDetectorState {
  const next = new Map<string, PeerRecord>();
  for (const id of peers) next.set(id, state.get(id) ?? { lastHeardMs: nowMs, refusedAtMs: null });
  return next;
}

export function heard(
  state: FailureDetectorState,
  peer: string,
  nowMs: number,
): FailureDetectorState {
  const next = new Map(state);
  next.set(peer, { lastHeardMs: nowMs, refusedAtMs: null });
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
  const silentMs = record.lastHeardMs === null ? Infinity : nowMs - record.lastHeardMs;
  if (silentMs >= config.deadAfterMs) return 'dead';
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
