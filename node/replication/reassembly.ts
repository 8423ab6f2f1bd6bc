/**
 * Replication messages larger than one peer message travel in parts (like IP fragments): the
 * sender splits the message's JSON bytes, the receiver holds the parts until all arrived, then
 * hands the whole message on. A lost part loses the whole message, which the protocol tolerates
 * (sync rounds, hints and anti-entropy resend). Pure bookkeeping: time comes in as `nowMs`.
 */
export type Part = { id: string; index: number; count: number; data: string };

/** Raw bytes per part: base64 makes it 4/3 larger, still well under PEER_BODY_LIMIT_BYTES (1 MiB). */
export const REPL_PART_BYTES = 512 * 1024;

export function splitMessage(bytes: Buffer, id: string, partBytes = REPL_PART_BYTES): Part[] {
  const count = Math.ceil(bytes.length / partBytes);
  return Array.from({ length: count }, (_, index) => ({
    id, index, count, data: bytes.subarray(index * partBytes, (index + 1) * partBytes).toString('base64'),
  }));
}

export type ReassemblyLimits = {
  /** Bytes of unfinished messages held at once, from all senders; a part beyond it is dropped. */
  maxHeldBytes: number;
  /** An unfinished message is forgotten this long after its first part. */
  timeoutMs: number;
};

type Pending = { parts: (Buffer | undefined)[]; received: number; bytes: number; firstAt: number };

export class Reassembly {
  private readonly pending = new Map<string, Pending>();
  private held = 0;
  readonly counts = { parts: 0, completed: 0, dropped: 0, expired: 0 };

  constructor(private readonly limits: ReassemblyLimits) {}

  /** Take one part; returns the whole message's bytes once its last part arrived. */
  add(from: string, part: Part, nowMs: number): Buffer | undefined {
    this.expire(nowMs);
    const key = `${from}/${part.id}`;
    const data = Buffer.from(part.data, 'base64');
    let p = this.pending.get(key);
    if (p && p.parts.length !== part.count) return this.drop();
    if (p?.parts[part.index]) return undefined; // a duplicate part
    if (this.held + data.length > this.limits.maxHeldBytes) return this.drop();
    if (!p) {
      p = { parts: new Array<Buffer | undefined>(part.count).fill(undefined), received: 0, bytes: 0, firstAt: nowMs };
      this.pending.set(key, p);
    }
    p.parts[part.index] = data;
    p.received += 1;
    p.bytes += data.length;
    this.held += data.length;
    this.counts.parts += 1;
    if (p.received < part.count) return undefined;
    this.forget(key, p);
    this.counts.completed += 1;
    return Buffer.concat(p.parts as Buffer[], p.bytes);
  }

  get heldBytes(): number {
    return this.held;
  }

  private drop(): undefined {
    this.counts.dropped += 1;
    return undefined;
  }

  private forget(key: string, p: Pending): void {
    this.pending.delete(key);
    this.held -= p.bytes;
  }

  private expire(nowMs: number): void {
    for (const [key, p] of this.pending) {
      if (nowMs - p.firstAt < this.limits.timeoutMs) continue;
      this.forget(key, p);
      this.counts.expired += 1;
    }
  }
}
