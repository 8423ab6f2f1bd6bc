import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  absorbSeen,
  apply,
  applyAll,
  bucketOf,
  canonicalJson,
  contentOf,
  coversToken,
  createApply,
  factClaim,
  diff,
  DIGEST_BUCKETS,
  emptyStore,
  entriesFor,
  entriesInBuckets,
  hasSeen,
  isEntry,
  lwwWins,
  MAX_CONFLICT_RECORDS,
  rankOf,
  missingFor,
  restoreStore,
  storeMeta,
  tokenAfterRead,
  write,
  type ApplyFn,
  type Entry,
  type ReplicaStore,
  groupsOf,
  select,
  tokenAfterEntries,
  withCommitted,
  compact,
  isRetired,
} from './store';

function writes(
  origin: string,
  keys: readonly string[],
  now = 1000,
): { store: ReplicaStore; entries: Entry[] } {
  let store = emptyStore();
  const entries: Entry[] = [];
  for (const key of keys) {
    const r = write(store, origin, key, `${origin}:${key}`, now);
    store = r.store;
    entries.push(r.entry);
  }
  return { store, entries };
}

test('writes get consecutive seqs and hybrid timestamps that never go back', () => {
  let s = emptyStore();
  const a = write(s, 'node-1', 'k', 1, 100.7);
  s = a.store;
  const b = write(s, 'node-1', 'k', 2, 50); // the physical clock went back
  s = b.store;
  assert.deepEqual([a.entry.seq, a.entry.ts, b.entry.seq, b.entry.ts], [1, 100, 2, 101]);
  assert.deepEqual({ ...b.entry.version }, { 'node-1': 2 });
  assert.deepEqual({ ...s.seen }, { 'node-1': 2 });
  const c = write(s, 'node-1', 'k', null, 500, true);
  assert.equal(c.entry.deleted, true);
  assert.equal(c.entry.value, null);
  assert.equal(c.entry.ts, 500);
});

test('apply: newer clock wins, older is stale, a seen dot is a duplicate', () => {
  const one = write(emptyStore(), 'node-1', 'k', 'v1', 10);
  const two = write(one.store, 'node-1', 'k', 'v2', 20);
  let s = apply(emptyStore(), two.entry).store;
  const older = apply(s, one.entry);
  assert.equal(older.outcome, 'stale');
  assert.equal(older.changed, false);
  s = older.store;
  assert.equal(s.entries.get('k')?.value, 'v2');
  assert.ok(hasSeen(s, 'node-1', 1) && hasSeen(s, 'node-1', 2));
  assert.equal(apply(s, two.entry).outcome, 'duplicate');
  assert.equal(apply(apply(emptyStore(), one.entry).store, two.entry).outcome, 'applied');
});

test('concurrent versions: counted as a conflict, resolved by (ts, origin), recorded', () => {
  const a = write(emptyStore(), 'node-1', 'k', 'from-1', 100).entry;
  const b = write(emptyStore(), 'node-2', 'k', 'from-2', 100).entry; // same ts: the larger id wins
  for (const [first, second] of [
    [a, b],
    [b, a],
  ] as const) {
    const s1 = apply(emptyStore(), first).store;
    const r = apply(s1, second);
    assert.equal(r.outcome, 'conflict-resolved');
    assert.equal(r.store.entries.get('k')?.origin, 'node-2');
    assert.equal(r.store.conflicts, 1);
    assert.deepEqual(r.store.recentConflicts[0]?.winner, { origin: 'node-2', seq: 1, ts: 100 });
  }
  assert.ok(lwwWins({ origin: 'a', seq: 1, ts: 2 }, { origin: 'z', seq: 9, ts: 1 }));
  let s = emptyStore();
  for (let i = 0; i < MAX_CONFLICT_RECORDS + 5; i++) {
    s = apply(s, write(emptyStore(), `node-${i}`, 'k', i, 100 + i).entry).store;
  }
  assert.equal(s.conflicts, MAX_CONFLICT_RECORDS + 4);
  assert.equal(s.recentConflicts.length, MAX_CONFLICT_RECORDS);
  assert.equal(s.recentConflicts.at(-1)?.winner.origin, `node-${MAX_CONFLICT_RECORDS + 4}`);
});

test('a write that saw the other version supersedes it even with a slower clock', () => {
  const a = write(emptyStore(), 'node-1', 'k', 'a', 5000).entry;
  const atTwo = apply(emptyStore(), a).store;
  const b = write(atTwo, 'node-2', 'k', 'b', 10).entry; // node-2's clock is far behind
  assert.ok(b.ts > a.ts);
  const r = apply(apply(emptyStore(), b).store, a);
  assert.equal(r.outcome, 'stale');
  assert.equal(r.store.conflicts, 0);
});

test('rank first: a cancellation outranks a confirmed version that follows it by clock and timestamp', () => {
  // node-1 books (rank 1), node-2 cancels (rank 2); node-3 later republishes the stale confirmed
  // version (an orphaned outbox row): its clock dominates the cancel and its ts is larger.
  const booked = write(emptyStore(), 'node-1', 'booking:1', 'confirmed', 1000, false, 1);
  const cancelled = write(
    applyAll(emptyStore(), [booked.entry]).store,
    'node-2',
    'booking:1',
    'cancelled',
    1100,
    false,
    2,
  );
  const atNode3 = applyAll(emptyStore(), [booked.entry, cancelled.entry]).store;
  const stale = write(atNode3, 'node-3', 'booking:1', 'confirmed', 9000, false, 1);
  assert.equal(stale.kept, false, 'the node that holds the cancel keeps it');
  assert.equal(stale.store.entries.get('booking:1')?.value, 'cancelled');
  assert.ok(
    hasSeen(stale.store, 'node-3', 1),
    'the outranked write is still a write: its dot is seen',
  );
  for (const order of [
    [booked.entry, cancelled.entry, stale.entry],
    [stale.entry, booked.entry, cancelled.entry],
    [stale.entry, cancelled.entry, booked.entry],
  ]) {
    const s = applyAll(emptyStore(), order).store;
    assert.equal(
      s.entries.get('booking:1')?.value,
      'cancelled',
      order.map((e) => e.origin).join(','),
    );
    assert.deepEqual(s.digest, stale.store.digest);
  }
  // Clock skew: a confirmed version concurrent with the cancel and 5 s ahead still loses.
  const skewed = write(emptyStore(), 'node-3', 'booking:1', 'confirmed', 6100, false, 1);
  assert.equal(
    applyAll(emptyStore(), [cancelled.entry, skewed.entry]).store.entries.get('booking:1')?.value,
    'cancelled',
  );
  assert.equal(
    applyAll(emptyStore(), [skewed.entry, cancelled.entry]).store.entries.get('booking:1')?.value,
    'cancelled',
  );
});

test('a claim names a fact by document and rank until a version covers it, then gives way to its dot', () => {
  const claim = factClaim('booking:1', 2); // the cancellation of booking 1
  assert.deepEqual(claim, { '#booking:1': 3 });
  const booked = write(emptyStore(), 'node-1', 'booking:1', 'confirmed', 1000, false, 1);
  assert.equal(coversToken(emptyStore(), claim), false, 'no version at all');
  assert.equal(coversToken(booked.store, claim), false, 'a lower rank does not cover it');
  assert.deepEqual(
    tokenAfterRead(booked.store, { ...claim, 'node-2': 4 }),
    { 'node-1': 1, 'node-2': 4, '#booking:1': 3 },
    'an uncovered claim stays',
  );
  const cancelled = write(booked.store, 'node-2', 'booking:1', 'cancelled', 1100, false, 2);
  assert.equal(coversToken(cancelled.store, claim), true);
  assert.equal(coversToken(cancelled.store, { ...claim, 'node-3': 1 }), false, 'dots still count');
  assert.deepEqual(
    tokenAfterRead(cancelled.store, claim),
    { 'node-1': 1, 'node-2': 1 },
    'covered: replaced by the dot that covers it',
  );
  assert.equal(
    coversToken(cancelled.store, factClaim('booking:1', 1)),
    true,
    'a higher rank covers a lower claim',
  );
});

test('digest: same content gives the same digest whatever the order; diff names the differing bucket', () => {
  const keys = Array.from({ length: 40 }, (_, i) => `seat:${i}`);
  const { entries } = writes('node-1', keys);
  const forward = applyAll(emptyStore(), entries).store;
  const backward = applyAll(emptyStore(), [...entries].reverse()).store;
  assert.deepEqual(forward.digest, backward.digest);
  assert.equal(contentOf(forward), contentOf(backward));
  assert.deepEqual(diff(forward.digest, backward.digest), []);
  assert.equal(forward.digest.length, DIGEST_BUCKETS);
  const changed = write(backward, 'node-2', 'seat:7', 'x', 2000).store;
  assert.deepEqual(diff(forward.digest, changed.digest), [bucketOf('seat:7')]);
  assert.deepEqual(
    entriesInBuckets(changed, [bucketOf('seat:7')])
      .map((e) => e.key)
      .sort(),
    keys.filter((k) => bucketOf(k) === bucketOf('seat:7')).sort(),
  );
  // Only what the other has not seen, in differing buckets, is sent.
  assert.deepEqual(
    entriesFor(changed, forward.digest, forward.seen).map((e) => e.key),
    ['seat:7'],
  );
  assert.deepEqual(entriesFor(forward, changed.digest, changed.seen), []);
  assert.deepEqual(missingFor(changed, {}).length, 40);
});

test('seen: out-of-order dots wait in pending; absorbing a peer vector closes superseded gaps', () => {
  const { entries } = writes('node-1', ['a', 'b', 'c', 'a']); // seq 4 supersedes seq 1
  const [, second, third, fourth] = entries as [Entry, Entry, Entry, Entry];
  let s = applyAll(emptyStore(), [third, fourth]).store;
  assert.deepEqual({ ...s.seen }, {});
  assert.deepEqual(s.pending.get('node-1'), [3, 4]);
  s = apply(s, second).store;
  assert.deepEqual(s.pending.get('node-1'), [2, 3, 4]);
  assert.ok(!coversToken(s, { 'node-1': 2 }));
  // Seq 1 never arrives: it was superseded by seq 4. The origin's vector says all ≤ 4 were seen.
  s = absorbSeen(s, { 'node-1': 4 });
  assert.deepEqual({ ...s.seen }, { 'node-1': 4 });
  assert.equal(s.pending.size, 0);
  assert.ok(coversToken(s, { 'node-1': 4 }));
  assert.equal(absorbSeen(s, { 'node-1': 3 }), s, 'nothing new: the same store');
});

test('persisted entries and meta restore the same store', () => {
  const { entries } = writes('node-1', ['a', 'b', 'c']);
  let s = applyAll(emptyStore(), [entries[2] as Entry]).store;
  s = apply(s, write(emptyStore(), 'node-2', 'a', 'other', 99999).entry).store;
  s = applyAll(s, entries).store;
  const meta = JSON.parse(JSON.stringify(storeMeta(s))) as ReturnType<typeof storeMeta>;
  const restored = restoreStore(
    JSON.parse(JSON.stringify([...s.entries.values()])) as Entry[],
    meta,
  );
  assert.equal(contentOf(restored), contentOf(s));
  assert.deepEqual(restored.digest, s.digest);
  assert.deepEqual({ ...restored.seen }, { ...s.seen });
  assert.equal(restored.clockTs, 99999);
  assert.equal(restored.conflicts, s.conflicts);
  assert.equal(
    write(restored, 'node-1', 'd', 1, 0).entry.seq,
    4,
    'no sequence number is re-issued',
  );
});

test('entries from disk or peers are validated', () => {
  const good = write(emptyStore(), 'node-1', 'k', { seats: ['A1'] }, 10).entry;
  assert.ok(isEntry(JSON.parse(JSON.stringify(good))));
  for (const bad of [
    null,
    1,
    { ...good, key: '' },
    { ...good, seq: 0 },
    { ...good, ts: -1 },
    { ...good, version: { x: -1 } },
    { ...good, deleted: true },
    { ...good, value: undefined },
    { ...good, version: {} },
  ]) {
    assert.equal(isEntry(bad), false, JSON.stringify(bad));
  }
  assert.equal(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] }), '{"a":[{"c":2,"d":1}],"b":1}');
});

// ---------------------------------------------------------------------------------------------
// LWW order independence: every replica keeps the same winner, whatever the delivery order.

type Op =
  | { kind: 'write'; node: number; key: string; now: number; del: boolean; rank: number }
  | { kind: 'sync'; from: number; to: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('write' as const),
    node: fc.nat(2),
    key: fc.constantFrom('a', 'b', 'c'),
    now: fc.nat(40),
    del: fc.boolean(),
    rank: fc.nat(2),
  }),
  fc.record({ kind: fc.constant('sync' as const), from: fc.nat(2), to: fc.nat(2) }),
);

/**
 * Every entry written by a random history of three nodes that write and sync (clocks skewed, equal
 * ts happen; random ranks, so a write may be outranked by what its node holds).
 */
function historyEntries(ops: readonly Op[]): Entry[] {
  const stores = [emptyStore(), emptyStore(), emptyStore()];
  const all: Entry[] = [];
  ops.forEach((op, i) => {
    if (op.kind === 'write') {
      const r = write(
        stores[op.node] as ReplicaStore,
        `node-${op.node + 1}`,
        op.key,
        `${op.node}:${i}`,
        op.now,
        op.del,
        op.rank,
      );
      stores[op.node] = r.store;
      all.push(r.entry);
    } else {
      stores[op.to] = applyAll(stores[op.to] as ReplicaStore, [
        ...(stores[op.from] as ReplicaStore).entries.values(),
      ]).store;
    }
  });
  return all;
}

function replay(applyFn: ApplyFn, entries: readonly Entry[]): ReplicaStore {
  let s = emptyStore();
  for (const e of entries) s = applyFn(s, e).store;
  return s;
}

const historyAndOrders = fc
  .array(opArb, { minLength: 1, maxLength: 30 })
  .map(historyEntries)
  .chain((entries) =>
    fc.tuple(
      fc.constant(entries),
      fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length }),
      fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length }),
    ),
  );

function assertOrderIndependent(applyFn: ApplyFn, runs = 300): void {
  fc.assert(
    fc.property(historyAndOrders, ([entries, order1, order2]) => {
      const a = replay(applyFn, order1);
      const b = replay(applyFn, [...order2, ...order1]); // another order, with every entry delivered twice
      assert.equal(contentOf(a), contentOf(b));
      assert.deepEqual(a.digest, b.digest);
      assert.deepEqual({ ...a.seen }, { ...b.seen });
      // The winner of each key is the (rank, ts, origin) maximum of its writes.
      const later = (y: Entry, x: Entry) =>
        rankOf(y) > rankOf(x) || (rankOf(y) === rankOf(x) && lwwWins(y, x));
      for (const [key, kept] of a.entries.entries()) {
        const best = entries.filter((e) => e.key === key).reduce((x, y) => (later(y, x) ? y : x));
        assert.deepEqual([kept.origin, kept.seq], [best.origin, best.seq]);
      }
    }),
    { numRuns: runs },
  );
}

test('LWW: the same set of entries in any order, duplicated or not, gives the same store', () => {
  assertOrderIndependent(apply);
});

test('the property catches a tie-break by arrival order', () => {
  const arrivalOrderWins = createApply(() => true);
  assert.throws(() => assertOrderIndependent(arrivalOrderWins), /Property failed/);
});

// ---------------------------------------------------------------------------------------------
// Selections and their indexes

function bookings(): ReturnType<typeof emptyStore> {
  let s = emptyStore();
  const docs: [string, Record<string, string> | string][] = [
    ['booking:1:a', { userId: 'u1' }],
    ['booking:1:b', { userId: 'u2' }],
    ['booking:2:c', { userId: 'u1' }],
    ['hold:1:h', { userId: 'u1' }],
    ['movie:1', 'Alien'],
    ['booking:10:d', { userId: 'u2' }],
  ];
  for (const [i, [key, value]] of docs.entries())
    s = write(s, 'node-1', key, value, 1000 + i).store;
  return s;
}

const keysOf = (entries: readonly { key: string }[]) => entries.map((e) => e.key);

test('select: a key, the groups of a showtime, an owner, and a prefix that is not a group', () => {
  const s = bookings();
  assert.deepEqual(keysOf(select(s, { key: 'movie:1' })), ['movie:1']);
  assert.deepEqual(select(s, { key: 'movie:2' }), []);
  assert.deepEqual(
    keysOf(select(s, { prefixes: ['booking:1:', 'hold:1:'] })),
    ['booking:1:a', 'booking:1:b', 'hold:1:h'],
    'booking:10: is not in booking:1:',
  );
  assert.deepEqual(keysOf(select(s, { prefixes: ['booking:'], owner: 'u1' })), [
    'booking:1:a',
    'booking:2:c',
  ]);
  assert.deepEqual(
    keysOf(select(s, { prefixes: ['booking:1'] })),
    ['booking:10:d', 'booking:1:a', 'booking:1:b'],
    'scanned (key order)',
  );
  assert.deepEqual(
    keysOf(select(s, { prefixes: ['booking:', 'booking:1:'] })),
    ['booking:10:d', 'booking:1:a', 'booking:1:b', 'booking:2:c'],
    'each key once',
  );
  assert.deepEqual(groupsOf('a:b:c:d:e'), ['a:', 'a:b:', 'a:b:c:']);
});

test('select: the indexes follow new versions, and are rebuilt on restore', () => {
  let s = bookings();
  s = write(s, 'node-1', 'booking:1:a', { userId: 'u3' }, 2000).store;
  assert.deepEqual(keysOf(select(s, { prefixes: ['booking:'], owner: 'u1' })), ['booking:2:c']);
  assert.deepEqual(keysOf(select(s, { prefixes: ['booking:'], owner: 'u3' })), ['booking:1:a']);
  const restored = restoreStore([...s.entries.values()], storeMeta(s));
  for (const sel of [
    { prefixes: ['booking:1:'] },
    { prefixes: ['booking:'], owner: 'u2' },
    { prefixes: ['hold:'] },
  ]) {
    assert.deepEqual(select(restored, sel), select(s, sel));
  }
});

test('select returns what a scan of every entry would, for random stores', () => {
  const key = fc
    .tuple(
      fc.constantFrom('booking', 'hold', 'movie'),
      fc.integer({ min: 1, max: 12 }),
      fc.constantFrom('a', 'b', 'c', 'd'),
    )
    .map(([k, st, id]) => `${k}:${st}:${id}`);
  const doc = fc.record({ key, owner: fc.constantFrom('u1', 'u2', undefined) });
  fc.assert(
    fc.property(
      fc.array(doc, { maxLength: 60 }),
      fc.constantFrom('booking:', 'booking:1:', 'hold:1', 'movie:'),
      fc.constantFrom('u1', 'u2', undefined),
      (docs, prefix, owner) => {
        let s = emptyStore();
        for (const [i, d] of docs.entries())
          s = write(
            s,
            'node-1',
            d.key,
            d.owner === undefined ? 'x' : { userId: d.owner },
            1000 + i,
          ).store;
        const scan = [...s.entries.values()]
          .filter(
            (e) =>
              e.key.startsWith(prefix) &&
              (owner === undefined || (e.value as { userId?: string } | null)?.userId === owner),
          )
          .map((e) => e.key)
          .sort();
        assert.deepEqual(
          keysOf(
            select(s, owner === undefined ? { prefixes: [prefix] } : { prefixes: [prefix], owner }),
          ),
          scan,
        );
      },
    ),
  );
});

test('tokenAfterEntries: grows by the dots read; a claim the entries cover gives way to its dot', () => {
  const s = bookings();
  const [a] = select(s, { key: 'booking:1:a' });
  assert.deepEqual(tokenAfterEntries({ 'node-2': 3 }, [a!]), { 'node-2': 3, 'node-1': 1 });
  assert.deepEqual(tokenAfterEntries(factClaim('booking:1:a', 0), [a!]), { 'node-1': 1 });
  assert.deepEqual(
    tokenAfterEntries(factClaim('booking:1:a', 1), [a!]),
    { ...factClaim('booking:1:a', 1), 'node-1': 1 },
    'a higher rank is not covered',
  );
});

test('withCommitted: a committed fact stands in for an entry that is missing or behind it, never for one as far along', () => {
  const booked = write(emptyStore(), 'node-1', 'booking:1:a', 'confirmed', 1000, false, 1).entry;
  const cancelled = write(emptyStore(), 'node-2', 'booking:1:c', 'cancelled', 1000, false, 2).entry;
  const answer = [booked, cancelled];
  const merged = withCommitted(answer, [
    { key: 'booking:1:b', value: 'confirmed', rank: 1 }, // missing from the answer
    { key: 'booking:1:a', value: 'cancelled', rank: 2 }, // newer than the answer's
    { key: 'booking:1:c', value: 'confirmed', rank: 1 }, // older than the answer's: ignored
  ]);
  assert.deepEqual(
    merged.map((e) => [e.key, e.value, rankOf(e)]),
    [
      ['booking:1:a', 'cancelled', 2],
      ['booking:1:b', 'confirmed', 1],
      ['booking:1:c', 'cancelled', 2],
    ],
  );
  assert.ok(merged.every((e) => !e.deleted));
  assert.deepEqual(withCommitted(answer, []), answer);
});

// ---------------------------------------------------------------------------------------------
// Compaction

test('compact: a retired group leaves the store, its indexes and digest, and never comes back', () => {
  const s = bookings();
  const {
    store: c,
    removed,
    retired,
  } = compact(s, ['booking:1:', 'hold:1:', 'booking:', 'a:b:c:d:', 'booking:1']);
  assert.deepEqual(
    retired,
    ['booking:1:', 'hold:1:'],
    'only indexed groups at least two levels deep',
  );
  assert.deepEqual(keysOf(removed).sort(), ['booking:1:a', 'booking:1:b', 'hold:1:h']);
  assert.deepEqual(keysOf([...c.entries.values()]).sort(), [
    'booking:10:d',
    'booking:2:c',
    'movie:1',
  ]);
  assert.deepEqual(keysOf(select(c, { prefixes: ['booking:'], owner: 'u1' })), ['booking:2:c']);
  assert.deepEqual(select(c, { prefixes: ['booking:1:', 'hold:1:'] }), []);
  // The same digest as a store that never held them.
  const kept = [...s.entries.values()].filter((e) => !removed.includes(e));
  assert.deepEqual(c.digest, applyAll(emptyStore(), kept).store.digest);
  // A late write under a retired group counts as seen and is dropped; a local one is not kept either.
  const late = write(emptyStore(), 'node-2', 'booking:1:z', { userId: 'u1' }, 5000).entry;
  const r = apply(c, late);
  assert.equal(r.outcome, 'retired');
  assert.equal(r.changed, false);
  assert.equal(r.store.entries.has('booking:1:z'), false);
  assert.equal(hasSeen(r.store, 'node-2', 1), true);
  assert.equal(write(c, 'node-1', 'booking:1:a', { userId: 'u1' }, 6000).kept, false);
  assert.equal(isRetired(c, 'booking:10:d'), false);
  // A claim on a retired document is covered: the system of record holds it now.
  assert.equal(coversToken(c, factClaim('booking:1:q', 1)), true);
  assert.equal(compact(c, ['booking:1:']).store, c, 'retiring twice changes nothing');
});

test('compact: retired groups are persisted; rows left behind are skipped on restore', () => {
  const s = bookings();
  const { store: c } = compact(s, ['booking:1:']);
  const restored = restoreStore([...s.entries.values()], storeMeta(c));
  assert.equal(contentOf(restored), contentOf(c));
  assert.deepEqual(restored.digest, c.digest);
  assert.deepEqual([...restored.retired], ['booking:1:']);
  assert.deepEqual({ ...restored.seen }, { ...c.seen });
});

test('compaction commutes with delivery: retiring before, between or after the entries arrive ends in the same store', () => {
  const doc = fc.record({
    node: fc.constantFrom('node-1', 'node-2'),
    key: fc.constantFrom('booking:1:a', 'booking:1:b', 'booking:2:a', 'hold:1:a', 'movie:1'),
    rank: fc.nat(2),
    now: fc.nat(40),
  });
  const scenario = fc
    .array(doc, { minLength: 1, maxLength: 25 })
    .map((docs) => {
      const stores: Record<string, ReplicaStore> = {
        'node-1': emptyStore(),
        'node-2': emptyStore(),
      };
      return docs.map((d, i) => {
        const r = write(
          stores[d.node]!,
          d.node,
          d.key,
          { userId: `u${i % 2}`, i },
          d.now,
          false,
          d.rank,
        );
        stores[d.node] = r.store;
        return r.entry;
      });
    })
    .chain((entries) =>
      fc.tuple(
        fc.constant(entries),
        fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length }),
        fc.nat(entries.length),
        fc.subarray(['booking:1:', 'hold:1:', 'booking:2:']),
      ),
    );
  fc.assert(
    fc.property(scenario, ([entries, order, cut, groups]) => {
      const after = compact(applyAll(emptyStore(), entries).store, groups).store;
      const between = applyAll(
        compact(applyAll(emptyStore(), order.slice(0, cut)).store, groups).store,
        [...order.slice(cut), ...order],
      ).store;
      assert.equal(contentOf(between), contentOf(after));
      assert.deepEqual(between.digest, after.digest);
      assert.deepEqual({ ...between.seen }, { ...after.seen });
      for (const e of between.entries.values()) assert.equal(isRetired(between, e.key), false);
    }),
    { numRuns: 300 },
  );
});

test('restoreStore builds the same store, indexes and digest as applying the entries one by one', () => {
  const key = fc
    .tuple(
      fc.constantFrom('booking', 'hold', 'movie'),
      fc.integer({ min: 1, max: 6 }),
      fc.constantFrom('a', 'b', 'c'),
    )
    .map(([k, st, id]) => `${k}:${st}:${id}`);
  const doc = fc.record({ key, owner: fc.constantFrom('u1', 'u2', undefined), del: fc.boolean() });
  fc.assert(
    fc.property(fc.array(doc, { maxLength: 40 }), (docs) => {
      let s = emptyStore();
      for (const [i, d] of docs.entries())
        s = write(
          s,
          'node-1',
          d.key,
          d.owner === undefined ? 'x' : { userId: d.owner },
          1000 + i,
          d.del,
        ).store;
      const restored = restoreStore([...s.entries.values()], storeMeta(s));
      assert.equal(contentOf(restored), contentOf(s));
      assert.deepEqual(restored.digest, s.digest);
      assert.deepEqual(restored.hashes, s.hashes);
      for (const sel of [
        { prefixes: ['booking:1:', 'hold:1:'] },
        { prefixes: ['booking:'], owner: 'u1' },
        { prefixes: ['booking:'], owner: 'u2' },
        { prefixes: ['movie:'] },
      ]) {
        assert.deepEqual(select(restored, sel), select(s, sel));
      }
      assert.deepEqual([...restored.kinds].sort(), [...s.kinds].sort());
      assert.deepEqual([...restored.owners.keys()], [...s.owners.keys()]);
    }),
    { numRuns: 200 },
  );
});
