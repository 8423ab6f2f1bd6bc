import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Seat, SeatMapData, SeatStatus } from './api';
import { applySeatsEvent, mergeSeatMap, parseSeatsEvent, type SeatsEvent } from './live-seat-map';

const SEATS = ['A1', 'A2', 'A3', 'A4'];
const SHOWTIME = 7;

function seatMap(states: Record<string, { status: SeatStatus; version: number; heldByYou?: boolean }>): SeatMapData {
  const seats: Seat[] = SEATS.map((id, i) => {
    const s = states[id] ?? { status: 'available' as const, version: 0 };
    return {
      id, row: 'A', number: i + 1, category: 'standard', priceCents: 1000, wheelchair: false, status: s.status, version: s.version,
      ...(s.status === 'held' && s.heldByYou ? { heldByYou: true } : {}),
    };
  });
  const counts = { available: 0, held: 0, booked: 0 };
  for (const s of seats) counts[s.status]++;
  return {
    showtime: { id: SHOWTIME, movieId: 1, movieTitle: 'M', screenId: 1, screenName: 'S', startsAt: '2030-01-01T00:00:00.000Z' },
    categories: [], rows: [{ label: 'A', seats: SEATS.length, aisleAfter: [] }], seats, summary: { total: seats.length, ...counts },
  };
}

const seatOf = (map: SeatMapData, id: string) => map.seats.find((s) => s.id === id)!;
const change = (version: number, status: SeatStatus, seats: string[], heldByYou?: true): SeatsEvent =>
  ({ showtimeId: SHOWTIME, version, status, seats, ...(heldByYou ? { heldByYou } : {}) });

describe('live seat map: reads and events merged by version', () => {
  test('an event shows at once; a stale read arriving after it does not undo it; a read that caught up agrees', () => {
    const initial = seatMap({});
    const booked = applySeatsEvent(initial, change(3, 'booked', ['A1', 'A2']));
    assert.equal(seatOf(booked, 'A1').status, 'booked');
    assert.deepEqual(booked.summary, { total: 4, available: 2, held: 0, booked: 2 });
    const stale = mergeSeatMap(booked, seatMap({ A1: { status: 'held', version: 2 } }));
    assert.equal(seatOf(stale, 'A1').status, 'booked');
    assert.equal(seatOf(stale, 'A1').version, 3);
    assert.equal(seatOf(stale, 'A2').status, 'booked');
    assert.deepEqual(stale.summary, { total: 4, available: 2, held: 0, booked: 2 });
    const caughtUp = mergeSeatMap(stale, seatMap({ A1: { status: 'booked', version: 3 }, A2: { status: 'booked', version: 3 }, A3: { status: 'held', version: 1 } }));
    assert.equal(seatOf(caughtUp, 'A3').status, 'held', 'what the read knows newer than the events is taken');
    assert.equal(seatOf(caughtUp, 'A1').status, 'booked');
  });

  test('an older or repeated event changes nothing (the same object back)', () => {
    const map = seatMap({ A1: { status: 'booked', version: 5 } });
    assert.equal(applySeatsEvent(map, change(5, 'available', ['A1'])), map);
    assert.equal(applySeatsEvent(map, change(4, 'held', ['A1'])), map);
    assert.equal(applySeatsEvent(map, { showtimeId: SHOWTIME, resync: true }), map);
    assert.equal(applySeatsEvent(map, { ...change(9, 'held', ['A1']), showtimeId: SHOWTIME + 1 }), map);
  });

  test('a read at the same version wins: the hold it shows may have lapsed since the event', () => {
    const held = applySeatsEvent(seatMap({}), change(2, 'held', ['A1']));
    const lapsed = mergeSeatMap(held, seatMap({ A1: { status: 'available', version: 2 } }));
    assert.equal(seatOf(lapsed, 'A1').status, 'available');
  });

  test('heldByYou comes with the event or the read, and only on held seats', () => {
    const mine = applySeatsEvent(seatMap({}), change(2, 'held', ['A1'], true));
    assert.equal(seatOf(mine, 'A1').heldByYou, true);
    const sold = applySeatsEvent(mine, change(3, 'booked', ['A1']));
    assert.equal('heldByYou' in seatOf(sold, 'A1'), false);
    const theirs = applySeatsEvent(seatMap({}), change(2, 'held', ['A1']));
    assert.equal('heldByYou' in seatOf(theirs, 'A1'), false);
    // A newer event kept over an older read keeps its own heldByYou.
    const kept = mergeSeatMap(mine, seatMap({ A1: { status: 'available', version: 1 } }));
    assert.equal(seatOf(kept, 'A1').heldByYou, true);
  });

  test('parseSeatsEvent takes changes and resyncs of this showtime only', () => {
    assert.deepEqual(parseSeatsEvent(JSON.stringify(change(4, 'held', ['A1'], true)), SHOWTIME), change(4, 'held', ['A1'], true));
    assert.deepEqual(parseSeatsEvent(JSON.stringify({ showtimeId: SHOWTIME, resync: true }), SHOWTIME), { showtimeId: SHOWTIME, resync: true });
    for (const bad of ['nope', '{}', JSON.stringify({ showtimeId: SHOWTIME }), JSON.stringify({ ...change(1, 'held', ['A1']), showtimeId: 8 }),
      JSON.stringify({ ...change(1, 'held', ['A1']), status: 'sold' }), JSON.stringify({ ...change(1, 'held', ['A1']), seats: [1] })]) {
      assert.equal(parseSeatsEvent(bad, SHOWTIME), undefined, bad);
    }
  });

  test('property: events in commit order interleaved with reads of any past (or future) state — no seat ever goes back, and the end is exact', () => {
    const changeArb = fc.record({
      seats: fc.subarray(SEATS, { minLength: 1 }),
      status: fc.constantFrom<SeatStatus>('available', 'held', 'booked'),
    });
    fc.assert(fc.property(
      fc.array(changeArb, { maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.array(fc.boolean(), { maxLength: 40 }),
      (changes, readPoints, schedule) => {
        // The committed history: each change sets its seats to one new version, above each of theirs.
        const states: Record<string, { status: SeatStatus; version: number }>[] = [{}];
        const events: SeatsEvent[] = [];
        for (const c of changes) {
          const prev = states.at(-1)!;
          const version = Math.max(...c.seats.map((s) => prev[s]?.version ?? 0)) + 1;
          const next = { ...prev };
          for (const s of c.seats) next[s] = { status: c.status, version };
          states.push(next);
          events.push(change(version, c.status, c.seats));
        }
        /** What the seat was at `version` in the history (the state a version names is unique). */
        const stateAt = (seat: string, version: number) => states.find((st) => (st[seat]?.version ?? 0) === version)?.[seat]?.status ?? 'available';
        let shown = seatMap({});
        let e = 0;
        let r = 0;
        const check = (before: SeatMapData) => {
          for (const s of shown.seats) {
            assert.ok(s.version >= seatOf(before, s.id).version, `${s.id} went back from ${seatOf(before, s.id).version} to ${s.version}`);
            assert.equal(s.status, stateAt(s.id, s.version), `${s.id} at version ${s.version}`);
          }
        };
        for (const takeEvent of [...schedule, ...events.map(() => true)]) {
          const before = shown;
          if (takeEvent && e < events.length) shown = applySeatsEvent(shown, events[e++]!);
          else if (!takeEvent && r < readPoints.length) shown = mergeSeatMap(shown, seatMap(states[readPoints[r++]! % states.length]!));
          check(before);
        }
        const final = states.at(-1)!;
        for (const id of SEATS) assert.equal(seatOf(shown, id).status, final[id]?.status ?? 'available', `${id} at the end`);
      },
    ), { numRuns: 500 });
  });
});
