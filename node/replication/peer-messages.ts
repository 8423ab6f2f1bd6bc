import { z } from 'zod';
import { vectorClockSchema } from '../../transport/envelope';
import { count, nodeId, okAnswer } from '../../contract/shapes';
import { replicaStats, replicationSettings } from '../../contract/replication';
import type { ReplicationMessage } from '../../core/replication/replication';
import type { Entry, JsonValue } from '../../core/replication/store';

/**
 * The schema of every replication message body and reply body on the wire (the cluster's own are
 * in node/cluster/peer-messages.ts): nothing reaches the core or a caller unparsed.
 */
const requestId = z.string().min(1).max(200);
/** A replicated document's key (`booking:12:…`, `showtime:3`, …). */
const key = z.string().min(1).max(500);
/** Entries one message may carry (a bound on work per message; bytes are bounded by the transport). */
const MAX_ENTRIES_PER_MESSAGE = 200_000;
const MAX_PREFIXES = 100;

const json: z.ZodType<JsonValue> = z.json() as z.ZodType<JsonValue>;

export const entry: z.ZodType<Entry> = z.object({
  key,
  value: json,
  deleted: z.boolean(),
  version: vectorClockSchema,
  ts: z.number().finite(),
  origin: nodeId,
  seq: z.number().int().min(1),
  rank: z.number().int().optional(),
});
const entries = z.array(entry).max(MAX_ENTRIES_PER_MESSAGE);
const digest = z.array(z.string().max(64)).max(1_024);
const errorCode = z.enum(['timeout', 'no-master', 'stale-session', 'no-quorum', 'busy', 'stopped']);
const prefix = z.string().min(1).max(200);
/** What a read selects: one document, or the documents under some prefixes (of one owner). */
const selection = z.union([
  z.object({ key }).strict(),
  z.object({ prefixes: z.array(prefix).min(1).max(MAX_PREFIXES), owner: z.string().min(1).max(200).optional() }).strict(),
]);

// (Discriminated by `type`, then by `ok` for the two replies: one lookup instead of trying each shape.)
export const replicationMessage: z.ZodType<ReplicationMessage> = z.discriminatedUnion('type', [
  z.object({ type: z.literal('sync'), id: requestId, epoch: count, digest, seen: vectorClockSchema }),
  z.object({ type: z.literal('syncReply'), id: requestId, epoch: count, digest, seen: vectorClockSchema, entries }),
  z.object({ type: z.literal('syncEntries'), id: requestId, epoch: count, seen: vectorClockSchema, entries }),
  z.object({ type: z.literal('replicate'), epoch: count, entries }),
  z.object({ type: z.literal('replicateAck'), epoch: count, dots: z.array(z.string().max(200)).max(MAX_ENTRIES_PER_MESSAGE) }),
  z.object({ type: z.literal('refused'), epoch: count }),
  z.object({ type: z.literal('forwardWrite'), epoch: count, requestId, key, value: json, deleted: z.boolean(), rank: z.number().int().optional() }),
  z.discriminatedUnion('ok', [
    z.object({ type: z.literal('writeReply'), requestId, ok: z.literal(true), entry, replicas: count }),
    z.object({ type: z.literal('writeReply'), requestId, ok: z.literal(false), error: errorCode }),
  ]),
  z.object({ type: z.literal('readRequest'), epoch: count, requestId, selection, purpose: z.enum(['quorum', 'causal', 'master']), token: vectorClockSchema }),
  z.discriminatedUnion('ok', [
    z.object({ type: z.literal('readReply'), requestId, ok: z.literal(true), entries, covers: z.boolean() }),
    z.object({ type: z.literal('readReply'), requestId, ok: z.literal(false), error: errorCode }),
  ]),
  z.object({ type: z.literal('leaderCheck'), epoch: count, id: requestId }),
  z.object({ type: z.literal('leaderCheckReply'), epoch: count, id: requestId, ok: z.boolean() }),
]);

/** Most protocol messages in one `repl.batch` (the messages of one step to one peer). */
export const MAX_MESSAGES_PER_BATCH = 256;
/** Several protocol messages to one peer, delivered in order as if sent one by one. */
export const replicationBatch = z.object({ msgs: z.array(replicationMessage).min(1).max(MAX_MESSAGES_PER_BATCH) });

/** Most parts one replication message is split into (so at most 64 MiB, the old single-message limit). */
export const MAX_PARTS_PER_MESSAGE = 128;
/** One part of a replication message too large for one peer message (see ReplicationNode.sendRepl). */
export const replicationPart = z.object({
  id: z.string().uuid(),
  index: count,
  count: z.number().int().min(2).max(MAX_PARTS_PER_MESSAGE),
  data: z.string().max(1_000_000).regex(/^[A-Za-z0-9+/]*={0,2}$/),
}).refine((p) => p.index < p.count);

export const okReply = okAnswer;
export const emptyBody = z.object({}).strict();

export { replicationSettings };

/** Only what the cluster view reads is checked; the rest is shown as the node reported it. */
export const statsReply = replicaStats
  .pick({
    nodeId: true, mode: true, entries: true, byKind: true,
    digest: true, versionVector: true, newestTs: true,
  })
  .loose();
