/**
 * The words the whole system shares, each declared once as a `const` array and the union type
 * it spells. Settings, wire schemas, the API, the monitor, chaos and bench all take them from
 * here. A leaf module of its own (no imports), so the browser bundle gets the words without the
 * algorithms behind them.
 */

/** How the cluster picks its leader (core/bully.ts, core/ring.ts). */
export const ELECTION_ALGORITHMS = ['bully', 'ring'] as const;
export type ElectionAlgorithm = (typeof ELECTION_ALGORITHMS)[number];

/** How the gateway picks a node for a request (core/gateway/balancer.ts). */
export const LB_ALGORITHMS = ['round-robin', 'least-connections', 'weighted'] as const;
export type LbAlgorithm = (typeof LB_ALGORITHMS)[number];

/** How writes reach the replicas (core/replication/). */
export const REPLICATION_MODES = ['master-slave', 'multi-master', 'gossip'] as const;
export type ReplicationMode = (typeof REPLICATION_MODES)[number];
/** The spec's own word for gossip, accepted wherever a mode is (settings, the API). */
export const REPLICATION_MODE_ALIASES: Readonly<Record<string, ReplicationMode>> = {
  'peer-to-peer': 'gossip',
};

/** A seat of a showtime: free, held for a few minutes, or sold. */
export const SEAT_STATUSES = ['available', 'held', 'booked'] as const;
export type SeatStatus = (typeof SEAT_STATUSES)[number];

/** What a read promises (core/replication/). */
export const CONSISTENCIES = ['strong', 'eventual', 'causal'] as const;
export type Consistency = (typeof CONSISTENCIES)[number];

/** What a node's failure detector says of a peer (core/failure-detector.ts). */
export const PEER_STATUSES = ['alive', 'suspect', 'dead'] as const;
export type PeerStatus = (typeof PEER_STATUSES)[number];

/** A node's part in the current election (core/election.ts). */
export const NODE_ROLES = ['leader', 'follower', 'candidate'] as const;
export type NodeRole = (typeof NODE_ROLES)[number];
