import type {
  BookingView, CompleteEvent, ConvergenceEvent, ElectionSample, FaultKind, HistoryEvent, MetaEvent, NemesisEvent, OpKind, OpStatus,
} from './history';
import {
  countAfter, indexLives, judgeEventualReads, judgeLinearizability, judgeStrongReads,
  type BookingLife, type HoldAttempt, type Read, type ReadCounts, type ReadFinding, type Truth,
} from './reads';
import type { Consistency } from '../core/vocabulary';

/**
 * The chaos checker: a pure function of the recorded history and a snapshot of the database taken
 * after the heal. It trusts neither the system's own reports nor the runner's memory — only what
 * clients were told (the history) and what PostgreSQL holds (the snapshot).
 */

export type DbSnapshot = {
  bookings: { id: string; userId: string; showtimeId: number; seats: string[]; status: 'confirmed' | 'cancelled' }[];
  /** Rows of booking_seats (the seats held by live bookings). */
  bookingSeats: { bookingId: string; showtimeId: number; seatId: string }[];
  /** Idempotency records: which booking each (user, key) produced. */
  idempotencyKeys: { userId: string; key: string; bookingId: string | null }[];
  elections: { epoch: number; leaderId: string }[];
  /** Each node's persisted replica: its booking documents, with the dot (origin, seq) of the write that made the version it holds. */
  replicas: { nodeId: string; bookings: { id: string; status: string; origin?: string; seq?: number }[] }[];
  /** Rows left in replication_outbox. */
  outbox: number;
};

export type InvariantName =
  | 'doubleSales' | 'lostBookings' | 'unexplainedBookings' | 'readYourWrites' | 'monotonicReads' | 'strongReads' | 'eventualReads'
  | 'notConverged' | 'twoLeaders';

export const INVARIANTS: readonly InvariantName[] = [
  'doubleSales', 'lostBookings', 'unexplainedBookings', 'readYourWrites', 'monotonicReads', 'strongReads', 'eventualReads', 'notConverged', 'twoLeaders',
];

export const INVARIANT_TITLES: Record<InvariantName, string> = {
  doubleSales: 'seats sold twice',
  lostBookings: 'acknowledged bookings missing or altered in the database',
  unexplainedBookings: 'bookings present that no request can explain',
  readYourWrites: 'read-your-writes violations (causal sessions)',
  monotonicReads: 'monotonic-read violations (causal sessions)',
  strongReads: 'strong reads missing an acknowledged write (or showing an unwritten one)',
  eventualReads: 'eventual reads showing an unwritten value, or stale after convergence',
  notConverged: 'replicas not converged after the heal bound',
  twoLeaders: 'two leaders in one epoch',
};

export type Violation = { invariant: InvariantName; message: string; detail?: Record<string, unknown> };

export type Availability = { ops: number; succeeded: number; share: number | null };

export type FaultWindow = {
  id: number; fault: FaultKind; targets: string[]; startT: number; stopT: number; detail?: Record<string, unknown>;
} & Availability;

export type Report = {
  /** Every invariant at 0, and the run was not vacuous. */
  ok: boolean;
  /** Set when the workload did too little for the checks to mean anything (e.g. nobody could sign up). */
  vacuous: string | null;
  seed: number | null;
  nodes: string[];
  durationMs: number | null;
  counts: Record<InvariantName, number>;
  violations: Violation[];
  /** Bookings in the database whose request timed out or broke (allowed: the client was never told either way). */
  ambiguousPresent: { bookingId: string; process: string; key: string }[];
  ambiguousAbsent: number;
  /**
   * Bookings cancelled in PostgreSQL that some node's replica still shows confirmed after the heal
   * (counted under notConverged), and how many causal-read violations concern those bookings.
   */
  lostCancellations: string[];
  violationsOnLostCancellations: Partial<Record<InvariantName, number>>;
  /**
   * Bookings whose booking or cancellation was acknowledged with a session token that covers
   * nothing the request did not already have (the write is not in the token), and how many
   * causal-read violations concern those bookings (those not already counted as about a lost cancellation).
   */
  uncoveredWrites: string[];
  violationsOnUncoveredWrites: Partial<Record<InvariantName, number>>;
  /** Per kind: outcomes, and latency of the acknowledged ones (ms, nearest rank). */
  operations: { total: number; byKind: Record<string, Record<OpStatus, number>>; latencyMs: Record<string, { p50: number; p99: number; max: number }> };
  bookings: { acknowledged: number; cancelledAcknowledged: number; inDatabase: number; confirmedInDatabase: number };
  errorsByCode: Record<string, number>;
  faults: { total: number; byKind: Partial<Record<FaultKind, number>>; nemesisErrors: number };
  availability: {
    overall: Availability;
    outsideFaults: Availability;
    duringFaults: Availability;
    byKind: Partial<Record<FaultKind, Availability>>;
    windows: FaultWindow[];
  };
  elections: { samples: number; epochsSeen: number; epochsInDatabase: number };
  /**
   * Strong and eventual reads judged (answered ones), refused (by reason) and unanswered, and how
   * many of the answered ones were made after the replicas converged; the linearizability of the
   * booking documents' strong reads (measured: docs/replication.md does not promise it).
   */
  reads: {
    strong: ReadCounts & { afterConvergence: number };
    eventual: ReadCounts & { afterConvergence: number };
    linearizability: { documents: number; nonLinearizable: number; findings: ReadFinding[] };
  };
  convergence: { checked: boolean; converged: boolean; waitedMs: number | null; boundMs: number | null };
};

/** At most this many violations of one invariant are listed (all are counted). */
const MAX_LISTED_PER_INVARIANT = 20;

type Op = {
  op: number;
  process: string;
  f: OpKind;
  invokeT: number;
  key?: string;
  consistency?: Consistency;
  args: Record<string, unknown>;
  token?: Record<string, number>;
  complete?: CompleteEvent;
};

/**
 * A request that got an answer is "succeeded" for availability when the answer was definite and
 * not a system error: 2xx, or a 4xx refusal (a 409 on a hot seat is the right answer). Timeouts,
 * broken connections and 5xx are unavailability.
 */
function succeeded(c: CompleteEvent): boolean {
  return c.status === 'ok' || (c.status === 'fail' && c.http !== undefined && c.http < 500);
}

function availabilityOf(ops: CompleteEvent[]): Availability {
  const good = ops.filter(succeeded).length;
  return { ops: ops.length, succeeded: good, share: ops.length ? good / ops.length : null };
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const strs = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

type AckedBooking = { id: string; process: string; showtimeId: number; seats: string[]; ackT: number; key?: string };
type Acked = AckedBooking & { ackToken?: Record<string, number> };

/**
 * Every booking document's writes: the acknowledged ones, and those in PostgreSQL (an ambiguous
 * request's, dated by its first attempt; one no run request made, at -∞).
 */
function bookingLives(
  snapshot: DbSnapshot, acked: Map<string, AckedBooking>, attemptsByKey: Map<string, Op[]>,
  keyOfBooking: Map<string, { userId: string; key: string }>, processOfUser: Map<string, string>,
  cancelInvokedT: Map<string, number>, cancelAckedT: Map<string, number>,
): BookingLife[] {
  const inDatabase = new Map(snapshot.bookings.map((b) => [b.id, b]));
  const firstAttemptT = (process: string | undefined, key: string | undefined) =>
    (process && key ? attemptsByKey.get(`${process}/${key}`)?.[0]?.invokeT : undefined) ?? -Infinity;
  const cancels = (id: string) => ({
    ...(cancelInvokedT.has(id) ? { cancelInvokedT: cancelInvokedT.get(id)! } : {}),
    ...(cancelAckedT.has(id) ? { cancelAckedT: cancelAckedT.get(id)! } : {}),
    cancelled: inDatabase.get(id)?.status === 'cancelled',
  });
  const lives: BookingLife[] = [...acked.values()].map((a) => ({
    id: a.id, process: a.process, showtimeId: a.showtimeId, seats: a.seats, createInvokedT: firstAttemptT(a.process, a.key), ackT: a.ackT, ...cancels(a.id),
  }));
  for (const b of snapshot.bookings) {
    if (acked.has(b.id)) continue;
    const process = processOfUser.get(b.userId);
    const key = keyOfBooking.get(b.id)?.key;
    lives.push({ id: b.id, ...(process ? { process } : {}), showtimeId: b.showtimeId, seats: b.seats, createInvokedT: firstAttemptT(process, key), ...cancels(b.id) });
  }
  return lives;
}

/** The reads of the history, with what they returned. */
function readsOf(ops: Op[]): Read[] {
  return ops.filter((o) => o.f === 'read-bookings' || o.f === 'read-seats').map((o) => {
    const c = o.complete;
    const showtimeId = Number(c?.value?.showtimeId ?? o.args.showtimeId);
    return {
      op: o.op, process: o.process, f: o.f as Read['f'], consistency: o.consistency ?? 'causal', invokeT: o.invokeT, completeT: c?.t ?? Infinity,
      status: c?.status ?? 'none',
      ...(c?.code ? { code: c.code } : {}), ...(c?.reason ? { reason: c.reason } : {}),
      ...(c?.servedBy ? { servedBy: c.servedBy } : {}), ...(c?.replicaServedBy ? { replicaServedBy: c.replicaServedBy } : {}),
      ...(o.f === 'read-seats' ? { showtimeId, booked: strs(c?.value?.booked), held: strs(c?.value?.held) } : {}),
      ...(o.f === 'read-bookings' ? { bookings: (Array.isArray(c?.value?.bookings) ? c.value.bookings : []) as BookingView[] } : {}),
    };
  });
}

function holdAttemptsOf(ops: Op[]): HoldAttempt[] {
  return ops.filter((o) => o.f === 'hold').map((o) => ({ showtimeId: Number(o.args.showtimeId), seats: strs(o.args.seats), invokeT: o.invokeT }));
}

/** PostgreSQL's bookings per run client and booked seats per showtime, after the run. */
function truthOf(snapshot: DbSnapshot, processOfUser: Map<string, string>): Truth {
  const truth: Truth = { bookingsOf: new Map(), bookedSeats: new Map() };
  for (const b of snapshot.bookings) {
    const process = processOfUser.get(b.userId);
    if (!process) continue;
    const mine = truth.bookingsOf.get(process) ?? new Map<string, BookingView[1]>();
    mine.set(b.id, b.status);
    truth.bookingsOf.set(process, mine);
  }
  for (const r of snapshot.bookingSeats) {
    const seats = truth.bookedSeats.get(r.showtimeId) ?? new Set<string>();
    seats.add(r.seatId);
    truth.bookedSeats.set(r.showtimeId, seats);
  }
  return truth;
}

type Detail = Record<string, unknown>;
type Violate = (invariant: InvariantName, message: string, detail?: Detail) => void;

/**
 * Where violations are counted (all) and listed (the first of each invariant), each also counted
 * against a lost cancellation or a write its token did not cover when it concerns one.
 */
function violationRecorder(snapshot: DbSnapshot, uncovered: Set<string>) {
  const violations: Violation[] = [];
  const counts = Object.fromEntries(INVARIANTS.map((k) => [k, 0])) as Record<InvariantName, number>;
  const cancelledInDatabase = new Set(snapshot.bookings.filter((b) => b.status === 'cancelled').map((b) => b.id));
  const lostCancellations = [...new Set(snapshot.replicas.flatMap((r) => r.bookings.filter((b) => b.status === 'confirmed' && cancelledInDatabase.has(b.id)).map((b) => b.id)))];
  const lostCancellationSet = new Set(lostCancellations);
  const violationsOnLostCancellations: Partial<Record<InvariantName, number>> = {};
  const violationsOnUncoveredWrites: Partial<Record<InvariantName, number>> = {};
  const violate: Violate = (invariant, message, detail) => {
    counts[invariant] += 1;
    if (typeof detail?.booking === 'string' && lostCancellationSet.has(detail.booking)) {
      violationsOnLostCancellations[invariant] = (violationsOnLostCancellations[invariant] ?? 0) + 1;
    } else if (typeof detail?.booking === 'string' && uncovered.has(detail.booking)) {
      violationsOnUncoveredWrites[invariant] = (violationsOnUncoveredWrites[invariant] ?? 0) + 1;
    }
    if (violations.filter((v) => v.invariant === invariant).length < MAX_LISTED_PER_INVARIANT) violations.push({ invariant, message, ...(detail ? { detail } : {}) });
  };
  return {
    violate, violations, counts, lostCancellations, violationsOnLostCancellations, violationsOnUncoveredWrites,
  };
}

type ReadVerdicts = {
  reads: Read[];
  convergedT: number | null;
  strong: ReturnType<typeof judgeStrongReads>;
  eventual: ReturnType<typeof judgeEventualReads>;
  linearizability: ReturnType<typeof judgeLinearizability>;
};

/** The history and the snapshot indexed once, for every invariant's check. */
type HistoryIndex = ReturnType<typeof indexHistory>;

/** The history's events by kind: operations (invocation and completion joined), faults, ... */
function eventsOf(history: readonly HistoryEvent[]) {
  const meta = history.find((e): e is MetaEvent => e.type === 'meta');
  const ops = new Map<number, Op>();
  const opsInOrder: Op[] = [];
  const nemesis: NemesisEvent[] = [];
  const samples: ElectionSample[] = [];
  let convergence: ConvergenceEvent | undefined;
  /** The first version of each status of each booking document seen in a replica during the run: the dot of the write that made it. */
  const firstVersion = new Map<string, { origin: string; seq: number }>();
  for (const e of history) {
    if (e.type === 'version' && !firstVersion.has(`${e.booking}/${e.status}`)) firstVersion.set(`${e.booking}/${e.status}`, { origin: e.origin, seq: e.seq });
    if (e.type === 'invoke') {
      const op: Op = {
        op: e.op, process: e.process, f: e.f, invokeT: e.t, args: e.args ?? {},
        ...(e.key ? { key: e.key } : {}), ...(e.consistency ? { consistency: e.consistency } : {}), ...(e.token ? { token: e.token } : {}),
      };
      ops.set(e.op, op);
      opsInOrder.push(op);
    } else if (e.type === 'complete') {
      const op = ops.get(e.op);
      if (op) op.complete = e;
    } else if (e.type === 'nemesis') {
      nemesis.push(e);
    } else if (e.type === 'election') {
      samples.push(e);
    } else if (e.type === 'convergence') {
      convergence = e;
    }
  }
  return { meta, opsInOrder, nemesis, samples, convergence, firstVersion };
}

type Completed = Op & { complete: CompleteEvent };
type Dot = { origin: string; seq: number };

/**
 * Acknowledged writes whose answer's session token does not cover the write. Where the dot of
 * the version this write made is known — seen during the run, or still held by a replica — it
 * says exactly; otherwise, the token must at least have advanced past the one sent.
 */
function uncoveredWrites(
  completed: Completed[], snapshot: DbSnapshot, firstVersion: Map<string, Dot>,
): Set<string> {
  const uncovered = new Set<string>();
  for (const r of snapshot.replicas) {
    for (const b of r.bookings) {
      if (b.origin !== undefined && b.seq !== undefined && !firstVersion.has(`${b.id}/${b.status}`)) firstVersion.set(`${b.id}/${b.status}`, { origin: b.origin, seq: b.seq });
    }
  }
  const advances = (sent: Record<string, number> | undefined, got: Record<string, number> | undefined) =>
    got !== undefined && Object.entries(got).some(([node, n]) => n > (sent?.[node] ?? 0));
  for (const o of completed) {
    if (o.complete.status !== 'ok' || (o.f !== 'book' && o.f !== 'cancel')) continue;
    const id = o.f === 'book' ? str(o.complete.value?.bookingId) : str(o.args.bookingId);
    if (!id) continue;
    const dot = firstVersion.get(`${id}/${o.f === 'book' ? 'confirmed' : 'cancelled'}`);
    const covered = dot ? (o.complete.token?.[dot.origin] ?? 0) >= dot.seq : advances(o.token, o.complete.token);
    if (!covered) uncovered.add(id);
  }
  return uncovered;
}

function indexHistory(history: readonly HistoryEvent[], snapshot: DbSnapshot) {
  const { meta, opsInOrder, nemesis, samples, convergence, firstVersion } = eventsOf(history);
  const completed = opsInOrder.filter((o): o is Completed => o.complete !== undefined);
  const uncovered = uncoveredWrites(completed, snapshot, firstVersion);
  const byProcess = new Map<string, Op[]>();
  for (const o of opsInOrder) {
    const list = byProcess.get(o.process) ?? [];
    list.push(o);
    byProcess.set(o.process, list);
  }

  const userOf = new Map<string, string>();
  for (const o of completed) {
    const userId = str(o.complete.value?.userId);
    if (o.f === 'signup' && o.complete.status === 'ok' && userId) userOf.set(o.process, userId);
  }
  const processOfUser = new Map([...userOf].map(([p, u]) => [u, p]));

  // Acknowledged bookings: the earliest acknowledgement of each booking id (retries replay the same id).
  const acked = new Map<string, Acked>();
  for (const o of completed) {
    if (o.f !== 'book' || o.complete.status !== 'ok') continue;
    const v = o.complete.value ?? {};
    const id = str(v.bookingId);
    if (!id) continue;
    const seen = acked.get(id);
    if (seen && seen.ackT <= o.complete.t) continue;
    acked.set(id, {
      id, process: o.process, showtimeId: Number(v.showtimeId), seats: strs(v.seats), ackT: o.complete.t,
      ...(o.key ? { key: o.key } : {}), ...(o.complete.token ? { ackToken: o.complete.token } : {}),
    });
  }
  // Cancels: any attempt that may have taken effect (ok or unknown); the earliest invocation bounds when.
  const cancelInvokedT = new Map<string, number>();
  const cancelAckedT = new Map<string, number>();
  for (const o of opsInOrder) {
    if (o.f !== 'cancel') continue;
    const id = str(o.args.bookingId);
    if (!id) continue;
    if (o.complete?.status === 'fail') continue;
    cancelInvokedT.set(id, Math.min(cancelInvokedT.get(id) ?? Infinity, o.invokeT));
    if (o.complete?.status === 'ok') cancelAckedT.set(id, Math.min(cancelAckedT.get(id) ?? Infinity, o.complete.t));
  }

  const liveSeatRows = new Map<string, Set<string>>();
  for (const r of snapshot.bookingSeats) {
    const set = liveSeatRows.get(r.bookingId) ?? new Set<string>();
    set.add(r.seatId);
    liveSeatRows.set(r.bookingId, set);
  }
  const keyOfBooking = new Map<string, { userId: string; key: string }>();
  for (const k of snapshot.idempotencyKeys) if (k.bookingId) keyOfBooking.set(k.bookingId, { userId: k.userId, key: k.key });
  const attemptsByKey = new Map<string, Op[]>();
  for (const o of opsInOrder) {
    if (o.f !== 'book' || !o.key) continue;
    const k = `${o.process}/${o.key}`;
    attemptsByKey.set(k, [...(attemptsByKey.get(k) ?? []), o]);
  }
  const dbBookings = new Map(snapshot.bookings.map((b) => [b.id, b]));
  return {
    meta, opsInOrder, completed, nemesis, samples, convergence, uncovered, byProcess,
    userOf, processOfUser,
    acked, cancelInvokedT, cancelAckedT, dbBookings, liveSeatRows, keyOfBooking, attemptsByKey,
  };
}

/** 1. No seat sold twice: in PostgreSQL, and between acknowledged bookings live at once. */
function checkDoubleSales(ix: HistoryIndex, snapshot: DbSnapshot, violate: Violate): void {
  const { acked, cancelInvokedT } = ix;
  // (a) PostgreSQL: a (showtime, seat) in booking_seats twice, or in two confirmed bookings.
  const seatRows = new Map<string, string[]>();
  for (const r of snapshot.bookingSeats) {
    const k = `${r.showtimeId}/${r.seatId}`;
    seatRows.set(k, [...(seatRows.get(k) ?? []), r.bookingId]);
  }
  for (const [seat, ids] of seatRows) if (ids.length > 1) violate('doubleSales', `seat ${seat} has ${ids.length} rows in booking_seats`, { seat, bookings: ids });
  const confirmedSeats = new Map<string, string[]>();
  for (const b of snapshot.bookings) {
    if (b.status !== 'confirmed') continue;
    for (const s of b.seats) {
      const k = `${b.showtimeId}/${s}`;
      confirmedSeats.set(k, [...(confirmedSeats.get(k) ?? []), b.id]);
    }
  }
  for (const [seat, ids] of confirmedSeats) {
    if (ids.length > 1 && (seatRows.get(seat)?.length ?? 0) <= 1) violate('doubleSales', `seat ${seat} belongs to ${ids.length} confirmed bookings`, { seat, bookings: ids });
  }
  // (b) The history: two acknowledged bookings of one seat whose lifetimes must have overlapped.
  // A booking lives from its commit (before its acknowledgement) until a cancel (after the cancel
  // was invoked). A may have ended before B began only if A's cancel was invoked before B was acknowledged.
  const ackedBySeat = new Map<string, Acked[]>();
  for (const a of acked.values()) {
    for (const s of a.seats) {
      const k = `${a.showtimeId}/${s}`;
      ackedBySeat.set(k, [...(ackedBySeat.get(k) ?? []), a]);
    }
  }
  for (const [seat, list] of ackedBySeat) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        const aMayEndFirst = (cancelInvokedT.get(a.id) ?? Infinity) < b.ackT;
        const bMayEndFirst = (cancelInvokedT.get(b.id) ?? Infinity) < a.ackT;
        if (!aMayEndFirst && !bMayEndFirst) {
          violate('doubleSales', `seat ${seat} was acknowledged to two bookings that were live at the same time`, {
            seat, bookings: [{ id: a.id, process: a.process, ackT: a.ackT }, { id: b.id, process: b.process, ackT: b.ackT }],
          });
        }
      }
    }
  }

}

/** 2. Every acknowledged booking (and cancellation) is in PostgreSQL as acknowledged. */
function checkLostBookings(ix: HistoryIndex, violate: Violate): void {
  const { acked, cancelInvokedT, cancelAckedT, dbBookings, liveSeatRows } = ix;
  for (const a of acked.values()) {
    const row = dbBookings.get(a.id);
    if (!row) {
      violate('lostBookings', `booking ${a.id} was acknowledged (201) to ${a.process} but is not in the database`, { ...a });
      continue;
    }
    if ([...row.seats].sort().join(',') !== [...a.seats].sort().join(',') || row.showtimeId !== a.showtimeId) {
      violate('lostBookings', `booking ${a.id} holds other seats in the database than acknowledged`, { acknowledged: a.seats, database: row.seats });
    }
    if (row.status === 'cancelled' && !cancelInvokedT.has(a.id)) {
      violate('lostBookings', `booking ${a.id} is cancelled in the database though nobody cancelled it`, { ...a });
    }
    if (row.status === 'confirmed') {
      const live = liveSeatRows.get(a.id) ?? new Set();
      const missing = row.seats.filter((s) => !live.has(s));
      if (missing.length) violate('lostBookings', `confirmed booking ${a.id} lost its seats in booking_seats`, { missing });
    }
    if (cancelAckedT.has(a.id) && row.status !== 'cancelled') {
      violate('lostBookings', `booking ${a.id}: its cancellation was acknowledged but it is still confirmed`, { ...a });
    }
  }

}

/** 3. A booking never acknowledged comes from a request whose outcome its client never learned. */
function checkUnexplainedBookings(
  ix: HistoryIndex, snapshot: DbSnapshot, violate: Violate,
): { ambiguousPresent: Report['ambiguousPresent']; ambiguousAbsent: number } {
  const { acked, processOfUser, keyOfBooking, attemptsByKey } = ix;
  // Each must come from a request whose outcome the client never learned (timeout, broken
  // connection, 5xx). Matched exactly through the idempotency record (user, key) → booking.
  const ambiguousPresent: Report['ambiguousPresent'] = [];
  const explainedKeys = new Set<string>();
  for (const b of snapshot.bookings) {
    const process = processOfUser.get(b.userId);
    if (!process) continue; // not a user of this run
    if (acked.has(b.id)) continue;
    const idem = keyOfBooking.get(b.id);
    const attempts = idem ? attemptsByKey.get(`${process}/${idem.key}`) ?? [] : [];
    if (!idem || attempts.length === 0) {
      violate('unexplainedBookings', `booking ${b.id} of ${process} matches no request in the history`, { booking: b });
      continue;
    }
    explainedKeys.add(`${process}/${idem.key}`);
    const okAttempt = attempts.find((o) => o.complete?.status === 'ok');
    if (okAttempt) {
      violate('unexplainedBookings', `request ${idem.key} of ${process} was acknowledged with booking ${str(okAttempt.complete!.value?.bookingId)} but made ${b.id}`, { booking: b });
    } else if (attempts.some((o) => o.complete === undefined || o.complete.status === 'info')) {
      ambiguousPresent.push({ bookingId: b.id, process, key: idem.key });
    } else {
      violate('unexplainedBookings', `booking ${b.id} exists though every attempt of request ${idem.key} was refused`, {
        booking: b, attempts: attempts.map((o) => ({ op: o.op, http: o.complete?.http, code: o.complete?.code })),
      });
    }
  }
  let ambiguousAbsent = 0;
  for (const [k, attempts] of attemptsByKey) {
    if (attempts.some((o) => o.complete?.status === 'ok')) continue;
    if (attempts.some((o) => o.complete === undefined || o.complete.status === 'info') && !explainedKeys.has(k)) ambiguousAbsent += 1;
  }

  return { ambiguousPresent, ambiguousAbsent };
}

/** 4. Causal sessions: read-your-writes and monotonic reads. */
function checkCausalSessions(ix: HistoryIndex, violate: Violate): void {
  const { byProcess, acked } = ix;
  // A session's token covers its own writes and everything it has read (at any level), so a
  // causal read must show every booking the session was told it made (cancelled if it was told
  // so), every booking it saw before (never going back from cancelled to confirmed), and the
  // seats of its live bookings as booked.
  for (const [process, list] of byProcess) {
    const mine = new Map<string, Acked>();
    const cancelledMine = new Set<string>();
    const cancelTouched = new Set<string>();
    const seen = new Map<string, { status: BookingView[1]; op: number; consistency: string }>();
    for (const o of list) {
      const c = o.complete;
      if (o.f === 'cancel') {
        const id = str(o.args.bookingId);
        if (id) cancelTouched.add(id);
      }
      if (!c) continue;
      if (o.f === 'book' && c.status === 'ok') {
        const id = str(c.value?.bookingId);
        const a = id ? acked.get(id) : undefined;
        if (a) mine.set(a.id, a);
      } else if (o.f === 'cancel' && c.status === 'ok') {
        const id = str(o.args.bookingId);
        if (id) cancelledMine.add(id);
      } else if (o.f === 'read-bookings' && c.status === 'ok') {
        const views = (Array.isArray(c.value?.bookings) ? c.value!.bookings : []) as BookingView[];
        const got = new Map(views.map(([id, status]) => [id, status]));
        if (o.consistency === 'causal') {
          for (const id of mine.keys()) {
            const status = got.get(id);
            if (status === undefined) {
              const a = mine.get(id)!;
              violate('readYourWrites', `${process}: causal read (op ${o.op}) misses its own acknowledged booking ${id}`, {
                op: o.op, booking: id, servedBy: c.servedBy, replicaServedBy: c.replicaServedBy, t: c.t, ackT: a.ackT, ackToken: a.ackToken, tokenSent: o.token, tokenReturned: c.token,
              });
            } else if (cancelledMine.has(id) && status !== 'cancelled') {
              violate('readYourWrites', `${process}: causal read (op ${o.op}) shows booking ${id} confirmed after its cancellation was acknowledged`, { op: o.op, booking: id, servedBy: c.servedBy, t: c.t });
            }
          }
          for (const [id, before] of seen) {
            const status = got.get(id);
            if (status === undefined) {
              violate('monotonicReads', `${process}: causal read (op ${o.op}) lost booking ${id}, seen by its earlier ${before.consistency} read (op ${before.op})`, { op: o.op, earlierOp: before.op, booking: id, servedBy: c.servedBy, replicaServedBy: c.replicaServedBy, t: c.t });
            } else if (before.status === 'cancelled' && status === 'confirmed') {
              violate('monotonicReads', `${process}: causal read (op ${o.op}) shows booking ${id} confirmed after an earlier read (op ${before.op}) saw it cancelled`, { op: o.op, earlierOp: before.op, booking: id });
            }
          }
        }
        for (const [id, status] of got) {
          const before = seen.get(id);
          if (!before || (before.status === 'confirmed' && status === 'cancelled')) seen.set(id, { status, op: o.op, consistency: o.consistency ?? '?' });
        }
      } else if (o.f === 'read-seats' && c.status === 'ok' && o.consistency === 'causal') {
        const showtimeId = Number(c.value?.showtimeId ?? o.args.showtimeId);
        const booked = new Set(strs(c.value?.booked));
        for (const a of mine.values()) {
          if (a.showtimeId !== showtimeId || cancelTouched.has(a.id)) continue;
          const missing = a.seats.filter((s) => !booked.has(s));
          if (missing.length) {
            violate('readYourWrites', `${process}: causal seat map (op ${o.op}) shows seats ${missing.join(', ')} of its own booking ${a.id} as not booked`, { op: o.op, booking: a.id, missing, servedBy: c.servedBy, t: c.t });
          }
        }
      }
    }
  }

}

/** 4b. Strong and eventual reads, and linearizability per document (chaos/reads.ts). */
function checkStrongAndEventualReads(
  ix: HistoryIndex, snapshot: DbSnapshot, violate: Violate,
): ReadVerdicts {
  const { acked, attemptsByKey, keyOfBooking, processOfUser } = ix;
  const { cancelInvokedT, cancelAckedT, opsInOrder, convergence } = ix;
  const lives = indexLives(bookingLives(snapshot, acked, attemptsByKey, keyOfBooking, processOfUser, cancelInvokedT, cancelAckedT));
  const reads = readsOf(opsInOrder);
  const holds = holdAttemptsOf(opsInOrder);
  const convergedT = convergence?.converged ? convergence.t : null;
  const strong = judgeStrongReads(reads, lives, holds);
  const eventual = judgeEventualReads(reads, lives, holds, convergedT === null ? null : { convergedT, truth: truthOf(snapshot, processOfUser) });
  for (const f of strong.findings) violate('strongReads', f.message, f.detail);
  for (const f of eventual.findings) violate('eventualReads', f.message, f.detail);
  const linearizability = judgeLinearizability(reads, lives);

  return { reads, convergedT, strong, eventual, linearizability };
}

/** 5. Every replica converged to PostgreSQL after the heal, nothing left unpublished; the nodes. */
function checkConvergence(ix: HistoryIndex, snapshot: DbSnapshot, violate: Violate): string[] {
  const { meta, convergence, dbBookings } = ix;
  if (!convergence) {
    violate('notConverged', 'the history has no convergence measurement after the heal');
  } else if (!convergence.converged) {
    violate('notConverged', `replicas had not converged ${convergence.waitedMs} ms after the heal (bound ${convergence.boundMs} ms)`, convergence.detail);
  }
  const expectedNodes = meta?.nodes ?? snapshot.replicas.map((r) => r.nodeId);
  for (const nodeId of expectedNodes) {
    const replica = snapshot.replicas.find((r) => r.nodeId === nodeId);
    if (!replica) {
      violate('notConverged', `${nodeId} has no replica in the database`);
      continue;
    }
    const docs = new Map(replica.bookings.map((b) => [b.id, b.status]));
    const missing = snapshot.bookings.filter((b) => !docs.has(b.id)).map((b) => b.id);
    const stale = snapshot.bookings.filter((b) => docs.has(b.id) && docs.get(b.id) !== b.status).map((b) => b.id);
    const extra = replica.bookings.filter((d) => !dbBookings.has(d.id)).map((d) => d.id);
    if (missing.length || stale.length || extra.length) {
      violate('notConverged', `${nodeId}'s replica differs from PostgreSQL: ${missing.length} bookings missing, ${stale.length} with another status, ${extra.length} unknown`, {
        node: nodeId, missing: missing.slice(0, 10), stale: stale.slice(0, 10), extra: extra.slice(0, 10),
      });
    }
  }
  if (snapshot.outbox > 0) violate('notConverged', `${snapshot.outbox} committed facts were never published (replication_outbox)`);

  return expectedNodes;
}

/** 6. At most one leader per epoch, reported and recorded; the epochs the elections table holds. */
function checkLeaders(
  ix: HistoryIndex, snapshot: DbSnapshot, violate: Violate,
): Map<number, Set<string>> {
  const { samples } = ix;
  const leadersByEpoch = new Map<number, Set<string>>();
  for (const s of samples) {
    if (s.leader === null || s.epoch <= 0) continue;
    const set = leadersByEpoch.get(s.epoch) ?? new Set<string>();
    set.add(s.leader);
    leadersByEpoch.set(s.epoch, set);
  }
  for (const [epoch, leaders] of leadersByEpoch) {
    if (leaders.size > 1) violate('twoLeaders', `epoch ${epoch} was reported with leaders ${[...leaders].join(' and ')}`, { epoch, leaders: [...leaders] });
  }
  const recorded = new Map<number, Set<string>>();
  for (const e of snapshot.elections) recorded.set(e.epoch, new Set([...(recorded.get(e.epoch) ?? []), e.leaderId]));
  for (const [epoch, leaders] of recorded) {
    if (leaders.size > 1) violate('twoLeaders', `the elections table records epoch ${epoch} for ${[...leaders].join(' and ')}`, { epoch });
    const reported = leadersByEpoch.get(epoch);
    const leader = [...leaders][0]!;
    for (const other of reported ?? []) {
      if (other !== leader) violate('twoLeaders', `a node reported ${other} as leader of epoch ${epoch}, which the elections table gives to ${leader}`, { epoch, reported: other, recorded: leader });
    }
  }
  for (const epoch of leadersByEpoch.keys()) {
    if (snapshot.elections.length && !recorded.has(epoch)) violate('twoLeaders', `a node reported a leader of epoch ${epoch}, which was never claimed in the elections table`, { epoch });
  }

  return recorded;
}

/** What the operations did: counts by kind and outcome, errors by code, latency of successes. */
function operationsOf(completed: HistoryIndex['completed']) {
  const byKind: Report['operations']['byKind'] = {};
  const errorsByCode: Record<string, number> = {};
  for (const o of completed) {
    const k = (byKind[o.f] ??= { ok: 0, fail: 0, info: 0 });
    k[o.complete.status] += 1;
    if (o.complete.status !== 'ok') {
      const code = o.complete.code ?? `HTTP_${o.complete.http ?? '?'}`;
      errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
    }
  }
  const latencyMs: Report['operations']['latencyMs'] = {};
  for (const f of Object.keys(byKind)) {
    const ms = completed.filter((o) => o.f === f && o.complete.status === 'ok').map((o) => o.complete.t - o.invokeT).sort((a, b) => a - b);
    if (!ms.length) continue;
    const rank = (p: number) => Math.round(ms[Math.min(ms.length - 1, Math.max(0, Math.ceil(p * ms.length) - 1))]!);
    latencyMs[f] = { p50: rank(0.5), p99: rank(0.99), max: Math.round(ms[ms.length - 1]!) };
  }
  return { byKind, errorsByCode, latencyMs };
}

/** The fault windows, and the clients' availability inside and outside them. */
function availabilityDuringFaults(history: readonly HistoryEvent[], ix: HistoryIndex) {
  const { nemesis, completed } = ix;
  const windows: FaultWindow[] = [];
  const starts = new Map<number, NemesisEvent>();
  const endT = history.reduce((max, e) => Math.max(max, e.t), 0); // not a spread: a long run has 10⁵+ events
  for (const e of nemesis) {
    if (e.phase === 'start') starts.set(e.id, e);
    if (e.phase === 'stop') {
      const s = starts.get(e.id);
      if (!s) continue;
      starts.delete(e.id);
      windows.push({ id: e.id, fault: s.fault, targets: s.targets ?? [], startT: s.t, stopT: e.t, ...(s.detail ? { detail: s.detail } : {}), ...availabilityOf([]) });
    }
  }
  // A window never closed (the run ended during it) lasts until the end of the history.
  for (const s of starts.values()) windows.push({ id: s.id, fault: s.fault, targets: s.targets ?? [], startT: s.t, stopT: endT, ...availabilityOf([]) });
  windows.sort((a, b) => a.startT - b.startT);
  const clientCompletions = completed.filter((o) => o.f !== 'signup').map((o) => o.complete);
  const inWindow = (c: CompleteEvent, w: FaultWindow) => c.t >= w.startT && c.t <= w.stopT;
  for (const w of windows) Object.assign(w, availabilityOf(clientCompletions.filter((c) => inWindow(c, w))));
  const during = clientCompletions.filter((c) => windows.some((w) => inWindow(c, w)));
  const outside = clientCompletions.filter((c) => !windows.some((w) => inWindow(c, w)));
  const availabilityByKind: Report['availability']['byKind'] = {};
  const faultCounts: Report['faults']['byKind'] = {};
  for (const kind of new Set(windows.map((w) => w.fault))) {
    const ws = windows.filter((w) => w.fault === kind);
    faultCounts[kind] = ws.length;
    availabilityByKind[kind] = availabilityOf(clientCompletions.filter((c) => ws.some((w) => inWindow(c, w))));
  }

  return { windows, clientCompletions, during, outside, availabilityByKind, faultCounts };
}

/** The run's bookings: acknowledged, and in PostgreSQL. */
function bookingCounts(ix: HistoryIndex, snapshot: DbSnapshot): Report['bookings'] {
  const { acked, cancelAckedT, processOfUser } = ix;
  const ofRun = snapshot.bookings.filter((b) => processOfUser.has(b.userId));
  return {
    acknowledged: acked.size,
    cancelledAcknowledged: [...cancelAckedT.keys()].filter((id) => acked.has(id)).length,
    inDatabase: ofRun.length,
    confirmedInDatabase: ofRun.filter((b) => b.status === 'confirmed').length,
  };
}

/** Every invariant over the history and the snapshot, one check each over a shared index. */
export function check(history: readonly HistoryEvent[], snapshot: DbSnapshot): Report {
  const ix = indexHistory(history, snapshot);
  const recorder = violationRecorder(snapshot, ix.uncovered);
  const { violate, violations, counts, lostCancellations } = recorder;
  const { violationsOnLostCancellations, violationsOnUncoveredWrites } = recorder;
  checkDoubleSales(ix, snapshot, violate);
  checkLostBookings(ix, violate);
  const { ambiguousPresent, ambiguousAbsent } = checkUnexplainedBookings(ix, snapshot, violate);
  checkCausalSessions(ix, violate);
  const verdicts = checkStrongAndEventualReads(ix, snapshot, violate);
  const { reads, convergedT, strong, eventual, linearizability } = verdicts;
  const expectedNodes = checkConvergence(ix, snapshot, violate);
  const recorded = checkLeaders(ix, snapshot, violate);
  const { byKind, errorsByCode, latencyMs } = operationsOf(ix.completed);
  const faults = availabilityDuringFaults(history, ix);
  const { windows, clientCompletions, during, outside, availabilityByKind, faultCounts } = faults;
  const { meta, completed, samples, userOf, acked } = ix;
  const { nemesis, convergence, uncovered } = ix;
  const epochsSeen = new Set(samples.filter((s) => s.epoch > 0).map((s) => s.epoch)).size;
  const causalReadsOk = completed.filter((o) => o.f === 'read-bookings' && o.consistency === 'causal' && o.complete.status === 'ok').length;
  const vacuous = userOf.size === 0
    ? 'no client could sign up'
    : acked.size === 0
      ? 'no booking was acknowledged'
      : causalReadsOk === 0 ? 'no causal read succeeded' : null;
  return {
    ok: INVARIANTS.every((k) => counts[k] === 0) && vacuous === null,
    vacuous,
    seed: meta?.seed ?? null,
    nodes: expectedNodes,
    durationMs: meta?.durationMs ?? null,
    counts,
    violations,
    ambiguousPresent,
    ambiguousAbsent,
    lostCancellations,
    violationsOnLostCancellations,
    uncoveredWrites: [...uncovered],
    violationsOnUncoveredWrites,
    operations: { total: completed.length, byKind, latencyMs },
    bookings: bookingCounts(ix, snapshot),
    errorsByCode: Object.fromEntries(Object.entries(errorsByCode).sort((a, b) => b[1] - a[1])),
    faults: { total: windows.length, byKind: faultCounts, nemesisErrors: nemesis.filter((e) => e.phase === 'error').length },
    availability: {
      overall: availabilityOf(clientCompletions),
      outsideFaults: availabilityOf(outside),
      duringFaults: availabilityOf(during),
      byKind: availabilityByKind,
      windows,
    },
    elections: { samples: samples.length, epochsSeen, epochsInDatabase: recorded.size },
    reads: {
      strong: { ...strong.counts, afterConvergence: countAfter(reads, 'strong', convergedT) },
      eventual: { ...eventual.counts, afterConvergence: countAfter(reads, 'eventual', convergedT) },
      linearizability: {
        documents: linearizability.documents,
        nonLinearizable: linearizability.findings.length,
        findings: linearizability.findings.slice(0, MAX_LISTED_PER_INVARIANT),
      },
    },
    convergence: {
      checked: convergence !== undefined,
      converged: convergence?.converged ?? false,
      waitedMs: convergence?.waitedMs ?? null,
      boundMs: convergence?.boundMs ?? null,
    },
  };
}

const MAX_PRINTED_PER_INVARIANT = 5;

const refusals = (c: ReadCounts) => Object.entries(c.refused).map(([why, n]) => `${why} ${n}`).join(', ') || 'none';

/** The strong/eventual read figures, one line each (also used by chaos/figures.ts). */
export function readLines(report: Report): string[] {
  const { strong, eventual, linearizability } = report.reads;
  return [
    `Strong reads: ${strong.checked} answered and judged (${strong.afterConvergence} after convergence), ${strong.violations} violations; refused ${refusals(strong)}; unanswered ${strong.unknown}`,
    `Eventual reads: ${eventual.checked} answered and judged (${eventual.afterConvergence} after convergence), ${eventual.violations} violations; refused ${refusals(eventual)}; unanswered ${eventual.unknown}`,
    `Linearizability of strong reads per booking (measured, not promised): ${linearizability.documents} documents, ${linearizability.nonLinearizable} not linearizable`,
  ];
}
const pct = (a: Availability) => (a.share === null ? '—' : `${(a.share * 100).toFixed(1)}% of ${a.ops}`);

/** The human summary. */
export function formatReport(report: Report): string {
  const lines: string[] = [];
  const verdict = report.ok
    ? 'PASS: every invariant holds'
    : INVARIANTS.some((k) => report.counts[k] > 0) ? 'FAIL: invariants broken' : `INCONCLUSIVE: ${report.vacuous}`;
  lines.push(`Chaos run${report.seed === null ? '' : ` seed ${report.seed}`}: ${report.nodes.length} nodes, ${report.durationMs === null ? '?' : (report.durationMs / 1000).toFixed(0)} s — ${verdict}`);
  lines.push('');
  lines.push('Invariants (each must be 0):');
  for (const k of INVARIANTS) lines.push(`  ${report.counts[k] === 0 ? 'ok  ' : 'FAIL'} ${String(report.counts[k]).padStart(5)}  ${INVARIANT_TITLES[k]}`);
  lines.push(`  info ${String(report.ambiguousPresent.length).padStart(5)}  bookings present but never acknowledged — ambiguous requests (timed out / broken), allowed`);
  lines.push(`  info ${String(report.ambiguousAbsent).padStart(5)}  ambiguous booking requests that did not take effect`);
  if (report.violations.length) {
    lines.push('');
    lines.push('Violations (the first few of each kind; all in the JSON summary):');
    for (const k of INVARIANTS) {
      const listed = report.violations.filter((v) => v.invariant === k);
      for (const v of listed.slice(0, MAX_PRINTED_PER_INVARIANT)) lines.push(`  [${k}] ${v.message}`);
      if (report.counts[k] > MAX_PRINTED_PER_INVARIANT) lines.push(`  [${k}] … ${report.counts[k] - MAX_PRINTED_PER_INVARIANT} more`);
    }
  }
  if (report.lostCancellations.length) {
    lines.push('');
    lines.push(`Cancellations lost in the replicas (cancelled in PostgreSQL, confirmed in a replica): ${report.lostCancellations.join(', ')}`);
    const on = Object.entries(report.violationsOnLostCancellations).map(([k, n]) => `${k} ${n}`).join(', ');
    if (on) lines.push(`  causal-read violations about these bookings: ${on}`);
  }
  const onUncovered = Object.entries(report.violationsOnUncoveredWrites).map(([k, n]) => `${k} ${n}`).join(', ');
  if (onUncovered) {
    lines.push('');
    lines.push(`Writes acknowledged with a session token that does not cover them: ${report.uncoveredWrites.length} bookings; causal-read violations about them: ${onUncovered}`);
  }
  if (report.ambiguousPresent.length) {
    lines.push('');
    lines.push('Present but unacknowledged (ambiguous):');
    for (const a of report.ambiguousPresent.slice(0, 20)) lines.push(`  ${a.bookingId} (${a.process}, Idempotency-Key ${a.key})`);
    if (report.ambiguousPresent.length > 20) lines.push(`  … and ${report.ambiguousPresent.length - 20} more`);
  }
  lines.push('');
  lines.push(`Operations: ${report.operations.total}`);
  for (const [f, c] of Object.entries(report.operations.byKind)) {
    const l = report.operations.latencyMs[f];
    lines.push(`  ${f.padEnd(14)} ok ${String(c.ok).padStart(6)}  fail ${String(c.fail).padStart(6)}  info ${String(c.info).padStart(5)}${l ? `   ok latency p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms` : ''}`);
  }
  lines.push(`Bookings: ${report.bookings.acknowledged} acknowledged (${report.bookings.cancelledAcknowledged} of them cancelled), ${report.bookings.inDatabase} in the database (${report.bookings.confirmedInDatabase} confirmed)`);
  lines.push(`Errors by code: ${Object.entries(report.errorsByCode).map(([c, n]) => `${c} ${n}`).join(', ') || 'none'}`);
  lines.push(`Faults: ${report.faults.total} — ${Object.entries(report.faults.byKind).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}${report.faults.nemesisErrors ? ` (${report.faults.nemesisErrors} nemesis actions failed)` : ''}`);
  lines.push(`Availability (answered without a system error): overall ${pct(report.availability.overall)}; no fault ${pct(report.availability.outsideFaults)}; during faults ${pct(report.availability.duringFaults)}`);
  for (const [k, a] of Object.entries(report.availability.byKind)) lines.push(`  during ${k.padEnd(17)} ${pct(a!)}`);
  for (const line of readLines(report)) lines.push(line);
  lines.push(`Elections: ${report.elections.samples} samples, ${report.elections.epochsSeen} epochs seen, ${report.elections.epochsInDatabase} claimed in the database`);
  lines.push(`Convergence after heal: ${report.convergence.checked ? (report.convergence.converged ? `converged in ${report.convergence.waitedMs} ms` : `NOT converged within ${report.convergence.boundMs} ms`) : 'not measured'}`);
  return lines.join('\n');
}
