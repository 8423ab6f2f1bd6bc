import { z } from 'zod';
import type { ElectionMessage } from '../../core/election';
import { NODE_ID_PATTERN, vectorClockSchema } from '../../transport/envelope';
import { ELECTION_ALGORITHMS, NODE_ROLES } from '../../core/vocabulary';

/**
 * The schema of every cluster message body and of its reply body: a message is handled only once
 * its body parsed (a body that does not is refused with 400 PEER_MESSAGE_INVALID), and a reply is
 * used only once it parsed. Replication's messages are in node/replication/peer-messages.ts.
 */
const nodeId = z.string().regex(NODE_ID_PATTERN);
const count = z.number().int().min(0);
const epoch = count;
const key = z.string().min(1).max(200);
const nodeIds = z.array(nodeId).max(1_000);
const algorithm = z.enum(ELECTION_ALGORITHMS);
/** Clock corrections and readings stay within a day (the fault injection's own bound). */
const DAY_MS = 86_400_000;

export const emptyBody = z.object({}).strict();
export const okReply = z.object({ ok: z.literal(true) });

export const nodeSummary = z.object({
  id: nodeId,
  url: z.string().max(2_048),
  pid: z.number().int().min(0),
  role: z.enum(NODE_ROLES),
  leader: nodeId.nullable(),
  epoch,
  lamport: count,
  vector: vectorClockSchema,
  load: z.object({ inFlight: z.number().int(), requestsServed: count, loadAvg1m: z.number().finite() }),
  startedAt: z.string().max(64),
  algorithm,
});

export const electionMessage: z.ZodType<ElectionMessage> = z.discriminatedUnion('type', [
  z.object({ type: z.literal('election'), epoch, renew: z.literal(true).optional() }),
  z.object({ type: z.literal('answer'), epoch }),
  z.object({ type: z.literal('coordinator'), epoch, leader: nodeId }),
  z.object({ type: z.literal('refused'), epoch, leader: nodeId.nullable() }),
  z.object({ type: z.literal('token'), epoch, key, initiator: nodeId, ids: nodeIds, leading: nodeId.nullable(), leadingEpoch: epoch }),
  z.object({ type: z.literal('ringCoordinator'), epoch, key, leader: nodeId, visited: nodeIds }),
  z.object({ type: z.literal('ack'), epoch, ref: key }),
]);

export const clockReading = z.object({ syncClockMs: z.number().finite(), appClockMs: z.number().finite(), slewing: z.boolean() });
export const clockAdjust = z.object({ deltaMs: z.number().finite().min(-DAY_MS).max(DAY_MS), round: count });

const offsets = z.record(z.string().max(64), z.number().finite());
export const syncRound = z.object({
  round: count,
  master: nodeId,
  epoch,
  at: z.string().max(64),
  offsetsBeforeMs: offsets,
  corrections: offsets,
  offsetsAfterMs: offsets,
  slewing: nodeIds,
  excluded: z.array(z.object({ nodeId, reason: z.string().max(500) })).max(1_000),
  maxErrorMs: z.number().finite(),
  spreadBeforeMs: z.number().finite(),
  spreadAfterMs: z.number().finite(),
});
export const clockHistoryReply = z.object({ rounds: z.array(syncRound).max(1_000) });

export const algorithmBody = z.object({ algorithm });
export const algorithmReply = z.object({ ok: z.literal(true), algorithm });
export const electionResult = z.object({
  ok: z.boolean(), algorithm, initiator: nodeId, leader: nodeId.nullable(), epoch, durationMs: count, messages: z.number().int(),
});
/** Only the counters are read (the rounds are the monitor's, shown from the node itself). */
export const electionStats = z.object({ messagesSent: count, messagesReceived: count, rounds: z.array(z.unknown()).max(1_000) });
