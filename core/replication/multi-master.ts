/**
 * Multi-master replication (Dynamo-style, every node a full replica).
 *
 * - Any node accepts a write: it becomes the entry's origin, applies it and sends it to every
 *   peer, keeping it as a hint per peer until that peer acknowledges (hinted handoff: resent every
 *   `retryIntervalMs` to live peers and at once when a peer comes back).
 * - Quorums are counted on the key's preference list: the `n` members ranked highest for the key
 *   by rendezvous hashing (the same list on every node). A write is acknowledged once `w` of them
 *   hold it; a strong read asks the `n` and answers with the newest version once `r` replied.
 *   With `r + w > n` the two quorums meet, so a strong read after an acknowledged write returns it
 *   (or a newer version). Replies older than the answer are repaired (read repair), late ones too.
 *   A range read (a showtime's seats) asks every member and needs `members − n + r` replies, which
 *   meet every key's list in `r`. Strong reads also wait for a reply that covers the session token.
 * - Anti-entropy: every `syncIntervalMs` a push-pull digest exchange with one random live peer
 *   covers what hints could not (a coordinator that crashed, hints dropped at `maxHints`).
 */
import { hash64 } from './hash';
import {
  answerWrite,
  createReplicationCore,
  localWrite,
  pickPeers,
  putWrite,
  replicateToAll,
  startQuorumRead,
  startSync,
  type PendingWrite,
  type ReplicationConfig,
  type ReplicationCore,
  type ReplicationProtocol,
  type StepContext,
} from './replication';

/** The `n` members responsible for `key` (rendezvous hashing; ties by id). */
export function preferenceList(key: string, members: readonly string[], n: number): string[] {
  const scored = members.map((id) => ({ id, score: hash64(`${key}\u0000${id}`)[0] }));
  scored.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return scored.slice(0, Math.max(1, Math.min(n, members.length))).map((x) => x.id);
}

/**
 * Replies a range read needs: its documents' preference lists are not known in advance, so the
 * replies must meet every possible list of `n` members in `r` of them — all but `n - r` members.
 */
export function rangeQuorum(members: number, config: Pick<ReplicationConfig, 'n' | 'r'>): number {
  const n = Math.min(config.n, members);
  return Math.max(1, members - n + Math.min(config.r, n));
}

function checkWrite(ctx: StepContext, w: PendingWrite): void {
  if (w.entry === null) return;
  const have = w.acked.filter((id) => w.waitFor.includes(id)).length;
  if (have >= Math.min(ctx.s.config.w, w.waitFor.length)) answerWrite(ctx, w, w.entry, have);
}

const protocol: ReplicationProtocol = {
  mode: 'multi-master',
  fenced: false,
  tickIntervalMs: (c) => c.syncIntervalMs,
  onTick(ctx) {
    for (const peer of pickPeers(ctx.s.alive, 1, ctx.entropy)) startSync(ctx, peer, 'anti-entropy');
  },
  onWrite(ctx, w) {
    const s = ctx.s;
    const entry = localWrite(ctx, w);
    replicateToAll(ctx, entry);
    const waitFor = preferenceList(w.key, s.members, s.config.n);
    const updated: PendingWrite = {
      ...w,
      entry,
      waitFor,
      acked: waitFor.includes(s.self) ? [s.self] : [],
    };
    putWrite(ctx, updated);
    checkWrite(ctx, updated);
  },
  onStrongRead(ctx, r) {
    const s = ctx.s;
    if ('key' in r.selection) {
      const targets = preferenceList(r.selection.key, s.members, s.config.n);
      startQuorumRead(ctx, r, targets, Math.min(s.config.r, targets.length));
    } else startQuorumRead(ctx, r, s.members, rangeQuorum(s.members.length, s.config));
  },
  checkWrite,
};

export function createMultiMaster(config: Partial<ReplicationConfig> = {}): ReplicationCore {
  return createReplicationCore(protocol, config);
}
