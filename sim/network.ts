/**
 * The simulated network both simulators send through. A message may be lost, delivered twice
 * (each copy with its own delay) and arrives after a random delay, hence out of order. It is
 * dropped on arrival when the receiver is down or in another partition component.
 */
import type { TopologyChange } from './history';
import type { Random } from '../core/random';

export interface NetworkConditions {
  /** Probability that a message is lost. */
  readonly lossRate: number;
  /** Probability that a message is delivered twice (default 0). */
  readonly duplicateRate?: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
}

export const PERFECT_NETWORK: NetworkConditions = { lossRate: 0, duplicateRate: 0, minDelayMs: 1, maxDelayMs: 1 };

export interface Addressed {
  readonly from: string;
  readonly to: string;
}

/** Message counts kept in a run's history. */
export interface MessageCounts {
  /** Lost, or dropped on arrival at a dead or cut-off receiver. */
  droppedMessages: number;
  deliveredMessages: number;
}

export interface SimNetworkOptions<M extends Addressed> {
  readonly nodeIds: readonly string[];
  readonly conditions: NetworkConditions;
  /** Draws loss, duplication and delays only (so other draws do not shift them). */
  readonly rng: Random;
  readonly isUp: (id: string) => boolean;
  /** Put a message on the event queue, to arrive at `time`. */
  readonly schedule: (time: number, message: M) => void;
  readonly counts: MessageCounts;
}

export class SimNetwork<M extends Addressed> {
  conditions: NetworkConditions;
  private readonly nodeIds: readonly string[];
  private readonly component = new Map<string, number>();
  private readonly options: SimNetworkOptions<M>;

  constructor(options: SimNetworkOptions<M>) {
    this.options = options;
    this.nodeIds = options.nodeIds;
    this.conditions = options.conditions;
    for (const id of this.nodeIds) this.component.set(id, 0);
  }

  send(now: number, message: M): void {
    const { rng, schedule, counts } = this.options;
    const n = this.conditions;
    if (n.lossRate > 0 && rng.chance(n.lossRate)) {
      counts.droppedMessages += 1;
      return;
    }
    const duplicateRate = n.duplicateRate ?? 0;
    const copies = duplicateRate > 0 && rng.chance(duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) schedule(now + rng.float(n.minDelayMs, n.maxDelayMs), message);
  }

  /** On arrival: whether the receiver gets the message (counted as delivered or dropped). */
  arrives(message: M): boolean {
    const ok = this.reachable(message.from, message.to);
    if (ok) this.options.counts.deliveredMessages += 1;
    else this.options.counts.droppedMessages += 1;
    return ok;
  }

  /** `to` is up and in the same component as `from`. */
  reachable(from: string, to: string): boolean {
    return this.options.isUp(to) && this.componentOf(from) === this.componentOf(to);
  }

  componentOf(id: string): number {
    return this.component.get(id) ?? 0;
  }

  /** Split the cluster: nodes in the same group talk; nodes not listed form one more group. */
  partition(groups: readonly (readonly string[])[]): void {
    for (const id of this.nodeIds) this.component.set(id, groups.length);
    groups.forEach((group, i) => {
      for (const id of group) this.component.set(id, i);
    });
  }

  heal(): void {
    for (const id of this.nodeIds) this.component.set(id, 0);
  }

  /** The true topology now: who is up and each node's component. */
  topology(time: number, kind: TopologyChange['kind']): TopologyChange {
    const up: string[] = [];
    const component: Record<string, number> = {};
    for (const id of this.nodeIds) {
      if (this.options.isUp(id)) up.push(id);
      component[id] = this.componentOf(id);
    }
    return { time, kind, up, component };
  }
}
