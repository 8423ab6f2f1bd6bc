import type { Peer } from '../../transport/transport';
import type { BerkeleyConfig } from '../../core/berkeley';
import { runSyncRound, type ClockReading } from './berkeley-daemon';
import type { SyncRound } from '../../contract/cluster';
import type { ClusterClock } from './cluster-clock';
import { Refusal, type CallPeer, type RoutePeerMessage } from './peer-routes';
import * as wire from './peer-messages';

/** Rounds kept for the monitor. */
const SYNC_HISTORY_LIMIT = 50;

/** What clock sync needs of the node around it. */
export type ClockSyncLinks = {
  nodeId: string;
  clock: ClusterClock;
  berkeley: BerkeleyConfig;
  /** The epoch this node leads now, or null. */
  leadingEpoch: () => number | null;
  /** Who this node believes leads, in which epoch. */
  leaderView: () => { leader: string | null; epoch: number };
  /** Peers not known dead: the ones a round polls. */
  reachablePeers: () => Peer[];
  peer: (id: string) => Peer | undefined;
  call: CallPeer;
  route: RoutePeerMessage;
};

/**
 * Berkeley clock synchronization as the cluster runs it: the leader's rounds (the time daemon,
 * berkeley-daemon.ts), every node's answers to the daemon's polls and corrections, and the
 * history of rounds the monitor shows.
 */
export class ClockSync {
  readonly rounds: SyncRound[] = [];
  private roundNumber = 0;
  private running = false;

  constructor(private readonly links: ClockSyncLinks) {
    const { clock } = links;
    links.route('clock.poll', wire.emptyBody, () => {
      const physical = clock.physical();
      const { appClockMs, slewing } = physical;
      const reading: ClockReading = { syncClockMs: clock.syncNow(), appClockMs, slewing };
      return reading;
    });
    // Only the current leader's corrections count: a deposed time daemon is refused before the
    // message counts as an event.
    links.route('clock.adjust', wire.clockAdjust, (_from, body) => {
      clock.applyCorrection(body.deltaMs);
      return { ok: true };
    }, (from, env) => {
      const view = links.leaderView();
      const stale = env.epoch < view.epoch || (view.leader !== null && view.leader !== from);
      return stale ? new Refusal('stale-epoch') : undefined;
    });
    links.route('clock.history', wire.emptyBody, () => ({ rounds: this.rounds }));
  }

  /** One round, if this node leads and none is running; the round as it went. */
  async runRound(): Promise<SyncRound | undefined> {
    const epoch = this.links.leadingEpoch();
    if (epoch === null || this.running) return undefined;
    this.running = true;
    const { clock, call } = this.links;
    try {
      const round = await runSyncRound({
        self: this.links.nodeId,
        syncNow: () => clock.syncNow(),
        appNow: () => clock.now(),
        applyOwnCorrection: (delta) => clock.applyCorrection(delta),
        ownSlewing: () => clock.physical().slewing,
        poll: async (peer) => (await call(peer, 'clock.poll', {}, wire.clockReading)).body,
        adjust: async (peer, deltaMs, round) => {
          await call(peer, 'clock.adjust', { deltaMs, round }, wire.okReply);
        },
      }, this.links.reachablePeers(), ++this.roundNumber, epoch, this.links.berkeley);
      this.rounds.unshift(round);
      this.rounds.length = Math.min(this.rounds.length, SYNC_HISTORY_LIMIT);
      return round;
    } finally {
      this.running = false;
    }
  }

  /** The sync history: ours if we lead, else the leader's. */
  async history(): Promise<SyncRound[]> {
    const leader = this.links.leaderView().leader;
    const peer = leader && leader !== this.links.nodeId ? this.links.peer(leader) : undefined;
    if (!peer) return this.rounds;
    try {
      return (await this.links.call(peer, 'clock.history', {}, wire.clockHistoryReply)).body.rounds;
    } catch {
      return this.rounds;
    }
  }
}
