/**
 * Session tokens for causal reads: a vector clock of write dots (`origin → seq`), sent to clients
 * as base64url of JSON. Every write and read answers with a token; a client that sends it back is
 * served only by a replica whose `seen` covers it (read-your-writes, monotonic reads). A token may
 * also carry claims (`#<document key>` → rank + 1, see `factClaim` in store.ts) for committed facts
 * the replication has not given a dot yet.
 *
 * Decoding is strict because the token comes from the client: bad input yields `null` (the shell
 * answers 400), never an exception.
 */
import { EMPTY_VECTOR_CLOCK, isVectorClock, merge, type VectorClock } from '../vector-clock';

/** Longest accepted encoded token. */
export const MAX_SESSION_TOKEN_LENGTH = 4096;
/** Most node ids a token may name. */
export const MAX_SESSION_TOKEN_NODES = 256;
const MAX_NODE_ID_LENGTH = 128;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

export type SessionToken = VectorClock;

export const EMPTY_SESSION_TOKEN: SessionToken = EMPTY_VECTOR_CLOCK;

/** Stable encoding: entries sorted by node id, zero entries left out. */
export function encodeSessionToken(token: SessionToken): string {
  const pairs = Object.keys(token)
    .filter((k) => (token[k] ?? 0) > 0)
    .sort()
    .map((k) => [k, token[k] ?? 0] as const);
  return Buffer.from(JSON.stringify(pairs), 'utf8').toString('base64url');
}

export function decodeSessionToken(encoded: string): SessionToken | null {
  if (encoded.length === 0) return EMPTY_SESSION_TOKEN;
  if (encoded.length > MAX_SESSION_TOKEN_LENGTH || !BASE64URL.test(encoded)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(parsed) || parsed.length > MAX_SESSION_TOKEN_NODES) return null;
  let token: VectorClock = EMPTY_VECTOR_CLOCK;
  for (const pair of parsed) {
    if (!Array.isArray(pair) || pair.length !== 2) return null;
    const [id, seq] = pair as [unknown, unknown];
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_NODE_ID_LENGTH) return null;
    const one = { [id]: seq };
    if (!isVectorClock(one)) return null;
    token = merge(token, one);
  }
  return token;
}
