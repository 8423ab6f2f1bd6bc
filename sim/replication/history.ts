/**
 * What a replication simulation run records: what clients asked and were answered, the true
 * topology, and every replica at the end. Checkers judge from this record alone.
 */
import type { TopologyChange } from '../history';

import type { Digest } from '../../core/replication/store';
import type { Consistency, ReplicationMode } from '../../core/vocabulary';

/** The identity and order-relevant part of an entry as a client saw it. */
export interface Stamp {
  readonly key: string;
  readonly origin: string;
  readonly seq: number;
  readonly ts: number;
  readonly deleted: boolean;
}

interface OpBase {
  /** Client session (its ops run one after another, carrying the session token). */
  readonly session: string;
  readonly node: string;
  readonly key: string;
  readonly start: number;
  readonly end: number;
  readonly ok: boolean;
  readonly error?: string;
}

export interface WriteOp extends OpBase {
  readonly kind: 'write';
  /** `null`: a delete. */
  readonly value: string | null;
  /** What was written (when acknowledged). */
  readonly stamp: Stamp | null;
}

export interface ReadOp extends OpBase {
  readonly kind: 'read';
  readonly consistency: Consistency;
  /** What was read (null: the key was absent). */
  readonly stamp: Stamp | null;
  readonly servedBy: string | null;
}

export type Op = WriteOp | ReadOp;

/** The true network state after a change (shared with the election simulator). */
export type { TopologyChange } from '../history';

export interface FinalReplica {
  readonly id: string;
  readonly up: boolean;
  readonly digest: Digest;
  /** Canonical content (equal iff the replicas hold the same entries). */
  readonly content: string;
  readonly entries: ReadonlyMap<string, Stamp>;
}

export interface ReplicationHistory {
  readonly seed: number;
  readonly mode: ReplicationMode;
  readonly nodeIds: readonly string[];
  /** In completion order (a session's ops complete in the order it issued them). */
  readonly ops: Op[];
  readonly topology: TopologyChange[];
  droppedMessages: number;
  deliveredMessages: number;
  finalReplicas: FinalReplica[];
  endTime: number;
}
