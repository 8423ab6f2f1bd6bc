import type { Booking, Hold } from '@/client/api';

/** As MAX_SEATS_PER_BOOKING on the server (which has the final word: TOO_MANY_SEATS). */
export const MAX_SEATS = 10;

/** Where a checkout stands. `deadline` is on the browser's clock; the idempotency key lives as long as the hold. */
export type Phase =
  | { kind: 'selecting' }
  | { kind: 'holding' }
  | { kind: 'held'; hold: Hold; deadline: number; durationMs: number; idempotencyKey: string; confirming: boolean }
  | { kind: 'booked'; booking: Booking };
