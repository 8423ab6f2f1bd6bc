/**
 * The monitor's view of the API. Every answer comes through the gateway, so it says which node
 * served it (`X-Served-By`); `node` pins a request to one node (`X-Node`, see docs/gateway.md) —
 * for chaos actions on a chosen node and for one node's own view.
 */
import { answerOf, ApiError, send, type RequestOptions } from '@/client/api';
import type { ElectionRound } from '@/node/cluster/election-driver';
import type { SyncRound } from '@/node/cluster/berkeley-daemon';
import type { ElectionAlgorithm, LbAlgorithm, NodeRole, PeerStatus } from '@/core/vocabulary';

export type { ElectionRound, SyncRound };

export type Served<T> = { data: T; servedBy: string | null; at: number };

type Options = RequestOptions & { node?: string };

export async function monitorFetch<T>(path: string, options: Options = {}): Promise<Served<T>> {
  const res = await send(path, options, options.node ? { 'x-node': options.node } : {});
  return { data: await answerOf<T>(res), servedBy: res.headers.get('x-served-by'), at: Date.now() };
}

/** A message for an error of a monitor request (codes the booking pages never see included). */
export function monitorErrorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'NETWORK') return 'The gateway cannot be reached.';
    if (err.code === 'UNAUTHENTICATED') return 'Log in as an administrator to do this.';
    if (err.code === 'FORBIDDEN') return 'Only an administrator may do this.';
    return err.message;
  }
  return 'Something unexpected happened.';
}

export type NodeStatus = PeerStatus;
/** A node's role, or `standalone` for a node without a cluster. */
export type Role = NodeRole | 'standalone';

/** One node as the answering node knows it (its own entry, or the last heartbeat from a peer). */
export type HealthNode = {
  id: string;
  url: string;
  status: NodeStatus;
  pid?: number;
  role?: Exclude<Role, 'standalone'>;
  leader?: string | null;
  epoch?: number;
  lamport?: number;
  vector?: Record<string, number>;
  load?: { inFlight: number; requestsServed: number; loadAvg1m: number };
  startedAt?: string;
  algorithm?: ElectionAlgorithm;
  lastHeartbeat: string | null;
  lastHeardMsAgo: number | null;
};

export type Health = {
  nodeId: string;
  pid: number;
  uptimeS: number;
  status: 'ok' | 'degraded';
  role: Role;
  leader: string | null;
  epoch: number;
  load: { inFlight: number; requestsServed: number; loadAvg1m: number; eventLoopDelayMs: number; capacity: number };
  database: { status: 'up' | 'down'; latencyMs?: number; error?: string };
  nodes: HealthNode[];
  refusedPeerMessages: Record<string, number>;
  leaderWrites: { accepted: number; refused: number };
};

export type Sync = {
  nodeId: string;
  lamport: number;
  vector: Record<string, number>;
  physical: { machineMs: number; skewMs: number; offsetMs: number; targetOffsetMs: number; appClockMs: number; slewing: boolean };
  nodes: { id: string; status: NodeStatus; lamport: number | null; vector: Record<string, number> | null }[];
  rounds: SyncRound[];
};

export type Election = {
  nodeId: string;
  leader: string | null;
  epoch: number;
  algorithm: ElectionAlgorithm;
  phase: string;
  members: string[];
  alive: string[];
  refusedStaleMessages: number;
  messagesSent: number;
  messagesReceived: number;
  rounds: ElectionRound[];
};

export type ElectionResult = {
  ok: boolean;
  algorithm: ElectionAlgorithm;
  initiator: string;
  leader: string | null;
  epoch: number;
  durationMs: number;
  messages: number;
};

export type LbNode = {
  id: string;
  url: string;
  healthy: boolean;
  eligible: boolean;
  ejected: boolean;
  ejectedForMs: number;
  deadInCluster: boolean;
  weight: number;
  inFlight: number;
  requests: number;
  errors: number;
  retriedElsewhere: number;
  latencyMs: { p50: number | null; p99: number | null };
  share: number;
};

export type LbStats = {
  algorithm: LbAlgorithm;
  algorithms: LbAlgorithm[];
  weights: 'static' | 'load-based';
  totals: { requests: number; errors: number; retries: number; noBackend: number };
  nodes: LbNode[];
};

export type Faults = {
  partitionedFrom: string[];
  delayToMs: Record<string, number>;
  paused: boolean;
  clockSkewMs: number;
  requestDelayMs: number;
};

/** GET /api/replicas (node/replication): every live node's replica, lag against the most advanced one. */
export type ConflictRecord = { key: string; winner: { origin: string; seq: number; ts: number }; loser: { origin: string; seq: number; ts: number } };

export type ReplicaNode = {
  nodeId: string;
  mode?: string;
  entries?: number;
  byKind?: Record<string, number>;
  digest?: string;
  versionVector?: Record<string, number>;
  lagEntries?: number;
  lagMs?: number;
  conflicts?: number;
  recentConflicts?: ConflictRecord[];
  hints?: number;
  writesAcked?: number;
  writesFailed?: number;
  lastSync?: string | null;
  lastSyncAt?: string | null;
};

export type Replicas = {
  mode?: string;
  n?: number;
  r?: number;
  w?: number;
  synchronous?: boolean;
  fanout?: number;
  converged?: boolean;
  nodes?: ReplicaNode[];
  /** Per node, entries per kind (`{ "node-1": { "booking": 12 } }`), or a flat count per key. */
  distribution?: unknown;
};
