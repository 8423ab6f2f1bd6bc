/**
 * What a simulation run records. Checkers judge the run from this record alone; they do not ask
 * the nodes what they think of themselves.
 */
import type { VectorClock } from '../algorithms/vector-clock';

export interface LeaderBelief {
  readonly time: number;
  readonly node: string;
  readonly incarnation: number;
  readonly leader: string | null;
  readonly epoch: number;
}

/** A `claim` effect as emitted by a core (the decision to become / make a coordinator). */
export interface ClaimDecision {
  readonly time: number;
  readonly node: string;
  readonly incarnation: number;
  readonly epoch: number;
  readonly leader: string;
}

/** A compare-and-set on the fencing register, as applied. */
export interface RegisterOp {
  readonly time: number;
  readonly node: string;
  readonly epoch: number;
  readonly leader: string;
  readonly ok: boolean;
  readonly currentEpoch: number;
  readonly currentLeader: string | null;
}

/** The true network state after a change: who is up and which component each node is in. */
export interface TopologyChange {
  readonly time: number;
  readonly kind: 'boot' | 'crash' | 'restart' | 'partition' | 'heal';
  readonly up: readonly string[];
  /** Component number per node id; messages cross only within a component. */
  readonly component: Readonly<Record<string, number>>;
}

export interface ClockReading {
  readonly time: number;
  readonly node: string;
  readonly incarnation: number;
  readonly appClockMs: number;
}

export interface FinalNodeState {
  readonly id: string;
  readonly up: boolean;
  readonly incarnation: number;
  readonly leader: string | null;
  readonly epoch: number;
  readonly appClockMs: number;
}

/**
 * Causal events in struct-of-arrays form (runs record tens of thousands). Event i happened on
 * node `node[i]`; `prev[i]` is the node's previous event (-1 for none); for a receive, `sendOf[i]`
 * is the matching send event (-1 otherwise). The stamps are what the node's clocks said.
 */
export class CausalLog {
  readonly node: string[] = [];
  readonly time: number[] = [];
  readonly lamport: number[] = [];
  readonly vc: VectorClock[] = [];
  readonly prev: number[] = [];
  readonly sendOf: number[] = [];

  get length(): number {
    return this.node.length;
  }

  add(node: string, time: number, lamport: number, vc: VectorClock, prev: number, sendOf: number): number {
    this.node.push(node);
    this.time.push(time);
    this.lamport.push(lamport);
    this.vc.push(vc);
    this.prev.push(prev);
    this.sendOf.push(sendOf);
    return this.node.length - 1;
  }
}

export interface History {
  readonly seed: number;
  readonly algorithm: string;
  readonly nodeIds: readonly string[];
  readonly leaderBeliefs: LeaderBelief[];
  readonly claimDecisions: ClaimDecision[];
  readonly registerOps: RegisterOp[];
  readonly topology: TopologyChange[];
  readonly clockReadings: ClockReading[];
  readonly causal: CausalLog;
  /** Messages dropped by loss, partitions or dead receivers (for reports). */
  droppedMessages: number;
  deliveredMessages: number;
  /** Berkeley adjustments refused because they came from an older epoch. */
  refusedAdjustments: number;
  finalState: FinalNodeState[];
  endTime: number;
}
