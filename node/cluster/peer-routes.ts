import type { z } from 'zod';
import { decode, type Envelope, type RefusalReason, type ReplayGuard } from '../../transport/envelope';
import type { Peer } from '../../transport/transport';

/** A handler of one peer message type: its parsed body in, its reply out. */
export type PeerMessageHandler<B = unknown> = (
  from: string,
  body: B,
  envelope: Envelope<B>,
) => Promise<unknown> | unknown;

/** A handler's answer that refuses the message (409) instead of replying. */
export class Refusal {
  constructor(readonly reason: 'stale-epoch') {}
}

/** Decides, before a message counts as an event, whether it is taken at all. */
export type Admit = (from: string, env: Envelope) => Refusal | undefined;

/** How a part of the node takes a message type: the body parsed with `schema`, then `handle`. */
export type RoutePeerMessage = <S extends z.ZodType>(
  type: string,
  schema: S,
  handle: PeerMessageHandler<z.output<S>>,
  admit?: Admit,
) => void;

/** How a part of the node asks a peer: the reply is parsed with `replySchema`. */
export type CallPeer = <S extends z.ZodType>(
  peer: Peer,
  type: string,
  body: unknown,
  replySchema: S,
) => Promise<Envelope<z.output<S>>>;

/** What POST /api/peer answers: a signed reply, a refusal with a code, or nothing (`drop`). */
export type InboundResult =
  | { drop: true }
  | { drop?: false; status: 200; reply: { bytes: Buffer; signature: string } }
  | { drop?: false; status: number; error: { code: string; message: string } };

/**
 * A message type's handler. How it counts in the logical clocks is its type's rule
 * (core/clock-rules.ts), applied once `admit` (if any) accepted the message.
 */
type Route = { schema: z.ZodType; handle: PeerMessageHandler<never>; admit?: Admit };

export type RefusedReason = RefusalReason | 'stale-epoch' | 'malformed' | 'too-large' | 'unknown-type';

export type PeerRouterIo = {
  nodeId: string;
  secret: string;
  replayGuard: ReplayGuard;
  /** False while this node takes no message from `from`: stopped, paused, or partitioned. */
  takesPartWith(from: string): boolean;
  /** The sender was heard from (the failure detector; membership, if it is new). */
  heard(from: string): void;
  /** The message counts in the clocks, by its type's rule. */
  delivered(env: Envelope): void;
  /** The signed reply to `to`. */
  reply(to: string, type: string, body: unknown): { bytes: Buffer; signature: string };
  now(): number;
};

/**
 * The node's inbound peer messages: authenticated on the raw bytes before any parsing, checked
 * for recipient, freshness and replays, parsed with their type's schema, counted in the clocks,
 * then handed to the part of the node that routed the type. Every refusal is counted by reason.
 */
export class PeerRouter {
  private readonly routes = new Map<string, Route>();
  readonly refused: Record<RefusedReason, number> = {
    unsigned: 0, 'bad-signature': 0, 'wrong-recipient': 0, replayed: 0, 'stale-boot': 0, stale: 0,
    'from-the-future': 0, 'before-start': 0, 'stale-epoch': 0, malformed: 0, 'too-large': 0,
    'unknown-type': 0,
  };

  constructor(private readonly io: PeerRouterIo) {}

  route: RoutePeerMessage = (type, schema, handle, admit) => {
    this.routes.set(type, { schema, handle: handle as PeerMessageHandler<never>, ...(admit && { admit }) });
  };

  /** Count a refused message; the reason is the message of the error answered. */
  refuse(reason: RefusedReason, status: number, code: string, message: string = reason): InboundResult {
    this.refused[reason] += 1;
    return { status, error: { code, message } };
  }

  async handle(bytes: Buffer, signature: string | undefined, fromHeader?: string): Promise<InboundResult> {
    if (signature === undefined) return this.refuse('unsigned', 401, 'PEER_MESSAGE_REFUSED');
    const decoded = decode(this.io.secret, bytes, signature);
    if (!decoded.ok) {
      return decoded.reason === 'bad-signature'
        ? this.refuse('bad-signature', 401, 'PEER_MESSAGE_REFUSED')
        : this.refuse('malformed', 400, 'PEER_MESSAGE_INVALID');
    }
    const env = decoded.envelope;
    if (env.to !== this.io.nodeId) return this.refuse('wrong-recipient', 400, 'PEER_MESSAGE_INVALID');
    if (fromHeader !== undefined && fromHeader !== env.from) {
      return this.refuse('malformed', 400, 'PEER_MESSAGE_INVALID', 'X-Peer-From is not the sender');
    }
    if (!this.io.takesPartWith(env.from)) return { drop: true };
    const replay = this.io.replayGuard.admit(env, this.io.now());
    if (replay) return this.refuse(replay, 409, 'PEER_MESSAGE_REPLAYED');
    this.io.heard(env.from);

    const route = this.routes.get(env.type);
    if (!route) return this.refuse('unknown-type', 400, 'UNKNOWN_PEER_MESSAGE', `unknown message type ${env.type}`);
    const body = route.schema.safeParse(env.body);
    if (!body.success) {
      return this.refuse('malformed', 400, 'PEER_MESSAGE_INVALID', `${env.type}: the body does not match its schema`);
    }
    const refusal = route.admit?.(env.from, env);
    if (refusal) return this.refuse(refusal.reason, 409, 'PEER_MESSAGE_REPLAYED');
    this.io.delivered(env);
    const parsed = { ...env, body: body.data as never };
    const answer = await route.handle(env.from, parsed.body, parsed);
    if (answer instanceof Refusal) return this.refuse(answer.reason, 409, 'PEER_MESSAGE_REPLAYED');
    return { status: 200, reply: this.io.reply(env.from, `${env.type}.reply`, answer) };
  }
}
