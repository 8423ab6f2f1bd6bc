/**
 * The replica store, as a pure value: every function returns a new store and never modifies its
 * input. Each node holds one, fed only by the replication protocol, and persists it (see
 * `persistedMeta` / `restoreStore`).
 *
 * Entries and their order
 * - An entry is one write of one key: `{ key, value, deleted, version, ts, origin, seq }`.
 *   `(origin, seq)` is the write's *dot*: `seq` counts the writes made at `origin` (1, 2, …), so a
 *   dot names exactly one write. `version` is the key's vector clock (`increment` at the origin
 *   over the version it replaced); `ts` is a hybrid timestamp, `max(physical now, largest ts seen
 *   + 1)`, so a write always carries a larger `ts` than every version it has seen.
 * - `apply` keeps one entry per key. A larger `rank` wins first: the rank is the document's own
 *   order, assigned by the writer from the system of record (a booking moves confirmed →
 *   cancelled and never back, so a cancelled version outranks every confirmed one — also one
 *   published later from a stale outbox row, or stamped by a node whose clock runs ahead).
 *   Within one rank, when the vector clocks are ordered the later one wins; concurrent versions
 *   are a conflict, counted and resolved by last-write-wins on `(ts, origin)`. Because a causally
 *   later version also has the larger `ts`, these rules agree with one total order —
 *   `(rank, ts, origin, seq)` — so every replica keeps the same winner whatever order entries
 *   arrive in.
 *
 * What a store has seen
 * - `seen[origin] = s` means every write of `origin` with `seq ≤ s` has been applied here or is
 *   superseded by an entry here. Dots applied out of order wait in `pending` until the gap fills.
 * - A write may be superseded before it ever reaches a replica, so gaps do not always fill by
 *   themselves. `absorbSeen` closes them: after a node has applied *every* entry a peer sent in
 *   answer to its digest and `seen`, it has seen all the peer has seen and may merge the peer's
 *   vector. Session tokens are checked against `seen` (`covers`).
 *
 * Selections (range reads) and their indexes
 * - Entries are kept in a persistent B+ tree sorted by key, so the documents under a prefix (a
 *   showtime's `booking:42:`) are one range of it. A document's *owner* is `value.userId` when that
 *   is a string; the store keeps a sorted map per owner. A read of a showtime's documents or of a
 *   user's bookings costs what it returns, not the size of the replica — and a B+ tree keeps a
 *   replica small: its leaves hold entries in plain arrays (~40 bytes per entry here, against ~150
 *   for each of the hash-trie maps it replaced), which is fewer objects for every collection.
 *
 * Compaction (retired groups)
 * - `compact` removes every entry of whole groups (a past showtime's `booking:42:` and `hold:42:`)
 *   and remembers the groups as *retired*: a write under a retired group that arrives later — from
 *   a peer that has not compacted yet, a hint, anti-entropy — counts as seen and is dropped
 *   (`retired`), so compaction never comes undone and stores that retire the same groups converge
 *   whatever the order. A claim on a retired key is covered: its document lives in the system of
 *   record only. Which groups retire is the application's rule (db/booking/facts.ts).
 *
 * Digest
 * - Keys fall into `DIGEST_BUCKETS` buckets by FNV-1a of the key. A bucket's digest is the XOR of
 *   a 64-bit hash of each entry in it, kept up to date on every change, so two stores compare in
 *   O(buckets) and `diff` names the buckets whose entries differ.
 */
import {
  compare,
  entry as clockEntry,
  increment,
  isVectorClock,
  merge,
  dominates,
  type VectorClock,
} from '../vector-clock';
import * as sortedBtree from 'sorted-btree';
import type { ISortedMapF } from 'sorted-btree/interfaces';
import { fnv1a32, hash64, hex32 } from './hash';

export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export interface Entry {
  readonly key: string;
  /** `null` for a delete. */
  readonly value: JsonValue;
  /**
   * A tombstone: the key was deleted (tombstones are kept, so a delete replicates like a write).
   */
  readonly deleted: boolean;
  readonly version: VectorClock;
  readonly ts: number;
  readonly origin: string;
  readonly seq: number;
  /** The version's place in its document's own order (absent = 0); compared before the clocks. */
  readonly rank?: number;
}

export type ApplyOutcome = 'applied' | 'stale' | 'duplicate' | 'conflict-resolved' | 'retired';

export interface EntryStamp {
  readonly origin: string;
  readonly seq: number;
  readonly ts: number;
}

export interface ConflictRecord {
  readonly key: string;
  readonly winner: EntryStamp;
  readonly loser: EntryStamp;
}

/** One digest string per bucket. */
export type Digest = readonly string[];

/** A persistent sorted map (copy-on-write B+ tree): a write costs O(log n), not a copy. */
export type SortedMap<V> = ISortedMapF<string, V>;

export interface ReplicaStore {
  /** Every entry, sorted by key. */
  readonly entries: SortedMap<Entry>;
  readonly seen: VectorClock;
  /** Per origin, ascending seqs above `seen[origin]` applied out of order. */
  readonly pending: ReadonlyMap<string, readonly number[]>;
  /** Largest `ts` seen: the hybrid clock's last value. */
  readonly clockTs: number;
  /** Two 32-bit XOR accumulators per bucket. */
  readonly hashes: readonly number[];
  readonly digest: Digest;
  readonly conflicts: number;
  /** The latest `MAX_CONFLICT_RECORDS` conflicts, oldest first. */
  readonly recentConflicts: readonly ConflictRecord[];
  /** Index: owner (`value.userId`) → its entries, sorted by key. */
  readonly owners: SortedMap<SortedMap<Entry>>;
  /** Entries per kind: the key's first group (`booking:`), or `''` for a key without one. */
  readonly kinds: ReadonlyMap<string, number>;
  /** Groups removed by `compact`: nothing under them is kept again. */
  readonly retired: ReadonlySet<string>;
}

/**
 * What a read selects: one document, or every document under `prefixes` (of `owner`, if given; see
 * the header).
 */
export type Selection =
  { readonly key: string } | { readonly prefixes: readonly string[]; readonly owner?: string };

export const DIGEST_BUCKETS = 16;
export const MAX_CONFLICT_RECORDS = 20;
/**
 * Out-of-order dots remembered per origin; beyond it the newest are forgotten (safe: they are
 * re-sent).
 */
export const MAX_PENDING_DOTS_PER_ORIGIN = 1024;
export const MAX_KEY_LENGTH = 512;

const EMPTY_DIGEST_PART = hex32(0) + hex32(0);

/**
 * sorted-btree is CommonJS with `exports.default`: Node's ESM loader hands over the whole exports
 * object as the default, bundlers the class itself.
 */
const BTree: typeof sortedBtree.default =
  (sortedBtree.default as unknown as { default?: typeof sortedBtree.default }).default ??
  sortedBtree.default;

function sortedMap<V>(): SortedMap<V> {
  return new BTree<string, V>();
}

/**
 * A store's sorted map? (Its copy-on-write marks nodes shared in place, like a Map's internals: a
 * test that freezes a store deeply must leave it alone and compare its contents instead.)
 */
export function isSortedMap(value: unknown): value is SortedMap<unknown> {
  return value instanceof BTree;
}

export function emptyStore(): ReplicaStore {
  return {
    entries: sortedMap(),
    seen: {},
    pending: new Map(),
    clockTs: 0,
    hashes: new Array<number>(DIGEST_BUCKETS * 2).fill(0),
    digest: new Array<string>(DIGEST_BUCKETS).fill(EMPTY_DIGEST_PART),
    conflicts: 0,
    recentConflicts: [],
    owners: sortedMap(),
    kinds: new Map(),
    retired: new Set(),
  };
}

/** Groups per key that compaction can retire: its prefixes ending in `:`, up to this many. */
export const MAX_GROUP_DEPTH = 3;

/** The groups a key is under: `booking:`, `booking:42:` for `booking:42:b17` (up to the depth). */
export function groupsOf(key: string): string[] {
  const out: string[] = [];
  for (
    let i = key.indexOf(':');
    i !== -1 && out.length < MAX_GROUP_DEPTH;
    i = key.indexOf(':', i + 1)
  )
    out.push(key.slice(0, i + 1));
  return out;
}

export function ownerOf(e: Entry | undefined): string | undefined {
  const owner = (e?.value as { userId?: unknown } | null | undefined)?.userId;
  return typeof owner === 'string' ? owner : undefined;
}

/** Entries whose key starts with `prefix`, in key order: one range of the sorted entries. */
function* entriesUnder(entries: SortedMap<Entry>, prefix: string): Generator<Entry> {
  for (const e of entries.values(prefix)) {
    if (!e.key.startsWith(prefix)) return;
    yield e;
  }
}

/**
 * The entries a selection names, tombstones included (a quorum read needs them, so a delete wins
 * over an older live version), in key order. Cost: what it returns (a range of the entries, or
 * the owner's own map) and a lookup in a tree of the replica's size.
 */
export function select(store: ReplicaStore, selection: Selection): Entry[] {
  if ('key' in selection) {
    const e = store.entries.get(selection.key);
    return e === undefined ? [] : [e];
  }
  const { prefixes, owner } = selection;
  if (owner !== undefined) {
    const owned = store.owners.get(owner)?.values() ?? [];
    return [...owned].filter((e) => prefixes.some((p) => e.key.startsWith(p)));
  }
  if (prefixes.length === 1) return [...entriesUnder(store.entries, prefixes[0]!)];
  const found = new Map<string, Entry>();
  for (const p of prefixes) for (const e of entriesUnder(store.entries, p)) found.set(e.key, e);
  return [...found.keys()].sort().map((k) => found.get(k)!);
}

/** A committed fact the protocol has not acknowledged yet (in the system of record's outbox). */
export type CommittedFact = {
  readonly key: string;
  readonly value: JsonValue;
  readonly rank: number;
};

/**
 * A strong read's answer completed by committed facts the protocol has not acknowledged yet: each
 * stands in for its key's entry unless that entry is as far along its document's order already
 * (rank); the result stays in key order. A fact has no dot (it is not a replica's version yet), so
 * it adds nothing to a session token.
 */
export function withCommitted(entries: readonly Entry[], facts: readonly CommittedFact[]): Entry[] {
  if (facts.length === 0) return [...entries];
  const byKey = new Map(entries.map((e) => [e.key, e]));
  for (const f of facts) {
    const held = byKey.get(f.key);
    if (held !== undefined && rankOf(held) >= f.rank) continue;
    byKey.set(f.key, {
      key: f.key,
      value: f.value,
      deleted: false,
      version: {},
      ts: held?.ts ?? 0,
      origin: '',
      seq: 0,
      rank: f.rank,
    });
  }
  return [...byKey.keys()].sort().map((k) => byKey.get(k)!);
}

export function bucketOf(key: string): number {
  return fnv1a32(key) % DIGEST_BUCKETS;
}

export function dotId(e: { readonly origin: string; readonly seq: number }): string {
  return `${e.seq}@${e.origin}`;
}

export function stampOf(e: Entry): EntryStamp {
  return { origin: e.origin, seq: e.seq, ts: e.ts };
}

/** The entry's dot as a vector clock (what a session token gains from writing or reading it). */
export function dotClock(e: { readonly origin: string; readonly seq: number }): VectorClock {
  return { [e.origin]: e.seq };
}

/** Last-write-wins order: larger `ts`, then larger origin id, then larger seq. */
export function lwwWins(a: EntryStamp, b: EntryStamp): boolean {
  if (a.ts !== b.ts) return a.ts > b.ts;
  if (a.origin !== b.origin) return a.origin > b.origin;
  return a.seq > b.seq;
}

export function sameDot(a: EntryStamp, b: EntryStamp): boolean {
  return a.origin === b.origin && a.seq === b.seq;
}

export function rankOf(e: { readonly rank?: number }): number {
  return e.rank ?? 0;
}

/**
 * Which of two versions of one key a store keeps: the higher rank, then the later by vector clock,
 * else by LWW.
 */
export function prefer(a: Entry, b: Entry): Entry {
  if (rankOf(a) !== rankOf(b)) return rankOf(a) > rankOf(b) ? a : b;
  const order = compare(a.version, b.version);
  if (order === 'after') return a;
  if (order === 'before') return b;
  return lwwWins(a, b) ? a : b;
}

/** Has the store seen the write `(origin, seq)` (applied, or superseded by an entry it holds)? */
export function hasSeen(store: ReplicaStore, origin: string, seq: number): boolean {
  if (seq <= clockEntry(store.seen, origin)) return true;
  return store.pending.get(origin)?.includes(seq) ?? false;
}

/**
 * Session tokens name writes by dot. A committed fact whose write no replica has made yet (its
 * publication failed before it got a dot) is named by its document instead — a *claim*
 * `#<key>` → rank + 1 in the same map — which a store covers once it holds that key at that rank
 * or higher. Node ids never start with `#`.
 */
export const CLAIM_PREFIX = '#';

export function factClaim(key: string, rank: number): VectorClock {
  return { [CLAIM_PREFIX + key]: rank + 1 };
}

function coversClaim(store: ReplicaStore, name: string, least: number): boolean {
  if (isRetired(store, name.slice(CLAIM_PREFIX.length))) return true;
  const held = store.entries.get(name.slice(CLAIM_PREFIX.length));
  return held !== undefined && rankOf(held) + 1 >= least;
}

/** Does the store cover a session token (has it seen every write the token names)? */
export function coversToken(store: ReplicaStore, token: VectorClock): boolean {
  for (const [name, n] of Object.entries(token)) {
    if (
      name.startsWith(CLAIM_PREFIX)
        ? !coversClaim(store, name, n)
        : clockEntry(store.seen, name) < n
    )
      return false;
  }
  return true;
}

/**
 * The token a read from `store` answers with: the session's, grown by what the store has seen;
 * a claim the store covers gives way to the dot of the version that covers it.
 */
export function tokenAfterRead(store: ReplicaStore, token: VectorClock): VectorClock {
  let out: VectorClock = store.seen;
  for (const [name, n] of Object.entries(token)) {
    const covered = name.startsWith(CLAIM_PREFIX) && coversClaim(store, name, n);
    out = merge(
      out,
      covered ? dotClock(store.entries.get(name.slice(CLAIM_PREFIX.length))!) : { [name]: n },
    );
  }
  return out;
}

/**
 * The token a read answers with when it returns `entries` (not a whole store): the session's, grown
 * by their dots; a claim one of them covers gives way to its dot.
 */
export function tokenAfterEntries(token: VectorClock, entries: readonly Entry[]): VectorClock {
  let out: VectorClock = {};
  for (const [name, n] of Object.entries(token)) {
    const held = name.startsWith(CLAIM_PREFIX)
      ? entries.find((e) => e.key === name.slice(CLAIM_PREFIX.length))
      : undefined;
    out = merge(out, held !== undefined && rankOf(held) + 1 >= n ? dotClock(held) : { [name]: n });
  }
  for (const e of entries) out = merge(out, dotClock(e));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Applying and writing

export interface ApplyResult {
  readonly store: ReplicaStore;
  readonly outcome: ApplyOutcome;
  /** The kept entry of the key changed (persist it). */
  readonly changed: boolean;
}

export type ApplyFn = (store: ReplicaStore, incoming: Entry) => ApplyResult;

/**
 * `apply` with a given tie-break for concurrent versions (`incomingWins(incoming, local)`).
 * Exported so tests can build deliberately broken stores; everything else uses `apply`.
 */
export function createApply(incomingWins: (incoming: Entry, local: Entry) => boolean): ApplyFn {
  return (store, incoming) => applyWith(incomingWins, store, incoming);
}

export const apply: ApplyFn = createApply(lwwWins);

function applyWith(
  incomingWins: (incoming: Entry, local: Entry) => boolean,
  store: ReplicaStore,
  incoming: Entry,
): ApplyResult {
  if (hasSeen(store, incoming.origin, incoming.seq))
    return { store, outcome: 'duplicate', changed: false };
  if (isRetired(store, incoming.key)) {
    const { seen, pending } = noteDot(store.seen, store.pending, incoming.origin, incoming.seq);
    return {
      store: { ...store, seen, pending, clockTs: Math.max(store.clockTs, incoming.ts) },
      outcome: 'retired',
      changed: false,
    };
  }
  const local = store.entries.get(incoming.key);
  let outcome: ApplyOutcome = 'applied';
  let replace = true;
  let conflict: ConflictRecord | null = null;
  if (local !== undefined && rankOf(incoming) !== rankOf(local)) {
    replace = rankOf(incoming) > rankOf(local);
    if (!replace) outcome = 'stale';
  } else if (local !== undefined) {
    const order = compare(incoming.version, local.version);
    if (order === 'before') {
      outcome = 'stale';
      replace = false;
    } else if (order !== 'after') {
      // Concurrent (or, for a corrupted history, equal clocks of two different writes).
      outcome = 'conflict-resolved';
      replace = incomingWins(incoming, local);
      conflict = replace
        ? { key: incoming.key, winner: stampOf(incoming), loser: stampOf(local) }
        : { key: incoming.key, winner: stampOf(local), loser: stampOf(incoming) };
    }
  }
  const { seen, pending } = noteDot(store.seen, store.pending, incoming.origin, incoming.seq);
  let next: ReplicaStore = {
    ...store,
    seen,
    pending,
    clockTs: Math.max(store.clockTs, incoming.ts),
  };
  if (conflict !== null) {
    const recent = [...store.recentConflicts, conflict];
    next = {
      ...next,
      conflicts: store.conflicts + 1,
      recentConflicts: recent.slice(-MAX_CONFLICT_RECORDS),
    };
  }
  if (replace) next = putEntry(next, local, incoming);
  return { store: next, outcome, changed: replace };
}

/** Apply many entries; returns the entries whose key now holds them (to persist). */
export function applyAll(
  store: ReplicaStore,
  entries: readonly Entry[],
): { store: ReplicaStore; changed: Entry[] } {
  const changed: Entry[] = [];
  let s = store;
  for (const e of entries) {
    const r = apply(s, e);
    s = r.store;
    if (r.changed) changed.push(e);
  }
  return { store: s, changed };
}

/**
 * A new local write at `origin` (the node itself, or the master). `now` is the node's physical
 * clock in ms; the entry's `ts` is `max(floor(now), clockTs + 1)`. A write outranked by the
 * version held, or under a retired group (`kept: false`), is still a write — its dot is seen and
 * it replicates — but the store keeps the higher-ranked version, or nothing.
 */
export function write(
  store: ReplicaStore,
  origin: string,
  key: string,
  value: JsonValue,
  now: number,
  deleted = false,
  rank = 0,
): { store: ReplicaStore; entry: Entry; kept: boolean } {
  const ownPending = store.pending.get(origin);
  const seq = Math.max(clockEntry(store.seen, origin), ownPending?.at(-1) ?? 0) + 1;
  const local = store.entries.get(key);
  const entry: Entry = {
    key,
    value: deleted ? null : value,
    deleted,
    version: increment(local?.version ?? {}, origin),
    ts: Math.max(Math.floor(now), store.clockTs + 1),
    origin,
    seq,
    ...(rank !== 0 ? { rank } : {}),
  };
  const r = apply(store, entry);
  const outranked =
    (r.outcome === 'stale' && local !== undefined && rankOf(local) > rank) ||
    r.outcome === 'retired';
  if (r.outcome !== 'applied' && !outranked)
    throw new Error(`local write ${dotId(entry)} of ${key} was ${r.outcome}`);
  return { store: r.store, entry, kept: !outranked };
}

/**
 * Merge a peer's `seen` vector. Only valid right after applying every entry the peer sent in
 * answer to this store's digest and `seen` (then everything the peer has seen is here, or is
 * superseded by something here).
 */
export function absorbSeen(store: ReplicaStore, remoteSeen: VectorClock): ReplicaStore {
  if (dominates(store.seen, remoteSeen)) return store;
  let seen = merge(store.seen, remoteSeen);
  const pending = new Map(store.pending);
  for (const [origin, seqs] of store.pending) {
    let top = clockEntry(seen, origin);
    let rest = seqs.filter((s) => s > top);
    while (rest[0] === top + 1) {
      top += 1;
      rest = rest.slice(1);
    }
    if (top !== clockEntry(seen, origin)) seen = { ...seen, [origin]: top };
    if (rest.length === 0) pending.delete(origin);
    else pending.set(origin, rest);
  }
  return { ...store, seen, pending };
}

function noteDot(
  seen: VectorClock,
  pending: ReadonlyMap<string, readonly number[]>,
  origin: string,
  seq: number,
): { seen: VectorClock; pending: ReadonlyMap<string, readonly number[]> } {
  const top = clockEntry(seen, origin);
  const waiting = pending.get(origin) ?? [];
  if (seq === top + 1) {
    let next = seq;
    let i = 0;
    while (waiting[i] === next + 1) {
      next += 1;
      i += 1;
    }
    const out = new Map(pending);
    if (i >= waiting.length) out.delete(origin);
    else out.set(origin, waiting.slice(i));
    return { seen: { ...seen, [origin]: next }, pending: waiting.length === 0 ? pending : out };
  }
  if (waiting.length >= MAX_PENDING_DOTS_PER_ORIGIN && seq > (waiting.at(-1) ?? 0))
    return { seen, pending };
  const inserted = [...waiting, seq].sort((a, b) => a - b).slice(0, MAX_PENDING_DOTS_PER_ORIGIN);
  const out = new Map(pending);
  out.set(origin, inserted);
  return { seen, pending: out };
}

function entryHash(e: Entry): readonly [number, number] {
  const rank = rankOf(e) === 0 ? '' : `\u0000${rankOf(e)}`;
  const value = canonicalJson(e.value);
  const version = canonicalJson(e.version);
  const deleted = e.deleted ? 1 : 0;
  const dot = `${e.origin}\u0000${e.seq}\u0000${e.ts}`;
  return hash64(`${e.key}\u0000${dot}\u0000${deleted}\u0000${value}\u0000${version}${rank}`);
}

/** XOR an entry into (or, again, out of) its bucket's accumulators, in place; the bucket. */
function toggleHash(hashes: number[], e: Entry): number {
  const b = bucketOf(e.key);
  const [h1, h2] = entryHash(e);
  hashes[2 * b] = ((hashes[2 * b] ?? 0) ^ h1) >>> 0;
  hashes[2 * b + 1] = ((hashes[2 * b + 1] ?? 0) ^ h2) >>> 0;
  return b;
}

const digestPart = (hashes: readonly number[], b: number) =>
  hex32(hashes[2 * b]!) + hex32(hashes[2 * b + 1]!);

/** The store's hashes and digest with `old` taken out and `e` put in (either may be absent). */
function rehashed(store: ReplicaStore, old: Entry | undefined, e: Entry | undefined) {
  const hashes = [...store.hashes];
  const digest = [...store.digest];
  for (const x of [old, e]) {
    if (x === undefined) continue;
    const b = toggleHash(hashes, x);
    digest[b] = digestPart(hashes, b);
  }
  return { hashes, digest };
}

/** The key's kind, as counted in `kinds`: its first group, or `''`. */
export function kindOf(key: string): string {
  return groupsOf(key)[0] ?? '';
}

function counted(kinds: ReadonlyMap<string, number>, kind: string, by: number) {
  const out = new Map(kinds);
  const n = (kinds.get(kind) ?? 0) + by;
  if (n === 0) out.delete(kind);
  else out.set(kind, n);
  return out;
}

/** `with(…, true)`: without `true`, sorted-btree returns the old tree if the key exists. */
function ownedWith(owners: ReplicaStore['owners'], owner: string, e: Entry) {
  return owners.with(owner, (owners.get(owner) ?? sortedMap<Entry>()).with(e.key, e, true), true);
}

function ownedWithout(owners: ReplicaStore['owners'], owner: string, key: string) {
  const left = owners.get(owner)?.without(key);
  return left === undefined || left.size === 0
    ? owners.without(owner)
    : owners.with(owner, left, true);
}

function putEntry(store: ReplicaStore, old: Entry | undefined, e: Entry): ReplicaStore {
  let owners = store.owners;
  const [was, now] = [ownerOf(old), ownerOf(e)];
  if (was !== undefined && was !== now) owners = ownedWithout(owners, was, e.key);
  if (now !== undefined) owners = ownedWith(owners, now, e);
  return {
    ...store,
    ...rehashed(store, old, e),
    entries: store.entries.with(e.key, e, true),
    owners,
    kinds: old === undefined ? counted(store.kinds, kindOf(e.key), 1) : store.kinds,
  };
}

function removeEntry(store: ReplicaStore, e: Entry): ReplicaStore {
  const owner = ownerOf(e);
  return {
    ...store,
    ...rehashed(store, e, undefined),
    entries: store.entries.without(e.key),
    owners: owner === undefined ? store.owners : ownedWithout(store.owners, owner, e.key),
    kinds: counted(store.kinds, kindOf(e.key), -1),
  };
}

// ---------------------------------------------------------------------------------------------
// Compaction

/**
 * A group `compact` accepts: a group at least two levels deep (`booking:42:`, never all of
 * `booking:`).
 */
export function isRetirableGroup(group: string): boolean {
  const depth = groupsOf(group).length;
  return group.endsWith(':') && depth >= 2 && depth === group.split(':').length - 1;
}

/** Is `key` under a retired group? */
export function isRetired(store: ReplicaStore, key: string): boolean {
  return isUnder(store.retired, key);
}

function isUnder(groups: ReadonlySet<string>, key: string): boolean {
  if (groups.size === 0) return false;
  for (const g of groupsOf(key)) if (groups.has(g)) return true;
  return false;
}

/**
 * Retire `groups`: their entries leave the store (and its digest and indexes), and nothing under
 * them is kept again (see the header). Cost: what it removes.
 */
export function compact(
  store: ReplicaStore,
  groups: readonly string[],
): { store: ReplicaStore; removed: Entry[]; retired: string[] } {
  const retired = [...new Set(groups)].filter((g) => isRetirableGroup(g) && !store.retired.has(g));
  if (retired.length === 0) return { store, removed: [], retired };
  let next = store;
  const removed: Entry[] = [];
  for (const g of retired) {
    for (const e of [...entriesUnder(next.entries, g)]) {
      next = removeEntry(next, e);
      removed.push(e);
    }
  }
  return { store: { ...next, retired: new Set([...store.retired, ...retired]) }, removed, retired };
}

// ---------------------------------------------------------------------------------------------
// Digest and differences

export function digest(store: ReplicaStore): Digest {
  return store.digest;
}

/** Buckets whose digests differ (all of them if the digests are not comparable). */
export function diff(a: Digest, b: Digest): number[] {
  const out: number[] = [];
  for (let i = 0; i < DIGEST_BUCKETS; i++) if (a.length !== b.length || a[i] !== b[i]) out.push(i);
  return out;
}

export function entriesInBuckets(store: ReplicaStore, buckets: readonly number[]): Entry[] {
  if (buckets.length === 0) return [];
  const wanted = new Set(buckets);
  const out: Entry[] = [];
  for (const e of store.entries.values()) if (wanted.has(bucketOf(e.key))) out.push(e);
  return out;
}

/** Entries whose write the remote has not seen (optionally only in `buckets`). */
export function missingFor(
  store: ReplicaStore,
  remoteSeen: VectorClock,
  buckets?: readonly number[],
): Entry[] {
  const wanted = buckets === undefined ? null : new Set(buckets);
  const out: Entry[] = [];
  for (const e of store.entries.values()) {
    if (e.seq <= clockEntry(remoteSeen, e.origin)) continue;
    if (wanted !== null && !wanted.has(bucketOf(e.key))) continue;
    out.push(e);
  }
  return out;
}

/**
 * What to send a peer that told us its digest and `seen`: our entries in differing buckets it has
 * not seen.
 */
export function entriesFor(
  store: ReplicaStore,
  remoteDigest: Digest,
  remoteSeen: VectorClock,
): Entry[] {
  const buckets = diff(store.digest, remoteDigest);
  return buckets.length === 0 ? [] : missingFor(store, remoteSeen, buckets);
}

// ---------------------------------------------------------------------------------------------
// Persistence

/** Everything besides the entries that a restarted node needs. JSON-safe. */
export interface StoreMeta {
  readonly seen: VectorClock;
  readonly pending: readonly (readonly [string, readonly number[]])[];
  readonly conflicts: number;
  readonly recentConflicts: readonly ConflictRecord[];
  /** Retired groups (absent in a meta written before compaction existed). */
  readonly retired?: readonly string[];
}

export function storeMeta(store: ReplicaStore): StoreMeta {
  return {
    seen: store.seen,
    pending: [...store.pending],
    conflicts: store.conflicts,
    recentConflicts: store.recentConflicts,
    ...(store.retired.size ? { retired: [...store.retired].sort() } : {}),
  };
}

/**
 * Rebuild a store from persisted entries and meta (the digest and clock are recomputed). Entries
 * under a retired group are skipped (a crash between retiring and deleting their rows leaves them).
 */
export function restoreStore(entries: Iterable<Entry>, meta?: StoreMeta): ReplicaStore {
  const retired = new Set((meta?.retired ?? []).filter(isRetirableGroup));
  let clockTs = 0;
  const dropped: Entry[] = [];
  const kept = new Map<string, Entry>();
  for (const e of entries) {
    clockTs = Math.max(clockTs, e.ts);
    if (isUnder(retired, e.key)) dropped.push(e);
    else kept.set(e.key, e);
  }
  const store: ReplicaStore = { ...built(kept.values()), retired };
  const seen = meta?.seen ?? {};
  const pending = new Map<string, readonly number[]>();
  for (const [origin, seqs] of meta?.pending ?? []) pending.set(origin, [...seqs]);
  // Own and remote dots of the entries held are seen by definition (covers a meta written before
  // them).
  let restored: ReplicaStore = {
    ...store,
    seen,
    pending,
    clockTs,
    conflicts: meta?.conflicts ?? 0,
    recentConflicts: meta?.recentConflicts ?? [],
  };
  for (const e of [...store.entries.values(), ...dropped]) {
    if (!hasSeen(restored, e.origin, e.seq))
      restored = { ...restored, ...noteDot(restored.seen, restored.pending, e.origin, e.seq) };
  }
  return restored;
}

/**
 * The store holding exactly `entries` (distinct keys), built in one pass into fresh trees — the
 * same store as `putEntry` one entry at a time, without a copy per entry.
 */
function built(entries: Iterable<Entry>): ReplicaStore {
  const hashes = new Array<number>(DIGEST_BUCKETS * 2).fill(0);
  const all = new BTree<string, Entry>();
  const owned = new Map<string, sortedBtree.default<string, Entry>>();
  const kinds = new Map<string, number>();
  for (const e of entries) {
    all.set(e.key, e);
    toggleHash(hashes, e);
    kinds.set(kindOf(e.key), (kinds.get(kindOf(e.key)) ?? 0) + 1);
    const owner = ownerOf(e);
    if (owner === undefined) continue;
    const mine = owned.get(owner) ?? new BTree<string, Entry>();
    mine.set(e.key, e);
    owned.set(owner, mine);
  }
  const digest = Array.from({ length: DIGEST_BUCKETS }, (_, b) => digestPart(hashes, b));
  const owners = new BTree<string, SortedMap<Entry>>([...owned]);
  return { ...emptyStore(), entries: all, hashes, digest, owners, kinds };
}

// ---------------------------------------------------------------------------------------------
// Validation and canonical forms

/**
 * JSON with object keys sorted, so equal values always print the same (PostgreSQL jsonb reorders
 * keys).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

export function isJsonValue(value: unknown, depth = 0): value is JsonValue {
  if (depth > 32) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => isJsonValue(v, depth + 1));
  if (typeof value === 'object')
    return Object.values(value).every((v) => isJsonValue(v, depth + 1));
  return false;
}

/** A well-formed entry (for data read back from disk or received from a peer). */
export function isEntry(value: unknown): value is Entry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    typeof e.key === 'string' &&
    e.key.length > 0 &&
    e.key.length <= MAX_KEY_LENGTH &&
    typeof e.deleted === 'boolean' &&
    isJsonValue(e.value) &&
    (!e.deleted || e.value === null) &&
    isVectorClock(e.version) &&
    typeof e.ts === 'number' &&
    Number.isSafeInteger(e.ts) &&
    e.ts >= 0 &&
    typeof e.origin === 'string' &&
    e.origin.length > 0 &&
    typeof e.seq === 'number' &&
    Number.isSafeInteger(e.seq) &&
    e.seq >= 1 &&
    (e.rank === undefined ||
      (typeof e.rank === 'number' && Number.isSafeInteger(e.rank) && e.rank >= 0)) &&
    clockEntry(e.version as VectorClock, e.origin) >= 1
  );
}

/**
 * The live entries, sorted by key, as canonical JSON: equal for two stores iff they hold the same.
 */
export function contentOf(store: ReplicaStore): string {
  return [...store.entries.values()].map((e) => canonicalJson(e)).join('\n');
}
