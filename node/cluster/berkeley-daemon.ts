import { planCorrections, type BerkeleyConfig, type ClockSample } from '../../core/berkeley';
import type { Peer } from '../../transport/transport';

/** One Berkeley round as the time daemon (the leader) ran it. */
export type SyncRound = {
  round: number;
  master: string;
  epoch: number;
  at: string;
  /** Each node's clock minus the master's, measured before the round (RTT-compensated). */
  offsetsBeforeMs: Record<string, number>;
  corrections: Record<string, number>;
  /** Each node's app clock minus the master's, measured again once the corrections were applied. */
  offsetsAfterMs: Record<string, number>;
  /** Nodes still slewing a backward correction when measured after. */
  slewing: string[];
  excluded: { nodeId: string; reason: string }[];
  maxErrorMs: number;
  spreadBeforeMs: number;
  spreadAfterMs: number;
};

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

/** Poll a peer several times; each sample is timed on the master's sync clock. */
async function samplePeer(io: DaemonIo, peer: Peer, field: 'syncClockMs' | 'appClockMs', count: number) {
  const samples: (ClockSample & { slewing: boolean })[] = [];
  for (let i = 0; i < count; i++) {
    const sentAt = field === 'syncClockMs' ? io.syncNow() : io.appNow();
    try {
      const reading = await io.poll(peer);
      const receivedAt = field === 'syncClockMs' ? io.syncNow() : io.appNow();
      samples.push({ nodeId: peer.id, sentAt, receivedAt, remoteClock: reading[field], slewing: reading.slewing });
    } catch {
      // An unreachable peer simply has no sample this round.
    }
  }
  return samples;
}

/** Run one round: measure, plan with the pure core, send corrections, measure again. */
export async function runSyncRound(io: DaemonIo, peers: Peer[], round: number, epoch: number, config: BerkeleyConfig): Promise<SyncRound> {
  const samples = (await Promise.all(peers.map((p) => samplePeer(io, p, 'syncClockMs', SAMPLES_PER_NODE)))).flat();
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
  const after = (await Promise.all(peers.map((p) => samplePeer(io, p, 'appClockMs', SAMPLES_PER_NODE)))).flat();
  const afterPlan = planCorrections(io.self, after, config);
  const offsetsAfterMs = Object.fromEntries(afterPlan.estimates.map((e) => [e.nodeId, Math.round(e.offsetMs * 100) / 100]));
  const slewing = [...new Set(after.filter((s) => s.slewing).map((s) => s.nodeId))];
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
