/**
 * Replication: the interface shared by master-slave, multi-master and gossip, and the engine all
 * three run on (the same shape as core/election.ts).
 *
 * A core is a pure state machine: `step(state, event) → { state, send, effects }`. It reads no
 * clock, draws no random number, sets no timer and does no I/O. Every event carries `now` (the
 * node's physical clock, ms; it feeds the hybrid timestamps of writes); timer events carry
 * `entropy` (a random uint32 from the shell, or the simulator's seeded source) from which gossip
 * and anti-entropy pick peers. The shell turns `setTimer` effects into `timer` events, reports the
 * failure detector's view (`peerAlive` / `peerDead` / `alive`) and, for master-slave, the election
 * core's `leader` effects.
 *
 * The shell's duties, in this order after every step:
 *   1. `persist` (always the first effect when present): upsert `entries` and replace the meta
 *      row, durably, before anything else — a replica acknowledges what it has stored, and a
 *      restarted node must not re-issue a sequence number or accept an older master.
 *   2. send `send` (any order; loss, delay, duplication and reordering are tolerated).
 *   3. perform the other effects: timers, and answers to clients (`writeResult`, `readResult`).
 * On restart it calls `init(self, members, { entries, meta })` with what it persisted.
 *
 * Shared behaviour
 * - Reads: `eventual` answers from the local replica; `causal` answers locally when the replica's
 *   `seen` covers the session token, else waits up to `causalWaitMs` for it to catch up, then asks
 *   every live peer and takes the first answer from a peer that covers it, else fails with
 *   `stale-session`; `strong` is the protocol's (quorum read, or the master after it confirmed
 *   its leadership with a majority). Every answer returns the session token grown by the dot of
 *   what was written or read.
 * - Push-pull exchange (gossip rounds, multi-master anti-entropy, a slave with its master, a new
 *   master catching up): A → B `sync {digest, seen}`; B → A `syncReply {entries A lacks, digest,
 *   seen}`; A → B `syncEntries {entries B lacks, seen}`. Only entries in differing digest buckets
 *   that the other has not seen travel; after applying them the receiver merges the sender's
 *   `seen` (see store.ts).
 * - Hints: a replicated entry stays in `hints[target]` until the target acknowledges it; hints are
 *   resent every `retryIntervalMs` to live targets and at once when a target comes back
 *   (hinted handoff). At most `maxHints`; what does not fit is left to anti-entropy.
 * - Timer names: `tick` (the protocol's period), `retry`, `write:<requestId>`, `read:<requestId>`.
 *   Setting a timer that exists replaces it.
 */
import { sortByPriority } from '../node-id';
import { EMPTY_VECTOR_CLOCK, merge, type VectorClock } from '../vector-clock';
import { createRandom } from '../random';
import type { Consistency, ReplicationMode } from '../vocabulary';
import {
  absorbSeen,
  apply,
  compact,
  isRetired,
  coversToken,
  dotClock,
  dotId,
  emptyStore,
  entriesFor,
  prefer,
  restoreStore,
  sameDot,
  select,
  storeMeta,
  tokenAfterEntries,
  write as storeWrite,
  type Digest,
  type Entry,
  type JsonValue,
  type ReplicaStore,
  type Selection,
  type StoreMeta,
} from './store';

export interface ReplicationConfig {
  /** A write not acknowledged by then fails with `timeout` (its outcome is unknown). */
  readonly writeTimeoutMs: number;
  /** Quorum reads, master reads and causal peer fetches give up after this. */
  readonly readTimeoutMs: number;
  /** A causal read the local replica does not cover waits this long before asking peers. */
  readonly causalWaitMs: number;
  /** Period of hint resends (and, master-slave, of re-forwarding writes and catch-up requests). */
  readonly retryIntervalMs: number;
  /**
   * Master-slave: each slave's push-pull with the master. Multi-master: anti-entropy with one
   * random peer.
   */
  readonly syncIntervalMs: number;
  /** Gossip: period of a node's round. */
  readonly gossipIntervalMs: number;
  /** Gossip: peers contacted per round. */
  readonly fanout: number;
  /**
   * Master-slave: acknowledge after every live slave (and a majority) applied the write; else after
   * the master did.
   */
  readonly synchronous: boolean;
  /**
   * Multi-master: replicas per key (its preference list), acknowledgements per write, replies per
   * strong read.
   */
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly maxHints: number;
  /** Writes and reads in progress; beyond it new requests fail with `busy`. */
  readonly maxPendingRequests: number;
}

/** memberlist's gossip (200 ms, 3 peers) and Dynamo's N/R/W = 3/2/2. */
export const DEFAULT_REPLICATION_CONFIG: ReplicationConfig = {
  writeTimeoutMs: 2000,
  readTimeoutMs: 1000,
  causalWaitMs: 300,
  retryIntervalMs: 250,
  syncIntervalMs: 1000,
  gossipIntervalMs: 200,
  fanout: 3,
  synchronous: true,
  n: 3,
  r: 2,
  w: 2,
  maxHints: 10_000,
  maxPendingRequests: 10_000,
};

export function validateConfig(config: ReplicationConfig): ReplicationConfig {
  const positive: (keyof ReplicationConfig)[] = [
    'writeTimeoutMs',
    'readTimeoutMs',
    'retryIntervalMs',
    'syncIntervalMs',
    'gossipIntervalMs',
  ];
  for (const k of positive)
    if (!(typeof config[k] === 'number' && (config[k] as number) > 0))
      throw new RangeError(`${k} must be > 0`);
  const counts: (keyof ReplicationConfig)[] = ['fanout', 'n', 'r', 'w', 'maxPendingRequests'];
  for (const k of counts)
    if (!(Number.isSafeInteger(config[k]) && (config[k] as number) >= 1))
      throw new RangeError(`${k} must be an integer ≥ 1`);
  if (
    !(config.causalWaitMs >= 0) ||
    !(Number.isSafeInteger(config.maxHints) && config.maxHints >= 0)
  )
    throw new RangeError('causalWaitMs and maxHints must be ≥ 0');
  return config;
}

export type ReplicationErrorCode =
  /** Not acknowledged / answered in time. A write's outcome is unknown: it may still spread. */
  | 'timeout'
  /** Master-slave: no master known, or the master was deposed meanwhile. */
  | 'no-master'
  /** Causal or strong read: no reachable replica has seen the session token in time. */
  | 'stale-session'
  /**
   * Strong read: fewer replicas are alive than its quorum needs (refused at once, not waited for).
   */
  | 'no-quorum'
  | 'busy'
  /** The core was stopped (e.g. to switch strategy). */
  | 'stopped';

export type ReadPurpose = 'quorum' | 'causal' | 'master';

export type ReplicationMessage =
  | {
      readonly type: 'sync';
      readonly id: string;
      readonly epoch: number;
      readonly digest: Digest;
      readonly seen: VectorClock;
    }
  | {
      readonly type: 'syncReply';
      readonly id: string;
      readonly epoch: number;
      readonly digest: Digest;
      readonly seen: VectorClock;
      readonly entries: readonly Entry[];
    }
  | {
      readonly type: 'syncEntries';
      readonly id: string;
      readonly epoch: number;
      readonly seen: VectorClock;
      readonly entries: readonly Entry[];
    }
  /** Entries pushed by a master, a multi-master coordinator (with hints) or a read repair. */
  | { readonly type: 'replicate'; readonly epoch: number; readonly entries: readonly Entry[] }
  | { readonly type: 'replicateAck'; readonly epoch: number; readonly dots: readonly string[] }
  /** Master-slave fencing: your epoch is older than mine (entries were kept, not acknowledged). */
  | { readonly type: 'refused'; readonly epoch: number }
  | {
      readonly type: 'forwardWrite';
      readonly epoch: number;
      readonly requestId: string;
      readonly key: string;
      readonly value: JsonValue;
      readonly deleted: boolean;
      readonly rank?: number;
    }
  | {
      readonly type: 'writeReply';
      readonly requestId: string;
      readonly ok: true;
      readonly entry: Entry;
      readonly replicas: number;
    }
  | {
      readonly type: 'writeReply';
      readonly requestId: string;
      readonly ok: false;
      readonly error: ReplicationErrorCode;
    }
  | {
      readonly type: 'readRequest';
      readonly epoch: number;
      readonly requestId: string;
      readonly selection: Selection;
      readonly purpose: ReadPurpose;
      readonly token: VectorClock;
    }
  /** `covers`: the replier has seen the request's session token. */
  | {
      readonly type: 'readReply';
      readonly requestId: string;
      readonly ok: true;
      readonly entries: readonly Entry[];
      readonly covers: boolean;
    }
  | {
      readonly type: 'readReply';
      readonly requestId: string;
      readonly ok: false;
      readonly error: ReplicationErrorCode;
    }
  /** Master-slave: "am I still the master of `epoch`?" (before a strong read). */
  | { readonly type: 'leaderCheck'; readonly epoch: number; readonly id: string }
  | {
      readonly type: 'leaderCheckReply';
      readonly epoch: number;
      readonly id: string;
      readonly ok: boolean;
    };

export type ReplicationEvent =
  /** Boot: arms the periodic timers. */
  | { readonly type: 'start'; readonly now: number }
  | {
      readonly type: 'write';
      readonly now: number;
      readonly requestId: string;
      readonly key: string;
      readonly value: JsonValue;
      readonly deleted?: boolean;
      /** The version's place in its document's own order (see `Entry.rank`). */
      readonly rank?: number;
      /** The client's session token (returned grown by this write's dot). */
      readonly token?: VectorClock;
    }
  | {
      readonly type: 'read';
      readonly now: number;
      readonly requestId: string;
      /** One document (`key`), or a range of them (`range`, see store.ts `Selection`). */
      readonly key?: string;
      readonly range?: Extract<Selection, { prefixes: readonly string[] }>;
      readonly consistency: Consistency;
      readonly token?: VectorClock;
    }
  | {
      readonly type: 'message';
      readonly now: number;
      readonly from: string;
      readonly msg: ReplicationMessage;
    }
  | {
      readonly type: 'timer';
      readonly now: number;
      readonly name: string;
      readonly entropy: number;
    }
  | { readonly type: 'peerAlive'; readonly now: number; readonly id: string }
  | { readonly type: 'peerDead'; readonly now: number; readonly id: string }
  /** The failure detector's whole view: exactly these peers are alive. */
  | { readonly type: 'alive'; readonly now: number; readonly ids: readonly string[] }
  /**
   * From the election core: `leader` leads `epoch` (`null`: no leader known). Used by master-slave.
   */
  | {
      readonly type: 'leader';
      readonly now: number;
      readonly leader: string | null;
      readonly epoch: number;
    }
  /** Change settings at runtime (synchronous, N/R/W, fanout, intervals…). */
  | {
      readonly type: 'configure';
      readonly now: number;
      readonly config: Partial<ReplicationConfig>;
    }
  /** Fail every pending request and stop ticking (before handing the store to another strategy). */
  | { readonly type: 'stop'; readonly now: number }
  /** Retire whole groups of documents (store.ts `compact`; the application's rule names them). */
  | { readonly type: 'compact'; readonly now: number; readonly groups: readonly string[] };

/** What the shell persists; `init` takes it back. */
export interface PersistedMeta {
  readonly store: StoreMeta;
  /** Highest master-slave epoch seen: fences older masters after a restart. */
  readonly epoch: number;
}

export interface PersistedReplica {
  readonly entries: Iterable<Entry>;
  readonly meta?: PersistedMeta;
  /**
   * A live store handed over by another core of this node (a strategy or membership change):
   * taken as it is instead of rebuilt from `entries` — a rebuild costs seconds at a million
   * documents.
   */
  readonly store?: ReplicaStore;
}

export type ReplicationEffect =
  | {
      readonly type: 'persist';
      readonly entries: readonly Entry[];
      readonly meta: PersistedMeta;
      /** Groups retired in this step: the shell deletes their persisted entries. */
      readonly retired?: readonly string[];
    }
  | { readonly type: 'setTimer'; readonly name: string; readonly afterMs: number }
  | { readonly type: 'cancelTimer'; readonly name: string }
  | {
      readonly type: 'writeResult';
      readonly requestId: string;
      readonly ok: true;
      readonly entry: Entry;
      readonly token: VectorClock;
      /**
       * Replicas known to hold the write when it was acknowledged (the master or coordinator
       * included).
       */
      readonly replicas: number;
    }
  | {
      readonly type: 'writeResult';
      readonly requestId: string;
      readonly ok: false;
      readonly error: ReplicationErrorCode;
      /**
       * The write, when it was made here but not acknowledged: this replica holds it and spreads it
       * (hints, anti-entropy), so a session may name it — a causal read elsewhere then waits for
       * it.
       */
      readonly entry: Entry | null;
    }
  | {
      readonly type: 'readResult';
      readonly requestId: string;
      readonly ok: true;
      /** A key read's document (tombstone included), or null; for a range read, its first entry. */
      readonly entry: Entry | null;
      /** Every entry the selection names, tombstones included, in key order. */
      readonly entries: readonly Entry[];
      readonly token: VectorClock;
      readonly servedBy: string;
    }
  | {
      readonly type: 'readResult';
      readonly requestId: string;
      readonly ok: false;
      readonly error: ReplicationErrorCode;
    };

export interface Outgoing {
  readonly to: string;
  readonly msg: ReplicationMessage;
}

export interface StepResult<S> {
  readonly state: S;
  readonly send: readonly Outgoing[];
  readonly effects: readonly ReplicationEffect[];
}

/** Who asked: a client of this node, or a peer that forwarded its client's request. */
export type Client =
  { readonly kind: 'local' } | { readonly kind: 'remote'; readonly node: string };

export interface PendingWrite {
  readonly requestId: string;
  readonly client: Client;
  readonly token: VectorClock;
  readonly key: string;
  readonly value: JsonValue;
  readonly deleted: boolean;
  readonly rank: number;
  /** The entry once written here; `null` while a slave forwards it or a new master catches up. */
  readonly entry: Entry | null;
  readonly forwardedTo: string | null;
  /**
   * Replicas whose acknowledgement is awaited (master-slave: live slaves; multi-master: the
   * preference list).
   */
  readonly waitFor: readonly string[];
  readonly acked: readonly string[];
}

/** `master-wait`: a confirmed master waits for its replica to cover the session token. */
export type ReadPhase =
  'causal-wait' | 'causal-ask' | 'quorum' | 'leader-check' | 'master-wait' | 'forwarded';

export interface ReadReply {
  readonly from: string;
  readonly entries: readonly Entry[];
  readonly covers: boolean;
}

export interface PendingRead {
  readonly requestId: string;
  readonly client: Client;
  readonly selection: Selection;
  readonly consistency: Consistency;
  readonly token: VectorClock;
  readonly phase: ReadPhase;
  readonly targets: readonly string[];
  /** Replies needed (quorum), or confirmations from peers (leader check). */
  readonly needed: number;
  readonly replies: readonly ReadReply[];
  /** Quorum reads stay after answering until their timer, to repair late repliers. */
  readonly answered: readonly Entry[] | false;
}

export type MasterRole = 'follower' | 'catching-up' | 'master';

export interface ReplicaState {
  readonly self: string;
  /** Ascending priority, self included. */
  readonly members: readonly string[];
  readonly memberSet: ReadonlySet<string>;
  /** Peers the failure detector reports alive (in the order reported). */
  readonly alive: readonly string[];
  readonly config: ReplicationConfig;
  readonly store: ReplicaStore;
  /** Highest master-slave epoch seen (persisted). */
  readonly epoch: number;
  readonly leader: string | null;
  readonly role: MasterRole;
  /** A new master's catch-up: the peers that answered its sync in `epoch`. */
  readonly catchUp: { readonly epoch: number; readonly replied: readonly string[] } | null;
  readonly writes: ReadonlyMap<string, PendingWrite>;
  readonly reads: ReadonlyMap<string, PendingRead>;
  /** target → (dot id → entry) not yet acknowledged by the target. */
  readonly hints: ReadonlyMap<string, ReadonlyMap<string, Entry>>;
  readonly hintCount: number;
  /** Master-slave: writes done for forwarded requests, so a re-forward does not write twice. */
  readonly recentWrites: readonly {
    readonly requestId: string;
    readonly entry: Entry;
    readonly replicas: number;
  }[];
  readonly ticking: boolean;
}

export const MAX_RECENT_WRITES = 256;
export const TICK_TIMER = 'tick';
export const RETRY_TIMER = 'retry';
export const writeTimer = (requestId: string): string => `write:${requestId}`;
export const readTimer = (requestId: string): string => `read:${requestId}`;

export interface ReplicationCore<S extends ReplicaState = ReplicaState> {
  readonly mode: ReplicationMode;
  readonly config: ReplicationConfig;
  init(self: string, members: readonly string[], persisted?: PersistedReplica): S;
  step(state: S, event: ReplicationEvent): StepResult<S>;
}

// ---------------------------------------------------------------------------------------------
// Engine

type Draft<S> = { -readonly [K in keyof S]: S[K] };

export interface StepContext {
  readonly s: Draft<ReplicaState>;
  readonly send: Outgoing[];
  readonly effects: ReplicationEffect[];
  readonly now: number;
  readonly entropy: number;
  /** Entries written to the store in this step (to persist). */
  readonly changed: Map<string, Entry>;
  readonly protocol: ReplicationProtocol;
}

/** What a strategy adds to the engine; the optional hooks default to doing nothing. */
export interface ReplicationProtocol {
  readonly mode: ReplicationMode;
  tickIntervalMs(config: ReplicationConfig): number;
  onTick(ctx: StepContext): void;
  /** A new write from a local client (already registered with its timer). */
  onWrite(ctx: StepContext, write: PendingWrite): void;
  onStrongRead(ctx: StepContext, read: PendingRead): void;
  /**
   * An acknowledgement arrived for `write`: acknowledge it to its client when enough replicas hold
   * it.
   */
  checkWrite?(ctx: StepContext, write: PendingWrite): void;
  /** Protocol messages the engine does not handle; false if unknown. */
  onMessage?(ctx: StepContext, from: string, msg: ReplicationMessage): boolean;
  /** After the engine applied a `syncReply` (master-slave counts catch-up replies here). */
  onSyncReply?(
    ctx: StepContext,
    from: string,
    msg: Extract<ReplicationMessage, { type: 'syncReply' }>,
  ): void;
  onLeader?(ctx: StepContext, leader: string | null, epoch: number): void;
  /** `state.epoch` just grew because a message named a newer epoch. */
  onNewerEpoch?(ctx: StepContext): void;
  onAliveChange?(ctx: StepContext, added: readonly string[], removed: readonly string[]): void;
  /** Every `retryIntervalMs`, after hints were resent. */
  onRetry?(ctx: StepContext): void;
  /** Does a `replicate` from an older epoch get refused (master-slave fencing)? */
  readonly fenced: boolean;
}

export function sendTo(ctx: StepContext, to: string, msg: ReplicationMessage): void {
  if (to !== ctx.s.self) ctx.send.push({ to, msg });
}

export function setTimer(ctx: StepContext, name: string, afterMs: number): void {
  ctx.effects.push({ type: 'setTimer', name, afterMs });
}

export function cancelTimer(ctx: StepContext, name: string): void {
  ctx.effects.push({ type: 'cancelTimer', name });
}

export function peersOf(s: ReplicaState): string[] {
  return s.members.filter((id) => id !== s.self);
}

export function isAlive(s: ReplicaState, id: string): boolean {
  return s.alive.includes(id);
}

export function applyEntries(ctx: StepContext, entries: readonly Entry[]): void {
  let store = ctx.s.store;
  for (const e of entries) {
    const r = apply(store, e);
    store = r.store;
    if (r.changed) ctx.changed.set(e.key, e);
  }
  ctx.s.store = store;
}

/** A new write at this node, as origin. */
export function localWrite(
  ctx: StepContext,
  w: Pick<PendingWrite, 'key' | 'value' | 'deleted' | 'rank'>,
): Entry {
  const r = storeWrite(ctx.s.store, ctx.s.self, w.key, w.value, ctx.now, w.deleted, w.rank);
  ctx.s.store = r.store;
  if (r.kept) ctx.changed.set(w.key, r.entry);
  return r.entry;
}

export function putWrite(ctx: StepContext, w: PendingWrite): void {
  ctx.s.writes = new Map(ctx.s.writes).set(w.requestId, w);
}

function dropWrite(ctx: StepContext, requestId: string): void {
  const writes = new Map(ctx.s.writes);
  writes.delete(requestId);
  ctx.s.writes = writes;
  cancelTimer(ctx, writeTimer(requestId));
}

export function putRead(ctx: StepContext, r: PendingRead): void {
  ctx.s.reads = new Map(ctx.s.reads).set(r.requestId, r);
}

function dropRead(ctx: StepContext, requestId: string): void {
  const reads = new Map(ctx.s.reads);
  reads.delete(requestId);
  ctx.s.reads = reads;
  cancelTimer(ctx, readTimer(requestId));
}

export function answerWrite(
  ctx: StepContext,
  w: PendingWrite,
  entry: Entry,
  replicas: number,
): void {
  dropWrite(ctx, w.requestId);
  if (w.client.kind === 'local') {
    ctx.effects.push({
      type: 'writeResult',
      requestId: w.requestId,
      ok: true,
      entry,
      token: merge(w.token, dotClock(entry)),
      replicas,
    });
  } else
    sendTo(ctx, w.client.node, {
      type: 'writeReply',
      requestId: w.requestId,
      ok: true,
      entry,
      replicas,
    });
}

export function failWrite(ctx: StepContext, w: PendingWrite, error: ReplicationErrorCode): void {
  dropWrite(ctx, w.requestId);
  if (w.client.kind === 'local')
    ctx.effects.push({
      type: 'writeResult',
      requestId: w.requestId,
      ok: false,
      error,
      entry: w.entry,
    });
  else sendTo(ctx, w.client.node, { type: 'writeReply', requestId: w.requestId, ok: false, error });
}

export function answerRead(
  ctx: StepContext,
  r: PendingRead,
  quorumEntries: readonly Entry[],
  servedBy: string,
  keep = false,
): void {
  // A peer that has not compacted yet still answers with documents this replica retired.
  const entries = ctx.s.store.retired.size
    ? quorumEntries.filter((e) => !isRetired(ctx.s.store, e.key))
    : quorumEntries;
  if (keep) putRead(ctx, { ...r, answered: entries });
  else dropRead(ctx, r.requestId);
  if (r.client.kind === 'local') {
    const token = tokenAfterEntries(r.token, entries);
    ctx.effects.push({
      type: 'readResult',
      requestId: r.requestId,
      ok: true,
      entry: entries[0] ?? null,
      entries,
      token,
      servedBy,
    });
  } else
    sendTo(ctx, r.client.node, {
      type: 'readReply',
      requestId: r.requestId,
      ok: true,
      entries,
      covers: true,
    });
}

export function failRead(ctx: StepContext, r: PendingRead, error: ReplicationErrorCode): void {
  dropRead(ctx, r.requestId);
  if (r.client.kind === 'local')
    ctx.effects.push({ type: 'readResult', requestId: r.requestId, ok: false, error });
  else sendTo(ctx, r.client.node, { type: 'readReply', requestId: r.requestId, ok: false, error });
}

export function localSelect(s: ReplicaState, selection: Selection): Entry[] {
  return select(s.store, selection);
}

/**
 * This replica's reply to a read: what it holds of the selection, and whether it covers the token.
 */
export function localReply(
  s: ReplicaState,
  r: Pick<PendingRead, 'selection' | 'token'>,
): ReadReply {
  return {
    from: s.self,
    entries: localSelect(s, r.selection),
    covers: coversToken(s.store, r.token),
  };
}

/** Open a push-pull exchange with `peer`. */
export function startSync(ctx: StepContext, peer: string, id: string): void {
  const s = ctx.s;
  sendTo(ctx, peer, {
    type: 'sync',
    id,
    epoch: s.epoch,
    digest: s.store.digest,
    seen: s.store.seen,
  });
}

export function addHint(ctx: StepContext, target: string, entry: Entry): void {
  const s = ctx.s;
  const current = s.hints.get(target);
  const id = dotId(entry);
  if (current?.has(id) || s.hintCount >= s.config.maxHints) return;
  const forTarget = new Map(current ?? []).set(id, entry);
  s.hints = new Map(s.hints).set(target, forTarget);
  s.hintCount += 1;
}

export function clearHints(ctx: StepContext): void {
  ctx.s.hints = new Map();
  ctx.s.hintCount = 0;
}

function flushHints(ctx: StepContext, target: string): void {
  const forTarget = ctx.s.hints.get(target);
  if (forTarget === undefined || forTarget.size === 0) return;
  sendTo(ctx, target, { type: 'replicate', epoch: ctx.s.epoch, entries: [...forTarget.values()] });
}

/** Send `entry` to every peer now and keep it as a hint until each acknowledges it. */
export function replicateToAll(ctx: StepContext, entry: Entry): void {
  for (const peer of peersOf(ctx.s)) {
    addHint(ctx, peer, entry);
    sendTo(ctx, peer, { type: 'replicate', epoch: ctx.s.epoch, entries: [entry] });
  }
}

function onReplicateAck(ctx: StepContext, from: string, dots: readonly string[]): void {
  const s = ctx.s;
  const forTarget = s.hints.get(from);
  if (forTarget !== undefined) {
    const left = new Map(forTarget);
    for (const id of dots) left.delete(id);
    if (left.size !== forTarget.size) {
      const hints = new Map(s.hints);
      if (left.size === 0) hints.delete(from);
      else hints.set(from, left);
      s.hints = hints;
      s.hintCount -= forTarget.size - left.size;
    }
  }
  const acked = new Set(dots);
  for (const w of [...s.writes.values()]) {
    if (w.entry === null || !acked.has(dotId(w.entry)) || w.acked.includes(from)) continue;
    const updated = { ...w, acked: [...w.acked, from] };
    putWrite(ctx, updated);
    ctx.protocol.checkWrite?.(ctx, updated);
  }
}

/**
 * Read from `targets`; answer once `needed` replied and one of them covers the session token, with
 * the newest version of each document among the replies; repair stale repliers (late ones too).
 * Refused at once when fewer than `needed` targets are alive: waiting would only time out.
 */
export function startQuorumRead(
  ctx: StepContext,
  r: PendingRead,
  targets: readonly string[],
  needed: number,
): void {
  const s = ctx.s;
  const reachable = targets.filter((t) => t === s.self || isAlive(s, t)).length;
  if (reachable < needed) {
    failRead(ctx, r, 'no-quorum');
    return;
  }
  const replies = targets.includes(s.self) ? [localReply(s, r)] : [];
  const read: PendingRead = { ...r, phase: 'quorum', targets, needed, replies, answered: false };
  putRead(ctx, read);
  setTimer(ctx, readTimer(r.requestId), s.config.readTimeoutMs);
  for (const t of targets)
    sendTo(ctx, t, {
      type: 'readRequest',
      epoch: s.epoch,
      requestId: r.requestId,
      selection: r.selection,
      purpose: 'quorum',
      token: r.token,
    });
  checkQuorum(ctx, read);
}

/** The newest version of each document among the replies, in key order. */
function newestOf(replies: readonly ReadReply[]): Entry[] {
  const best = new Map<string, Entry>();
  for (const { entries } of replies) {
    for (const e of entries) {
      const held = best.get(e.key);
      best.set(e.key, held === undefined ? e : prefer(e, held));
    }
  }
  return [...best.keys()].sort().map((k) => best.get(k)!);
}

/** Send a replier the versions of `best` it lacks (read repair). */
function repair(ctx: StepContext, reply: ReadReply, best: readonly Entry[]): void {
  const have = new Map(reply.entries.map((e) => [e.key, e]));
  const stale = best.filter((e) => {
    const held = have.get(e.key);
    return held === undefined || !sameDot(held, e);
  });
  if (stale.length > 0)
    sendTo(ctx, reply.from, { type: 'replicate', epoch: ctx.s.epoch, entries: stale });
}

function checkQuorum(ctx: StepContext, r: PendingRead): void {
  if (r.answered !== false || r.replies.length < r.needed || !r.replies.some((x) => x.covers))
    return;
  const best = newestOf(r.replies);
  for (const reply of r.replies) repair(ctx, reply, best);
  answerRead(ctx, r, best, ctx.s.self, true);
}

function onQuorumReply(ctx: StepContext, r: PendingRead, reply: ReadReply): void {
  if (!r.targets.includes(reply.from)) return;
  applyEntries(ctx, reply.entries);
  // A replier asked again (its first reply did not cover the token) replaces its older reply.
  const updated: PendingRead = {
    ...r,
    replies: [...r.replies.filter((x) => x.from !== reply.from), reply],
  };
  putRead(ctx, updated);
  if (r.answered !== false) repair(ctx, reply, r.answered);
  else checkQuorum(ctx, updated);
}

/** Quorum reads that have their replies but none covering the token ask the repliers again. */
function retryUncoveredReads(ctx: StepContext): void {
  const s = ctx.s;
  for (const r of s.reads.values()) {
    if (r.phase !== 'quorum' || r.answered !== false || r.replies.length < r.needed) continue;
    const self = r.targets.includes(s.self) ? [localReply(s, r)] : [];
    putRead(ctx, { ...r, replies: [...self, ...r.replies.filter((x) => x.from !== s.self)] });
    for (const t of r.targets)
      sendTo(ctx, t, {
        type: 'readRequest',
        epoch: s.epoch,
        requestId: r.requestId,
        selection: r.selection,
        purpose: 'quorum',
        token: r.token,
      });
    checkQuorum(ctx, s.reads.get(r.requestId)!);
  }
}

function startRead(ctx: StepContext, r: PendingRead): void {
  const s = ctx.s;
  if (r.consistency === 'eventual') {
    answerRead(ctx, r, localSelect(s, r.selection), s.self);
  } else if (r.consistency === 'causal') {
    if (coversToken(s.store, r.token)) answerRead(ctx, r, localSelect(s, r.selection), s.self);
    else {
      putRead(ctx, { ...r, phase: 'causal-wait' });
      setTimer(ctx, readTimer(r.requestId), s.config.causalWaitMs);
    }
  } else ctx.protocol.onStrongRead(ctx, r);
}

function onReadTimer(ctx: StepContext, r: PendingRead): void {
  const s = ctx.s;
  if (r.phase === 'causal-wait') {
    const targets = s.alive.filter((id) => id !== s.self);
    if (targets.length === 0) {
      failRead(ctx, r, 'stale-session');
      return;
    }
    putRead(ctx, { ...r, phase: 'causal-ask', targets, replies: [] });
    setTimer(ctx, readTimer(r.requestId), s.config.readTimeoutMs);
    for (const t of targets)
      sendTo(ctx, t, {
        type: 'readRequest',
        epoch: s.epoch,
        requestId: r.requestId,
        selection: r.selection,
        purpose: 'causal',
        token: r.token,
      });
    return;
  }
  if (r.answered !== false) dropRead(ctx, r.requestId);
  else {
    const uncovered =
      r.phase === 'causal-ask' ||
      r.phase === 'master-wait' ||
      (r.phase === 'quorum' && r.replies.length >= r.needed);
    failRead(ctx, r, uncovered ? 'stale-session' : 'timeout');
  }
}

function onReadReply(
  ctx: StepContext,
  from: string,
  msg: Extract<ReplicationMessage, { type: 'readReply' }>,
): void {
  const r = ctx.s.reads.get(msg.requestId);
  if (r === undefined) return;
  if (r.phase === 'quorum') {
    if (msg.ok) onQuorumReply(ctx, r, { from, entries: msg.entries, covers: msg.covers });
  } else if (r.phase === 'causal-ask') {
    if (!msg.ok || !msg.covers || !r.targets.includes(from)) return;
    applyEntries(ctx, msg.entries);
    // The peer covered the token; our replica now holds what it holds of the selection, or newer.
    answerRead(ctx, r, localSelect(ctx.s, r.selection), from);
  } else if (r.phase === 'forwarded') {
    if (from !== r.targets[0]) return;
    if (msg.ok) {
      applyEntries(ctx, msg.entries);
      answerRead(ctx, r, msg.entries, from);
    } else failRead(ctx, r, msg.error);
  }
}

/** Learn of a newer master-slave epoch from a message. */
export function observeEpoch(ctx: StepContext, epoch: number): void {
  if (epoch <= ctx.s.epoch) return;
  ctx.s.epoch = epoch;
  ctx.protocol.onNewerEpoch?.(ctx);
}

function onMessage(ctx: StepContext, from: string, msg: ReplicationMessage): void {
  const s = ctx.s;
  if (from === s.self || !s.memberSet.has(from)) return;
  if ('epoch' in msg) observeEpoch(ctx, msg.epoch);
  switch (msg.type) {
    case 'sync':
      sendTo(ctx, from, {
        type: 'syncReply',
        id: msg.id,
        epoch: s.epoch,
        digest: s.store.digest,
        seen: s.store.seen,
        entries: entriesFor(s.store, msg.digest, msg.seen),
      });
      return;
    case 'syncReply':
      applyEntries(ctx, msg.entries);
      s.store = absorbSeen(s.store, msg.seen);
      ctx.protocol.onSyncReply?.(ctx, from, msg);
      sendTo(ctx, from, {
        type: 'syncEntries',
        id: msg.id,
        epoch: s.epoch,
        seen: s.store.seen,
        entries: entriesFor(s.store, msg.digest, msg.seen),
      });
      return;
    case 'syncEntries':
      applyEntries(ctx, msg.entries);
      s.store = absorbSeen(s.store, msg.seen);
      return;
    case 'replicate': {
      applyEntries(ctx, msg.entries);
      if (ctx.protocol.fenced && msg.epoch < s.epoch)
        sendTo(ctx, from, { type: 'refused', epoch: s.epoch });
      else
        sendTo(ctx, from, { type: 'replicateAck', epoch: s.epoch, dots: msg.entries.map(dotId) });
      return;
    }
    case 'replicateAck':
      if (msg.epoch === s.epoch) onReplicateAck(ctx, from, msg.dots);
      return;
    case 'readRequest':
      if (msg.purpose === 'quorum' || msg.purpose === 'causal') {
        const { entries, covers } = localReply(s, msg);
        sendTo(ctx, from, {
          type: 'readReply',
          requestId: msg.requestId,
          ok: true,
          entries,
          covers,
        });
      } else ctx.protocol.onMessage?.(ctx, from, msg);
      return;
    case 'readReply':
      onReadReply(ctx, from, msg);
      return;
    default:
      ctx.protocol.onMessage?.(ctx, from, msg);
  }
}

function setAlive(ctx: StepContext, ids: readonly string[]): void {
  const s = ctx.s;
  const next = [...new Set(ids)].filter((id) => id !== s.self && s.memberSet.has(id));
  const before = new Set(s.alive);
  const after = new Set(next);
  const added = next.filter((id) => !before.has(id));
  const removed = s.alive.filter((id) => !after.has(id));
  if (added.length === 0 && removed.length === 0) return;
  s.alive = next;
  for (const id of added) flushHints(ctx, id);
  ctx.protocol.onAliveChange?.(ctx, added, removed);
}

/** Answer causal reads (and confirmed masters' strong reads) the replica now covers. */
function settleWaitingReads(ctx: StepContext): void {
  for (const r of [...ctx.s.reads.values()]) {
    const waiting =
      r.phase === 'causal-wait' || r.phase === 'causal-ask' || r.phase === 'master-wait';
    if (waiting && coversToken(ctx.s.store, r.token))
      answerRead(ctx, r, localSelect(ctx.s, r.selection), ctx.s.self);
  }
}

function stopAll(ctx: StepContext): void {
  for (const w of [...ctx.s.writes.values()]) failWrite(ctx, w, 'stopped');
  for (const r of [...ctx.s.reads.values()]) {
    if (r.answered === false) failRead(ctx, r, 'stopped');
    else dropRead(ctx, r.requestId);
  }
  cancelTimer(ctx, TICK_TIMER);
  cancelTimer(ctx, RETRY_TIMER);
  ctx.s.ticking = false;
}

/**
 * A replica's state at boot: `persisted` rebuilt (or a live store handed over), nothing pending.
 */
function initialState(
  cfg: ReplicationConfig,
  self: string,
  members: readonly string[],
  persisted?: PersistedReplica,
): ReplicaState {
  const sorted = sortByPriority([...members, self]);
  const store =
    persisted?.store ??
    (persisted ? restoreStore(persisted.entries, persisted.meta?.store) : emptyStore());
  return {
    self,
    members: sorted,
    memberSet: new Set(sorted),
    alive: [],
    config: cfg,
    store,
    epoch: persisted?.meta?.epoch ?? 0,
    leader: null,
    role: 'follower',
    catchUp: null,
    writes: new Map(),
    reads: new Map(),
    hints: new Map(),
    hintCount: 0,
    recentWrites: [],
    ticking: false,
  };
}

type EventOf<T extends ReplicationEvent['type']> = Extract<ReplicationEvent, { type: T }>;

/** As many requests pending as the replica takes: a new one is refused `busy`. */
export const isFull = (s: ReplicaState) =>
  s.writes.size + s.reads.size >= s.config.maxPendingRequests;

/** A new pending write of one document, registered with its timeout. */
export function openWrite(
  ctx: StepContext,
  requestId: string,
  client: PendingWrite['client'],
  token: VectorClock,
  doc: Pick<PendingWrite, 'key' | 'value' | 'deleted' | 'rank'>,
): PendingWrite {
  const w: PendingWrite = {
    requestId,
    client,
    token,
    ...doc,
    entry: null,
    forwardedTo: null,
    waitFor: [],
    acked: [],
  };
  putWrite(ctx, w);
  setTimer(ctx, writeTimer(requestId), ctx.s.config.writeTimeoutMs);
  return w;
}

function onClientWrite(ctx: StepContext, event: EventOf<'write'>): void {
  const s = ctx.s;
  if (s.writes.has(event.requestId)) return;
  if (isFull(s)) {
    ctx.effects.push({
      type: 'writeResult',
      requestId: event.requestId,
      ok: false,
      error: 'busy',
      entry: null,
    });
    return;
  }
  const deleted = event.deleted === true;
  const w = openWrite(ctx, event.requestId, { kind: 'local' }, event.token ?? EMPTY_VECTOR_CLOCK, {
    key: event.key,
    value: deleted ? null : event.value,
    deleted,
    rank: event.rank ?? 0,
  });
  ctx.protocol.onWrite(ctx, w);
}

function onClientRead(ctx: StepContext, event: EventOf<'read'>): void {
  const s = ctx.s;
  if (s.reads.has(event.requestId)) return;
  if (isFull(s)) {
    ctx.effects.push({ type: 'readResult', requestId: event.requestId, ok: false, error: 'busy' });
    return;
  }
  startRead(ctx, {
    requestId: event.requestId,
    client: { kind: 'local' },
    selection: event.range ?? { key: event.key ?? '' },
    consistency: event.consistency,
    token: event.token ?? EMPTY_VECTOR_CLOCK,
    phase: 'causal-wait',
    targets: [],
    needed: 0,
    replies: [],
    answered: false,
  });
}

function onTimer(ctx: StepContext, name: string): void {
  const s = ctx.s;
  if (name === TICK_TIMER) {
    if (!s.ticking) return;
    setTimer(ctx, TICK_TIMER, ctx.protocol.tickIntervalMs(s.config));
    ctx.protocol.onTick(ctx);
  } else if (name === RETRY_TIMER) {
    if (!s.ticking) return;
    setTimer(ctx, RETRY_TIMER, s.config.retryIntervalMs);
    for (const id of s.alive) flushHints(ctx, id);
    retryUncoveredReads(ctx);
    ctx.protocol.onRetry?.(ctx);
  } else if (name.startsWith('write:')) {
    const w = s.writes.get(name.slice('write:'.length));
    if (w !== undefined) failWrite(ctx, w, 'timeout');
  } else if (name.startsWith('read:')) {
    const r = s.reads.get(name.slice('read:'.length));
    if (r !== undefined) onReadTimer(ctx, r);
  }
}

/** Step one event; returns the groups it retired (a `compact`), which the shell must delete. */
function onEvent(ctx: StepContext, event: ReplicationEvent): readonly string[] {
  const s = ctx.s;
  switch (event.type) {
    case 'start':
      if (!s.ticking) {
        s.ticking = true;
        setTimer(ctx, TICK_TIMER, ctx.protocol.tickIntervalMs(s.config));
        setTimer(ctx, RETRY_TIMER, s.config.retryIntervalMs);
      }
      break;
    case 'write':
      onClientWrite(ctx, event);
      break;
    case 'read':
      onClientRead(ctx, event);
      break;
    case 'message':
      onMessage(ctx, event.from, event.msg);
      break;
    case 'timer':
      onTimer(ctx, event.name);
      break;
    case 'peerAlive':
      setAlive(ctx, [...s.alive, event.id]);
      break;
    case 'peerDead':
      setAlive(
        ctx,
        s.alive.filter((id) => id !== event.id),
      );
      break;
    case 'alive':
      setAlive(ctx, event.ids);
      break;
    case 'leader':
      ctx.protocol.onLeader?.(ctx, event.leader, event.epoch);
      break;
    case 'configure':
      s.config = validateConfig({ ...s.config, ...event.config });
      break;
    case 'stop':
      stopAll(ctx);
      break;
    case 'compact': {
      const compacted = compact(s.store, event.groups);
      s.store = compacted.store;
      return compacted.retired;
    }
  }
  return [];
}

export function createReplicationCore(
  protocol: ReplicationProtocol,
  config: Partial<ReplicationConfig> = {},
): ReplicationCore {
  const cfg = validateConfig({ ...DEFAULT_REPLICATION_CONFIG, ...config });
  return {
    mode: protocol.mode,
    config: cfg,
    init: (self, members, persisted) => initialState(cfg, self, members, persisted),
    step(state, event) {
      const ctx: StepContext = {
        s: { ...state },
        send: [],
        effects: [],
        now: event.now,
        entropy: event.type === 'timer' ? event.entropy : 0,
        changed: new Map(),
        protocol,
      };
      const s = ctx.s;
      const retired = onEvent(ctx, event);
      if (s.store !== state.store && s.reads.size > 0) settleWaitingReads(ctx);
      // Persist before anything is sent or answered (the shell keeps that order).
      if (s.store !== state.store || s.epoch !== state.epoch) {
        const meta = { store: storeMeta(s.store), epoch: s.epoch };
        const entries = [...ctx.changed.values()];
        ctx.effects.unshift({
          type: 'persist',
          entries,
          meta,
          ...(retired.length ? { retired } : {}),
        });
      }
      return { state: s, send: ctx.send, effects: ctx.effects };
    },
  };
}

/** What a new core of the same node takes over (`init`): the store itself, and the epoch. */
export function handoverOf(state: ReplicaState): PersistedReplica {
  return {
    entries: [],
    meta: { store: storeMeta(state.store), epoch: state.epoch },
    store: state.store,
  };
}

/** What the shell must keep for `init` after a restart (also in every `persist` effect). */
export function persistedOf(state: ReplicaState): PersistedReplica {
  return {
    entries: [...state.store.entries.values()],
    meta: { store: storeMeta(state.store), epoch: state.epoch },
  };
}

/**
 * Up to `count` distinct peers drawn uniformly with the simulator's generator seeded by `entropy`,
 * so a timer's entropy fully decides the choice.
 */
export function pickPeers(peers: readonly string[], count: number, entropy: number): string[] {
  if (count >= peers.length) return [...peers];
  const rng = createRandom(entropy);
  if (count * 2 > peers.length) return rng.shuffle(peers).slice(0, count);
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(rng.int(0, peers.length - 1));
  return [...chosen].map((i) => peers[i] as string);
}

export function hasMajority(members: readonly string[], count: number): boolean {
  return count * 2 > members.length;
}
