import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bookingFact, deriveSeatStates, holdFact, versionsOf, type BookingFact, type HoldFact } from './facts';

const NOW = Date.parse('2030-01-01T12:00:00Z');
const LATER = '2030-01-01T12:10:00Z';
const EARLIER = '2030-01-01T11:50:00Z';

const hold = (id: string, over: Partial<HoldFact>) => holdFact({
  id, userId: 'u1', showtimeId: 1, seats: ['A1', 'A2'], expiresAt: LATER, status: 'active', ...over,
});
const booking = (id: string, over: Partial<BookingFact>) => bookingFact({
  id, userId: 'u2', showtimeId: 1, seats: ['A1'], totalCents: 100, status: 'confirmed', createdAt: EARLIER, cancelledAt: null,
  processedBy: 'node-1', logicalClock: 1, vectorClock: {}, ...over,
});

describe('deriveSeatStates: a seat is in the state of its newest claim', () => {
  test('a newer hold beats an older booking that was cancelled where the replica missed the cancel', () => {
    // The replica has the confirmed booking (v2) but not its cancel (v3); the newer hold (v4) decides.
    const states = deriveSeatStates([
      booking('b1', { seatVersions: versionsOf(['A1'], 2) }),
      hold('h2', { userId: 'u3', seats: ['A1'], seatVersions: versionsOf(['A1'], 4) }),
    ], NOW);
    assert.deepEqual(states.A1, { status: 'held', userId: 'u3', version: 4 });
  });

  test('a replica that misses the latest change shows the older state at the older version', () => {
    const states = deriveSeatStates([hold('h1', { seatVersions: versionsOf(['A1', 'A2'], 1) })], NOW);
    assert.deepEqual(states.A1, { status: 'held', userId: 'u1', version: 1 });
  });

  test('a release claims only the seats it freed; a booked hold claims none; a lapsed hold is available at its version', () => {
    const states = deriveSeatStates([
      hold('h1', { status: 'released', seatVersions: versionsOf(['A2'], 5) }), // A1 was taken over into h2
      hold('h2', { seats: ['A1'], seatVersions: versionsOf(['A1'], 3) }),
      hold('h3', { seats: ['A3'], status: 'booked', seatVersions: {} }),
      booking('b3', { seats: ['A3'], seatVersions: versionsOf(['A3'], 7) }),
      hold('h4', { seats: ['A4'], expiresAt: EARLIER, seatVersions: versionsOf(['A4'], 2) }),
    ], NOW);
    assert.deepEqual(states.A1, { status: 'held', userId: 'u1', version: 3 });
    assert.deepEqual(states.A2, { status: 'available', version: 5 });
    assert.deepEqual(states.A3, { status: 'booked', userId: 'u2', version: 7 });
    assert.deepEqual(states.A4, { status: 'available', version: 2 });
  });

  test('documents written before versions: every seat at version 0, booked > held > available (the old rule)', () => {
    const states = deriveSeatStates([
      hold('h1', { seats: ['A1', 'A2'] }),
      booking('b1', { seats: ['A1'] }),
      booking('b2', { seats: ['A2'], status: 'cancelled', cancelledAt: EARLIER }),
      hold('h2', { seats: ['A3'], status: 'booked' }),
    ], NOW);
    assert.deepEqual(states.A1, { status: 'booked', userId: 'u2', version: 0 });
    assert.deepEqual(states.A2, { status: 'held', userId: 'u1', version: 0 });
    assert.equal(states.A3, undefined);
    // …and any versioned change outranks them.
    const later = deriveSeatStates([booking('b1', { seats: ['A1'] }), booking('b9', { seats: ['A1'], status: 'cancelled', seatVersions: versionsOf(['A1'], 1) })], NOW);
    assert.deepEqual(later.A1, { status: 'available', version: 1 });
  });
});
