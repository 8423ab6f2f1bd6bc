/**
 * Master-slave replication: the elected leader is the master.
 *
 * - Writes: a write arriving at a slave is forwarded to the master (re-forwarded every
 *   `retryIntervalMs` until answered; the master remembers recent request ids, so a re-forward
 *   does not write twice). Writes wait while no master is known. The master stamps the entry
 *   (it is the origin), applies it and pushes it to every slave (kept as hints until acknowledged).
 *   `synchronous`: acknowledged once every slave the failure detector reports alive has applied
 *   it *and* a majority of the members holds it; otherwise acknowledged when the master has it.
 * - Epochs fence old masters: every message carries the sender's epoch; a slave that knows a
 *   newer epoch keeps the entries of an older master's `replicate` but answers `refused` instead
 *   of acknowledging, and a master that hears of a newer epoch steps down (its pending writes fail
 *   with `no-master`: their outcome is unknown). The epoch is persisted.
 * - Failover: a new master first catches up — a push-pull exchange with every peer — and acts as
 *   master only once a majority (itself included) answered in its epoch. Writes arriving meanwhile
 *   wait. Every acknowledged synchronous write is held by a majority that had not yet seen the new
 *   epoch, so the catch-up meets it: no acknowledged synchronous write is lost. Asynchronous
 *   writes the old master had not spread reach the others when it comes back, by anti-entropy.
 * - Strong reads are served by the master after a majority confirmed it still leads its epoch
 *   (a deposed master that has not heard the news cannot answer from stale data); a slave forwards
 *   them. Every `syncIntervalMs` each slave runs a push-pull exchange with the master.
 */
import {
  answerRead,
  answerWrite,
  clearHints,
  createReplicationCore,
  failRead,
  failWrite,
  hasMajority,
  isFull,
  localSelect,
  localWrite,
  openWrite,
  MAX_RECENT_WRITES,
  peersOf,
  putRead,
  putWrite,
  readTimer,
  replicateToAll,
  sendTo,
  setTimer,
  startSync,
  type PendingRead,
  type PendingWrite,
  type ReplicationConfig,
  type ReplicationCore,
  type ReplicationMessage,
  type ReplicationProtocol,
  type StepContext,
} from './replication';
import { coversToken, type Entry } from './store';

export const catchUpId = (epoch: number): string => `catchup:${epoch}`;

/** The master writes (`w` was registered, with its timer, by whoever received it). */
function perform(ctx: StepContext, w: PendingWrite): void {
  const s = ctx.s;
  const entry = localWrite(ctx, w);
  replicateToAll(ctx, entry);
  if (!s.config.synchronous) {
    remember(ctx, w.requestId, entry, 1);
    answerWrite(ctx, w, entry, 1);
    return;
  }
  const updated: PendingWrite = {
    ...w,
    entry,
    forwardedTo: null,
    waitFor: [...s.alive],
    acked: [s.self],
  };
  putWrite(ctx, updated);
  checkWrite(ctx, updated);
}

function remember(ctx: StepContext, requestId: string, entry: Entry, replicas: number): void {
  ctx.s.recentWrites = [...ctx.s.recentWrites, { requestId, entry, replicas }].slice(
    -MAX_RECENT_WRITES,
  );
}

function checkWrite(ctx: StepContext, w: PendingWrite): void {
  const s = ctx.s;
  if (w.entry === null || s.role !== 'master') return;
  const acked = new Set(w.acked);
  const alive = new Set(s.alive);
  const liveSlavesDone = w.waitFor.every((id) => acked.has(id) || !alive.has(id));
  if (liveSlavesDone && hasMajority(s.members, w.acked.length)) {
    remember(ctx, w.requestId, w.entry, w.acked.length);
    answerWrite(ctx, w, w.entry, w.acked.length);
  }
}

/**
 * Send a write that has no entry yet where it can go: write it (master), forward it, or let it
 * wait.
 */
function route(ctx: StepContext, w: PendingWrite): void {
  const s = ctx.s;
  if (w.entry !== null) return;
  if (s.role === 'master') perform(ctx, w);
  else if (
    s.role === 'follower' &&
    w.client.kind === 'local' &&
    s.leader !== null &&
    s.leader !== s.self
  ) {
    putWrite(ctx, { ...w, forwardedTo: s.leader });
    sendTo(ctx, s.leader, {
      type: 'forwardWrite',
      epoch: s.epoch,
      requestId: w.requestId,
      key: w.key,
      value: w.value,
      deleted: w.deleted,
      rank: w.rank,
    });
  }
}

function routeWaiting(ctx: StepContext): void {
  for (const w of [...ctx.s.writes.values()]) if (w.entry === null) route(ctx, w);
}

/** Stop acting as master: fail what was done or accepted as master; local waiting writes stay. */
function stepDown(ctx: StepContext): void {
  const s = ctx.s;
  if (s.role === 'follower') return;
  s.role = 'follower';
  s.catchUp = null;
  clearHints(ctx);
  for (const w of [...s.writes.values()]) {
    if (w.entry !== null || w.client.kind === 'remote') failWrite(ctx, w, 'no-master');
  }
  for (const r of [...s.reads.values()])
    if (r.phase === 'leader-check' || r.phase === 'master-wait') failRead(ctx, r, 'no-master');
}

function startCatchUp(ctx: StepContext): void {
  const s = ctx.s;
  s.role = 'catching-up';
  s.catchUp = { epoch: s.epoch, replied: [] };
  for (const peer of peersOf(s)) startSync(ctx, peer, catchUpId(s.epoch));
  checkCatchUp(ctx);
}

function checkCatchUp(ctx: StepContext): void {
  const s = ctx.s;
  if (s.role !== 'catching-up' || s.catchUp === null) return;
  if (!hasMajority(s.members, s.catchUp.replied.length + 1)) return;
  s.role = 'master';
  s.catchUp = null;
  routeWaiting(ctx);
}

/**
 * A confirmed master answers from its replica, which holds every acknowledged write (a write is
 * acknowledged once a majority holds it, and a new master caught up from a majority) — once that
 * replica also covers the session token; until then, or the read's timer, it waits.
 */
function answerAsMaster(ctx: StepContext, r: PendingRead): void {
  const s = ctx.s;
  if (coversToken(s.store, r.token)) answerRead(ctx, r, localSelect(s, r.selection), s.self);
  else putRead(ctx, { ...r, phase: 'master-wait' });
}

function startLeaderCheck(ctx: StepContext, r: PendingRead): void {
  const s = ctx.s;
  const read: PendingRead = {
    ...r,
    phase: 'leader-check',
    targets: peersOf(s),
    replies: [],
    needed: 0,
  };
  setTimer(ctx, readTimer(r.requestId), s.config.readTimeoutMs);
  if (hasMajority(s.members, 1)) {
    answerAsMaster(ctx, read);
    return;
  }
  putRead(ctx, read);
  for (const peer of read.targets)
    sendTo(ctx, peer, { type: 'leaderCheck', epoch: s.epoch, id: r.requestId });
}

const protocol: ReplicationProtocol = {
  mode: 'master-slave',
  fenced: true,
  tickIntervalMs: (c) => c.syncIntervalMs,
  onTick(ctx) {
    const s = ctx.s;
    if (s.role === 'follower' && s.leader !== null && s.leader !== s.self)
      startSync(ctx, s.leader, 'slave-sync');
  },
  onWrite: route,
  onStrongRead(ctx, r) {
    const s = ctx.s;
    if (s.role === 'master') startLeaderCheck(ctx, r);
    else if (s.role === 'follower' && s.leader !== null && s.leader !== s.self) {
      putRead(ctx, { ...r, phase: 'forwarded', targets: [s.leader] });
      setTimer(ctx, readTimer(r.requestId), s.config.readTimeoutMs);
      sendTo(ctx, s.leader, {
        type: 'readRequest',
        epoch: s.epoch,
        requestId: r.requestId,
        selection: r.selection,
        purpose: 'master',
        token: r.token,
      });
    } else failRead(ctx, r, 'no-master');
  },
  checkWrite,
  onMessage(ctx, from, msg) {
    const s = ctx.s;
    switch (msg.type) {
      case 'forwardWrite':
        onForwardWrite(ctx, from, msg);
        return true;
      case 'writeReply': {
        const w = s.writes.get(msg.requestId);
        if (w === undefined || w.entry !== null || w.client.kind !== 'local') return true;
        if (msg.ok) answerWrite(ctx, w, msg.entry, msg.replicas);
        // Refused: forwarded again on the next retry or leader change.
        else putWrite(ctx, { ...w, forwardedTo: null });
        return true;
      }
      case 'readRequest':
        onMasterRead(ctx, from, msg);
        return true;
      case 'leaderCheck':
        sendTo(ctx, from, {
          type: 'leaderCheckReply',
          epoch: s.epoch,
          id: msg.id,
          ok: msg.epoch === s.epoch,
        });
        return true;
      case 'leaderCheckReply':
        onLeaderCheckReply(ctx, from, msg);
        return true;
      case 'refused':
        return true; // the newer epoch was observed on arrival
      default:
        return false;
    }
  },
  onSyncReply(ctx, from, msg) {
    const s = ctx.s;
    if (
      s.role !== 'catching-up' ||
      s.catchUp === null ||
      msg.id !== catchUpId(s.epoch) ||
      msg.epoch !== s.epoch
    )
      return;
    if (s.catchUp.replied.includes(from)) return;
    s.catchUp = { ...s.catchUp, replied: [...s.catchUp.replied, from] };
    checkCatchUp(ctx);
  },
  onLeader(ctx, leader, epoch) {
    const s = ctx.s;
    if (leader !== null && epoch < s.epoch) return; // an old announcement
    if (epoch > s.epoch) {
      s.epoch = epoch;
      stepDown(ctx);
    }
    if (leader === null) {
      stepDown(ctx);
      s.leader = null;
      return;
    }
    if (leader === s.self) {
      if (s.leader === s.self && s.role !== 'follower') return;
      s.leader = leader;
      startCatchUp(ctx);
      return;
    }
    stepDown(ctx);
    s.leader = leader;
    routeWaiting(ctx);
  },
  onNewerEpoch(ctx) {
    stepDown(ctx);
    ctx.s.leader = null; // the newer epoch's master is announced by the election
  },
  onAliveChange(ctx, _added, removed) {
    if (removed.length === 0) return;
    for (const w of [...ctx.s.writes.values()]) checkWrite(ctx, w);
  },
  onRetry(ctx) {
    const s = ctx.s;
    if (s.role === 'catching-up' && s.catchUp !== null) {
      const replied = s.catchUp.replied;
      for (const peer of peersOf(s))
        if (!replied.includes(peer)) startSync(ctx, peer, catchUpId(s.epoch));
    }
    routeWaiting(ctx);
  },
};

export function createMasterSlave(config: Partial<ReplicationConfig> = {}): ReplicationCore {
  return createReplicationCore(protocol, config);
}

type MessageOf<T extends ReplicationMessage['type']> = Extract<ReplicationMessage, { type: T }>;

/** A slave forwarded a client's write: write it as the master (once per request), or refuse. */
function onForwardWrite(ctx: StepContext, from: string, msg: MessageOf<'forwardWrite'>): void {
  const s = ctx.s;
  if (s.writes.has(msg.requestId)) return; // in progress: answered when done
  const done = s.recentWrites.find((x) => x.requestId === msg.requestId);
  if (done !== undefined) {
    sendTo(ctx, from, {
      type: 'writeReply',
      requestId: msg.requestId,
      ok: true,
      entry: done.entry,
      replicas: done.replicas,
    });
  } else if (s.role === 'follower' || isFull(s)) {
    sendTo(ctx, from, {
      type: 'writeReply',
      requestId: msg.requestId,
      ok: false,
      error: s.role === 'follower' ? 'no-master' : 'busy',
    });
  } else {
    const doc = { key: msg.key, value: msg.value, deleted: msg.deleted, rank: msg.rank ?? 0 };
    route(ctx, openWrite(ctx, msg.requestId, { kind: 'remote', node: from }, {}, doc));
  }
}

/** A strong read forwarded to the master: answered once a majority confirms it still leads. */
function onMasterRead(ctx: StepContext, from: string, msg: MessageOf<'readRequest'>): void {
  const s = ctx.s;
  if (msg.purpose !== 'master' || s.reads.has(msg.requestId)) return;
  if (s.role !== 'master') {
    sendTo(ctx, from, {
      type: 'readReply',
      requestId: msg.requestId,
      ok: false,
      error: 'no-master',
    });
    return;
  }
  startLeaderCheck(ctx, {
    requestId: msg.requestId,
    client: { kind: 'remote', node: from },
    selection: msg.selection,
    consistency: 'strong',
    token: msg.token,
    phase: 'leader-check',
    targets: [],
    needed: 0,
    replies: [],
    answered: false,
  });
}

function onLeaderCheckReply(
  ctx: StepContext,
  from: string,
  msg: MessageOf<'leaderCheckReply'>,
): void {
  const s = ctx.s;
  const r = s.reads.get(msg.id);
  if (
    r === undefined ||
    r.phase !== 'leader-check' ||
    !msg.ok ||
    msg.epoch !== s.epoch ||
    s.role !== 'master'
  )
    return;
  if (r.replies.some((x) => x.from === from)) return;
  const updated: PendingRead = {
    ...r,
    replies: [...r.replies, { from, entries: [], covers: false }],
  };
  if (hasMajority(s.members, updated.replies.length + 1)) answerAsMaster(ctx, updated);
  else putRead(ctx, updated);
}
