/**
 * The live seat map's state, pure (the page's hook `components/use-live-seat-map.ts` and the tests
 * share it): a seat map read from a replica, kept current by the seat events of the showtime's
 * stream. Every seat carries a version (the version of the change that put it in its state; see
 * docs/live-seat-map.md); both sources are merged seat by seat, the newer wins. So an event shows
 * at once whatever the replica knows, and a read that arrives later from a replica that has not
 * caught up yet cannot take it back.
 */
import type { SeatsEvent } from '../contract/booking';
import { SEAT_STATUSES } from '../core/vocabulary';
import type { Seat, SeatMapData, SeatStatus } from './api';

/** A `seats` event of `GET /api/showtimes/:id/events`: one committed change, or "refetch". */
export type { SeatsEvent };

const STATUSES: ReadonlySet<string> = new Set<SeatStatus>(SEAT_STATUSES);

/** The event's data, or undefined if it is not a seats event of this showtime. */
export function parseSeatsEvent(data: string, showtimeId: number): SeatsEvent | undefined {
  let e: unknown;
  try {
    e = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!e || typeof e !== 'object') return undefined;
  const o = e as Record<string, unknown>;
  if (o.showtimeId !== showtimeId) return undefined;
  if (o.resync === true) return { showtimeId, resync: true };
  if (typeof o.version !== 'number' || typeof o.status !== 'string' || !STATUSES.has(o.status)) return undefined;
  if (!Array.isArray(o.seats) || !o.seats.every((s) => typeof s === 'string')) return undefined;
  return { showtimeId, version: o.version, status: o.status as SeatStatus, seats: o.seats as string[], ...(o.heldByYou === true ? { heldByYou: true as const } : {}) };
}

const versionOf = (seat: Seat) => seat.version ?? 0;

function withSummary(map: SeatMapData, seats: Seat[]): SeatMapData {
  const counts = { available: 0, held: 0, booked: 0 };
  for (const s of seats) counts[s.status]++;
  return { ...map, seats, summary: { total: seats.length, ...counts } };
}

/**
 * A seat-map read merged into what is shown: each seat from the read unless what is shown is
 * newer. At an equal version the read wins — the same change, looked at later (a hold may have
 * lapsed since; `heldByYou` as the server says).
 */
export function mergeSeatMap(shown: SeatMapData | null, read: SeatMapData): SeatMapData {
  if (!shown || shown.showtime.id !== read.showtime.id) return read;
  const before = new Map(shown.seats.map((s) => [s.id, s]));
  const seats = read.seats.map((s) => {
    const known = before.get(s.id);
    return known && versionOf(known) > versionOf(s) ? { ...s, status: known.status, version: known.version, heldByYou: known.heldByYou } : s;
  });
  return withSummary(read, seats.map(clean));
}

/** An event applied to what is shown: the seats it names, where it is newer. Unchanged: the same object. */
export function applySeatsEvent(shown: SeatMapData, event: SeatsEvent): SeatMapData {
  if ('resync' in event || event.showtimeId !== shown.showtime.id) return shown;
  const named = new Set(event.seats);
  let changed = false;
  const seats = shown.seats.map((s) => {
    if (!named.has(s.id) || versionOf(s) >= event.version) return s;
    changed = true;
    return clean({ ...s, status: event.status, version: event.version, heldByYou: event.heldByYou });
  });
  return changed ? withSummary(shown, seats) : shown;
}

/** `heldByYou` only on held seats, and only when true (as the API sends it). */
function clean(seat: Seat): Seat {
  const { heldByYou, ...rest } = seat;
  return seat.status === 'held' && heldByYou ? { ...rest, heldByYou: true } : rest;
}

/** Seats someone else took between two states of the map (to highlight them for a moment). */
export function newlyTaken(before: SeatMapData, after: SeatMapData): Set<string> {
  const was = new Map(before.seats.map((s) => [s.id, s.status]));
  return new Set(
    after.seats.filter((s) => s.status !== 'available' && !s.heldByYou && was.get(s.id) === 'available').map((s) => s.id),
  );
}
