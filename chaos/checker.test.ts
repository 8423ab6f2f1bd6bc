import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { check, formatReport, INVARIANTS, type DbSnapshot, type InvariantName } from './checker';
import { linearizable, type BookingLife } from './reads';
import { HistoryWriter, parseHistory, readHistory, type CompleteEvent, type HistoryEvent, type OpKind } from './history';
import type { Consistency } from '../core/vocabulary';

/** Hand-made histories: a tiny builder that keeps time and op numbers. */
function builder() {
  const events: HistoryEvent[] = [];
  let t = 0;
  let op = 0;
  const nodes = ['node-1', 'node-2', 'node-3'];
  events.push({ type: 'meta', t: 0, seed: 7, nodes, durationMs: 10_000, clients: 2, startedAt: '2030-01-01T00:00:00Z', showtimes: { hot: 1, warm: 2 } });
  function request(process: string, f: OpKind, outcome: Omit<CompleteEvent, 'type' | 't' | 'op' | 'process' | 'f'>, extra: { key?: string; consistency?: Consistency; args?: Record<string, unknown> } = {}) {
    const id = ++op;
    events.push({ type: 'invoke', t: (t += 10), op: id, process, f, ...extra });
    events.push({ type: 'complete', t: (t += 10), op: id, process, f, ...outcome });
    return id;
  }
  const b = {
    events,
    nodes,
    at: () => t,
    wait: (ms: number) => void (t += ms),
    signup: (process: string, userId: string) => request(process, 'signup', { status: 'ok', http: 201, value: { userId } }),
    book: (process: string, key: string, bookingId: string, seats: string[], showtimeId = 1) =>
      request(process, 'book', { status: 'ok', http: 201, value: { bookingId, showtimeId, seats, replayed: false } }, { key, args: { showtimeId, seats } }),
    bookRefused: (process: string, key: string, seats: string[], showtimeId = 1) =>
      request(process, 'book', { status: 'fail', http: 409, code: 'SEATS_UNAVAILABLE' }, { key, args: { showtimeId, seats } }),
    bookTimedOut: (process: string, key: string, seats: string[], showtimeId = 1) =>
      request(process, 'book', { status: 'info', code: 'TIMEOUT' }, { key, args: { showtimeId, seats } }),
    cancel: (process: string, bookingId: string) => request(process, 'cancel', { status: 'ok', http: 200, value: { bookingId, status: 'cancelled' } }, { args: { bookingId } }),
    readBookings: (process: string, bookings: [string, 'confirmed' | 'cancelled'][], consistency: Consistency = 'causal') =>
      request(process, 'read-bookings', { status: 'ok', http: 200, servedBy: 'node-2', value: { bookings } }, { consistency }),
    readSeats: (process: string, booked: string[], showtimeId = 1, consistency: Consistency = 'causal', held: string[] = []) =>
      request(process, 'read-seats', { status: 'ok', http: 200, value: { showtimeId, booked, held } }, { consistency, args: { showtimeId } }),
    /** A strong read refused: 503 REPLICA_UNAVAILABLE with its reason (a legal answer). */
    strongRefused: (process: string, f: 'read-bookings' | 'read-seats', reason: string) =>
      request(process, f, { status: 'fail', http: 503, code: 'REPLICA_UNAVAILABLE', reason }, { consistency: 'strong', ...(f === 'read-seats' ? { args: { showtimeId: 1 } } : {}) }),
    /** The two halves of a request, for requests that overlap in time. */
    begin: (process: string, f: OpKind, extra: { key?: string; consistency?: Consistency; args?: Record<string, unknown> } = {}) => {
      const id = ++op;
      events.push({ type: 'invoke', t: (t += 10), op: id, process, f, ...extra });
      return id;
    },
    end: (id: number, process: string, f: OpKind, outcome: Omit<CompleteEvent, 'type' | 't' | 'op' | 'process' | 'f'>) =>
      void events.push({ type: 'complete', t: (t += 10), op: id, process, f, ...outcome }),
    unavailable: (process: string) => request(process, 'read-bookings', { status: 'info', http: 503, code: 'REPLICA_UNAVAILABLE' }, { consistency: 'causal' }),
    election: (node: string, leader: string | null, epoch: number) => void events.push({ type: 'election', t: (t += 1), node, leader, epoch }),
    fault: (id: number, phase: 'start' | 'stop', fault: 'kill' | 'partition' = 'kill') => void events.push({ type: 'nemesis', t: (t += 1), phase, id, fault, targets: ['node-3'] }),
    converged: (converged = true) => void events.push({ type: 'convergence', t: (t += 1), converged, waitedMs: converged ? 800 : 30_000, boundMs: 30_000 }),
  };
  return b;
}

const U1 = 'user-1';
const U2 = 'user-2';

/** The database as it should be after `cleanHistory`. */
function cleanSnapshot(nodes: string[]): DbSnapshot {
  const bookings: DbSnapshot['bookings'] = [
    { id: 'b1', userId: U1, showtimeId: 1, seats: ['A1'], status: 'cancelled' },
    { id: 'b2', userId: U2, showtimeId: 1, seats: ['A1', 'A2'], status: 'confirmed' },
    { id: 'b3', userId: U1, showtimeId: 1, seats: ['A3'], status: 'confirmed' },
  ];
  return {
    bookings,
    bookingSeats: [
      { bookingId: 'b2', showtimeId: 1, seatId: 'A1' }, { bookingId: 'b2', showtimeId: 1, seatId: 'A2' }, { bookingId: 'b3', showtimeId: 1, seatId: 'A3' },
    ],
    idempotencyKeys: [
      { userId: U1, key: 'k1', bookingId: 'b1' }, { userId: U2, key: 'k2', bookingId: 'b2' }, { userId: U1, key: 'k3', bookingId: 'b3' },
    ],
    elections: [{ epoch: 1, leaderId: 'node-3' }, { epoch: 2, leaderId: 'node-2' }, { epoch: 3, leaderId: 'node-3' }],
    replicas: nodes.map((nodeId) => ({ nodeId, bookings: bookings.map((b) => ({ id: b.id, status: b.status })) })),
    outbox: 0,
  };
}

/**
 * Two sessions: c1 books A1, reads it, cancels it; c2 then books A1+A2 (a seat sold again only
 * after its cancellation); a killed leader, a 409, a timeout that never took effect, causal reads
 * that see everything they must, an election history with one leader per epoch, convergence
 * (left out with `converge: false`, for reads made during the run).
 */
function cleanHistory({ converge = true } = {}) {
  const h = builder();
  h.signup('c1', U1);
  h.signup('c2', U2);
  h.election('node-1', 'node-3', 1);
  h.book('c1', 'k1', 'b1', ['A1']);
  h.readBookings('c1', [['b1', 'confirmed']]);
  h.readSeats('c1', ['A1']);
  h.bookRefused('c2', 'kx', ['A1']);
  h.fault(1, 'start');
  h.unavailable('c2');
  h.election('node-1', 'node-2', 2);
  h.election('node-2', 'node-2', 2);
  h.cancel('c1', 'b1');
  h.readBookings('c1', [['b1', 'cancelled']], 'eventual');
  h.fault(1, 'stop');
  h.election('node-3', 'node-3', 3);
  h.book('c2', 'k2', 'b2', ['A1', 'A2']);
  h.bookTimedOut('c1', 'k4', ['A2']);
  h.book('c1', 'k3', 'b3', ['A3']);
  h.readBookings('c1', [['b3', 'confirmed'], ['b1', 'cancelled']]);
  h.readBookings('c2', [['b2', 'confirmed']]);
  h.readSeats('c2', ['A1', 'A2', 'A3']);
  if (converge) h.converged();
  return h;
}

function assertOnly(report: ReturnType<typeof check>, expected: Partial<Record<InvariantName, number | 'some'>>) {
  for (const k of INVARIANTS) {
    const want = expected[k] ?? 0;
    if (want === 'some') assert.ok(report.counts[k] > 0, `${k} should be reported: ${JSON.stringify(report.counts)}`);
    else assert.equal(report.counts[k], want, `${k}: ${JSON.stringify(report.violations)}`);
  }
  if (Object.values(expected).some((v) => v !== 0)) assert.equal(report.ok, false);
}

describe('chaos checker', () => {
  test('a clean history passes, with its operations, faults and availability counted', () => {
    const h = cleanHistory();
    const report = check(h.events, cleanSnapshot(h.nodes));
    assertOnly(report, {});
    assert.equal(report.ok, true);
    assert.equal(report.bookings.acknowledged, 3);
    assert.equal(report.bookings.cancelledAcknowledged, 1);
    assert.equal(report.ambiguousAbsent, 1, 'the timed-out booking k4 never took effect');
    assert.deepEqual(report.ambiguousPresent, []);
    assert.deepEqual(report.faults.byKind, { kill: 1 });
    // Inside the kill window: one 503 and one cancel (and the eventual read) → 2 of 3 succeeded.
    assert.deepEqual(report.availability.byKind.kill, { ops: 3, succeeded: 2, share: 2 / 3 });
    // Outside: everything answered except the timed-out booking k4.
    assert.deepEqual(report.availability.outsideFaults, { ops: 10, succeeded: 9, share: 0.9 });
    assert.equal(report.errorsByCode.SEATS_UNAVAILABLE, 1);
    assert.equal(report.errorsByCode.REPLICA_UNAVAILABLE, 1);
    assert.equal(report.convergence.converged, true);
    assert.match(formatReport(report), /PASS/);
  });

  test('a double sale is caught from the database and from the history', () => {
    const h = cleanHistory();
    // c1 is told it got A2 while c2's booking of A2 was live (never cancelled).
    h.book('c1', 'k5', 'b5', ['A2']);
    const snapshot = cleanSnapshot(h.nodes);
    snapshot.bookings.push({ id: 'b5', userId: U1, showtimeId: 1, seats: ['A2'], status: 'confirmed' });
    snapshot.bookingSeats.push({ bookingId: 'b5', showtimeId: 1, seatId: 'A2' });
    snapshot.idempotencyKeys.push({ userId: U1, key: 'k5', bookingId: 'b5' });
    for (const r of snapshot.replicas) r.bookings.push({ id: 'b5', status: 'confirmed' });
    const report = check(h.events, snapshot);
    assertOnly(report, { doubleSales: 2 }); // booking_seats twice + two live acknowledged bookings
    assert.equal(report.ok, false);
    assert.match(formatReport(report), /FAIL/);

    // The history alone: the database lost one of them, yet both clients were told "booked".
    const historyOnly = check(h.events, cleanSnapshot(h.nodes));
    assert.ok(historyOnly.counts.doubleSales >= 1);
    assert.ok(historyOnly.violations.some((v) => v.invariant === 'doubleSales' && /two bookings/.test(v.message)));

    // Two confirmed bookings holding one seat (their booking_seats rows gone) are caught too.
    const noRows = cleanSnapshot(h.nodes);
    noRows.bookings.push({ id: 'b9', userId: U2, showtimeId: 1, seats: ['A3'], status: 'confirmed' });
    assert.ok(check(cleanHistory().events, noRows).violations.some((v) => v.invariant === 'doubleSales' && /2 confirmed bookings/.test(v.message)));
  });

  test('an acknowledged booking missing from the database is a lost booking', () => {
    const h = cleanHistory();
    const snapshot = cleanSnapshot(h.nodes);
    snapshot.bookings = snapshot.bookings.filter((b) => b.id !== 'b3');
    snapshot.bookingSeats = snapshot.bookingSeats.filter((b) => b.bookingId !== 'b3');
    for (const r of snapshot.replicas) r.bookings = r.bookings.filter((b) => b.id !== 'b3');
    const report = check(h.events, snapshot);
    assertOnly(report, { lostBookings: 1 });
    assert.match(report.violations[0]!.message, /b3 was acknowledged/);

    // Cancelled in the database though nobody asked: lost as well.
    const cancelled = cleanSnapshot(h.nodes);
    cancelled.bookings.find((b) => b.id === 'b2')!.status = 'cancelled';
    cancelled.bookingSeats = cancelled.bookingSeats.filter((b) => b.bookingId !== 'b2');
    for (const r of cancelled.replicas) r.bookings.find((b) => b.id === 'b2')!.status = 'cancelled';
    assertOnly(check(h.events, cancelled), { lostBookings: 1 });
  });

  test('a stale causal read (its own booking missing after it was seen) breaks read-your-writes and monotonic reads', () => {
    const h = cleanHistory();
    h.readBookings('c1', []); // b1 and b3 vanish from c1's causal view
    const report = check(h.events, cleanSnapshot(h.nodes));
    assertOnly(report, { readYourWrites: 2, monotonicReads: 2 });
    assert.ok(report.violations.some((v) => /misses its own acknowledged booking b3/.test(v.message)));
  });

  test('a later read that sees fewer of the session\'s bookings than an earlier one breaks monotonic reads', () => {
    const h = builder();
    h.signup('c1', U1);
    h.bookTimedOut('c1', 'k1', ['A1']); // ambiguous: the session may or may not see it…
    h.readBookings('c1', [['b1', 'confirmed']], 'strong'); // …it does, once…
    h.readBookings('c1', []); // …then no longer.
    h.converged();
    const snapshot: DbSnapshot = {
      bookings: [{ id: 'b1', userId: U1, showtimeId: 1, seats: ['A1'], status: 'confirmed' }],
      bookingSeats: [{ bookingId: 'b1', showtimeId: 1, seatId: 'A1' }],
      idempotencyKeys: [{ userId: U1, key: 'k1', bookingId: 'b1' }],
      elections: [],
      replicas: h.nodes.map((nodeId) => ({ nodeId, bookings: [{ id: 'b1', status: 'confirmed' }] })),
      outbox: 0,
    };
    const report = check(h.events, snapshot);
    assertOnly(report, { monotonicReads: 1 });
    assert.deepEqual(report.ambiguousPresent, [{ bookingId: 'b1', process: 'c1', key: 'k1' }], 'the timed-out booking is listed, allowed');

    // Seen cancelled, then confirmed again: also going backwards.
    const back = builder();
    back.signup('c1', U1);
    back.bookTimedOut('c1', 'k1', ['A1']);
    back.readBookings('c1', [['b1', 'cancelled']]);
    back.readBookings('c1', [['b1', 'confirmed']]);
    back.converged();
    assert.equal(check(back.events, { ...snapshot, bookings: [{ ...snapshot.bookings[0]!, status: 'cancelled' }], bookingSeats: [], replicas: back.nodes.map((nodeId) => ({ nodeId, bookings: [{ id: 'b1', status: 'cancelled' }] })) }).counts.monotonicReads, 1);
  });

  test('a causal seat map that does not show the session\'s own booked seat breaks read-your-writes', () => {
    const h = cleanHistory();
    h.readSeats('c2', ['A1']); // c2 booked A1 and A2
    assertOnly(check(h.events, cleanSnapshot(h.nodes)), { readYourWrites: 1 });
  });

  test('a booking present though its request was refused is unexplained; a timed-out one is listed as ambiguous', () => {
    const h = cleanHistory();
    const snapshot = cleanSnapshot(h.nodes);
    // k4 timed out and did take effect: allowed, listed.
    snapshot.bookings.push({ id: 'b4', userId: U1, showtimeId: 1, seats: ['A4'], status: 'confirmed' });
    snapshot.bookingSeats.push({ bookingId: 'b4', showtimeId: 1, seatId: 'A4' });
    snapshot.idempotencyKeys.push({ userId: U1, key: 'k4', bookingId: 'b4' });
    // kx was refused with 409, yet a booking exists.
    snapshot.bookings.push({ id: 'bx', userId: U2, showtimeId: 1, seats: ['A5'], status: 'confirmed' });
    snapshot.bookingSeats.push({ bookingId: 'bx', showtimeId: 1, seatId: 'A5' });
    snapshot.idempotencyKeys.push({ userId: U2, key: 'kx', bookingId: 'bx' });
    for (const r of snapshot.replicas) r.bookings.push({ id: 'b4', status: 'confirmed' }, { id: 'bx', status: 'confirmed' });
    const report = check(h.events, snapshot);
    assertOnly(report, { unexplainedBookings: 1 });
    assert.deepEqual(report.ambiguousPresent, [{ bookingId: 'b4', process: 'c1', key: 'k4' }]);
    assert.equal(report.ambiguousAbsent, 0);
    assert.match(formatReport(report), /Present but unacknowledged/);
  });

  test('two leaders reported for one epoch, or a leader the elections table does not record, are caught', () => {
    const h = cleanHistory();
    h.election('node-1', 'node-1', 3);
    const report = check(h.events, cleanSnapshot(h.nodes));
    assert.ok(report.counts.twoLeaders >= 1);
    assert.ok(report.violations.some((v) => /epoch 3 was reported with leaders/.test(v.message)));
  });

  test('replicas that did not converge, differ from PostgreSQL or left facts in the outbox are reported', () => {
    const h = builder();
    h.converged(false);
    const snapshot = cleanSnapshot(h.nodes);
    snapshot.replicas[1]!.bookings.pop();
    snapshot.replicas = snapshot.replicas.slice(0, 2); // node-3 has no replica at all
    snapshot.outbox = 2;
    snapshot.elections = [];
    const report = check(h.events, snapshot);
    assertOnly(report, { notConverged: 4 });
  });

  test('a cancellation lost in the replicas fails convergence, and the stale reads it causes are attributed to it', () => {
    const h = builder();
    h.signup('c1', U1);
    h.book('c1', 'k1', 'b1', ['A1']);
    h.cancel('c1', 'b1');
    h.readBookings('c1', [['b1', 'cancelled']]);
    h.converged();
    h.readBookings('c1', [['b1', 'confirmed']]); // the replicas went back to the stale fact
    const snapshot: DbSnapshot = {
      bookings: [{ id: 'b1', userId: U1, showtimeId: 1, seats: ['A1'], status: 'cancelled' }],
      bookingSeats: [],
      idempotencyKeys: [{ userId: U1, key: 'k1', bookingId: 'b1' }],
      elections: [],
      replicas: h.nodes.map((nodeId) => ({ nodeId, bookings: [{ id: 'b1', status: 'confirmed' }] })),
      outbox: 0,
    };
    const report = check(h.events, snapshot);
    assertOnly(report, { readYourWrites: 1, monotonicReads: 1, notConverged: 3 });
    assert.deepEqual(report.lostCancellations, ['b1']);
    assert.deepEqual(report.violationsOnLostCancellations, { readYourWrites: 1, monotonicReads: 1 });
    assert.match(formatReport(report), /Cancellations lost in the replicas/);
  });

  test('a write acknowledged with a token that does not cover it is named, and the stale read it allows attributed to it', () => {
    const events: HistoryEvent[] = [
      { type: 'meta', t: 0, seed: 1, nodes: ['node-1'], durationMs: 1, clients: 1, startedAt: '', showtimes: { hot: 1, warm: 2 } },
      { type: 'invoke', t: 1, op: 1, process: 'c1', f: 'signup' },
      { type: 'complete', t: 2, op: 1, process: 'c1', f: 'signup', status: 'ok', http: 201, value: { userId: U1 }, token: { 'node-1': 3 } },
      { type: 'invoke', t: 3, op: 2, process: 'c1', f: 'book', key: 'k1', token: { 'node-1': 3 }, args: { showtimeId: 1, seats: ['A1'] } },
      // The answer's token is the one sent: the booking is not in it.
      { type: 'complete', t: 4, op: 2, process: 'c1', f: 'book', status: 'ok', http: 201, value: { bookingId: 'b1', showtimeId: 1, seats: ['A1'] }, token: { 'node-1': 3 } },
      { type: 'invoke', t: 5, op: 3, process: 'c1', f: 'read-bookings', consistency: 'causal', token: { 'node-1': 3 } },
      { type: 'complete', t: 6, op: 3, process: 'c1', f: 'read-bookings', status: 'ok', http: 200, value: { bookings: [] }, token: { 'node-1': 3 } },
      { type: 'convergence', t: 7, converged: true, waitedMs: 1, boundMs: 1 },
    ];
    // The database after the run: b1 booked, and node-1's replica holding it (with `dot`, if known).
    const booked = (dot?: { origin: string; seq: number }): DbSnapshot => ({
      bookings: [{ id: 'b1', userId: U1, showtimeId: 1, seats: ['A1'], status: 'confirmed' }],
      bookingSeats: [{ bookingId: 'b1', showtimeId: 1, seatId: 'A1' }],
      idempotencyKeys: [{ userId: U1, key: 'k1', bookingId: 'b1' }],
      elections: [],
      replicas: [{ nodeId: 'node-1', bookings: [{ id: 'b1', status: 'confirmed', ...dot }] }],
      outbox: 0,
    });
    const report = check(events, booked());
    assertOnly(report, { readYourWrites: 1 });
    assert.deepEqual(report.uncoveredWrites, ['b1']);
    assert.deepEqual(report.violationsOnUncoveredWrites, { readYourWrites: 1 });
    assert.match(formatReport(report), /session token that does not cover them/);
    // With the write's dot known from a replica, the token is judged exactly: an answer token that
    // advanced (node-1: 4) but not to the booking's own dot (node-1: 5) does not cover it…
    const withDot = (ackToken: Record<string, number>) => check(
      events.map((e) => (e.type === 'complete' && e.op === 2 ? { ...e, token: ackToken } : e.type === 'invoke' && e.op === 3 ? { ...e, token: ackToken } : e)),
      booked({ origin: 'node-1', seq: 5 }),
    );
    assert.deepEqual(withDot({ 'node-1': 4 }).violationsOnUncoveredWrites, { readYourWrites: 1 });
    // …while a token that did cover it leaves the stale read unexplained: a replica served a token it had not seen.
    const covered = withDot({ 'node-1': 5 });
    assert.equal(covered.counts.readYourWrites, 1);
    assert.deepEqual(covered.violationsOnUncoveredWrites, {});
    assert.deepEqual(covered.uncoveredWrites, []);
    // A version seen during the run names the dot too (here a write forwarded to node-2): the
    // answer token advanced node-1's counter, not node-2's, so it did not cover the booking.
    const forwarded = check(
      [
        ...events.slice(0, -1).map((e) => (e.type === 'complete' && e.op === 2 ? { ...e, token: { 'node-1': 4 } } : e)),
        { type: 'version', t: 4.5, booking: 'b1', status: 'confirmed', origin: 'node-2', seq: 9 },
        events[events.length - 1]!,
      ],
      booked(),
    );
    assert.deepEqual(forwarded.violationsOnUncoveredWrites, { readYourWrites: 1 });
    // Without a violation nothing is attributed.
    assert.deepEqual(check(cleanHistory().events, cleanSnapshot(['node-1', 'node-2', 'node-3'])).violationsOnUncoveredWrites, {});
  });

  test('strong reads that see every acknowledged write, and refused ones, pass and are counted', () => {
    const h = cleanHistory();
    h.readBookings('c1', [['b3', 'confirmed'], ['b1', 'cancelled']], 'strong');
    h.readSeats('c1', ['A1', 'A2', 'A3'], 1, 'strong');
    h.strongRefused('c2', 'read-seats', 'no-quorum');
    h.strongRefused('c1', 'read-bookings', 'timeout');
    const report = check(h.events, cleanSnapshot(h.nodes));
    assertOnly(report, {});
    assert.equal(report.ok, true);
    assert.equal(report.reads.strong.checked, 2);
    assert.deepEqual(report.reads.strong.refused, { 'no-quorum': 1, timeout: 1 });
    assert.equal(report.reads.strong.violations, 0);
    assert.equal(report.reads.linearizability.nonLinearizable, 0);
    assert.match(formatReport(report), /Strong reads: 2 answered and judged/);
  });

  test('a strong read that misses a booking acknowledged before it began breaks strongReads', () => {
    // Another client's seat map without c1's b3 (A3, acknowledged before the read), and c1's own list without it.
    const seats = cleanHistory();
    seats.readSeats('c2', ['A1', 'A2'], 1, 'strong');
    const bySeats = check(seats.events, cleanSnapshot(seats.nodes));
    assertOnly(bySeats, { strongReads: 1 });
    assert.match(bySeats.violations[0]!.message, /strong seat map .* seats A3 of booking b3/);
    assert.equal(bySeats.reads.strong.violations, 1);

    const list = cleanHistory();
    list.readBookings('c1', [['b1', 'cancelled']], 'strong');
    const byList = check(list.events, cleanSnapshot(list.nodes));
    assertOnly(byList, { strongReads: 1 });
    assert.match(byList.violations[0]!.message, /strong read .* misses booking b3/);
    assert.equal(byList.reads.linearizability.nonLinearizable, 1, 'b3 was seen by c1\'s causal read only; its strong read after the 201 cannot be ordered');
  });

  test('a strong read that shows confirmed what was acknowledged cancelled before it began breaks strongReads', () => {
    const list = cleanHistory();
    list.readBookings('c1', [['b3', 'confirmed'], ['b1', 'confirmed']], 'strong');
    assertOnly(check(list.events, cleanSnapshot(list.nodes)), { strongReads: 1 });
    // A seat booked only by b1, cancelled (acknowledged) long before: nothing can explain it.
    const seats = cleanHistory();
    const snapshot = cleanSnapshot(seats.nodes);
    seats.readSeats('c2', ['A1', 'A2', 'A3'], 1, 'strong');
    assertOnly(check(seats.events, snapshot), {});
    const h = builder();
    h.signup('c1', U1);
    h.book('c1', 'k1', 'b1', ['A1']);
    h.cancel('c1', 'b1');
    h.readSeats('c1', ['A1'], 1, 'strong');
    h.converged();
    const cancelled: DbSnapshot = {
      bookings: [{ id: 'b1', userId: U1, showtimeId: 1, seats: ['A1'], status: 'cancelled' }], bookingSeats: [],
      idempotencyKeys: [{ userId: U1, key: 'k1', bookingId: 'b1' }], elections: [],
      replicas: h.nodes.map((nodeId) => ({ nodeId, bookings: [{ id: 'b1', status: 'cancelled' }] })), outbox: 0,
    };
    const report = check(h.events, cancelled);
    assertOnly(report, { strongReads: 1 });
    assert.match(report.violations[0]!.message, /seat A1 booked, though every booking of it was acknowledged cancelled/);
  });

  test('a strong read that began before the write was acknowledged may miss it (concurrent)', () => {
    const h = cleanHistory();
    const snapshot = cleanSnapshot(h.nodes);
    // c2 books A4 (b4); c1's strong seat map and c2's own strong list begin before the 201.
    const book = h.begin('c2', 'book', { key: 'k4b', args: { showtimeId: 1, seats: ['A4'] } });
    const map = h.begin('c1', 'read-seats', { consistency: 'strong', args: { showtimeId: 1 } });
    const list = h.begin('c2', 'read-bookings', { consistency: 'strong' });
    h.end(book, 'c2', 'book', { status: 'ok', http: 201, value: { bookingId: 'b4', showtimeId: 1, seats: ['A4'] } });
    h.end(map, 'c1', 'read-seats', { status: 'ok', http: 200, value: { showtimeId: 1, booked: ['A1', 'A2', 'A3'] } });
    h.end(list, 'c2', 'read-bookings', { status: 'ok', http: 200, value: { bookings: [['b2', 'confirmed']] } });
    snapshot.bookings.push({ id: 'b4', userId: U2, showtimeId: 1, seats: ['A4'], status: 'confirmed' });
    snapshot.bookingSeats.push({ bookingId: 'b4', showtimeId: 1, seatId: 'A4' });
    snapshot.idempotencyKeys.push({ userId: U2, key: 'k4b', bookingId: 'b4' });
    for (const r of snapshot.replicas) r.bookings.push({ id: 'b4', status: 'confirmed' });
    const report = check(h.events, snapshot);
    assertOnly(report, {});
    assert.equal(report.reads.strong.checked, 2);
    assert.equal(report.reads.linearizability.nonLinearizable, 0);
    // The same seat map begun after the 201 must show it.
    h.readSeats('c1', ['A1', 'A2', 'A3'], 1, 'strong');
    assertOnly(check(h.events, snapshot), { strongReads: 1 });
  });

  test('an eventual read showing a booking or seat nobody wrote breaks eventualReads', () => {
    const h = cleanHistory({ converge: false });
    h.readBookings('c1', [['b3', 'confirmed'], ['b-never', 'confirmed']], 'eventual');
    h.converged();
    const report = check(h.events, cleanSnapshot(h.nodes));
    assertOnly(report, { eventualReads: 1 });
    assert.match(report.violations[0]!.message, /eventual read .* booking b-never that was never written/);
    assert.equal(report.reads.eventual.violations, 1);

    const other = cleanHistory({ converge: false });
    other.readBookings('c1', [['b2', 'confirmed']], 'eventual'); // c2's booking in c1's list
    other.readSeats('c1', ['A1', 'A9'], 1, 'eventual'); // nobody ever asked for A9
    other.readSeats('c1', [], 1, 'eventual', ['A7']); // nor held A7
    other.converged();
    const r2 = check(other.events, cleanSnapshot(other.nodes));
    assertOnly(r2, { eventualReads: 3 });
    assert.ok(r2.violations.some((v) => /of another user/.test(v.message)));
    // A stale eventual read during the run is legal: b3 not there yet, b1 still confirmed.
    const stale = cleanHistory({ converge: false });
    stale.readBookings('c1', [['b1', 'confirmed']], 'eventual');
    stale.converged();
    assertOnly(check(stale.events, cleanSnapshot(stale.nodes)), {});
  });

  test('after the replicas converged an eventual read must show exactly PostgreSQL', () => {
    const h = cleanHistory(); // ends with the convergence event
    h.readBookings('c1', [['b3', 'confirmed'], ['b1', 'cancelled']], 'eventual');
    h.readSeats('c2', ['A1', 'A2', 'A3'], 1, 'eventual');
    const fine = check(h.events, cleanSnapshot(h.nodes));
    assertOnly(fine, {});
    assert.equal(fine.reads.eventual.afterConvergence, 2);
    h.readBookings('c1', [['b3', 'confirmed'], ['b1', 'confirmed']], 'eventual');
    h.readSeats('c2', ['A2', 'A3'], 1, 'eventual');
    const report = check(h.events, cleanSnapshot(h.nodes));
    assertOnly(report, { eventualReads: 2 });
    assert.ok(report.violations.some((v) => /after convergence differs from PostgreSQL on bookings b1/.test(v.message)));
  });

  test('linearizability of one booking document: real-time order across strong reads', () => {
    const life: BookingLife = { id: 'b', showtimeId: 1, seats: ['A1'], createInvokedT: 10, ackT: 20, cancelled: true, cancelInvokedT: 50, cancelAckedT: 60 };
    const at = (seen: 'absent' | 'confirmed' | 'cancelled' | 'not-confirmed', invokeT: number, completeT: number) => ({ op: 0, seen, invokeT, completeT });
    assert.ok(linearizable(life, [at('absent', 5, 15), at('confirmed', 12, 30), at('confirmed', 40, 45), at('cancelled', 55, 70)]));
    // Concurrent with the creation, two reads may disagree only in an order real time allows.
    assert.ok(linearizable(life, [at('confirmed', 11, 14), at('absent', 12, 19)]), 'overlapping reads: either order');
    assert.ok(!linearizable(life, [at('confirmed', 11, 14), at('absent', 15, 19)]), 'seen, then gone for a read begun later');
    assert.ok(!linearizable(life, [at('absent', 25, 30)]), 'absent after the 201');
    assert.ok(!linearizable(life, [at('cancelled', 30, 40)]), 'cancelled before anyone asked');
    assert.ok(!linearizable(life, [at('cancelled', 52, 56), at('confirmed', 57, 58)]), 'cancelled, then confirmed again');
    // not-confirmed (a seat map with its seat free) is satisfied by "not yet" or "already cancelled".
    assert.ok(linearizable(life, [at('not-confirmed', 15, 18), at('confirmed', 19, 25), at('not-confirmed', 55, 65)]));
    assert.ok(!linearizable(life, [at('confirmed', 19, 25), at('not-confirmed', 30, 40)]), 'free seat while confirmed');
    assert.ok(!linearizable(life, [at('not-confirmed', 15, 30), at('confirmed', 12, 14), at('not-confirmed', 40, 45)]));
    const never: BookingLife = { ...life, cancelled: false };
    assert.ok(!linearizable(never, [at('not-confirmed', 30, 40)]), 'never cancelled: its seat must stay booked after the 201');
    assert.ok(linearizable(never, [at('not-confirmed', 5, 30)]));
  });

  test('a run in which nothing could happen is inconclusive, not a pass', () => {
    const h = builder();
    h.converged();
    const report = check(h.events, { bookings: [], bookingSeats: [], idempotencyKeys: [], elections: [], replicas: h.nodes.map((nodeId) => ({ nodeId, bookings: [] })), outbox: 0 });
    assertOnly(report, {});
    assert.equal(report.ok, false);
    assert.equal(report.vacuous, 'no client could sign up');
    assert.match(formatReport(report), /INCONCLUSIVE/);
  });

  test('the history file round-trips through the writer and parser; a torn last line is ignored', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chaos-history-'));
    try {
      const file = path.join(dir, 'h.jsonl');
      const w = new HistoryWriter(file);
      const op = w.newOp();
      w.record({ type: 'invoke', op, process: 'c1', f: 'book', key: 'k', args: { showtimeId: 1, seats: ['A1'] } });
      w.record({ type: 'complete', op, process: 'c1', f: 'book', status: 'ok', http: 201, value: { bookingId: 'b', showtimeId: 1, seats: ['A1'] } });
      w.close();
      fs.appendFileSync(file, '{"type":"inv');
      const events = readHistory(file);
      assert.equal(events.length, 2);
      assert.equal(events[1]!.type, 'complete');
      assert.ok(events[0]!.t <= events[1]!.t);
      assert.throws(() => parseHistory('{"a":1}\nnot json\n{"b":2}\n'), /line 2/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
