/**
 * What a simulation run records. Checkers judge the run from this record alone; they do not ask
 * the nodes what they think of themselves.
 */
import type { ClockTraceRecord } from '../core/clock-check';

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

export interface History {
  readonly seed: number;
  readonly algorithm: string;
  readonly nodeIds: readonly string[];
  readonly leaderBeliefs: LeaderBelief[];
  readonly claimDecisions: ClaimDecision[];
  readonly registerOps: RegisterOp[];
  readonly topology: TopologyChange[];
  readonly clockReadings: ClockReading[];
  /** Every clock change and clocked message, per node in program order (core/clock-check.ts). */
  readonly clockTrace: ClockTraceRecord[];
  /** Messages dropped by loss, partitions or dead receivers (for reports). */
  droppedMessages: number;
  deliveredMessages: number;
  /** Berkeley adjustments refused because they came from an older epoch. */
  refusedAdjustments: number;
  finalState: FinalNodeState[];
  endTime: number;
}
