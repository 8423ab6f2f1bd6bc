/**
 * One Berkeley measurement by the time daemon, as a pure machine: it polls every peer
 * `samplesPerNode` times, one poll in flight per peer (the next goes when the last is answered),
 * and ends when every peer is done — answered each poll or failed — or at the round's timeout,
 * with whatever samples it has. The daemon's shell (node/cluster/berkeley-daemon.ts) and the
 * simulator (sim/cluster.ts) both drive it: they send the polls it asks for, feed it the replies
 * and failures with their own clock readings, and act on the samples it ends with
 * (`planCorrections` in core/berkeley.ts).
 *
 * Times are the daemon's clock as the shell reads it: a poll asked for in a step is sent at that
 * step's `now`, so a sample's `sentAt` is the `now` of the step that asked for it.
 */
import type { ClockSample } from './berkeley';

export interface Poll {
  readonly to: string;
  /** Which of the peer's polls this is (0, 1, …): a reply names it. */
  readonly index: number;
}

export interface Measurement {
  readonly samplesPerNode: number;
  readonly samples: readonly ClockSample[];
  /** Per peer still being polled: the poll in flight and when it was sent. */
  readonly inFlight: ReadonlyMap<string, { readonly index: number; readonly sentAt: number }>;
  readonly done: boolean;
}

export type MeasurementEvent =
  | {
      readonly type: 'reply';
      readonly from: string;
      readonly index: number;
      readonly remoteClock: number;
      readonly now: number;
    }
  /** A poll that will never be answered (unreachable peer): the peer is done, with what it gave. */
  | { readonly type: 'failed'; readonly from: string; readonly index: number }
  | { readonly type: 'timeout' };

export interface MeasurementStep {
  readonly state: Measurement;
  readonly polls: readonly Poll[];
}

export function startMeasurement(
  peers: readonly string[],
  samplesPerNode: number,
  now: number,
): MeasurementStep {
  const inFlight = new Map(peers.map((to) => [to, { index: 0, sentAt: now }] as const));
  const state = { samplesPerNode, samples: [], inFlight, done: inFlight.size === 0 };
  return { state, polls: peers.map((to) => ({ to, index: 0 })) };
}

export function stepMeasurement(state: Measurement, event: MeasurementEvent): MeasurementStep {
  if (state.done) return { state, polls: [] };
  if (event.type === 'timeout')
    return { state: { ...state, inFlight: new Map(), done: true }, polls: [] };
  const pending = state.inFlight.get(event.from);
  // A reply to a poll this measurement did not send, or sent before (a duplicate): ignored.
  if (pending === undefined || pending.index !== event.index) return { state, polls: [] };
  const inFlight = new Map(state.inFlight);
  let samples = state.samples;
  const polls: Poll[] = [];
  inFlight.delete(event.from);
  if (event.type === 'reply') {
    const sample = {
      nodeId: event.from,
      sentAt: pending.sentAt,
      receivedAt: event.now,
      remoteClock: event.remoteClock,
    };
    samples = [...samples, sample];
    if (event.index + 1 < state.samplesPerNode) {
      inFlight.set(event.from, { index: event.index + 1, sentAt: event.now });
      polls.push({ to: event.from, index: event.index + 1 });
    }
  }
  return { state: { ...state, samples, inFlight, done: inFlight.size === 0 }, polls };
}
