/** Replication as the API shows it: every live node's replica, and the settings of an admin. */
import { z } from 'zod';
import { REPLICATION_MODE_ALIASES, REPLICATION_MODES } from '../core/vocabulary';
import { count, nodeId, timestamp, vectorClock } from './shapes';

const mode = z.enum(REPLICATION_MODES);
const quorumSize = z.number().int().min(1).max(100);

/** A mode by its name, or by the spec's `peer-to-peer` for gossip. */
export const replicationModeInput = z
  .enum([...REPLICATION_MODES, ...(Object.keys(REPLICATION_MODE_ALIASES) as ['peer-to-peer'])])
  .transform((name) => REPLICATION_MODE_ALIASES[name] ?? (name as z.output<typeof mode>));

export const replicationSettings = z.object({
  mode,
  n: quorumSize,
  r: quorumSize,
  w: quorumSize,
  synchronous: z.boolean(),
  fanout: quorumSize,
  gossipIntervalMs: z.number().int().min(1).max(600_000),
});

export const replicationSettingsBody = z
  .object({
    mode: replicationModeInput.optional(),
    n: quorumSize.optional(),
    r: quorumSize.optional(),
    w: quorumSize.optional(),
    synchronous: z.boolean().optional(),
    fanout: quorumSize.optional(),
    gossipIntervalMs: z.number().int().min(10).max(60_000).optional(),
  })
  .refine((b) => b.r === undefined || b.n === undefined || b.r <= b.n, { message: 'r must be ≤ n' })
  .refine((b) => b.w === undefined || b.n === undefined || b.w <= b.n, {
    message: 'w must be ≤ n',
  });

const entryStamp = z.object({ origin: z.string(), seq: count, ts: z.number() });
export const conflictRecord = z.object({ key: z.string(), winner: entryStamp, loser: entryStamp });

/** One node's replica, as it reports it. */
export const replicaStats = z.object({
  nodeId,
  mode,
  entries: count,
  /** Entries per kind (`booking`, `hold`, …). */
  byKind: z.record(z.string().max(200), count),
  /** One short hash of the replica's digest: equal on two nodes means equal replicas. */
  digest: z.string().max(64),
  versionVector: vectorClock,
  /** The hybrid clock: the largest timestamp this replica has applied. */
  newestTs: z.number().finite(),
  conflicts: count,
  recentConflicts: z.array(conflictRecord),
  hints: count,
  lastAppliedAt: timestamp.nullable(),
  lastSyncAt: timestamp.nullable(),
  /** Anti-entropy (multi-master, a slave with its master) or gossip push-pull rounds started. */
  syncRounds: count,
  writesAcked: count,
  writesFailed: count,
  outboxPublished: count,
  messagesBatched: count,
  messagesSplit: count,
  messagesReassembled: count,
  retiredGroups: count,
  compactedRows: count,
});
export type ReplicaStats = z.output<typeof replicaStats>;

/** A replica against the most advanced: entries it lacks, and how far behind its newest is. */
export const replicaNode = replicaStats.extend({
  lagEntries: count,
  lagMs: z.number().finite().min(0),
});
export type ReplicaNode = z.output<typeof replicaNode>;

export const replicasView = replicationSettings.extend({
  converged: z.boolean(),
  nodes: z.array(replicaNode),
  /** Per node, entries per kind (`{ "node-1": { "booking": 12 } }`). */
  distribution: z.record(nodeId, z.record(z.string(), count)),
});
export type ReplicasView = z.output<typeof replicasView>;

export const replicasAnswer = replicasView.extend({ servedBy: nodeId });
export const replicationSettingsChanged = replicasView.extend({ settings: replicationSettings });
