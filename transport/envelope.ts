import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { VectorClock } from '../core/vector-clock';
import { NODE_ID_PATTERN, nodeId, vectorClock as vectorClockSchema } from '../contract/shapes';

/**
 * Every message between nodes travels in an envelope that carries the sender's clocks. On the
 * wire the body of a POST /api/peer (and of its reply) is the envelope's JSON bytes, and the
 * header `X-Peer-Signature` holds an HMAC-SHA256 of exactly those bytes with the cluster secret:
 * the receiver checks it on the raw buffer before it parses anything, so an outsider's bytes are
 * never parsed, and no outsider can forge an election, a clock reading or a replica update.
 *
 * Replays are refused by freshness and (boot, seq): `sentAt` is the sender's wall clock
 * (Date.now(), never the app clock that fault injection skews); a receiver refuses a message sent
 * more than the freshness window away from its own wall clock, or sent before the receiver's own
 * process started (so a message captured before a restart is never accepted after it). Within the
 * window, each process run has a boot id that orders its runs (start time, then a random
 * tie-break) and numbers its messages 1, 2, 3, …; a receiver accepts each (from, boot, seq) once,
 * and nothing from a boot older than the newest it has seen.
 */
export type Envelope<B = unknown> = {
  from: string;
  to: string;
  type: string;
  epoch: number;
  lamport: number;
  vector: VectorClock;
  /** Sender's wall clock (ms since the epoch) when sent. */
  sentAt: number;
  boot: string;
  seq: number;
  body: B;
};

export { NODE_ID_PATTERN, vectorClockSchema };

export const envelopeSchema = z.object({
  from: nodeId,
  to: nodeId,
  type: z.string().min(1).max(64),
  epoch: z.number().int().min(0),
  lamport: z.number().int().min(0),
  vector: vectorClockSchema,
  sentAt: z.number().int().min(0),
  boot: z.string().regex(/^\d{1,16}-[0-9a-f]{1,32}$/),
  seq: z.number().int().min(1),
  body: z.unknown(),
});

/** Headers of a signed peer message (request or reply). */
export const SIGNATURE_HEADER = 'x-peer-signature';
export const FROM_HEADER = 'x-peer-from';
const SIGNATURE_PATTERN = /^[0-9a-f]{64}$/;

export function signBytes(secret: string, bytes: Uint8Array): string {
  return createHmac('sha256', secret).update(bytes).digest('hex');
}

/** Constant-time check of `signature` (hex) over `bytes`. */
export function verifyBytes(secret: string, bytes: Uint8Array, signature: string | undefined): boolean {
  if (signature === undefined || !SIGNATURE_PATTERN.test(signature)) return false;
  const expected = createHmac('sha256', secret).update(bytes).digest();
  return timingSafeEqual(Buffer.from(signature, 'hex'), expected);
}

export function isSignatureShaped(signature: string | undefined): boolean {
  return signature !== undefined && SIGNATURE_PATTERN.test(signature);
}

/** The bytes to send and their signature. */
export function encode(secret: string, e: Envelope): { bytes: Buffer; signature: string } {
  const bytes = Buffer.from(JSON.stringify(e));
  return { bytes, signature: signBytes(secret, bytes) };
}

export type DecodeResult = { ok: true; envelope: Envelope } | { ok: false; reason: 'bad-signature' | 'malformed' };

/** Authenticate raw bytes, and only then parse them. */
export function decode(secret: string, bytes: Uint8Array, signature: string | undefined): DecodeResult {
  if (!verifyBytes(secret, bytes, signature)) return { ok: false, reason: 'bad-signature' };
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const parsed = envelopeSchema.safeParse(raw);
  return parsed.success ? { ok: true, envelope: parsed.data as Envelope } : { ok: false, reason: 'malformed' };
}

export type RefusalReason =
  | 'unsigned' | 'bad-signature' | 'wrong-recipient' | 'replayed' | 'stale-boot' | 'stale' | 'from-the-future' | 'before-start';

export type ReplayConfig = {
  /** A message whose send time is further than this from the receiver's wall clock is refused. */
  freshnessWindowMs: number;
  /** The receiver's process start (wall clock): anything sent before it is refused. */
  startedAtMs: number;
  /** Sequence numbers remembered per sender boot (beyond it the oldest half is forgotten). */
  maxRememberedPerSender: number;
};

export const DEFAULT_FRESHNESS_WINDOW_MS = 30_000;
export const DEFAULT_MAX_REMEMBERED_PER_SENDER = 65_536;

/** Freshness of a send time against the receiver's wall clock `nowMs`. Pure. */
export function freshness(sentAt: number, nowMs: number, config: ReplayConfig): RefusalReason | undefined {
  if (sentAt < nowMs - config.freshnessWindowMs) return 'stale';
  if (sentAt > nowMs + config.freshnessWindowMs) return 'from-the-future';
  if (sentAt < config.startedAtMs) return 'before-start';
  return undefined;
}

function bootOrder(boot: string): [number, string] {
  const [time, random] = boot.split('-');
  return [Number(time), random ?? ''];
}

function isNewerBoot(a: string, b: string): boolean {
  const [ta, ra] = bootOrder(a);
  const [tb, rb] = bootOrder(b);
  return ta !== tb ? ta > tb : ra > rb;
}

type SenderMemory = { boot: string; lowWater: number; seen: Map<number, number> };

/**
 * Remembers what each sender already delivered. Pure bookkeeping: the receiver's wall clock comes
 * in as `nowMs`. A (boot, seq) is remembered while its send time is inside the freshness window
 * (older ones are refused by freshness anyway), at most `maxRememberedPerSender` of them.
 */
export class ReplayGuard {
  private readonly senders = new Map<string, SenderMemory>();

  constructor(private readonly config: ReplayConfig) {}

  /** Returns a refusal reason, or undefined when the message is new (and records it). */
  admit(e: Pick<Envelope, 'from' | 'boot' | 'seq' | 'sentAt'>, nowMs: number): RefusalReason | undefined {
    const late = freshness(e.sentAt, nowMs, this.config);
    if (late) return late;
    const known = this.senders.get(e.from);
    if (!known || isNewerBoot(e.boot, known.boot)) {
      this.senders.set(e.from, { boot: e.boot, lowWater: 0, seen: new Map([[e.seq, e.sentAt]]) });
      return undefined;
    }
    if (e.boot !== known.boot) return 'stale-boot';
    if (e.seq <= known.lowWater || known.seen.has(e.seq)) return 'replayed';
    known.seen.set(e.seq, e.sentAt);
    if (known.seen.size > this.config.maxRememberedPerSender) this.forget(known, nowMs);
    return undefined;
  }

  /** Forget what freshness refuses anyway; if that is not enough, the oldest half (by seq). */
  private forget(known: SenderMemory, nowMs: number): void {
    const horizon = nowMs - this.config.freshnessWindowMs;
    for (const [seq, sentAt] of known.seen) if (sentAt < horizon) known.seen.delete(seq);
    if (known.seen.size <= this.config.maxRememberedPerSender / 2) return;
    const sorted = [...known.seen.keys()].sort((a, b) => a - b);
    const cut = sorted[Math.floor(sorted.length / 2)]!;
    known.lowWater = Math.max(known.lowWater, cut);
    for (const seq of sorted) if (seq <= cut) known.seen.delete(seq);
  }

  /** How many (boot, seq) pairs are remembered in all (tests). */
  get remembered(): number {
    let n = 0;
    for (const s of this.senders.values()) n += s.seen.size;
    return n;
  }
}
