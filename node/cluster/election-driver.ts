import type { ElectionRound } from '../../contract/cluster';
import { createBullyElection } from '../../core/bully-election';
import type {
  ElectionConfig, ElectionCore, ElectionEffect, ElectionEvent, ElectionMessage, ElectionState, Outgoing,
} from '../../core/election';
import { createRingElection } from '../../core/ring-election';
import type { ElectionAlgorithm } from '../../core/vocabulary';

/** One election round as this node saw it: from its first election activity to a known leader. */
export type ElectionIo = {
  send(out: Outgoing): void;
  claim(epoch: number, leader: string, algorithm: ElectionAlgorithm): void;
  leaderChanged(leader: string | null, epoch: number): void;
  now(): number;
  /** After each core step, before its messages leave (the simulator persists and traces here). */
  stepped?(event: ElectionEvent, result: ReturnType<ElectionCore['step']>): void;
};

/**
 * The timers a core asks for by name: real ones on a node (./named-timers.ts), simulated in sim/.
 * The driver has no I/O of its own, so the simulator runs it as the node does.
 */
export interface CoreTimerPort {
  set(name: string, afterMs: number, fire: () => void): void;
  cancel(name: string): void;
  clear(): void;
}

const ROUND_HISTORY_LIMIT = 50;

export function createCore(algorithm: ElectionAlgorithm, config: Partial<ElectionConfig>): ElectionCore {
  return (algorithm === 'ring' ? createRingElection(config) : createBullyElection(config)) as ElectionCore;
}

/**
 * Drives a pure election core: turns its timer effects into real timers, its messages into
 * peer sends and its claims into compare-and-sets on the fencing register, and keeps a history
 * of rounds (duration, messages) for the monitor and the failover benchmark.
 */
export class ElectionDriver {
  private core: ElectionCore;
  private current: ElectionState;
  private round: ElectionRound | null = null;
  readonly rounds: ElectionRound[] = [];
  messagesSent = 0;
  messagesReceived = 0;
  private stopped = false;

  /** `core`: an algorithm's (createCore), or any core with the same shape (the sim's mutants). */
  constructor(
    private readonly self: string,
    core: ElectionCore,
    private readonly config: Partial<ElectionConfig>,
    members: readonly string[],
    persistedEpoch: number,
    private readonly io: ElectionIo,
    private readonly timers: CoreTimerPort,
  ) {
    this.core = core;
    this.current = this.core.init(self, members, { epoch: persistedEpoch });
  }

  get algorithm(): ElectionAlgorithm {
    return this.core.name;
  }

  /** The core's whole state (read-only: only the driver steps it). */
  get state(): ElectionState {
    return this.current;
  }


  get view() {
    return { leader: this.current.leader, epoch: this.current.epoch, phase: this.current.phase, refusedStaleMessages: this.current.refusedStaleMessages, members: this.current.members, alive: this.current.alive };
  }

  /** Switch algorithm, keeping what this node knows (epoch, leader, live peers). */
  switchAlgorithm(algorithm: ElectionAlgorithm): void {
    if (algorithm === this.core.name) return;
    const old = this.current;
    this.timers.clear();
    this.core = createCore(algorithm, this.config);
    const fresh = this.core.init(this.self, old.members.filter((m) => m !== this.self), { epoch: old.epoch });
    this.current = { ...fresh, alive: old.alive, leader: old.leader, phase: old.leader === this.self ? 'leading' : 'follower' };
    this.deliver({ type: 'start' }, 'algorithm switch', false);
  }

  /** Start the election core (boot): it elects, or confirms the sitting leader. */
  start(reason: string): void {
    this.deliver({ type: 'start' }, reason, true);
  }

  /** An election an operator asked for: it ends in a new epoch. */
  trigger(): void {
    this.deliver({ type: 'trigger' }, 'triggered', true);
  }

  onMessage(from: string, msg: ElectionMessage): void {
    this.messagesReceived += 1;
    this.openRound(`message from ${from}`, false).messagesReceived += 1;
    this.deliver({ type: 'message', from, msg });
  }

  peerAlive(id: string): void {
    this.deliver({ type: 'peerAlive', id });
  }

  peerDead(id: string): void {
    this.deliver({ type: 'peerDead', id }, `${id} is dead`, false);
  }

  membership(members: readonly string[]): void {
    this.deliver({ type: 'membership', members });
  }

  claimResult(event: Extract<ElectionEvent, { type: 'claimResult' }>): void {
    this.deliver(event);
  }

  /** Any event, through the method a shell would call for it (scripted tests and the sim). */
  handle(event: ElectionEvent): void {
    switch (event.type) {
      case 'start':
        return this.start('start');
      case 'trigger':
        return this.trigger();
      case 'message':
        return this.onMessage(event.from, event.msg);
      case 'peerAlive':
        return this.peerAlive(event.id);
      case 'peerDead':
        return this.peerDead(event.id);
      case 'membership':
        return this.membership(event.members);
      default:
        return this.deliver(event);
    }
  }

  stop(): void {
    this.stopped = true;
    this.timers.clear();
  }

  private openRound(trigger: string, initiatedHere: boolean): ElectionRound {
    if (!this.round) {
      this.round = {
        algorithm: this.core.name, startedAt: this.io.now(), settledAt: null, durationMs: null, initiatedHere, trigger,
        messagesSent: 0, messagesReceived: 0, leader: null, epoch: null,
      };
    }
    return this.round;
  }

  private deliver(event: ElectionEvent, trigger?: string, initiatedHere = false): void {
    if (this.stopped) return;
    const before = this.current.phase;
    const result = this.core.step(this.current, event);
    const { state, send, effects } = result;
    this.current = state;
    this.io.stepped?.(event, result);
    if (trigger && before !== state.phase && state.phase !== 'follower' && state.phase !== 'leading') {
      this.openRound(trigger, initiatedHere);
    }
    for (const out of send) {
      this.messagesSent += 1;
      if (this.round || out.msg.type !== 'coordinator') this.openRound(`sending ${out.msg.type}`, false).messagesSent += 1;
      this.io.send(out);
    }
    for (const effect of effects) this.perform(effect);
  }

  private perform(effect: ElectionEffect): void {
    switch (effect.type) {
      case 'setTimer':
        this.timers.set(effect.name, effect.afterMs, () => this.deliver({ type: 'timer', name: effect.name }));
        break;
      case 'cancelTimer':
        this.timers.cancel(effect.name);
        break;
      case 'claim':
        this.io.claim(effect.epoch, effect.leader, this.core.name);
        break;
      case 'leader':
        if (effect.leader !== null && this.round) {
          const settledAt = this.io.now();
          this.round.settledAt = settledAt;
          this.round.durationMs = settledAt - this.round.startedAt;
          this.round.leader = effect.leader;
          this.round.epoch = effect.epoch;
          this.rounds.unshift(this.round);
          this.rounds.length = Math.min(this.rounds.length, ROUND_HISTORY_LIMIT);
          this.round = null;
        }
        this.io.leaderChanged(effect.leader, effect.epoch);
        break;
    }
  }
}
