/**
 * The cluster as the API shows it: health, the clocks and Berkeley rounds, the election, fault
 * injection. The shapes a node also sends its peers (its summary, a Berkeley round, an election's
 * result) are declared here once and used by the wire schemas too (node/cluster/peer-messages.ts).
 */
import { z } from 'zod';
import { ELECTION_ALGORITHMS, NODE_ROLES, PEER_STATUSES } from '../core/vocabulary';
import { count, distributedInfo, nodeId, timestamp, vectorClock } from './shapes';

const algorithm = z.enum(ELECTION_ALGORITHMS);
const nodeIds = z.array(nodeId).max(1_000);
const finite = z.number().finite();
/** Clock corrections, skews and delays stay within a day (the fault injection's own bound). */
const DAY_MS = 86_400_000;

// ---- health -------------------------------------------------------------------------------------

export const liveAnswer = z.object({ status: z.literal('live'), nodeId });

const readyChecks = z.object({
  database: z.enum(['up', 'down']),
  cluster: z.enum(['joining', 'joined']),
  replica: z.enum(['loading', 'loaded']),
  stopping: z.boolean(),
});
export const readyAnswer = z.object({ status: z.literal('ready'), nodeId, checks: readyChecks });
/** The 503 of a node that is not ready: the error body, with the checks as its details. */
export const notReadyDetails = z.object({ nodeId, checks: readyChecks });

/** What a node tells its peers in every heartbeat, and the API of itself. */
export const nodeSummary = z.object({
  id: nodeId,
  url: z.string().max(2_048),
  pid: count,
  role: z.enum(NODE_ROLES),
  leader: nodeId.nullable(),
  epoch: count,
  lamport: count,
  vector: vectorClock,
  load: z.object({ inFlight: z.number().int(), requestsServed: count, loadAvg1m: finite }),
  startedAt: z.string().max(64),
  algorithm,
});
export type NodeSummary = z.output<typeof nodeSummary>;

/** A node as the answering node knows it: its last summary (none before the first heartbeat). */
export const knownNode = nodeSummary.partial().extend({
  id: nodeId,
  url: z.string(),
  status: z.enum(PEER_STATUSES),
  lastHeartbeat: timestamp.nullable(),
  lastHeardMsAgo: count.nullable(),
});
export type KnownNode = z.output<typeof knownNode>;

export const ROLES = [...NODE_ROLES, 'standalone'] as const;
/** A node's role, or `standalone` for a node without a cluster. */
export type Role = (typeof ROLES)[number];

export const healthAnswer = z.object({
  nodeId,
  pid: count,
  uptimeS: count,
  /** `stopping`: draining for a shutdown (503), so a balancer takes the node out at once. */
  status: z.enum(['ok', 'degraded', 'stopping']),
  role: z.enum(ROLES),
  leader: nodeId.nullable(),
  epoch: count,
  load: z.object({
    inFlight: z.number().int(),
    requestsServed: count,
    loadAvg1m: finite,
    eventLoopDelayMs: finite,
    capacity: count,
  }),
  database: z.object({
    status: z.enum(['up', 'down']),
    latencyMs: finite.optional(),
    error: z.string().optional(),
  }),
  clock: distributedInfo,
  nodes: z.array(knownNode),
  /** Peer messages refused, by reason (unsigned, stale, replayed, …). */
  refusedPeerMessages: z.record(z.string(), count),
  leaderWrites: z.object({ accepted: count, refused: count }),
});
export type HealthAnswer = z.output<typeof healthAnswer>;

export const pingAnswer = z.object({ ok: z.literal(true), nodeId });

// ---- clocks -------------------------------------------------------------------------------------

const offsets = z.record(z.string().max(64), finite);
/** One Berkeley round, as its master recorded it. */
export const syncRound = z.object({
  round: count,
  master: nodeId,
  epoch: count,
  at: z.string().max(64),
  /** Each node's clock minus the master's, measured before the round (RTT-compensated). */
  offsetsBeforeMs: offsets,
  corrections: offsets,
  /** Each node's app clock minus the master's, measured again once the corrections were applied. */
  offsetsAfterMs: offsets,
  /** Nodes still slewing a backward correction when measured after. */
  slewing: nodeIds,
  excluded: z.array(z.object({ nodeId, reason: z.string().max(500) })).max(1_000),
  maxErrorMs: finite,
  spreadBeforeMs: finite,
  spreadAfterMs: finite,
});
export type SyncRound = z.output<typeof syncRound>;

export const physicalClock = z.object({
  machineMs: finite,
  skewMs: finite,
  offsetMs: finite,
  targetOffsetMs: finite,
  appClockMs: finite,
  slewing: z.boolean(),
});

export const syncAnswer = z.object({
  nodeId,
  lamport: count,
  vector: vectorClock,
  physical: physicalClock,
  nodes: z.array(
    z.object({
      id: nodeId,
      status: z.enum(PEER_STATUSES),
      lamport: count.nullable(),
      vector: vectorClock.nullable(),
    }),
  ),
  rounds: z.array(syncRound),
});
export const syncNowAnswer = z.object({ round: syncRound });

// ---- the election -------------------------------------------------------------------------------

/** One election as a node saw it. */
export const electionRound = z.object({
  algorithm,
  startedAt: finite,
  settledAt: finite.nullable(),
  durationMs: finite.nullable(),
  initiatedHere: z.boolean(),
  trigger: z.string(),
  messagesSent: count,
  messagesReceived: count,
  leader: nodeId.nullable(),
  epoch: count.nullable(),
});
export type ElectionRound = z.output<typeof electionRound>;

export const electionAnswer = z.object({
  nodeId,
  leader: nodeId.nullable(),
  epoch: count,
  algorithm,
  phase: z.string(),
  members: nodeIds,
  alive: nodeIds,
  refusedStaleMessages: count,
  messagesSent: count,
  messagesReceived: count,
  rounds: z.array(electionRound),
});

export const electionBody = z.object({ algorithm, nodeId: z.string().min(1).max(64).optional() });

/** What one election cost across the cluster (`POST /api/election`, and the peer that ran it). */
export const electionResult = z.object({
  ok: z.boolean(),
  algorithm,
  initiator: nodeId,
  leader: nodeId.nullable(),
  epoch: count,
  durationMs: count,
  messages: z.number().int(),
});
export type ElectionResult = z.output<typeof electionResult>;
export const electionTriggered = z.object({ election: electionResult });

// ---- fault injection ----------------------------------------------------------------------------

export const faultsBody = z.object({
  /** Peer ids to cut this node off from, both ways; "*" for every peer; [] heals. */
  partitionedFrom: z.array(z.string().min(1).max(64)).max(100).optional(),
  /** Extra delay per peer on messages this node sends. */
  delayToMs: z.record(z.string().min(1).max(64), z.number().int().min(0).max(60_000)).optional(),
  paused: z.boolean().optional(),
  clockSkewMs: z.number().int().min(-DAY_MS).max(DAY_MS).optional(),
  /** Extra latency on this node's API requests (not health checks, not peer messages). */
  requestDelayMs: z.number().int().min(0).max(60_000).optional(),
});

export const faults = z.object({
  partitionedFrom: z.array(nodeId),
  delayToMs: z.record(z.string(), count),
  paused: z.boolean(),
  clockSkewMs: finite,
  requestDelayMs: count,
});
export type Faults = z.output<typeof faults>;
export const faultsAnswer = z.object({ nodeId, faults });

export const crashBody = z
  .object({
    /** Ask the supervisor (the launcher of `npm start`) to start the node again after this long. */
    restartAfterMs: z.number().int().min(0).max(600_000).optional(),
  })
  .default({});
export const crashAnswer = z.object({
  nodeId,
  pid: count,
  crashing: z.literal(true),
  restartAfterMs: count.nullable(),
});

export const fencedWriteProbeAnswer = z.object({
  nodeId,
  accepted: z.boolean(),
  epoch: count.nullable(),
  leaderWrites: z.object({ accepted: count, refused: count }),
  refused: z.record(z.string(), count),
});
