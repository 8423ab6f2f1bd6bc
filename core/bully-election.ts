/**
 * Bully election (Garcia-Molina) on the shared election engine.
 *
 * - An election sends ELECTION to every higher-priority member (believed alive or not: a node
 *   wrongly suspected can still answer) and waits `answerTimeoutMs`.
 * - No ANSWER: the node claims the next epoch from the fencing register (majority required) and,
 *   once accepted, sends COORDINATOR to every member.
 * - An ANSWER: a higher node takes over; wait `coordinatorTimeoutMs` for its COORDINATOR, else
 *   start again.
 * - On ELECTION from a lower node: ANSWER it; a sitting leader re-announces itself to it (no new
 *   epoch), a follower starts its own election. An election an operator triggered says `renew`:
 *   then every higher node starts its own, as in the classic algorithm, and the highest claims a
 *   new epoch even if it already leads.
 * - A recovered higher node sees a lower leader and starts an election, which it wins: the
 *   leader is always the highest-priority node that can reach a majority.
 * - Claim refused because a higher node holds the newer epoch: wait for its COORDINATOR.
 */
import { outranks } from './node-id';
import {
  aliveSupporters,
  cancelTimer,
  COORDINATOR_TIMER,
  createElectionCore,
  sendTo,
  setTimer,
  tryClaim,
  type ElectionConfig,
  type ElectionCore,
  type ElectionProtocol,
  type ElectionState,
  type StepContext,
} from './election';

export type BullyState = ElectionState;

export const ANSWER_TIMER = 'answer';

function begin(ctx: StepContext<BullyState>, renew = false): void {
  const s = ctx.s;
  const higher = s.members.filter((id) => outranks(id, s.self));
  if (higher.length === 0) {
    tryClaim(ctx, s.self, aliveSupporters(s));
    return;
  }
  s.phase = 'electing';
  for (const id of higher)
    sendTo(
      ctx,
      id,
      renew ? { type: 'election', epoch: s.epoch, renew } : { type: 'election', epoch: s.epoch },
    );
  cancelTimer(ctx, COORDINATOR_TIMER);
  setTimer(ctx, ANSWER_TIMER, ctx.config.answerTimeoutMs);
}

export const bullyProtocol: ElectionProtocol<BullyState> = {
  name: 'bully',
  initExtra: (base) => base,
  begin,
  onArrival() {},
  onMessage(ctx, from, msg) {
    const s = ctx.s;
    if (msg.type === 'election') {
      if (!outranks(s.self, from)) return; // only lower nodes ask us
      sendTo(ctx, from, { type: 'answer', epoch: s.epoch });
      if (msg.renew && s.phase !== 'claiming') begin(ctx, true);
      else if (s.phase === 'leading')
        sendTo(ctx, from, { type: 'coordinator', epoch: s.epoch, leader: s.self });
      else if (s.phase === 'follower') begin(ctx);
    } else if (msg.type === 'answer') {
      if (s.phase !== 'electing' || !outranks(from, s.self)) return;
      s.phase = 'awaitingCoordinator';
      cancelTimer(ctx, ANSWER_TIMER);
      setTimer(ctx, COORDINATOR_TIMER, ctx.config.coordinatorTimeoutMs);
    }
  },
  onTimer(ctx, name) {
    const s = ctx.s;
    if (name === ANSWER_TIMER) {
      if (s.phase === 'electing') tryClaim(ctx, s.self, aliveSupporters(s));
      return true;
    }
    if (name === COORDINATOR_TIMER) {
      if (s.phase === 'awaitingCoordinator') begin(ctx);
      return true;
    }
    return false;
  },
  // The highest node renews by claiming at once; lower ones only pass `renew` on.
  renewing: () => false,
  settle(ctx) {
    if (ctx.s.phase === 'electing') cancelTimer(ctx, ANSWER_TIMER);
    if (ctx.s.phase === 'awaitingCoordinator') cancelTimer(ctx, COORDINATOR_TIMER);
  },
  announce(ctx, epoch, leader) {
    for (const id of ctx.s.members) sendTo(ctx, id, { type: 'coordinator', epoch, leader });
  },
  defersTo(ctx, currentLeader) {
    return outranks(currentLeader, ctx.s.self);
  },
  onTick() {},
  onPeerAlive() {},
  onPeerDead() {},
};

export function createBullyElection(
  config: Partial<ElectionConfig> = {},
): ElectionCore<BullyState> {
  return createElectionCore(bullyProtocol, config);
}

export const bullyElection = createBullyElection();
