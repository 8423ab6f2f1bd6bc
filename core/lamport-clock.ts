/**
 * Lamport logical clock as pure functions on a number.
 * Tick on every local event (a send is a local event); on receive take max(local, remote) + 1.
 * If a happens-before b then L(a) < L(b); ties between nodes are broken by node id for a total
 * order.
 */
import { compareNodeIds } from './node-id';

export type LamportTime = number;

export const LAMPORT_START: LamportTime = 0;

export function tick(clock: LamportTime): LamportTime {
  return clock + 1;
}

export function receive(clock: LamportTime, remote: LamportTime): LamportTime {
  return Math.max(clock, remote) + 1;
}

export interface LamportStamp {
  readonly time: LamportTime;
  readonly nodeId: string;
}

/** Total order consistent with happens-before: Lamport time, then node priority. */
export function compareLamportStamps(a: LamportStamp, b: LamportStamp): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  return compareNodeIds(a.nodeId, b.nodeId);
}
