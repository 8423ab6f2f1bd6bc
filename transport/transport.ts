import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import type { z } from 'zod';
import { decode, encode, FROM_HEADER, SIGNATURE_HEADER, type Envelope, type ReplayGuard } from './envelope';
import type { VectorClock } from '../core/vector-clock';

export type Peer = { id: string; url: string };

/** Fault injection on this node's peer traffic (tests and the monitor's chaos tab). */
export type PeerFaults = {
  /** Peers whose messages to or from this node are lost (a partition). */
  partitionedFrom: Set<string>;
  /** Extra delay before sending to a peer, ms. */
  delayToMs: Map<string, number>;
  /** A paused node neither sends nor handles peer messages. */
  paused: boolean;
};

export function noFaults(): PeerFaults {
  return { partitionedFrom: new Set(), delayToMs: new Map(), paused: false };
}

/** What the transport needs from the node: its clocks at send time and its election epoch. */
export type SendStamp = { epoch: number; lamport: number; vector: VectorClock };

/** The message being stamped: the node applies its type's clock rule (and may record it by id). */
export type OutgoingRef = { type: string; to: string; boot: string; seq: number };

export class PeerUnreachable extends Error {
  constructor(
    readonly peer: string,
    /** True when nothing listens on the peer's port: the process is gone. */
    readonly refused: boolean,
    message: string,
  ) {
    super(message);
  }
}

export type TransportLimits = { requestTimeoutMs: number; retries: number };

export const DEFAULT_TRANSPORT_LIMITS: TransportLimits = { requestTimeoutMs: 500, retries: 1 };
export const PEER_PATH = '/api/peer';
/**
 * The largest peer message body, either way (requests are refused with 413 above it, replies are
 * not read past it). Replication splits what could grow beyond it (see replication-node.ts).
 */
export const PEER_BODY_LIMIT_BYTES = 1_048_576;
/** How much of a refusal's body a sender reads for its error message. */
const REFUSAL_TEXT_BYTES = 200;

/** Read at most `limit` bytes of a body; undefined (and the stream destroyed) beyond it. */
async function readBounded(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * HTTP between nodes: keep-alive connection pools, bounded timeouts, a bounded retry of
 * connection failures. Every request and every reply is a signed envelope (HMAC over its bytes).
 */
export class PeerTransport {
  readonly boot = `${Date.now()}-${randomBytes(8).toString('hex')}`;
  private seq = 0;
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, connections: 8, connect: { timeout: 1_000 } });

  constructor(
    private readonly self: string,
    private readonly secret: string,
    private readonly stamp: (message: OutgoingRef) => SendStamp,
    private readonly faults: PeerFaults,
    private readonly replayGuard: ReplayGuard,
    private readonly limits: TransportLimits = DEFAULT_TRANSPORT_LIMITS,
    /** The real wall clock (never the app clock that fault injection skews). */
    private readonly wallClock: () => number = Date.now,
  ) {}

  /** Wrap a body for `to` (also used for replies): the envelope and its signed bytes. */
  envelope<B>(to: string, type: string, body: B): { envelope: Envelope<B>; bytes: Buffer; signature: string } {
    this.seq += 1;
    const stamp = this.stamp({ type, to, boot: this.boot, seq: this.seq });
    const envelope: Envelope<B> = { from: this.self, to, type, ...stamp, sentAt: this.wallClock(), boot: this.boot, seq: this.seq, body };
    return { envelope, ...encode(this.secret, envelope) };
  }

  /** Send and wait for the peer's signed reply, its body parsed with `replySchema`. */
  async call<S extends z.ZodType>(peer: Peer, type: string, body: unknown, replySchema: S, timeoutMs = this.limits.requestTimeoutMs): Promise<Envelope<z.output<S>>> {
    if (this.faults.paused || this.faults.partitionedFrom.has(peer.id)) {
      throw new PeerUnreachable(peer.id, false, `${peer.id}: cut off by fault injection`);
    }
    const delay = this.faults.delayToMs.get(peer.id) ?? 0;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    let lastError: PeerUnreachable | undefined;
    for (let attempt = 0; attempt <= this.limits.retries; attempt++) {
      const outgoing = this.envelope(peer.id, type, body);
      if (outgoing.bytes.length > PEER_BODY_LIMIT_BYTES) throw new PeerUnreachable(peer.id, false, `${peer.id}: ${type} of ${outgoing.bytes.length} bytes is over the peer limit`);
      try {
        const res = await request(peer.url + PEER_PATH, {
          method: 'POST',
          dispatcher: this.agent,
          headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: outgoing.signature, [FROM_HEADER]: this.self },
          body: outgoing.bytes,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (res.statusCode !== 200) {
          const text = (await readBounded(res.body, PEER_BODY_LIMIT_BYTES))?.toString('utf8').slice(0, REFUSAL_TEXT_BYTES) ?? '';
          throw new PeerUnreachable(peer.id, false, `${peer.id} answered ${res.statusCode}: ${text}`);
        }
        const declared = Number(res.headers['content-length']);
        const bytes = declared > PEER_BODY_LIMIT_BYTES ? undefined : await readBounded(res.body, PEER_BODY_LIMIT_BYTES);
        if (!bytes) {
          res.body.destroy();
          throw new PeerUnreachable(peer.id, false, `${peer.id} answered a reply over ${PEER_BODY_LIMIT_BYTES} bytes`);
        }
        return this.verifyReply(peer.id, bytes, res.headers[SIGNATURE_HEADER], replySchema);
      } catch (err) {
        if (err instanceof PeerUnreachable) throw err;
        const code = (err as { code?: string }).code ?? '';
        lastError = new PeerUnreachable(peer.id, code === 'ECONNREFUSED', `${peer.id}: ${code || (err as Error).message}`);
        // Only a connection that never got through is safe and useful to retry at once.
        if (code !== 'ECONNRESET' && code !== 'UND_ERR_SOCKET') break;
      }
    }
    throw lastError!;
  }

  /** Fire and forget; failures are reported to `onError` (e.g. to the failure detector). */
  send(peer: Peer, type: string, body: unknown, replySchema: z.ZodType, onError?: (err: PeerUnreachable) => void): void {
    this.call(peer, type, body, replySchema).catch((err: unknown) => {
      if (err instanceof PeerUnreachable) onError?.(err);
    });
  }

  /** Authenticate the raw reply, then parse it: envelope, sender, freshness, replay, body. */
  private verifyReply<S extends z.ZodType>(peer: string, bytes: Buffer, signature: string | string[] | undefined, replySchema: S): Envelope<z.output<S>> {
    const decoded = decode(this.secret, bytes, typeof signature === 'string' ? signature : undefined);
    if (!decoded.ok) throw new PeerUnreachable(peer, false, `${peer}: reply refused (${decoded.reason})`);
    const reply = decoded.envelope;
    if (reply.from !== peer || reply.to !== this.self) throw new PeerUnreachable(peer, false, `${peer}: reply not addressed from ${peer} to ${this.self}`);
    const refusal = this.replayGuard.admit(reply, this.wallClock());
    if (refusal) throw new PeerUnreachable(peer, false, `${peer}: reply refused (${refusal})`);
    const body = replySchema.safeParse(reply.body);
    if (!body.success) throw new PeerUnreachable(peer, false, `${peer}: malformed ${reply.type} body`);
    return { ...reply, body: body.data };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
