/**
 * A checker of logical clocks over a recorded trace, for real nodes and the simulator alike.
 *
 * The trace is what each node recorded, in its own order (program order, across restarts): local
 * events, the clocked messages it sent (with the stamp they carried) and received (with the stamp
 * and its clock afterwards), and restores after a restart. The checker rebuilds the causal history
 * from the record alone — program order per node plus send → receive edges — and judges the
 * clocks against it:
 *
 * - Lamport: every receive is above its send's stamp; a node's clock never goes back and grows
 *   at every event, across restarts too.
 * - Vector: at every record the clock is exactly what the history implies (for each node j, the
 *   highest own counter of j's events with a path to it), which makes `compare` answer
 *   happens-before exactly when there is a path and concurrency exactly when there is none; pairs
 *   of events are then also compared directly against path reachability computed from the graph.
 *
 * Pure: no I/O, no clock reads; the pair sample comes from `seed`.
 */
import type { LogicalClock } from './clock-rules';
import { LOGICAL_START } from './clock-rules';
import {
  compare as compareClocks,
  dominates,
  entry,
  merge,
  type CausalOrder,
  type VectorClock,
} from './vector-clock';

type Base = { readonly node: string; readonly clock: LogicalClock };
export type LocalRecord = Base & { readonly kind: 'local' | 'restore' };
export type SendRecord = Base & {
  readonly kind: 'send';
  readonly id: string;
  readonly type: string;
  readonly to: string;
  readonly event: boolean;
};
export type ReceiveRecord = Base & {
  readonly kind: 'receive';
  readonly id: string;
  readonly type: string;
  readonly from: string;
  readonly effect: 'receive' | 'observe';
  readonly stamp: LogicalClock;
};
export type ClockTraceRecord = LocalRecord | SendRecord | ReceiveRecord;

export type ClockViolation = {
  readonly check: 'lamport' | 'vector' | 'trace';
  readonly detail: string;
};

export type ClockCheckReport = {
  readonly records: number;
  readonly events: number;
  readonly messagesSent: number;
  /** Receives matched to their send: the send → receive edges checked. */
  readonly messagesDelivered: number;
  readonly pairsChecked: number;
  readonly violationCount: number;
  /** The first `maxViolations` violations. */
  readonly violations: readonly ClockViolation[];
};

export type ClockCheckOptions = {
  readonly maxViolations?: number;
  /** Event pairs compared directly (all of them when there are fewer). */
  readonly samplePairs?: number;
  /**
   * Pairs are drawn at most this far apart in a causal order of the trace, where concurrency
   * occurs.
   */
  readonly pairSpan?: number;
  readonly seed?: number;
  /** The comparison under test (the real one by default). */
  readonly compare?: (a: VectorClock, b: VectorClock) => CausalOrder;
};

const DEFAULTS = { maxViolations: 20, samplePairs: 20_000, pairSpan: 400, seed: 1 };

function isEvent(r: ClockTraceRecord): boolean {
  return (
    r.kind === 'local' ||
    (r.kind === 'send' && r.event) ||
    (r.kind === 'receive' && r.effect === 'receive')
  );
}

function withEntry(v: VectorClock, key: string, value: number): VectorClock {
  return { ...v, [key]: value };
}

function show(v: VectorClock): string {
  return JSON.stringify(
    Object.fromEntries(
      Object.entries(v)
        .filter(([, n]) => n > 0)
        .sort(([a], [b]) => (a < b ? -1 : 1)),
    ),
  );
}

/** Deterministic pair sampling (mulberry32): the seed is an input, so the checker stays pure. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Check {
  readonly violations: ClockViolation[] = [];
  violationCount = 0;
  /**
   * Per record: the clock the history implies (own counters), and reach (events counted per node).
   */
  readonly knowledge: VectorClock[];
  readonly reach: VectorClock[];
  readonly eventNo: number[];
  readonly order: number[] = [];
  readonly sends = new Map<string, number>();
  readonly delivered = new Set<string>();
  private readonly last = new Map<string, number>();
  private readonly eventCount = new Map<string, number>();

  constructor(
    readonly records: readonly ClockTraceRecord[],
    readonly maxViolations: number,
  ) {
    this.knowledge = new Array<VectorClock>(records.length);
    this.reach = new Array<VectorClock>(records.length);
    this.eventNo = new Array<number>(records.length).fill(0);
  }

  fail(check: ClockViolation['check'], detail: string): void {
    this.violationCount += 1;
    if (this.violations.length < this.maxViolations) this.violations.push({ check, detail });
  }

  indexSends(): void {
    this.records.forEach((r, i) => {
      if (r.kind !== 'send') return;
      if (this.sends.has(r.id)) this.fail('trace', `message ${r.id} was sent twice`);
      else this.sends.set(r.id, i);
    });
  }

  /** Visit every record after its node's previous one and after the send it receives. */
  visitInCausalOrder(): void {
    const byNode = new Map<string, number[]>();
    this.records.forEach((r, i) => {
      const list = byNode.get(r.node);
      if (list) list.push(i);
      else byNode.set(r.node, [i]);
    });
    const lists = [...byNode.values()];
    const cursor = lists.map(() => 0);
    const visited = new Uint8Array(this.records.length);
    let remaining = this.records.length;
    while (remaining > 0) {
      let progress = false;
      lists.forEach((list, n) => {
        while (cursor[n]! < list.length) {
          const i = list[cursor[n]!]!;
          const r = this.records[i]!;
          const s = r.kind === 'receive' ? this.sends.get(r.id) : undefined;
          if (s !== undefined && visited[s] === 0) break;
          this.visit(i);
          visited[i] = 1;
          cursor[n]! += 1;
          remaining -= 1;
          progress = true;
        }
      });
      if (!progress) {
        this.fail(
          'trace',
          `${remaining} records wait on each other: a receive precedes its own send`,
        );
        return;
      }
    }
  }

  private visit(i: number): void {
    const r = this.records[i]!;
    const p = this.last.get(r.node);
    const before = p === undefined ? LOGICAL_START : this.records[p]!.clock;
    let k = p === undefined ? {} : this.knowledge[p]!;
    let reach = p === undefined ? {} : this.reach[p]!;
    if (r.kind === 'receive') [k, reach] = this.edge(r, k, reach);
    this.lamport(r, before);
    const own = entry(r.clock.vector, r.node);
    if (isEvent(r)) {
      if (own <= entry(before.vector, r.node))
        this.fail(
          'vector',
          `${r.node}: ${this.name(r)} did not count its own event ` +
            `(${show(before.vector)} → ${show(r.clock.vector)})`,
        );
      const n = (this.eventCount.get(r.node) ?? 0) + 1;
      this.eventCount.set(r.node, n);
      this.eventNo[i] = n;
      k = withEntry(k, r.node, own);
      reach = withEntry(reach, r.node, n);
    } else if (r.kind === 'restore') {
      if (!dominates(r.clock.vector, before.vector))
        this.fail(
          'vector',
          `${r.node}: the restore lost clock values ` +
            `(${show(before.vector)} → ${show(r.clock.vector)})`,
        );
      k = withEntry(k, r.node, Math.max(own, entry(k, r.node))); // skipped own counters are allowed
    }
    this.knowledge[i] = k;
    this.reach[i] = reach;
    this.last.set(r.node, i);
    this.order.push(i);
    if (compareClocks(r.clock.vector, k) !== 'equal')
      this.fail(
        'vector',
        `${r.node}: after ${this.name(r)} the vector clock is ${show(r.clock.vector)}, ` +
          `the history gives ${show(k)}`,
      );
  }

  private edge(r: ReceiveRecord, k: VectorClock, reach: VectorClock): [VectorClock, VectorClock] {
    const s = this.sends.get(r.id);
    if (s === undefined) {
      this.fail('trace', `${r.node} received ${r.id} (${r.type}), which no trace records as sent`);
      return [merge(k, r.stamp.vector), reach];
    }
    const sent = this.records[s] as SendRecord;
    if (this.delivered.has(r.id)) this.fail('trace', `${r.id} was delivered twice`);
    this.delivered.add(r.id);
    if (sent.to !== r.node || r.from !== sent.node || sent.type !== r.type)
      this.fail(
        'trace',
        `${r.id}: sent as ${sent.type} ${sent.node} → ${sent.to}, ` +
          `received as ${r.type} ${r.from} → ${r.node}`,
      );
    if (
      sent.clock.lamport !== r.stamp.lamport ||
      compareClocks(sent.clock.vector, r.stamp.vector) !== 'equal'
    ) {
      this.fail(
        'trace',
        `${r.id}: stamped L=${sent.clock.lamport} ${show(sent.clock.vector)} when sent, ` +
          `received with L=${r.stamp.lamport} ${show(r.stamp.vector)}`,
      );
    }
    return [merge(k, this.knowledge[s]!), merge(reach, this.reach[s]!)];
  }

  private lamport(r: ClockTraceRecord, before: LogicalClock): void {
    const now = r.clock.lamport;
    if (
      r.kind === 'receive' &&
      (r.effect === 'receive' ? now <= r.stamp.lamport : now < r.stamp.lamport)
    ) {
      this.fail(
        'lamport',
        `${r.node}: received ${r.id} (${r.type}) stamped L=${r.stamp.lamport} ` +
          `and then read L=${now}`,
      );
    }
    if (isEvent(r) ? now <= before.lamport : now < before.lamport)
      this.fail('lamport', `${r.node}: L went from ${before.lamport} to ${now} at ${this.name(r)}`);
  }

  private name(r: ClockTraceRecord): string {
    return r.kind === 'send' || r.kind === 'receive' ? `${r.kind} of ${r.id} (${r.type})` : r.kind;
  }

  /** Is event a an ancestor of event b in the graph? (Counted events per node, no clock values.) */
  path(a: number, b: number): boolean {
    return this.eventNo[a]! <= entry(this.reach[b]!, this.records[a]!.node);
  }
}

function checkPairs(
  c: Check,
  o: Required<Omit<ClockCheckOptions, 'compare'>> & {
    compare: NonNullable<ClockCheckOptions['compare']>;
  },
): number {
  const events = c.order.filter((i) => c.eventNo[i]! > 0 && c.knowledge[i] !== undefined);
  const n = events.length;
  if (n < 2) return 0;
  const all = (n * (n - 1)) / 2 <= o.samplePairs;
  const next = random(o.seed);
  let checked = 0;
  const judge = (x: number, y: number): void => {
    const a = events[x]!;
    const b = events[y]!;
    const truth: CausalOrder = c.path(a, b) ? 'before' : c.path(b, a) ? 'after' : 'concurrent';
    const [ra, rb] = [c.records[a]!, c.records[b]!];
    const said = o.compare(ra.clock.vector, rb.clock.vector);
    checked += 1;
    if (said !== truth)
      c.fail(
        'vector',
        `events ${ra.node} ${show(ra.clock.vector)} and ${rb.node} ${show(rb.clock.vector)}: ` +
          `the history says ${truth}, compare says ${said}`,
      );
  };
  if (all) {
    for (let x = 0; x < n; x++) for (let y = x + 1; y < n; y++) judge(x, y);
    return checked;
  }
  for (let k = 0; k < o.samplePairs; k++) {
    const x = Math.floor(next() * (n - 1));
    const y = x + 1 + Math.floor(next() * Math.min(o.pairSpan, n - 1 - x));
    judge(x, y);
  }
  return checked;
}

/** Check a trace; the report counts what was checked, so a test can refuse a vacuous pass. */
export function checkClockTrace(
  records: readonly ClockTraceRecord[],
  options: ClockCheckOptions = {},
): ClockCheckReport {
  const o = { ...DEFAULTS, compare: compareClocks, ...options };
  const c = new Check(records, o.maxViolations);
  c.indexSends();
  c.visitInCausalOrder();
  const pairsChecked = checkPairs(c, o);
  return {
    records: records.length,
    events: c.eventNo.filter((n) => n > 0).length,
    messagesSent: c.sends.size,
    messagesDelivered: c.delivered.size,
    pairsChecked,
    violationCount: c.violationCount,
    violations: c.violations,
  };
}
