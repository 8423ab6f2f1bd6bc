import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { envelopeSchema, hasValidSignature, sign, type Envelope, type ReplayGuard } from './envelope';
import type { VectorClock } from '../algorithms/vector-clock';

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
export type SendStamp = { epoch: number; lamport: number; vector: VectorClock; sentAt: number };

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
 * HTTP between nodes: keep-alive connection pools, bounded timeouts, a bounded retry of
 * connection failures. Every request and every reply is a signed envelope.
 */
export class PeerTransport {
  readonly boot = `${Date.now()}-${randomBytes(8).toString('hex')}`;
  private seq = 0;
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, connections: 8, connect: { timeout: 1_000 } });

  constructor(
    private readonly self: string,
    private readonly secret: string,
    private readonly stamp: () => SendStamp,
    private readonly faults: PeerFaults,
    private readonly replayGuard: ReplayGuard,
    private readonly limits: TransportLimits = DEFAULT_TRANSPORT_LIMITS,
  ) {}

  /** Wrap and sign a body for `to` (also used for replies). */
  envelope<B>(to: string, type: string, body: B): Envelope<B> {
    this.seq += 1;
    return sign(this.secret, { from: this.self, to, type, ...this.stamp(), boot: this.boot, seq: this.seq, body });
  }

  /** Send and wait for the peer's signed reply envelope. */
  async call<R = unknown>(peer: Peer, type: string, body: unknown, timeoutMs = this.limits.requestTimeoutMs): Promise<Envelope<R>> {
    if (this.faults.paused || this.faults.partitionedFrom.has(peer.id)) {
      throw new PeerUnreachable(peer.id, false, `${peer.id}: cut off by fault injection`);
    }
    const delay = this.faults.delayToMs.get(peer.id) ?? 0;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    let lastError: PeerUnreachable | undefined;
    for (let attempt = 0; attempt <= this.limits.retries; attempt++) {
      const outgoing = this.envelope(peer.id, type, body);
      try {
        const res = await request(peer.url + PEER_PATH, {
          method: 'POST',
          dispatcher: this.agent,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(outgoing),
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await res.body.text();
        if (res.statusCode !== 200) throw new PeerUnreachable(peer.id, false, `${peer.id} answered ${res.statusCode}: ${text.slice(0, 200)}`);
        return this.verifyReply<R>(peer.id, JSON.parse(text));
      } catch (err) {
        if (err instanceof PeerUnreachable && !err.refused && err.message.includes('answered')) throw err;
        const code = (err as { code?: string }).code ?? '';
        lastError = new PeerUnreachable(peer.id, code === 'ECONNREFUSED', `${peer.id}: ${code || (err as Error).message}`);
        // Only a connection that never got through is safe and useful to retry at once.
        if (code !== 'ECONNRESET' && code !== 'UND_ERR_SOCKET') break;
      }
    }
    throw lastError!;
  }

  /** Fire and forget; failures are reported to `onError` (e.g. to the failure detector). */
  send(peer: Peer, type: string, body: unknown, onError?: (err: PeerUnreachable) => void): void {
    this.call(peer, type, body).catch((err: unknown) => {
      if (err instanceof PeerUnreachable) onError?.(err);
    });
  }

  private verifyReply<R>(peer: string, raw: unknown): Envelope<R> {
    const parsed = envelopeSchema.safeParse(raw);
    if (!parsed.success) throw new PeerUnreachable(peer, false, `${peer}: malformed reply`);
    const reply = parsed.data as Envelope<R>;
    if (reply.from !== peer || reply.to !== this.self || !hasValidSignature(this.secret, reply)) {
      throw new PeerUnreachable(peer, false, `${peer}: reply not signed by ${peer}`);
    }
    if (this.replayGuard.admit(reply.from, reply.boot, reply.seq)) throw new PeerUnreachable(peer, false, `${peer}: replayed reply`);
    return reply;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
