import * as fd from '../../core/failure-detector';
import { compareNodeIds } from '../../core/node-id';
import type { PeerStatus } from '../../core/vocabulary';
import type { Peer } from '../../transport/transport';

/** What a node tells its peers in each heartbeat, and learns of them from theirs. */
export type Summary = { readonly id: string; readonly url: string };

export type MembersIo<S extends Summary> = {
  /** One heartbeat to a peer: its summary, or a rejection (`refused`: nothing listens there). */
  heartbeat(peer: Peer, summary: S): Promise<S>;
  isRefusal(err: unknown): boolean;
  membershipChanged(ids: string[]): void;
  verdictChanged(change: fd.VerdictChange): void;
  now(): number;
};

/**
 * This node's peers and what its failure detector thinks of each: the membership it is given
 * (`server_nodes`, or static peers), a heartbeat to each peer per round (one in flight at a
 * time), and the verdicts of core/failure-detector.ts, each change told to the election.
 */
export class Members<S extends Summary> {
  private peers = new Map<string, Peer>();
  private readonly heardFrom = new Map<string, { summary: S; heardAt: number }>();
  private detector: fd.FailureDetectorState = new Map();
  private verdicts: ReadonlyMap<string, PeerStatus> = new Map();
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly config: fd.FailureDetectorConfig,
    private readonly io: MembersIo<S>,
  ) {}

  /** Adopt the peers found; a change of who they are is told (and tracked from now). */
  update(found: readonly Peer[]): void {
    const next = new Map(found.map((p) => [p.id, p]));
    const same = next.size === this.peers.size && [...next.keys()].every((id) => this.peers.has(id));
    this.peers = next;
    if (same) return;
    this.detector = fd.track(this.detector, [...next.keys()], this.io.now());
    this.io.membershipChanged([...next.keys()]);
  }

  heartbeatRound(summary: S): void {
    for (const peer of this.peers.values()) {
      if (this.inFlight.has(peer.id)) continue;
      this.inFlight.add(peer.id);
      this.io.heartbeat(peer, summary)
        .then(
          (reply) => this.heard(peer.id, reply),
          (err: unknown) => this.unreachable(peer.id, err),
        )
        .finally(() => this.inFlight.delete(peer.id));
    }
    this.evaluate();
  }

  /** A peer was heard from (a heartbeat's answer, or any message it sent). */
  heard(peerId: string, summary?: S): void {
    if (!this.peers.has(peerId)) return;
    this.detector = fd.heard(this.detector, peerId, this.io.now());
    if (summary) this.heardFrom.set(peerId, { summary, heardAt: this.io.now() });
    this.evaluate();
  }

  /** A call to the peer failed; a refused connection makes it dead at once. */
  unreachable(peerId: string, err: unknown): void {
    if (!this.io.isRefusal(err)) return;
    this.detector = fd.refused(this.detector, peerId, this.io.now());
    this.evaluate();
  }

  private evaluate(): void {
    const now = this.io.now();
    const { verdicts, changes } = fd.reevaluate(this.detector, this.verdicts, now, this.config);
    this.verdicts = verdicts;
    for (const change of changes) this.io.verdictChanged(change);
  }

  has(id: string): boolean {
    return this.peers.has(id);
  }

  get(id: string): Peer | undefined {
    return this.peers.get(id);
  }

  ids(): string[] {
    return [...this.peers.keys()];
  }

  /** Peers not known dead. */
  reachable(): Peer[] {
    return [...this.peers.values()].filter((p) => this.verdicts.get(p.id) !== 'dead');
  }

  alive(): Peer[] {
    return [...this.peers.values()].filter((p) => this.verdicts.get(p.id) === 'alive');
  }

  /** Every peer as this node sees it, highest id first: its last summary and the verdict. */
  view() {
    const now = this.io.now();
    return [...this.peers.values()].sort((a, b) => compareNodeIds(b.id, a.id)).map((p) => {
      const heard = this.heardFrom.get(p.id);
      return {
        ...(heard?.summary ?? { id: p.id, url: p.url }),
        id: p.id,
        url: p.url,
        status: this.verdicts.get(p.id) ?? ('suspect' as PeerStatus),
        lastHeartbeat: heard ? new Date(heard.heardAt).toISOString() : null,
        lastHeardMsAgo: heard ? now - heard.heardAt : null,
      };
    });
  }
}
