import { bookingKey, showtimePrefixes } from '../db/booking/facts';
import { createReplication } from '../core/replication';
import type { ReplicaState, ReplicationCore, ReplicationEvent } from '../core/replication/replication';
import { emptyStore, restoreStore, select, type Entry, type ReplicaStore, type Selection } from '../core/replication/store';
import { median } from '../harness/kit';
import type { ReplicationMode } from '../core/vocabulary';

/**
 * What a replica read costs as the replica grows: the part of a seat-map or my-bookings read that
 * depends on the replica's size, measured in one process on the replication core itself.
 *
 * Bulk path (documented in docs/benchmarks.md): SIZE booking documents are generated — 100 per
 * showtime (a busy 224-seat hall), 20 per user — and the store is built by `restoreStore`, what a
 * node does with its persisted replica at start. A seat-map read selects one showtime's
 * `booking:<id>:` and `hold:<id>:` groups (100 documents), a my-bookings read one user's
 * `booking:` documents (20). Per read: eventual and causal (a token the replica covers) answer
 * from the local store; strong steps the core of each mode over a 3-node cluster whose three
 * replicas are that same store (stores are immutable values, so sharing one is exact), delivering
 * messages in process until the answer — the protocol's whole CPU for the read, without HTTP.
 * Beside them, "scan": what every read cost before the indexes (a walk of every entry).
 */

export type ScaleRow = { size: number; read: 'seat map' | 'my bookings'; level: string; medianUs: number; returned: number };

const PER_SHOWTIME = 100;
const PER_USER = 20;
const NODES = ['node-1', 'node-2', 'node-3'];

const usersFor = (size: number) => Math.max(1, Math.ceil(size / PER_USER));
const showtimesFor = (size: number) => Math.max(1, Math.ceil(size / PER_SHOWTIME));

/** Booking i of a replica of `size`: showtimes fill up one after another, users are spread over them. */
function bookingEntry(i: number, size: number): Entry {
  const showtimeId = Math.floor(i / PER_SHOWTIME) + 1;
  const id = `b${i}`;
  const userId = `user-${i % usersFor(size)}`;
  return {
    key: bookingKey(showtimeId, id),
    value: { id, userId, showtimeId, seats: [`A${(i % PER_SHOWTIME) + 1}`], totalCents: 1200, status: 'confirmed', createdAt: '2026-12-01T20:00:00.000Z', cancelledAt: null, processedBy: NODES[i % 3]!, logicalClock: i, vectorClock: {} },
    deleted: false,
    version: { [NODES[i % 3]!]: Math.floor(i / 3) + 1 },
    ts: 1_700_000_000_000 + i,
    origin: NODES[i % 3]!,
    seq: Math.floor(i / 3) + 1,
    rank: 1,
  };
}

export function buildStore(size: number): ReplicaStore {
  function* entries() {
    for (let i = 0; i < size; i++) yield bookingEntry(i, size);
  }
  // The meta a node persists with its replica: every write of every origin seen (seqs are dense).
  const seen: Record<string, number> = {};
  for (let i = Math.max(0, size - NODES.length); i < size; i++) seen[NODES[i % 3]!] = Math.floor(i / 3) + 1;
  return size === 0 ? emptyStore() : restoreStore(entries(), { seen, pending: [], conflicts: 0, recentConflicts: [] });
}

/** A 3-node cluster of `mode` cores sharing `store`; `read` runs one strong read to its answer. */
export function strongReader(mode: ReplicationMode, store: ReplicaStore) {
  const cores = new Map<string, ReplicationCore>();
  const states = new Map<string, ReplicaState>();
  let pending: { to: string; event: ReplicationEvent }[] = [];
  const deliver = (from: string, result: ReturnType<ReplicationCore['step']>) => {
    for (const out of result.send) pending.push({ to: out.to, event: { type: 'message', now: 2, from, msg: out.msg } });
  };
  const drain = (until?: (id: string, result: ReturnType<ReplicationCore['step']>) => boolean) => {
    while (pending.length) {
      const batch = pending;
      pending = [];
      for (const { to, event } of batch) {
        const result = cores.get(to)!.step(states.get(to)!, event);
        states.set(to, result.state);
        deliver(to, result);
        if (until?.(to, result)) return;
      }
    }
  };
  for (const id of NODES) {
    const core = createReplication(mode, { readTimeoutMs: 60_000 });
    cores.set(id, core);
    states.set(id, { ...core.init(id, NODES), store });
    for (const e of [{ type: 'start', now: 1 }, { type: 'alive', now: 1, ids: NODES }, { type: 'leader', now: 1, leader: 'node-3', epoch: 1 }] as ReplicationEvent[]) {
      const result = core.step(states.get(id)!, e);
      states.set(id, result.state);
      deliver(id, result);
    }
  }
  drain(); // a master-slave master serves once it caught up from a majority
  let n = 0;
  return (selection: Selection): number => {
    const at = 'node-1'; // in master-slave a slave, which forwards to the master (node-3)
    const requestId = `r${n++}`;
    const event: ReplicationEvent = 'key' in selection
      ? { type: 'read', now: 3, requestId, key: selection.key, consistency: 'strong' }
      : { type: 'read', now: 3, requestId, range: selection, consistency: 'strong' };
    const first = cores.get(at)!.step(states.get(at)!, event);
    states.set(at, first.state);
    let returned = -1;
    const answered = (result: ReturnType<ReplicationCore['step']>) => {
      for (const e of result.effects) if (e.type === 'readResult' && e.requestId === requestId) returned = e.ok ? e.entries.length : -2;
      return returned !== -1;
    };
    if (!answered(first)) {
      deliver(at, first);
      drain((id, result) => id === at && answered(result));
    }
    pending = [];
    // Quorum reads stay after answering (to repair late repliers) until their timer: end them.
    const after = cores.get(at)!.step(states.get(at)!, { type: 'timer', now: 4, name: `read:${requestId}`, entropy: 0 });
    states.set(at, after.state);
    if (returned < 0) throw new Error(`${mode}: strong read failed`);
    return returned;
  };
}

function timeReads(reads: number, run: (i: number) => number): { medianUs: number; returned: number } {
  const samples: number[] = [];
  let returned = 0;
  for (let i = 0; i < reads; i++) {
    const t = process.hrtime.bigint();
    returned = run(i);
    samples.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  return { medianUs: median(samples), returned };
}

function scan(store: ReplicaStore, selection: Extract<Selection, { prefixes: readonly string[] }>): number {
  let n = 0;
  for (const e of store.entries.values()) {
    if (!selection.prefixes.some((p) => e.key.startsWith(p))) continue;
    if (selection.owner !== undefined && (e.value as { userId?: string } | null)?.userId !== selection.owner) continue;
    n += 1;
  }
  return n;
}

/**
 * Every size's store is built first; then ROUNDS rounds measure every size in turn (so each meets
 * the same moments of a shared machine, warm), and a row's figure is the median of its rounds' medians.
 */
export function measureReadsAtScale(sizes: readonly number[], reads: number, log: (msg: string) => void, rounds = 3): ScaleRow[] {
  const stores = sizes.map((size) => {
    const built = performance.now();
    const store = buildStore(size);
    log(`replica of ${size} bookings built in ${((performance.now() - built) / 1000).toFixed(1)} s`);
    return { size, store, readers: new Map((['multi-master', 'gossip', 'master-slave'] as const).map((m) => [m, strongReader(m, store)])) };
  });
  const cells = new Map<string, ScaleRow & { medians: number[] }>();
  const record = (row: ScaleRow) => {
    const id = `${row.size}|${row.read}|${row.level}`;
    const cell = cells.get(id) ?? { ...row, medians: [] };
    cell.medians.push(row.medianUs);
    cells.set(id, cell);
  };
  for (let round = 0; round < rounds; round++) {
    for (const { size, store, readers } of stores) {
      const showtimes = showtimesFor(size);
      const users = usersFor(size);
      const seatMap = (i: number): Selection => ({ prefixes: showtimePrefixes(((i + round * 31) * 7919) % showtimes + 1) });
      const mine = (i: number): Selection => ({ prefixes: ['booking:'], owner: `user-${((i + round * 31) * 7919) % users}` });
      for (const [read, selectionOf] of [['seat map', seatMap], ['my bookings', mine]] as const) {
        record({ size, read, level: 'eventual / causal', ...timeReads(reads, (i) => select(store, selectionOf(i)).length) });
        for (const [mode, strong] of readers) record({ size, read, level: `strong (${mode})`, ...timeReads(reads, (i) => strong(selectionOf(i))) });
        const scanReads = Math.max(3, Math.min(reads, Math.floor(2_000_000 / Math.max(1, size))));
        record({ size, read, level: 'scan (before the indexes)', ...timeReads(scanReads, (i) => scan(store, selectionOf(i) as Extract<Selection, { prefixes: readonly string[] }>)) });
      }
    }
    log(`round ${round + 1} of ${rounds} measured`);
  }
  return [...cells.values()].map(({ medians, ...row }) => ({ ...row, medianUs: median(medians) }));
}
