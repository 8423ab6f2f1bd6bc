import { ApiError, seatsInError, type ClientErrorCode } from './api';

function list(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

function seatPhrase(seats: string[], fallback: string): string {
  if (!seats.length) return fallback;
  return `${seats.length === 1 ? 'Seat' : 'Seats'} ${list(seats)}`;
}

function validationDetails(err: ApiError): string {
  const details = Array.isArray(err.details) ? (err.details as { path?: string; message?: string }[]) : [];
  const parts = details.filter((d) => d.message).map((d) => (d.path ? `${d.path}: ${d.message}` : d.message!));
  return parts.length ? parts.join('; ') : err.message;
}

/**
 * A readable sentence for every error code the API documents (docs/errors.md) — the type makes
 * a missing code a compile error.
 */
const MESSAGES: Record<ClientErrorCode, (err: ApiError) => string> = {
  VALIDATION_FAILED: (e) => `Please check what you entered: ${validationDetails(e)}.`,
  INVALID_JSON: () => 'The request could not be read. Please reload the page and try again.',
  INVALID_IDEMPOTENCY_KEY: () => 'This checkout could not be identified. Please reload the page and try again.',
  INVALID_SESSION_TOKEN: () => 'Your session looked out of date. Please reload the page.',
  UNAUTHENTICATED: () => 'Please log in to continue.',
  INVALID_CREDENTIALS: () => 'That email and password do not match an account.',
  FORBIDDEN: () => 'Your account is not allowed to do this.',
  CROSS_ORIGIN_REQUEST: () => 'This request did not come from MovieBook itself, so it was refused. Please use the site directly.',
  NOT_FOUND: () => 'That page or action does not exist.',
  MOVIE_NOT_FOUND: () => 'This movie does not exist (any more).',
  SHOWTIME_NOT_FOUND: () => 'This showtime does not exist (any more).',
  HOLD_NOT_FOUND: () => 'Your seat hold was not found. Please pick your seats again.',
  BOOKING_NOT_FOUND: () => 'This booking was not found.',
  METHOD_NOT_ALLOWED: () => 'That action is not supported.',
  SEATS_UNAVAILABLE: (e) => `${seatPhrase(seatsInError(e), 'Some of your seats')} ${seatsInError(e).length === 1 ? 'was' : 'were'} just taken by someone else.`,
  HOLD_NOT_ACTIVE: (e) => {
    const status = (e.details as { status?: string } | undefined)?.status;
    return status === 'booked' ? 'These seats are already booked — check My bookings.' : 'Your seat hold was released. Please hold your seats again.';
  },
  SHOWTIME_STARTED: () => 'This showtime has already started, so it can no longer be booked.',
  NOT_LEADER: () => 'Only the current leader node can do this right now. Try again in a moment.',
  EMAIL_TAKEN: () => 'An account with this email already exists. Log in instead?',
  PAYLOAD_TOO_LARGE: () => 'That is too much data to send at once.',
  UNSUPPORTED_MEDIA_TYPE: () => 'The request was sent in a format the server does not accept.',
  NO_SEATS: () => 'Choose at least one seat first.',
  DUPLICATE_SEATS: (e) => `${seatPhrase(seatsInError(e), 'A seat')} was chosen twice.`,
  TOO_MANY_SEATS: (e) => `You can book at most ${(e.details as { max?: number } | undefined)?.max ?? 10} seats at once.`,
  UNKNOWN_SEATS: (e) => `${seatPhrase(seatsInError(e), 'Some seats')} do not exist in this screen.`,
  IDEMPOTENCY_KEY_REUSED: () => 'This checkout was already used for different seats. Please start again.',
  RATE_LIMITED: (e) => {
    const retryAfterS = (e.details as { retryAfterS?: number } | undefined)?.retryAfterS;
    return retryAfterS ? `Too many attempts. Please try again in ${retryAfterS > 90 ? `${Math.ceil(retryAfterS / 60)} minutes` : `${retryAfterS} seconds`}.` : 'The server is busy right now. Please try again in a few seconds.';
  },
  HOLD_LIMIT_REACHED: (e) => `You can hold at most ${(e.details as { cap?: number } | undefined)?.cap ?? 10} seats at once. Book or release the seats you hold first.`,
  INTERNAL: () => 'Something went wrong on our side. Please try again.',
  NODE_UNREACHABLE: () => 'A server node could not be reached. Please try again.',
  // Answers of the gateway itself (docs/gateway.md).
  MALFORMED_REQUEST: () => 'The request could not be read. Please reload the page and try again.',
  UNKNOWN_NODE: () => 'That server node is not known. Please reload the page.',
  REQUEST_TIMEOUT: () => 'The request took too long to arrive. Please check your connection and try again.',
  EXPECTATION_FAILED: () => 'The request could not be read. Please reload the page and try again.',
  TOO_MANY_CONNECTIONS: () => 'Too many connections from your network right now. Please try again in a few seconds.',
  HEADERS_TOO_LARGE: () => 'The request was too large. Clearing this site\'s cookies may help.',
  NODE_UNAVAILABLE: () => 'A server could not answer just now. Please try again.',
  NO_HEALTHY_NODE: () => 'MovieBook is briefly unavailable. Please try again in a few seconds.',
  // Node-to-node only (POST /api/peer): a browser never sees these.
  PEER_MESSAGE_REFUSED: () => 'That message between server nodes was not signed by the cluster.',
  PEER_MESSAGE_INVALID: () => 'That message between server nodes was not well-formed.',
  UNKNOWN_PEER_MESSAGE: () => 'That message between server nodes is of an unknown kind.',
  PEER_MESSAGE_REPLAYED: () => 'That message between server nodes was old or already delivered.',
  DATABASE_UNAVAILABLE: () => 'The booking database is briefly unavailable. Please try again in a few seconds.',
  REPLICA_UNAVAILABLE: () => 'The latest seat information could not be confirmed right now. Please try again in a moment.',
  NOT_READY: () => 'This server is starting or stopping. Please try again in a moment.',
  NETWORK: () => 'Cannot reach MovieBook. Check your connection and try again.',
  BAD_RESPONSE: (e) => `The server gave an unexpected answer (${e.status || 'no status'}). Please try again.`,
};

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return (MESSAGES[err.code] ?? ((e: ApiError) => e.message))(err);
  return 'Something unexpected happened. Please try again.';
}
