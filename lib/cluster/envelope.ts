import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { VectorClock } from '../algorithms/vector-clock';

/**
 * Every message between nodes travels in an envelope that carries the sender's clocks and is
 * authenticated with an HMAC-SHA256 over the cluster secret, so no outsider can forge an
 * election, a clock reading or a replica update.
 *
 * Replays are refused by (boot, seq): each process run has a boot id that orders its runs
 * (start time, then a random tie-break) and numbers its messages 1, 2, 3, …; a receiver accepts
 * each (from, boot, seq) once, and nothing from a boot older than the newest it has seen.
 */
export type Envelope<B = unknown> = {
  from: string;
  to: string;
  type: string;
  epoch: number;
  lamport: number;
  vector: VectorClock;
  /** Sender's app clock (ms since the epoch) when sent. */
  sentAt: number;
  boot: string;
  seq: number;
  body: B;
  sig: string;
};

export const envelopeSchema = z.object({
  from: z.string().min(1).max(64),
  to: z.string().min(1).max(64),
  type: z.string().min(1).max(64),
  epoch: z.number().int().min(0),
  lamport: z.number().int().min(0),
  vector: z.record(z.string(), z.number().int().min(0)),
  sentAt: z.number().finite(),
  boot: z.string().regex(/^\d{1,16}-[0-9a-f]{1,32}$/),
  seq: z.number().int().min(1),
  body: z.unknown(),
  sig: z.string().regex(/^[0-9a-f]{64}$/),
});

/** A canonical byte string of everything but the signature (key order fixed by construction). */
function signedPayload(e: Omit<Envelope, 'sig'>): string {
  return JSON.stringify([e.from, e.to, e.type, e.epoch, e.lamport, e.vector, e.sentAt, e.boot, e.seq, e.body]);
}

export function sign<B>(secret: string, e: Omit<Envelope<B>, 'sig'>): Envelope<B> {
  return { ...e, sig: createHmac('sha256', secret).update(signedPayload(e)).digest('hex') };
}

export function hasValidSignature(secret: string, e: Envelope): boolean {
  const expected = createHmac('sha256', secret).update(signedPayload(e)).digest();
  const given = Buffer.from(e.sig, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export type RefusalReason = 'unsigned' | 'bad-signature' | 'wrong-recipient' | 'replayed' | 'stale-boot';

/** How many recent sequence numbers per sender boot are remembered above the low-water mark. */
const REPLAY_WINDOW = 4_096;

function bootOrder(boot: string): [number, string] {
  const [time, random] = boot.split('-');
  return [Number(time), random ?? ''];
}

function isNewerBoot(a: string, b: string): boolean {
  const [ta, ra] = bootOrder(a);
  const [tb, rb] = bootOrder(b);
  return ta !== tb ? ta > tb : ra > rb;
}

/** Remembers what each sender already delivered. Pure bookkeeping, no clock or I/O. */
export class ReplayGuard {
  private readonly senders = new Map<string, { boot: string; lowWater: number; seen: Set<number> }>();

  /** Returns a refusal reason, or undefined when the message is new (and records it). */
  admit(from: string, boot: string, seq: number): RefusalReason | undefined {
    const known = this.senders.get(from);
    if (!known || isNewerBoot(boot, known.boot)) {
      this.senders.set(from, { boot, lowWater: 0, seen: new Set([seq]) });
      return undefined;
    }
    if (boot !== known.boot) return 'stale-boot';
    if (seq <= known.lowWater || known.seen.has(seq)) return 'replayed';
    known.seen.add(seq);
    if (known.seen.size > REPLAY_WINDOW) {
      // Forget the oldest half; anything at or below the new low-water mark counts as replayed.
      const sorted = [...known.seen].sort((a, b) => a - b);
      const cut = sorted[Math.floor(sorted.length / 2)]!;
      known.lowWater = cut;
      known.seen = new Set(sorted.filter((s) => s > cut));
    }
    return undefined;
  }
}
