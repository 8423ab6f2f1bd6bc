import type { BookingView, OpStatus } from './history';
import type { Consistency } from '../core/vocabulary';

/**
 * The chaos checker's judgement of strong and eventual reads: pure functions of the reads the
 * clients made and the lives of the bookings (when each was requested, acknowledged, cancelled),
 * all on the history's one time base (`t`, ms since the run started).
 *
 * - strong: an answer contains every booking acknowledged (201) before the read was invoked, shows
 *   cancelled what was acknowledged cancelled before it, and shows no seat booked whose every
 *   booking was acknowledged cancelled before it. A refusal (503) is a legal answer.
 * - eventual: an answer shows only what some request wrote (no unknown booking, no other user's,
 *   nothing before it was asked for); once the replicas converged after the heal, it shows
 *   exactly PostgreSQL's bookings.
 * - linearizability (measured, not promised: docs/replication.md): the strong reads of one booking
 *   document can be put in one order consistent with real time and its writes.
 */

export type Read = {
  op: number;
  process: string;
  f: 'read-bookings' | 'read-seats';
  consistency: Consistency;
  invokeT: number;
  /** Infinity when the read never completed. */
  completeT: number;
  status: OpStatus | 'none';
  code?: string;
  reason?: string;
  servedBy?: string;
  replicaServedBy?: string;
  showtimeId?: number;
  bookings?: BookingView[];
  booked?: string[];
  held?: string[];
};

/** One booking document's writes as the history and PostgreSQL know them. */
export type BookingLife = {
  id: string;
  /** The run's client whose user owns it; undefined for a booking no run user made. */
  process?: string;
  showtimeId: number;
  seats: string[];
  /** The first attempt of its request; -Infinity when no request of the run is known. */
  createInvokedT: number;
  /** The first 201. */
  ackT?: number;
  /** The first cancel that may have taken effect (answered ok, or unknown). */
  cancelInvokedT?: number;
  cancelAckedT?: number;
  /** Cancelled in PostgreSQL after the run. */
  cancelled: boolean;
};

export type HoldAttempt = { showtimeId: number; seats: string[]; invokeT: number };

export type ReadFinding = { message: string; detail: Record<string, unknown> };

export type ReadCounts = {
  /** Answered reads judged. */
  checked: number;
  /** Definite refusals (503 REPLICA_UNAVAILABLE and other 4xx/5xx with an answer), by reason or code. */
  refused: Record<string, number>;
  /** No answer (timeout, broken connection). */
  unknown: number;
  violations: number;
};

export type Lives = {
  byId: Map<string, BookingLife>;
  byProcess: Map<string, BookingLife[]>;
  byShowtime: Map<number, BookingLife[]>;
  bySeat: Map<string, BookingLife[]>;
};

const seatKey = (showtimeId: number, seat: string) => `${showtimeId}/${seat}`;
const before = (a: number | undefined, b: number) => a !== undefined && a < b;

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function indexLives(lives: Iterable<BookingLife>): Lives {
  const index: Lives = { byId: new Map(), byProcess: new Map(), byShowtime: new Map(), bySeat: new Map() };
  for (const life of lives) {
    index.byId.set(life.id, life);
    if (life.process) push(index.byProcess, life.process, life);
    push(index.byShowtime, life.showtimeId, life);
    for (const s of life.seats) push(index.bySeat, seatKey(life.showtimeId, s), life);
  }
  return index;
}

const where = (r: Read) => ({ op: r.op, process: r.process, invokeT: r.invokeT, completeT: r.completeT, servedBy: r.servedBy, replicaServedBy: r.replicaServedBy });

// ── Values no write produced (every level) ─────────────────────────────────────────────────────

/** A booking list may only show the reader's own bookings, requested before the read ended, cancelled only if someone asked. */
function unwrittenBookings(r: Read, lives: Lives): ReadFinding[] {
  const found: ReadFinding[] = [];
  for (const [id, status] of r.bookings ?? []) {
    const life = lives.byId.get(id);
    const why = !life
      ? 'that was never written (no request, not in PostgreSQL)'
      : life.process !== r.process
        ? `of another user (${life.process ?? 'not a run user'})`
        : life.createInvokedT >= r.completeT
          ? `before it was requested (t ${life.createInvokedT})`
          : status === 'cancelled' && !before(life.cancelInvokedT, r.completeT) ? 'as cancelled before anyone asked to cancel it' : null;
    if (why) found.push({ message: `${r.process}: ${r.consistency} read (op ${r.op}) shows booking ${id} ${why}`, detail: { ...where(r), booking: id, status } });
  }
  return found;
}

/** A seat map may show a seat booked only if some booking of it was requested before the read ended; held, only if some hold was. */
function unwrittenSeats(r: Read, lives: Lives, holds: HoldAttempt[]): ReadFinding[] {
  const found: ReadFinding[] = [];
  const showtimeId = r.showtimeId!;
  for (const seat of r.booked ?? []) {
    const owners = (lives.bySeat.get(seatKey(showtimeId, seat)) ?? []).filter((l) => l.createInvokedT < r.completeT);
    if (!owners.length) found.push({ message: `${r.process}: ${r.consistency} seat map (op ${r.op}) shows seat ${seat} booked, which no booking requested before the read ended`, detail: { ...where(r), showtimeId, seat } });
  }
  for (const seat of r.held ?? []) {
    const ok = holds.some((h) => h.showtimeId === showtimeId && h.invokeT < r.completeT && h.seats.includes(seat));
    if (!ok) found.push({ message: `${r.process}: ${r.consistency} seat map (op ${r.op}) shows seat ${seat} held, which no hold requested before the read ended`, detail: { ...where(r), showtimeId, seat } });
  }
  return found;
}

function unwritten(r: Read, lives: Lives, holds: HoldAttempt[]): ReadFinding[] {
  return r.f === 'read-bookings' ? unwrittenBookings(r, lives) : unwrittenSeats(r, lives, holds);
}

// ── Strong reads: every write acknowledged before the read began ─────────────────────────────

function strongBookingMisses(r: Read, lives: Lives): ReadFinding[] {
  const got = new Map(r.bookings ?? []);
  const found: ReadFinding[] = [];
  for (const life of lives.byProcess.get(r.process) ?? []) {
    if (!before(life.ackT, r.invokeT)) continue;
    const status = got.get(life.id);
    if (status === undefined) {
      found.push({ message: `${r.process}: strong read (op ${r.op}) misses booking ${life.id}, acknowledged at t ${life.ackT} before the read began at t ${r.invokeT}`, detail: { ...where(r), booking: life.id, ackT: life.ackT } });
    } else if (status === 'confirmed' && before(life.cancelAckedT, r.invokeT)) {
      found.push({ message: `${r.process}: strong read (op ${r.op}) shows booking ${life.id} confirmed, its cancellation acknowledged at t ${life.cancelAckedT} before the read began`, detail: { ...where(r), booking: life.id, cancelAckedT: life.cancelAckedT } });
    }
  }
  return found;
}

function strongSeatMisses(r: Read, lives: Lives): ReadFinding[] {
  const showtimeId = r.showtimeId!;
  const booked = new Set(r.booked ?? []);
  const found: ReadFinding[] = [];
  for (const life of lives.byShowtime.get(showtimeId) ?? []) {
    // A cancel in flight during the read may legally free the seats.
    if (!before(life.ackT, r.invokeT) || before(life.cancelInvokedT, r.completeT)) continue;
    const missing = life.seats.filter((s) => !booked.has(s));
    if (missing.length) {
      found.push({ message: `${r.process}: strong seat map (op ${r.op}) shows seats ${missing.join(', ')} of booking ${life.id} (acknowledged at t ${life.ackT}, before the read began at t ${r.invokeT}) as not booked`, detail: { ...where(r), booking: life.id, showtimeId, missing, ackT: life.ackT } });
    }
  }
  for (const seat of booked) {
    const owners = lives.bySeat.get(seatKey(showtimeId, seat)) ?? [];
    const live = owners.filter((l) => l.createInvokedT < r.completeT && !before(l.cancelAckedT, r.invokeT));
    if (owners.length && !live.length) {
      found.push({ message: `${r.process}: strong seat map (op ${r.op}) shows seat ${seat} booked, though every booking of it was acknowledged cancelled before the read began`, detail: { ...where(r), showtimeId, seat, bookings: owners.map((l) => l.id) } });
    }
  }
  return found;
}

function tally(reads: Read[], judge: (r: Read) => ReadFinding[]): { counts: ReadCounts; findings: ReadFinding[] } {
  const counts: ReadCounts = { checked: 0, refused: {}, unknown: 0, violations: 0 };
  const findings: ReadFinding[] = [];
  for (const r of reads) {
    if (r.status === 'ok') {
      counts.checked += 1;
      const f = judge(r);
      counts.violations += f.length;
      findings.push(...f);
    } else if (r.status === 'fail') {
      const why = r.reason ?? r.code ?? 'refused';
      counts.refused[why] = (counts.refused[why] ?? 0) + 1;
    } else {
      counts.unknown += 1;
    }
  }
  return { counts, findings };
}

/** Strong reads: answered ones judged; refusals and unanswered ones only counted (both legal). */
export function judgeStrongReads(reads: Read[], lives: Lives, holds: HoldAttempt[]) {
  const strong = reads.filter((r) => r.consistency === 'strong');
  return tally(strong, (r) => [
    ...(r.f === 'read-bookings' ? strongBookingMisses(r, lives) : strongSeatMisses(r, lives)),
    ...unwritten(r, lives, holds),
  ]);
}

/** PostgreSQL after the run, for reads made once the replicas had converged. */
export type Truth = { bookingsOf: Map<string, Map<string, BookingView[1]>>; bookedSeats: Map<number, Set<string>> };

/** After convergence every replica equals PostgreSQL, so an eventual read must show exactly its state. */
function staleAfterConvergence(r: Read, truth: Truth): ReadFinding[] {
  if (r.f === 'read-bookings') {
    const want = truth.bookingsOf.get(r.process) ?? new Map<string, BookingView[1]>();
    const got = new Map(r.bookings ?? []);
    const differ = [...new Set([...want.keys(), ...got.keys()])].filter((id) => want.get(id) !== got.get(id));
    return differ.length
      ? [{ message: `${r.process}: eventual read (op ${r.op}) after convergence differs from PostgreSQL on bookings ${differ.join(', ')}`, detail: { ...where(r), booking: differ[0], differ } }]
      : [];
  }
  const want = truth.bookedSeats.get(r.showtimeId!) ?? new Set<string>();
  const got = new Set(r.booked ?? []);
  const differ = [...new Set([...want, ...got])].filter((s) => want.has(s) !== got.has(s));
  return differ.length
    ? [{ message: `${r.process}: eventual seat map (op ${r.op}) after convergence differs from PostgreSQL on seats ${differ.join(', ')}`, detail: { ...where(r), showtimeId: r.showtimeId, differ } }]
    : [];
}

/**
 * Eventual reads: only written values, ever; and exactly PostgreSQL's state when invoked after
 * `convergedT` (the replicas converged and no client writes any more).
 */
export function judgeEventualReads(reads: Read[], lives: Lives, holds: HoldAttempt[], after: { convergedT: number; truth: Truth } | null) {
  const eventual = reads.filter((r) => r.consistency === 'eventual');
  return tally(eventual, (r) => [
    ...unwritten(r, lives, holds),
    ...(after && r.invokeT > after.convergedT ? staleAfterConvergence(r, after.truth) : []),
  ]);
}

export function countAfter(reads: Read[], consistency: Consistency, t: number | null): number {
  return t === null ? 0 : reads.filter((r) => r.consistency === consistency && r.status === 'ok' && r.invokeT > t).length;
}

// ── Linearizability of one booking document (Wing & Gong / Porcupine, specialised) ────────────

/**
 * What a strong read saw of one booking at some instant within [invokeT, completeT]:
 * absent, confirmed, cancelled (its owner's list), or not-confirmed (a seat map with one of its
 * seats not booked: absent or cancelled).
 */
export type Observation = { op: number; seen: 'absent' | 'confirmed' | 'cancelled' | 'not-confirmed'; invokeT: number; completeT: number };

/**
 * A booking document is a register that moves absent → confirmed → cancelled, each step once, so
 * the WGL search over orders collapses to choosing two instants: the creation's linearization
 * point pc within its request's interval and the cancellation's px > pc within its (∞ when it
 * never happened). Each observation constrains them:
 *   absent: pc > invokeT; confirmed: pc < completeT and px > invokeT; cancelled: px < completeT;
 *   not-confirmed: pc > invokeT or px < completeT.
 * The plain ones are bounds; for the disjunctions, the candidate points are just past each
 * not-confirmed read's invokeT (the larger pc, the more of them it satisfies; the rest need px early).
 */
export function linearizable(life: BookingLife, obs: Observation[]): boolean {
  const cancelled = life.cancelled;
  let loC = life.createInvokedT;
  let hiC = life.ackT ?? Infinity;
  let loX = cancelled ? life.cancelInvokedT ?? life.createInvokedT : Infinity;
  let hiX = cancelled ? life.cancelAckedT ?? Infinity : Infinity;
  const either: Observation[] = [];
  for (const o of obs) {
    if (o.seen === 'absent') loC = Math.max(loC, o.invokeT);
    else if (o.seen === 'confirmed') {
      hiC = Math.min(hiC, o.completeT);
      loX = Math.max(loX, o.invokeT);
    } else if (o.seen === 'cancelled') {
      if (!cancelled) return false;
      hiX = Math.min(hiX, o.completeT);
    } else either.push(o);
  }
  if (!(loC < hiC)) return false;
  either.sort((a, b) => a.invokeT - b.invokeT);
  // earliest[k]: the earliest completeT among either[k..] — px must precede it if pc does not pass them.
  const earliest = new Array<number>(either.length + 1).fill(Infinity);
  for (let k = either.length - 1; k >= 0; k--) earliest[k] = Math.min(either[k]!.completeT, earliest[k + 1]!);
  // pc just past t: satisfies every not-confirmed read invoked at or before t.
  const candidates = [loC, ...either.map((o) => o.invokeT).filter((t) => t > loC && t < hiC)];
  return candidates.some((t) => {
    const k = either.findIndex((o) => o.invokeT > t);
    const from = k < 0 ? either.length : k;
    // A cancellation that never happened is at ∞: every observation must be satisfied by pc.
    if (!cancelled) return from === either.length;
    return Math.max(loX, t) < Math.min(hiX, earliest[from]!);
  });
}

/** The strong reads' observations of each booking document. */
export function observationsOf(reads: Read[], lives: Lives): Map<string, Observation[]> {
  const obs = new Map<string, Observation[]>();
  for (const r of reads) {
    if (r.consistency !== 'strong' || r.status !== 'ok') continue;
    const at = { op: r.op, invokeT: r.invokeT, completeT: r.completeT };
    if (r.f === 'read-bookings') {
      const got = new Map(r.bookings ?? []);
      for (const life of lives.byProcess.get(r.process) ?? []) push(obs, life.id, { ...at, seen: got.get(life.id) ?? 'absent' });
    } else {
      const booked = new Set(r.booked ?? []);
      for (const life of lives.byShowtime.get(r.showtimeId!) ?? []) {
        if (life.seats.some((s) => !booked.has(s))) push(obs, life.id, { ...at, seen: 'not-confirmed' });
      }
    }
  }
  return obs;
}

/** Booking documents (of the run's requests) whose strong reads cannot be linearized. */
export function judgeLinearizability(reads: Read[], lives: Lives): { documents: number; findings: ReadFinding[] } {
  const obs = observationsOf(reads, lives);
  const findings: ReadFinding[] = [];
  let documents = 0;
  for (const [id, list] of obs) {
    const life = lives.byId.get(id)!;
    if (life.createInvokedT === -Infinity) continue;
    documents += 1;
    if (!linearizable(life, list)) {
      findings.push({ message: `booking ${id}: its ${list.length} strong observations cannot be put in one order with its writes`, detail: { booking: id, life, observations: list.slice(0, 20) } });
    }
  }
  return { documents, findings };
}
