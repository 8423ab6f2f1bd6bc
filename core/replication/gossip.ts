/**
 * Peer-to-peer gossip (push-pull, like memberlist's: every 200 ms to 3 peers).
 *
 * - Any node accepts a write, applies it and acknowledges at once (W = 1); nothing is pushed.
 * - Every `gossipIntervalMs` each node runs a push-pull digest exchange with `fanout` random live
 *   peers: only entries in differing digest buckets that the other has not seen travel, both ways.
 *   A write reaches every node in O(log n) rounds.
 * - Strong reads: with W = 1, R + W > N needs every replica, so a strong read asks all members and
 *   answers with the newest version once all replied (unavailable while one is down); stale
 *   repliers are repaired.
 */
import {
  answerWrite,
  createReplicationCore,
  localWrite,
  pickPeers,
  startQuorumRead,
  startSync,
  type ReplicationConfig,
  type ReplicationCore,
  type ReplicationProtocol,
} from './replication';

const protocol: ReplicationProtocol = {
  mode: 'gossip',
  fenced: false,
  tickIntervalMs: (c) => c.gossipIntervalMs,
  onTick(ctx) {
    for (const peer of pickPeers(ctx.s.alive, ctx.s.config.fanout, ctx.entropy))
      startSync(ctx, peer, 'gossip');
  },
  onWrite(ctx, w) {
    answerWrite(ctx, w, localWrite(ctx, w), 1);
  },
  onStrongRead(ctx, r) {
    startQuorumRead(ctx, r, ctx.s.members, ctx.s.members.length);
  },
};

export function createGossip(config: Partial<ReplicationConfig> = {}): ReplicationCore {
  return createReplicationCore(protocol, config);
}
