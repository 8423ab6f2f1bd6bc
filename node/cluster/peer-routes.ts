import type { z } from 'zod';
import type { Envelope } from '../../transport/envelope';
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
