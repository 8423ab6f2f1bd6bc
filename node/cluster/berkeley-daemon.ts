import type { SyncRound } from '../../contract/cluster';
import { planCorrections, type BerkeleyConfig, type ClockSample } from '../../core/berkeley';
import {
  startMeasurement, stepMeasurement, type MeasurementEvent, type Poll,
} from '../../core/berkeley-round';
import type { Peer } from '../../transport/transport';

/** One Berkeley round as the time daemon (the leader) ran it. */
export type ClockReading = { syncClockMs: number; appClockMs: number; slewing: boolean };

export type DaemonIo = {
  self: string;
  /** The master's own clocks. */
  syncNow(): number;
  appNow(): number;
  applyOwnCorrection(deltaMs: number): void;
  ownSlewing(): boolean;
  poll(peer: Peer): Promise<ClockReading>;
  adjust(peer: Peer, deltaMs: number, round: number): Promise<void>;
};

const SAMPLES_PER_NODE = 3;

function spread(offsets: Record<string, number>): number {
  const values = Object.values(offsets);
  return values.length ? Math.max(...values) - Math.min(...values) : 0;
}

/**
 * One measurement (core/berkeley-round.ts, the machine the simulator runs too) driven over HTTP:
 * every peer polled SAMPLES_PER_NODE times, one poll in flight per peer, each timed on the
 * master's `field` clock; a failed poll (unreachable, timed out) ends that peer's samples.
 */
function measure(io: DaemonIo, peers: Peer[], field: 'syncClockMs' | 'appClockMs') {
  const now = () => (field === 'syncClockMs' ? io.syncNow() : io.appNow());
  const byId = new Map(peers.map((p) => [p.id, p]));
  const slewing = new Set<string>();
  return new Promise<{ samples: readonly ClockSample[]; slewing: Set<string> }>((resolve) => {
    const first = startMeasurement([...byId.keys()], SAMPLES_PER_NODE, now());
    let state = first.state;
    const on = (event: MeasurementEvent) => {
      const step = stepMeasurement(state, event);
      state = step.state;
      send(step.polls);
    };
    const send = (list: readonly Poll[]) => {
      if (state.done) return resolve({ samples: state.samples, slewing });
      for (const poll of list) {
        io.poll(byId.get(poll.to)!).then(
          (reading) => {
            if (reading.slewing) slewing.add(poll.to);
            const { to: from, index } = poll;
            on({ type: 'reply', from, index, remoteClock: reading[field], now: now() });
          },
          () => on({ type: 'failed', from: poll.to, index: poll.index }),
        );
      }
    };
    send(first.polls);
  });
}

/** Run one round: measure, plan with the pure core, send corrections, measure again. */
export async function runSyncRound(io: DaemonIo, peers: Peer[], round: number, epoch: number, config: BerkeleyConfig): Promise<SyncRound> {
  const { samples } = await measure(io, peers, 'syncClockMs');
  const plan = planCorrections(io.self, samples, config);
  const offsetsBeforeMs = Object.fromEntries(plan.estimates.map((e) => [e.nodeId, Math.round(e.offsetMs * 100) / 100]));
  await Promise.all(
    Object.entries(plan.corrections).map(async ([nodeId, delta]) => {
      if (nodeId === io.self) return io.applyOwnCorrection(delta);
      const peer = peers.find((p) => p.id === nodeId);
      if (peer) await io.adjust(peer, delta, round).catch(() => {});
    }),
  );

  // Measure the app clocks again, the way every other node will read them.
  const after = await measure(io, peers, 'appClockMs');
  const afterPlan = planCorrections(io.self, after.samples, config);
  const offsetsAfterMs = Object.fromEntries(afterPlan.estimates.map((e) => [e.nodeId, Math.round(e.offsetMs * 100) / 100]));
  const slewing = [...after.slewing];
  if (io.ownSlewing()) slewing.push(io.self);
  return {
    round,
    master: io.self,
    epoch,
    at: new Date(io.appNow()).toISOString(),
    offsetsBeforeMs,
    corrections: Object.fromEntries(Object.entries(plan.corrections).map(([k, v]) => [k, Math.round(v * 100) / 100])),
    offsetsAfterMs,
    slewing,
    excluded: plan.excluded.map((e) => ({ nodeId: e.nodeId, reason: e.reason })),
    maxErrorMs: Math.round(plan.maxErrorMs * 100) / 100,
    spreadBeforeMs: Math.round(spread(offsetsBeforeMs) * 100) / 100,
    spreadAfterMs: Math.round(spread(offsetsAfterMs) * 100) / 100,
  };
}
