/**
 * Ring election (Chang–Roberts / Tanenbaum style) on the shared election engine.
 *
 * - The logical ring is the membership in ascending priority (node-1 → node-2 → … → node-1).
 *   A message goes to the next member believed alive and not suspected; every hop is ACKed, and a
 *   successor that does not ACK within `ringAckTimeoutMs` becomes suspect and is skipped.
 * - The initiator sends an ELECTION token; each node appends its id and passes it on. When the
 *   token is back, the ids in it (less any the initiator now believes dead) are the supporters.
 * - Winner: the highest-priority supporter in the token. If the token confirms that winner is
 *   already leading the current epoch, nothing changes — unless an operator triggered the election,
 *     which always ends in a new epoch. Otherwise, if the token holds a strict majority of
 *   the membership, the initiator claims the next epoch for the winner at the fencing register,
 *   then circulates COORDINATOR once around the ring (and tells the winner directly).
 * - Several initiators may run at once; the fencing register lets one claim per epoch through and
 *   the others wait for that epoch's COORDINATOR.
 * - A node that sees a leader of lower priority than itself (it recovered, or a token missed it)
 *   starts an election it wins, so after faults stop the leader is the highest-priority live node,
 *   as with Bully.
 */
import { highestPriority } from './node-id';
import {
  adopt,
  cancelTimer,
  COORDINATOR_TIMER,
  createElectionCore,
  hasMajority,
  reconcile,
  sendTo,
  setTimer,
  tryClaim,
  type ElectionConfig,
  type ElectionCore,
  type ElectionMessage,
  type ElectionProtocol,
  type ElectionState,
  type StepContext,
} from './election';

type TokenMessage = Extract<ElectionMessage, { type: 'token' }>;
type RingCoordinatorMessage = Extract<ElectionMessage, { type: 'ringCoordinator' }>;
type RingHopMessage = TokenMessage | RingCoordinatorMessage;

export interface PendingHop {
  readonly to: string;
  readonly msg: RingHopMessage;
}

export interface RingState extends ElectionState {
  /** Elections this node has initiated since it started (part of the token key). */
  readonly round: number;
  /** Key of this node's own token while it is out. */
  readonly electionKey: string | null;
  /**
   * That election must end in a new epoch, even for the sitting leader (an operator triggered it).
   */
  readonly renew: boolean;
  /** Successors that did not ACK; skipped until they show life or the next tick. */
  readonly suspects: readonly string[];
  /** Hops sent and not yet ACKed, by hop reference. */
  readonly pending: Readonly<Record<string, PendingHop>>;
}

export const TOKEN_TIMER = 'token';
const ACK_TIMER_PREFIX = 'ack:';

function hopRef(msg: RingHopMessage): string {
  return `${msg.type}:${msg.key}`;
}

/** Next member after self in ring order that is believed alive and not suspected. */
export function successor(s: RingState): string | null {
  const n = s.members.length;
  const at = s.members.indexOf(s.self);
  for (let i = 1; i < n; i++) {
    const id = s.members[(at + i) % n];
    if (id !== undefined && id !== s.self && s.alive.includes(id) && !s.suspects.includes(id))
      return id;
  }
  return null;
}

function forward(ctx: StepContext<RingState>, msg: RingHopMessage): boolean {
  const to = successor(ctx.s);
  if (to === null) return false;
  const ref = hopRef(msg);
  sendTo(ctx, to, msg);
  ctx.s.pending = { ...ctx.s.pending, [ref]: { to, msg } };
  setTimer(ctx, ACK_TIMER_PREFIX + ref, ctx.config.ringAckTimeoutMs);
  return true;
}

function clearSuspect(ctx: StepContext<RingState>, id: string): void {
  if (ctx.s.suspects.includes(id)) ctx.s.suspects = ctx.s.suspects.filter((x) => x !== id);
}

function begin(ctx: StepContext<RingState>, renew = false): void {
  const s = ctx.s;
  if (s.electionKey !== null) {
    if (renew) s.renew = true; // the token already out decides, and now renews
    return;
  }
  s.renew = renew;
  const leading = s.phase === 'leading' && s.leader === s.self;
  s.round += 1;
  s.electionKey = `${s.self}#${s.epoch}.${s.round}`;
  s.suspects = [];
  s.phase = 'electing';
  const token: TokenMessage = {
    type: 'token',
    epoch: s.epoch,
    key: s.electionKey,
    initiator: s.self,
    ids: [s.self],
    leading: leading ? s.self : null,
    leadingEpoch: leading ? s.epoch : 0,
  };
  if (forward(ctx, token)) setTimer(ctx, TOKEN_TIMER, ctx.config.ringTokenTimeoutMs);
  else finishToken(ctx, token);
}

/** The initiator's token is back (or cannot go anywhere): decide. */
function finishToken(ctx: StepContext<RingState>, token: TokenMessage): void {
  const s = ctx.s;
  cancelTimer(ctx, TOKEN_TIMER);
  const renew = s.renew;
  s.electionKey = null;
  s.renew = false;
  s.phase = s.leader === s.self ? 'leading' : 'follower';
  // Only ids still believed alive count: the token may have passed a node that died since.
  const supporters = token.ids.filter((id) => id === s.self || s.alive.includes(id));
  if (!hasMajority(s.members, supporters.length)) return;
  const winner = highestPriority(supporters);
  if (winner === null) return;
  if (!renew && token.leading === winner && token.leadingEpoch === s.epoch) {
    adopt(ringProtocol, ctx, winner, s.epoch);
    return;
  }
  tryClaim(ctx, winner, supporters);
}

function onToken(ctx: StepContext<RingState>, msg: TokenMessage): void {
  const s = ctx.s;
  if (msg.initiator === s.self) {
    if (msg.key === s.electionKey) finishToken(ctx, msg);
    return;
  }
  if (msg.ids.includes(s.self)) return; // went around without its initiator
  const leading = s.phase === 'leading' && s.leader === s.self;
  forward(ctx, {
    ...msg,
    epoch: s.epoch,
    ids: [...msg.ids, s.self],
    leading: leading ? s.self : msg.leading,
    leadingEpoch: leading ? s.epoch : msg.leadingEpoch,
  });
}

function onRingCoordinator(ctx: StepContext<RingState>, msg: RingCoordinatorMessage): void {
  const s = ctx.s;
  if (msg.visited.includes(s.self)) return; // back where it started
  if (msg.epoch === s.epoch && s.leader !== null && s.leader !== msg.leader) {
    s.refusedStaleMessages += 1; // another leader for the same epoch: cannot happen with fencing
    return;
  }
  adopt(ringProtocol, ctx, msg.leader, msg.epoch);
  forward(ctx, { ...msg, epoch: s.epoch, visited: [...msg.visited, s.self] });
  reconcile(ringProtocol, ctx);
}

export const ringProtocol: ElectionProtocol<RingState> = {
  name: 'ring',
  initExtra: (base) => ({
    ...base,
    round: 0,
    electionKey: null,
    renew: false,
    suspects: [],
    pending: {},
  }),
  begin,
  onArrival(ctx, from, msg) {
    clearSuspect(ctx, from);
    if (msg.type === 'token' || msg.type === 'ringCoordinator') {
      sendTo(ctx, from, { type: 'ack', epoch: ctx.s.epoch, ref: hopRef(msg) });
    }
  },
  onMessage(ctx, from, msg) {
    if (msg.type === 'ack') {
      const hop = ctx.s.pending[msg.ref];
      if (hop === undefined || hop.to !== from) return;
      const { [msg.ref]: _acked, ...rest } = ctx.s.pending;
      ctx.s.pending = rest;
      cancelTimer(ctx, ACK_TIMER_PREFIX + msg.ref);
    } else if (msg.type === 'token') onToken(ctx, msg);
    else if (msg.type === 'ringCoordinator') onRingCoordinator(ctx, msg);
  },
  onTimer(ctx, name) {
    const s = ctx.s;
    if (name.startsWith(ACK_TIMER_PREFIX)) {
      const ref = name.slice(ACK_TIMER_PREFIX.length);
      const hop = s.pending[ref];
      if (hop === undefined) return true;
      const { [ref]: _lost, ...rest } = s.pending;
      s.pending = rest;
      if (!s.suspects.includes(hop.to)) s.suspects = [...s.suspects, hop.to];
      if (!forward(ctx, hop.msg) && hop.msg.type === 'token' && hop.msg.key === s.electionKey)
        finishToken(ctx, hop.msg);
      return true;
    }
    if (name === TOKEN_TIMER) {
      if (s.electionKey !== null) {
        s.electionKey = null;
        s.phase = s.leader === s.self ? 'leading' : 'follower';
        begin(ctx, s.renew);
      }
      return true;
    }
    if (name === COORDINATOR_TIMER) {
      if (s.phase === 'awaitingCoordinator') {
        s.phase = 'follower';
        begin(ctx);
      }
      return true;
    }
    return false;
  },
  renewing: (s) => s.renew,
  settle(ctx) {
    if (ctx.s.electionKey !== null) {
      ctx.s.electionKey = null;
      ctx.s.renew = false;
      cancelTimer(ctx, TOKEN_TIMER);
    }
    if (ctx.s.phase === 'awaitingCoordinator') cancelTimer(ctx, COORDINATOR_TIMER);
  },
  announce(ctx, epoch, leader) {
    forward(ctx, {
      type: 'ringCoordinator',
      epoch,
      key: `${ctx.s.self}#${epoch}`,
      leader,
      visited: [ctx.s.self],
    });
    if (leader !== ctx.s.self) sendTo(ctx, leader, { type: 'coordinator', epoch, leader });
  },
  defersTo(_ctx, currentLeader, claim) {
    return currentLeader === claim.leader;
  },
  onTick(ctx) {
    // Suspicion only bridges the gap until the failure detector catches up; a node that merely
    // lost one ACK must not be skipped forever.
    if (ctx.s.suspects.length > 0) ctx.s.suspects = [];
  },
  onPeerAlive: (ctx, id) => clearSuspect(ctx, id),
  onPeerDead: (ctx, id) => clearSuspect(ctx, id),
};

export function createRingElection(config: Partial<ElectionConfig> = {}): ElectionCore<RingState> {
  return createElectionCore(ringProtocol, config);
}

export const ringElection = createRingElection();
