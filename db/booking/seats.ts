import { AppError } from '../../core/errors';
import type { ShowtimeInfo } from './catalog';
import type { LayoutSeat } from './layout';

/**
 * Check a requested seat list against the showtime's layout and the per-request limit.
 * Returns the seats in a canonical order (as in the layout) so that every transaction locks
 * rows in the same order.
 */
export function resolveSeats(info: ShowtimeInfo, requested: string[], maxSeats: number): LayoutSeat[] {
  if (requested.length === 0) throw new AppError('NO_SEATS', 'Choose at least one seat');
  const ids = requested.map((s) => s.trim().toUpperCase());
  const duplicates = [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
  if (duplicates.length) throw new AppError('DUPLICATE_SEATS', 'A seat is listed more than once', { seats: duplicates });
  if (ids.length > maxSeats) {
    throw new AppError('TOO_MANY_SEATS', `At most ${maxSeats} seats per booking`, { max: maxSeats, requested: ids.length });
  }
  const unknown = ids.filter((id) => !info.seatsById.has(id));
  if (unknown.length) {
    throw new AppError('UNKNOWN_SEATS', `Seats not in ${info.screenName}: ${unknown.join(', ')}`, { seats: unknown });
  }
  const wanted = new Set(ids);
  return info.seats.filter((s) => wanted.has(s.id));
}
