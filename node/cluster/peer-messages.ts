import { z } from 'zod';
import type { ElectionMessage } from '../../core/election';
import { ELECTION_ALGORITHMS } from '../../core/vocabulary';
import { electionResult, nodeSummary, syncRound } from '../../contract/cluster';
import { count, nodeId, okAnswer } from '../../contract/shapes';

/**
 * The schema of every cluster message body and of its reply body: a message is handled only once
 * its body parsed (a body that does not is refused with 400 PEER_MESSAGE_INVALID), and a reply is
 * used only once it parsed. Replication's messages are in node/replication/peer-messages.ts.
 */
const epoch = count;
const key = z.string().min(1).max(200);
const nodeIds = z.array(nodeId).max(1_000);
const algorithm = z.enum(ELECTION_ALGORITHMS);
/** Clock corrections and readings stay within a day (the fault injection's own bound). */
const DAY_MS = 86_400_000;

export const emptyBody = z.object({}).strict();
export const okReply = okAnswer;

export { nodeSummary };

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

export { syncRound };
export const clockHistoryReply = z.object({ rounds: z.array(syncRound).max(1_000) });

export const algorithmBody = z.object({ algorithm });
export const algorithmReply = z.object({ ok: z.literal(true), algorithm });
export { electionResult };
/** Only the counters are read (the rounds are the monitor's, shown from the node itself). */
export const electionStats = z.object({ messagesSent: count, messagesReceived: count, rounds: z.array(z.unknown()).max(1_000) });
