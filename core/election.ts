/**
 * Leader election: the interface shared by Bully and Ring, and the engine both run on.
 *
 * A core is a pure state machine: `step(state, event) → { state, send, effects }`. It reads no
 * clock, sets no timer and does no I/O; the shell (or the simulator) delivers messages, turns
 * `setTimer` effects into `timer` events, reports the failure detector's view as `peerAlive` /
 * `peerDead`, and performs `claim` against the fencing register.
 *
 * Epochs and safety
 * - `state.epoch` is the highest epoch the node has seen. Every epoch > 0 was accepted by the
 *   fencing register (a compare-and-set "epoch > current" in PostgreSQL, modelled by the
 *   simulator), so exactly one node holds each epoch: never two leaders of the same epoch.
 * - A node claims only while it and the peers it believes alive (Ring: the ids its token
 *   collected) are a strict majority of the membership, so a node cut off by a partition never
 *   becomes leader, and a leader that loses its majority steps down.
 * - A new coordinator claims `epoch + 1`; announcements go out only after the claim was accepted.
 * - Every message carries the sender's epoch. A message from an older epoch is refused (counted
 *   in `refusedStaleMessages`) and answered with `refused`, which tells the sender the newer
 *   epoch and its leader. Seeing a newer epoch drops a stale leader belief (a leader steps down).
 *
 * Shared behaviour (both algorithms)
 * - A periodic `tick` timer (`announceIntervalMs`): the leader re-announces itself to every
 *   member (repairs lost announcements, like a leader heartbeat); everyone reconciles: a lost
 *   leader, no leader, or a leader of lower priority than oneself (a recovered node) starts an
 *   election. So after faults stop both algorithms settle on the highest-priority live node.
 * - `start` (boot, an algorithm switch) begins an election that may just confirm the sitting
 *   leader in its epoch; `trigger` (an operator asked) runs one that ends in a new epoch even when
 *   the same node wins again, as the textbook algorithms would.
 * - A claim the register accepts after its claimant lost its majority is not taken up (the epoch
 *   is spent), and a node that believes itself leader without a majority steps down at once, in
 *   the middle of an election too.
 * - `leader` effects report every change of belief; `leader: null` means "no leader known"
 *   (stop leader-only work).
 * - Timer names are unique per purpose; setting a timer that exists replaces it.
 */
import { assert } from './assert';
import { outranks, sortByPriority } from './node-id';
import type { ElectionAlgorithm } from './vocabulary';

export interface ElectionConfig {
  /** Bully: how long to wait for an ANSWER from a higher-priority node before claiming. */
  readonly answerTimeoutMs: number;
  /** Wait for the COORDINATOR after an ANSWER (or after deferring to a claim holder). */
  readonly coordinatorTimeoutMs: number;
  /** Ring: wait for the successor's ACK before marking it suspect and skipping it. */
  readonly ringAckTimeoutMs: number;
  /** Ring: the initiator restarts its election if its token has not come back by then. */
  readonly ringTokenTimeoutMs: number;
  /** Wait for the fencing register's answer to a claim. */
  readonly claimTimeoutMs: number;
  /** Period of the leader's re-announcement and of every node's reconciliation. */
  readonly announceIntervalMs: number;
  /** Claims per election after refusals by the fencing register. */
  readonly maxClaimAttempts: number;
}

/** Defaults in the spirit of etcd (heartbeat 100 ms, election timeout 1000 ms). */
export const DEFAULT_ELECTION_CONFIG: ElectionConfig = {
  answerTimeoutMs: 300,
  coordinatorTimeoutMs: 1000,
  ringAckTimeoutMs: 300,
  ringTokenTimeoutMs: 3000,
  claimTimeoutMs: 2000,
  announceIntervalMs: 1000,
  maxClaimAttempts: 3,
};

export type ElectionMessage =
  /** Bully: "I am holding an election", sent to every higher-priority member. */
  | { readonly type: 'election'; readonly epoch: number; readonly renew?: true }
  /** Bully: "I am alive and higher than you; I take over." */
  | { readonly type: 'answer'; readonly epoch: number }
  /** Both: `leader` holds `epoch` (sent by the leader, or by a Ring claimant to the winner). */
  | { readonly type: 'coordinator'; readonly epoch: number; readonly leader: string }
  /** Both: your message was from an older epoch; here is the newer one. */
  | { readonly type: 'refused'; readonly epoch: number; readonly leader: string | null }
  /** Ring: the election token, collecting the ids of the nodes it passed. */
  | {
      readonly type: 'token';
      readonly epoch: number;
      readonly key: string;
      readonly initiator: string;
      readonly ids: readonly string[];
      /**
       * A node on the way that is leading `leadingEpoch` (lets a token confirm a sitting leader).
       */
      readonly leading: string | null;
      readonly leadingEpoch: number;
    }
  /** Ring: the result, circulated once around the ring. */
  | {
      readonly type: 'ringCoordinator';
      readonly epoch: number;
      readonly key: string;
      readonly leader: string;
      readonly visited: readonly string[];
    }
  /** Ring: hop-by-hop acknowledgement of a token or ringCoordinator. */
  | { readonly type: 'ack'; readonly epoch: number; readonly ref: string };

export type ElectionEvent =
  /**
   * Boot (or an algorithm switch). Also arms the periodic `tick`. An election begun this way that
   * finds the sitting leader still the right one leaves it and its epoch alone.
   */
  | { readonly type: 'start' }
  /**
   * An operator asks for an election: it runs to a new epoch even when the sitting leader wins
   * again (a fresh claim at the fencing register), as the classic algorithms would. Arms `tick`
   * too.
   */
  | { readonly type: 'trigger' }
  | { readonly type: 'message'; readonly from: string; readonly msg: ElectionMessage }
  /** A timer this core asked for has fired. */
  | { readonly type: 'timer'; readonly name: string }
  | { readonly type: 'peerAlive'; readonly id: string }
  | { readonly type: 'peerDead'; readonly id: string }
  | { readonly type: 'membership'; readonly members: readonly string[] }
  /** Answer of the fencing register to a `claim` effect. */
  | {
      readonly type: 'claimResult';
      readonly epoch: number;
      readonly leader: string;
      readonly ok: boolean;
      readonly currentEpoch: number;
      readonly currentLeader: string | null;
    };

export type ElectionEffect =
  | { readonly type: 'setTimer'; readonly name: string; readonly afterMs: number }
  | { readonly type: 'cancelTimer'; readonly name: string }
  /** Compare-and-set the fencing register: accept iff `epoch` > current; records `leader`. */
  | { readonly type: 'claim'; readonly epoch: number; readonly leader: string }
  /** This node now believes `leader` leads `epoch` (`null`: no leader known). */
  | { readonly type: 'leader'; readonly leader: string | null; readonly epoch: number };

export interface Outgoing {
  readonly to: string;
  readonly msg: ElectionMessage;
}

export interface StepResult<S> {
  readonly state: S;
  readonly send: readonly Outgoing[];
  readonly effects: readonly ElectionEffect[];
}

export type ElectionPhase =
  'follower' | 'electing' | 'awaitingCoordinator' | 'claiming' | 'leading';

export interface PendingClaim {
  readonly epoch: number;
  readonly leader: string;
  readonly attempts: number;
  /** Nodes backing the decision (self included); re-checked against `alive` on a retry. */
  readonly supporters: readonly string[];
}

export interface ElectionState {
  readonly self: string;
  /** Ascending priority, self included. */
  readonly members: readonly string[];
  /** Peers the failure detector reports alive. */
  readonly alive: readonly string[];
  /** Highest epoch seen; persisted across restarts. */
  readonly epoch: number;
  /** Leader of `epoch`, when known and believed alive. */
  readonly leader: string | null;
  readonly phase: ElectionPhase;
  readonly claim: PendingClaim | null;
  readonly refusedStaleMessages: number;
  readonly ticking: boolean;
}

/** What a restarted node keeps: the highest epoch it has seen. */
export interface PersistedElectionState {
  readonly epoch: number;
}

export interface ElectionCore<S extends ElectionState = ElectionState> {
  readonly name: ElectionAlgorithm;
  readonly config: ElectionConfig;
  init(self: string, members: readonly string[], persisted?: PersistedElectionState): S;
  step(state: S, event: ElectionEvent): StepResult<S>;
}

export const TICK_TIMER = 'tick';
export const CLAIM_TIMER = 'claim';
/** Set when waiting for a COORDINATOR (Bully after an ANSWER; both after deferring a claim). */
export const COORDINATOR_TIMER = 'coordinator';

// ---------------------------------------------------------------------------------------------
// Engine

type Draft<S> = { -readonly [K in keyof S]: S[K] };

/** Mutable scratch space for one step; the caller's state is never modified. */
export interface StepContext<S extends ElectionState> {
  readonly s: Draft<S>;
  readonly send: Outgoing[];
  readonly effects: ElectionEffect[];
  readonly config: ElectionConfig;
}

/** The algorithm-specific part plugged into the engine. */
export interface ElectionProtocol<S extends ElectionState> {
  readonly name: ElectionAlgorithm;
  initExtra(base: ElectionState): S;
  /**
   * Start an election (phase was not claiming); `renew`: it must end in a new epoch (a trigger).
   */
  begin(ctx: StepContext<S>, renew?: boolean): void;
  /** Called for every message before the epoch check (Ring acks hops here). */
  onArrival(ctx: StepContext<S>, from: string, msg: ElectionMessage): void;
  /** Protocol messages that passed the epoch check. */
  onMessage(ctx: StepContext<S>, from: string, msg: ElectionMessage): void;
  /** Protocol timers; return false if the name is unknown. */
  onTimer(ctx: StepContext<S>, name: string): boolean;
  /**
   * An election an operator triggered is under way: a confirmation of the sitting leader does not
   * end it.
   */
  renewing(s: S): boolean;
  /** Called when a leader is adopted or a claim was accepted: cancel election timers. */
  settle(ctx: StepContext<S>): void;
  /** Our claim for `claim.leader` was accepted at `epoch`: tell the cluster. */
  announce(ctx: StepContext<S>, epoch: number, leader: string): void;
  /** The register holds `currentLeader`: wait for its COORDINATOR instead of claiming again? */
  defersTo(ctx: StepContext<S>, currentLeader: string, claim: PendingClaim): boolean;
  /** Every `announceIntervalMs`, before reconciling. */
  onTick(ctx: StepContext<S>): void;
  onPeerAlive(ctx: StepContext<S>, id: string): void;
  onPeerDead(ctx: StepContext<S>, id: string): void;
}

export function hasMajority(members: readonly string[], supporters: number): boolean {
  return supporters * 2 > members.length;
}

/** Self plus believed-alive peers. */
export function aliveSupporters(s: ElectionState): string[] {
  return [s.self, ...s.alive.filter((id) => id !== s.self && s.members.includes(id))];
}

export function setTimer<S extends ElectionState>(
  ctx: StepContext<S>,
  name: string,
  afterMs: number,
): void {
  ctx.effects.push({ type: 'setTimer', name, afterMs });
}

export function cancelTimer<S extends ElectionState>(ctx: StepContext<S>, name: string): void {
  ctx.effects.push({ type: 'cancelTimer', name });
}

export function sendTo<S extends ElectionState>(
  ctx: StepContext<S>,
  to: string,
  msg: ElectionMessage,
): void {
  if (to !== ctx.s.self) ctx.send.push({ to, msg });
}

/** Set the believed leader of the current epoch, reporting a change. */
export function setLeader<S extends ElectionState>(
  ctx: StepContext<S>,
  leader: string | null,
): void {
  if (ctx.s.leader === leader) return;
  // The fencing register hands each epoch to one claimant: within an epoch a belief may only go
  // from no leader to the leader, or back.
  assert(ctx.s.leader === null || leader === null, `one leader per epoch (${ctx.s.epoch})`);
  ctx.s.leader = leader;
  ctx.effects.push({ type: 'leader', leader, epoch: ctx.s.epoch });
}

/** Learn of a newer epoch: any leader belief from an older epoch is void. */
export function observeEpoch<S extends ElectionState>(ctx: StepContext<S>, epoch: number): void {
  if (epoch <= ctx.s.epoch) return;
  const hadLeader = ctx.s.leader !== null;
  ctx.s.epoch = epoch;
  ctx.s.leader = null;
  if (hadLeader) ctx.effects.push({ type: 'leader', leader: null, epoch });
  if (ctx.s.phase === 'leading') ctx.s.phase = 'follower';
}

/** Believe `leader` leads `epoch` (no-op for an epoch older than the current one). */
export function adopt<S extends ElectionState>(
  protocol: ElectionProtocol<S>,
  ctx: StepContext<S>,
  leader: string,
  epoch: number,
): void {
  observeEpoch(ctx, epoch);
  if (epoch !== ctx.s.epoch) return;
  if (ctx.s.leader !== null && ctx.s.leader !== leader) {
    // Cannot happen while the fencing register works: one holder per epoch. Refuse it.
    ctx.s.refusedStaleMessages += 1;
    return;
  }
  if (ctx.s.leader === leader && protocol.renewing(ctx.s)) return; // only a new epoch ends it
  setLeader(ctx, leader);
  if (ctx.s.claim !== null) {
    ctx.s.claim = null;
    cancelTimer(ctx, CLAIM_TIMER);
  }
  protocol.settle(ctx);
  ctx.s.phase = leader === ctx.s.self ? 'leading' : 'follower';
}

/** Decide to make `leader` coordinator: claim the next epoch if a majority supports it. */
export function tryClaim<S extends ElectionState>(
  ctx: StepContext<S>,
  leader: string,
  supporters: readonly string[],
  attempts = 1,
): void {
  if (!hasMajority(ctx.s.members, supporters.length)) {
    ctx.s.claim = null;
    ctx.s.phase = ctx.s.leader === ctx.s.self ? 'leading' : 'follower';
    return;
  }
  const epoch = ctx.s.epoch + 1;
  ctx.s.claim = { epoch, leader, attempts, supporters };
  ctx.s.phase = 'claiming';
  ctx.effects.push({ type: 'claim', epoch, leader });
  setTimer(ctx, CLAIM_TIMER, ctx.config.claimTimeoutMs);
}

function announceSelf<S extends ElectionState>(ctx: StepContext<S>): void {
  for (const id of ctx.s.members)
    sendTo(ctx, id, { type: 'coordinator', epoch: ctx.s.epoch, leader: ctx.s.self });
}

/** Step down without majority; start an election when leaderless or led by a lower node. */
export function reconcile<S extends ElectionState>(
  protocol: ElectionProtocol<S>,
  ctx: StepContext<S>,
): void {
  const s = ctx.s;
  const majority = hasMajority(s.members, aliveSupporters(s).length);
  if (s.leader === s.self && !majority) {
    // Also in the middle of an election (say, one it was asked to run): a leader without its
    // majority steps down now.
    if (s.phase === 'leading') s.phase = 'follower';
    setLeader(ctx, null);
  }
  if (s.phase !== 'follower') return;
  if (s.leader !== null && s.leader !== s.self && !s.alive.includes(s.leader)) setLeader(ctx, null);
  if (s.leader === s.self) setLeader(ctx, null); // a follower cannot lead; re-elect
  if ((s.leader === null || outranks(s.self, s.leader)) && majority) protocol.begin(ctx);
}

function onClaimResult<S extends ElectionState>(
  protocol: ElectionProtocol<S>,
  ctx: StepContext<S>,
  event: Extract<ElectionEvent, { type: 'claimResult' }>,
): void {
  const s = ctx.s;
  const pending = s.claim;
  if (event.ok) {
    if (pending !== null && pending.epoch === event.epoch) {
      s.claim = null;
      cancelTimer(ctx, CLAIM_TIMER);
    }
    if (event.epoch <= s.epoch) return;
    // Accepted after this node lost its majority (its view changed while the claim was out): the
    // epoch is spent, but nobody is told of a leader that could not lead.
    if (!hasMajority(s.members, aliveSupporters(s).length)) {
      observeEpoch(ctx, event.epoch);
      protocol.settle(ctx);
      s.phase = 'follower';
      return;
    }
    // Accepted even if we gave up waiting: the register now names this leader, so say so.
    adopt(protocol, ctx, event.leader, event.epoch);
    protocol.announce(ctx, event.epoch, event.leader);
    return;
  }
  if (pending === null || pending.epoch !== event.epoch) return;
  s.claim = null;
  cancelTimer(ctx, CLAIM_TIMER);
  observeEpoch(ctx, event.currentEpoch);
  // Someone else already claimed the newer epoch for the very node we wanted (Ring: several tokens
  // in flight elect the same winner): that is our result, not a reason to claim again.
  if (
    event.currentLeader !== null &&
    event.currentLeader === pending.leader &&
    event.currentEpoch === s.epoch
  ) {
    adopt(protocol, ctx, event.currentLeader, event.currentEpoch);
    if (event.currentLeader === s.self)
      protocol.announce(ctx, event.currentEpoch, event.currentLeader);
    return;
  }
  if (
    event.currentLeader !== null &&
    event.currentLeader !== s.self &&
    protocol.defersTo(ctx, event.currentLeader, pending)
  ) {
    s.phase = 'awaitingCoordinator';
    setTimer(ctx, COORDINATOR_TIMER, ctx.config.coordinatorTimeoutMs);
    return;
  }
  if (pending.attempts < ctx.config.maxClaimAttempts) {
    const stillAlive = pending.supporters.filter((id) => id === s.self || s.alive.includes(id));
    tryClaim(ctx, pending.leader, stillAlive, pending.attempts + 1);
    return;
  }
  s.phase = 'follower';
}

function onMessage<S extends ElectionState>(
  protocol: ElectionProtocol<S>,
  ctx: StepContext<S>,
  from: string,
  msg: ElectionMessage,
): void {
  const s = ctx.s;
  if (!s.members.includes(from) || from === s.self) return;
  protocol.onArrival(ctx, from, msg);
  if (msg.type === 'refused') {
    if (msg.epoch <= s.epoch) return;
    observeEpoch(ctx, msg.epoch);
    if (msg.leader !== null) adopt(protocol, ctx, msg.leader, msg.epoch);
    else {
      protocol.settle(ctx);
      s.claim = null;
      s.phase = 'follower';
    }
    reconcile(protocol, ctx);
    return;
  }
  if (msg.type !== 'ack' && msg.epoch < s.epoch) {
    s.refusedStaleMessages += 1;
    const reply: ElectionMessage = { type: 'refused', epoch: s.epoch, leader: s.leader };
    sendTo(ctx, from, reply);
    if (msg.type === 'token' && msg.initiator !== from) sendTo(ctx, msg.initiator, reply);
    return;
  }
  observeEpoch(ctx, msg.epoch);
  if (msg.type === 'coordinator') {
    if (
      msg.epoch === s.epoch &&
      s.leader === msg.leader &&
      s.phase === (msg.leader === s.self ? 'leading' : 'follower')
    )
      return;
    adopt(protocol, ctx, msg.leader, msg.epoch);
    reconcile(protocol, ctx);
    return;
  }
  protocol.onMessage(ctx, from, msg);
}

function onEvent<S extends ElectionState>(
  protocol: ElectionProtocol<S>,
  ctx: StepContext<S>,
  event: ElectionEvent,
): void {
  const s = ctx.s;
  const cfg = ctx.config;
  switch (event.type) {
    case 'start':
    case 'trigger':
      if (!s.ticking) {
        s.ticking = true;
        setTimer(ctx, TICK_TIMER, cfg.announceIntervalMs);
      }
      if (event.type === 'trigger' && s.phase !== 'claiming') protocol.begin(ctx, true);
      else if (s.phase === 'follower' || s.phase === 'leading') protocol.begin(ctx);
      break;
    case 'message':
      onMessage(protocol, ctx, event.from, event.msg);
      break;
    case 'timer':
      if (event.name === TICK_TIMER) {
        setTimer(ctx, TICK_TIMER, cfg.announceIntervalMs);
        protocol.onTick(ctx);
        reconcile(protocol, ctx);
        if (s.phase === 'leading') announceSelf(ctx);
      } else if (event.name === CLAIM_TIMER) {
        if (s.phase === 'claiming') {
          s.claim = null;
          s.phase = 'follower';
        }
      } else protocol.onTimer(ctx, event.name);
      break;
    case 'peerAlive':
      if (event.id !== s.self && s.members.includes(event.id) && !s.alive.includes(event.id)) {
        s.alive = [...s.alive, event.id];
      }
      protocol.onPeerAlive(ctx, event.id);
      reconcile(protocol, ctx);
      break;
    case 'peerDead':
      s.alive = s.alive.filter((id) => id !== event.id);
      protocol.onPeerDead(ctx, event.id);
      reconcile(protocol, ctx);
      break;
    case 'membership': {
      s.members = sortByPriority([...event.members, s.self]);
      s.alive = s.alive.filter((id) => s.members.includes(id));
      if (s.leader !== null && !s.members.includes(s.leader)) setLeader(ctx, null);
      reconcile(protocol, ctx);
      break;
    }
    case 'claimResult':
      onClaimResult(protocol, ctx, event);
      break;
  }
}

/** Build an `ElectionCore` from a protocol. */
export function createElectionCore<S extends ElectionState>(
  protocol: ElectionProtocol<S>,
  config: Partial<ElectionConfig> = {},
): ElectionCore<S> {
  const cfg: ElectionConfig = { ...DEFAULT_ELECTION_CONFIG, ...config };
  return {
    name: protocol.name,
    config: cfg,
    init(self, members, persisted) {
      return protocol.initExtra({
        self,
        members: sortByPriority([...members, self]),
        alive: [],
        epoch: persisted?.epoch ?? 0,
        leader: null,
        phase: 'follower',
        claim: null,
        refusedStaleMessages: 0,
        ticking: false,
      });
    },
    step(state, event) {
      const ctx: StepContext<S> = { s: { ...state }, send: [], effects: [], config: cfg };
      onEvent(protocol, ctx, event);
      return { state: ctx.s as S, send: ctx.send, effects: ctx.effects };
    },
  };
}
