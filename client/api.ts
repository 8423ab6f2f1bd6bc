/**
 * The browser's side of the API: one fetch wrapper for every page (same-origin, the session is the
 * httpOnly cookie `mb_session`), one error type carrying the API's error code, and `api(key, …)`:
 * a call typed by the API's contract (contract/operations.ts). The contract is imported for its
 * types only, so no schema is bundled into the pages.
 */
import type { ErrorCode } from '../core/errors';
import { fillPath, splitKey } from '../contract/keys';
import type { AnswerOf, BodyOf, OperationKey, ParamsOf, QueryOf } from '../contract/operations';

export type { User } from '../contract/accounts';
export type { DistributedInfo } from '../contract/shapes';
export type {
  Booking,
  Hold,
  Movie,
  MovieDetail,
  MovieListItem,
  Screen,
  Seat,
  SeatCategory,
  SeatMapData,
  SeatStatus,
  ShowtimeSummary,
} from '../contract/booking';

/** Codes the API sends, plus two of our own for failures that never reached it. */
export type ClientErrorCode = ErrorCode | 'NETWORK' | 'BAD_RESPONSE';

export class ApiError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    readonly status: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type RequestOptions = {
  method?: 'GET' | 'POST' | 'DELETE';
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
};

/**
 * Reads may be served by any node's replica. The API answers with a session token (what this
 * client has written and seen); sending it back makes every later read at least that fresh
 * (read-your-writes, monotonic reads), whichever node serves it. Kept for the browser tab's life.
 */
const SESSION_TOKEN_HEADER = 'x-session-token';
const SESSION_TOKEN_KEY = 'moviebook.session-token';

function storedSessionToken(): string | null {
  try {
    return sessionStorage.getItem(SESSION_TOKEN_KEY);
  } catch {
    return null;
  }
}

/**
 * The token's format (core/replication/session-token.ts): base64url of JSON `[[nodeId, seq], …]`
 * (an entry may also be a claim `#<document>` → rank + 1; merged the same way).
 */
function decodeToken(token: string): Map<string, number> | null {
  try {
    const pairs: unknown = JSON.parse(atob(token.replace(/-/g, '+').replace(/_/g, '/')));
    if (!Array.isArray(pairs)) return null;
    return new Map(
      pairs.filter(
        (p): p is [string, number] =>
          Array.isArray(p) && typeof p[0] === 'string' && typeof p[1] === 'number',
      ),
    );
  } catch {
    return null;
  }
}

/**
 * Answers to concurrent requests arrive in any order: keep the element-wise maximum of the tokens,
 * so a late answer never makes the client forget a write it has already made or seen.
 */
function mergeTokens(held: string | null, issued: string): string {
  const a = held ? decodeToken(held) : new Map<string, number>();
  const b = decodeToken(issued);
  if (!a || !b) return issued;
  for (const [node, seq] of b) a.set(node, Math.max(seq, a.get(node) ?? 0));
  const pairs = [...a]
    .filter(([, seq]) => seq > 0)
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  try {
    return btoa(JSON.stringify(pairs)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  } catch {
    return issued; // not Latin-1: cannot happen with node ids, but never worth an error
  }
}

function storeSessionToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(SESSION_TOKEN_KEY, token);
    else sessionStorage.removeItem(SESSION_TOKEN_KEY);
  } catch {
    /* storage disabled: reads are then only as fresh as the replica that answers */
  }
}

export async function apiFetch<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const sessionToken = storedSessionToken();
  try {
    return await request<T>(path, options, sessionToken);
  } catch (err) {
    // A token this cluster no longer accepts (say, after its secret changed): forget it, ask again.
    if (!(err instanceof ApiError && err.code === 'INVALID_SESSION_TOKEN' && sessionToken))
      throw err;
    storeSessionToken(null);
    return request<T>(path, options, null);
  }
}

async function request<T>(
  path: string,
  options: RequestOptions,
  sessionToken: string | null,
): Promise<T> {
  const res = await send(
    path,
    options,
    sessionToken ? { [SESSION_TOKEN_HEADER]: sessionToken } : {},
  );
  const issued = res.headers.get(SESSION_TOKEN_HEADER);
  if (issued) storeSessionToken(mergeTokens(storedSessionToken(), issued));
  return answerOf<T>(res);
}

/** A same-origin JSON request; not reaching the server is an ApiError NETWORK (an abort stays one). */
export async function send(
  path: string,
  options: RequestOptions,
  headers: Record<string, string> = {},
): Promise<Response> {
  try {
    return await fetch(path, {
      method: options.method ?? 'GET',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: {
        accept: 'application/json',
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError('NETWORK', 0, 'The server cannot be reached');
  }
}

/** The JSON body of a successful answer; otherwise the API's error as an ApiError. */
export async function answerOf<T>(res: Response): Promise<T> {
  const text = await res.text().catch(() => '');
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (res.ok) return body as T;
  const error = (
    body as { error?: { code?: string; message?: string; details?: unknown } } | undefined
  )?.error;
  if (error?.code)
    throw new ApiError(
      error.code as ClientErrorCode,
      res.status,
      error.message ?? error.code,
      error.details,
    );
  throw new ApiError(
    'BAD_RESPONSE',
    res.status,
    `Unexpected answer from the server (HTTP ${res.status})`,
  );
}

type Has<T> = [T] extends [never] ? false : true;
/** What a call of `K` takes: its path's params, its body and query where it has them. */
export type CallInput<K extends OperationKey> = (keyof ParamsOf<K> extends never
  ? object
  : { params: ParamsOf<K> }) &
  (Has<BodyOf<K>> extends true ? { body?: BodyOf<K> } : object) &
  (Has<QueryOf<K>> extends true ? { query?: QueryOf<K> } : object) &
  Pick<RequestOptions, 'headers' | 'signal'>;

/** A call's input for any key: what `CallInput` spells out per key. */
export type AnyCallInput = {
  params?: Record<string, string | number>;
  query?: object;
  body?: unknown;
} & Pick<RequestOptions, 'headers' | 'signal'>;

/** `GET /api/movies/:id` with `{ id: 7 }` → `['GET', '/api/movies/7']` (and the query string). */
export function requestLine(key: OperationKey, input: AnyCallInput): [string, string] {
  const [method, template] = splitKey(key);
  const path = fillPath(template, input.params);
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(input.query ?? {}))
    if (value !== undefined) query.set(name, String(value));
  const search = query.toString();
  return [method, search ? `${path}?${search}` : path];
}

/** The path and the request options of a call of `key`. */
export function requestOf(key: OperationKey, input: AnyCallInput = {}): [string, RequestOptions] {
  const [method, path] = requestLine(key, input);
  const { body, headers, signal } = input;
  return [path, { method: method as RequestOptions['method'], body, headers, signal }];
}

/** One call of the API, typed by its contract: `api('GET /api/movies/:id', { params: { id } })`. */
export function api<K extends OperationKey>(
  key: K,
  ...[input]: object extends CallInput<K> ? [CallInput<K>?] : [CallInput<K>]
): Promise<AnswerOf<K>> {
  return apiFetch<AnswerOf<K>>(...requestOf(key, input as AnyCallInput));
}

/** Seat ids named in an error's details (SEATS_UNAVAILABLE, UNKNOWN_SEATS, DUPLICATE_SEATS). */
export function seatsInError(err: unknown): string[] {
  const seats =
    err instanceof ApiError ? (err.details as { seats?: unknown } | undefined)?.seats : undefined;
  return Array.isArray(seats) ? seats.filter((s): s is string => typeof s === 'string') : [];
}

/** A fresh key per checkout, so a repeated confirm (double click, retry) replays, never books twice. */
export function newIdempotencyKey(): string {
  return typeof crypto.randomUUID === 'function'
    ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
        b.toString(16).padStart(2, '0'),
      ).join('');
}
