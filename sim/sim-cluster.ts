/**
 * What both simulated clusters share: one seeded random source, simulated time, the simulated
 * network, nodes that crash and restart (each restart is a new incarnation, and events scheduled
 * by an older one are ignored), core timers, fault-injection controls and the topology record.
 * A subclass runs its own cores on top and says what crashing and restarting do to them.
 */
import type { TopologyChange } from './history';
import { SimNetwork, type Addressed, type MessageCounts, type NetworkConditions } from './network';
import { createRandom, type Random } from '../core/random';
import { Scheduler, type CoreTimers } from './scheduler';

export interface SimNode {
  readonly id: string;
  up: boolean;
  incarnation: number;
  readonly timers: CoreTimers;
}

/** The part of a run's history kept here. */
export interface RunRecord extends MessageCounts {
  readonly nodeIds: readonly string[];
  readonly topology: TopologyChange[];
  endTime: number;
}

export interface DeliverEvent<M> {
  readonly kind: 'deliver';
  readonly env: M;
}

/** A core timer, due if its node is still in incarnation `inc` and the timer was not replaced. */
export interface TimerEvent {
  readonly kind: 'timer';
  readonly node: string;
  readonly inc: number;
  readonly name: string;
  readonly gen: number;
}

/** N: a node's runtime; M: a message on the network; E: the simulator's own events; H: its history. */
export abstract class SimCluster<N extends SimNode, M extends Addressed, E, H extends RunRecord> {
  readonly history: H;
  /** Faults, jitter and other draws of the cluster (the network draws from a fork of it). */
  protected readonly rng: Random;
  protected readonly scheduler = new Scheduler<DeliverEvent<M> | TimerEvent | E>((event) => this.handle(event));
  protected readonly nodes = new Map<string, N>();
  protected readonly network: SimNetwork<M>;

  constructor(seed: number, history: H, network: NetworkConditions) {
    this.history = history;
    this.rng = createRandom(seed);
    this.network = new SimNetwork<M>({
      nodeIds: history.nodeIds,
      conditions: network,
      rng: this.rng.fork(),
      isUp: (id) => this.mustGet(id).up,
      schedule: (time, env) => this.scheduler.push(time, { kind: 'deliver', env }),
      counts: history,
    });
  }

  get now(): number {
    return this.scheduler.now;
  }

  protected abstract handle(event: DeliverEvent<M> | TimerEvent | E): void;

  abstract crash(id: string): void;

  abstract restart(id: string): void;

  // ------------------------------------------------------------------ control (fault injection)

  /** Boot every node (at now + a small random jitter each). */
  bootAll(maxJitterMs = 0): void {
    for (const id of this.nodes.keys()) {
      const at = this.now + (maxJitterMs > 0 ? this.rng.float(0, maxJitterMs) : 0);
      this.at(at, () => this.restart(id));
    }
  }

  /** Run `action` at simulated time `time`. */
  at(time: number, action: () => void): void {
    this.scheduler.at(time, action);
  }

  /** Split the cluster: nodes in the same group talk; nodes not listed form one more group. */
  partition(groups: readonly (readonly string[])[]): void {
    this.network.partition(groups);
    this.topologyChanged('partition');
  }

  heal(): void {
    this.network.heal();
    this.topologyChanged('heal');
  }

  setNetwork(conditions: NetworkConditions): void {
    this.network.conditions = conditions;
  }

  runUntil(time: number): void {
    this.scheduler.runUntil(time);
    this.history.endTime = this.now;
  }

  isUp(id: string): boolean {
    return this.mustGet(id).up;
  }

  // ------------------------------------------------------------------ for subclasses

  protected mustGet(id: string): N {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`unknown node ${id}`);
    return node;
  }

  protected topologyChanged(kind: TopologyChange['kind']): void {
    this.history.topology.push(this.network.topology(this.now, kind));
  }

  /** Mark a live node crashed (a new incarnation, no timers); undefined if it was down. */
  protected takeDown(id: string): N | undefined {
    const node = this.mustGet(id);
    if (!node.up) return undefined;
    node.up = false;
    node.incarnation += 1;
    node.timers.clear();
    return node;
  }

  /** Mark a crashed node up in a new incarnation, with no timers; undefined if it was up. */
  protected bringUp(id: string): { readonly node: N; readonly kind: 'boot' | 'restart' } | undefined {
    const node = this.mustGet(id);
    if (node.up) return undefined;
    const kind = node.incarnation === 0 ? 'boot' : 'restart';
    node.up = true;
    node.incarnation += 1;
    node.timers.clear();
    return { node, kind };
  }

  /** The node a scheduled event is for, if it is still up in the incarnation that scheduled it. */
  protected liveTarget(event: { readonly node: string; readonly inc: number }): N | undefined {
    const node = this.mustGet(event.node);
    return node.up && node.incarnation === event.inc ? node : undefined;
  }

  /** Apply a core's `setTimer` (re-arm and schedule) or `cancelTimer` effect; false for any other effect. */
  protected applyTimerEffect(node: N, effect: TimerEffect | { readonly type: string }): boolean {
    if (!isTimerEffect(effect)) return false;
    if (effect.type === 'cancelTimer') {
      node.timers.cancel(effect.name);
      return true;
    }
    const gen = node.timers.set(effect.name);
    this.scheduler.push(this.now + effect.afterMs, { kind: 'timer', node: node.id, inc: node.incarnation, name: effect.name, gen });
    return true;
  }
}

/** The timer effects of the election and replication cores. */
export type TimerEffect = { readonly type: 'setTimer'; readonly name: string; readonly afterMs: number } | { readonly type: 'cancelTimer'; readonly name: string };

function isTimerEffect(effect: { readonly type: string }): effect is TimerEffect {
  return effect.type === 'setTimer' || effect.type === 'cancelTimer';
}
