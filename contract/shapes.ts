/**
 * The pieces every part of the API's contract shares: ids as they travel, timestamps, the
 * distributed stamp a write answers with, and the error body.
 */
import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../core/errors';

// Ids are positive integers that fit comfortably in a JS number and in PostgreSQL's bigint.
export const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
/** An id as it arrives in a path or a query string. */
export const idParam = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
export const uuid = z.uuid();
/** A moment, as the API writes it: ISO 8601 in UTC. */
export const timestamp = z.iso.datetime();
export const count = z.number().int().min(0);
export const NODE_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const nodeId = z.string().regex(NODE_ID_PATTERN);
/** A vector clock: events seen per node (at most 1,000 nodes). */
export const vectorClock = z
  .record(z.string().max(64), count)
  .refine((v) => Object.keys(v).length <= 1_000, { message: 'at most 1,000 nodes' });

/** What every write answers with: which node processed it, and its clocks at that moment. */
export const distributedInfo = z.object({
  processedBy: nodeId,
  logicalClock: count,
  vectorClock,
  timestamp,
});
export type DistributedInfo = z.output<typeof distributedInfo>;

const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

/** Every error answer: a code from the table in docs/errors.md, a message, sometimes details. */
export const errorAnswer = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

export const okAnswer = z.object({ ok: z.literal(true) });
