/**
 * The API as the pages' server components read it: the node's own API over loopback, typed by the
 * contract (the same `requestLine` the browser's client uses). The node that serves the pages says
 * where its API is (`MOVIEBOOK_INTERNAL_API_URL`, set once it listens). Any failure — no such
 * address (`next dev` on its own), a timeout, an error answer — is `undefined`: the page then
 * renders without the data and its client components fetch it, as they always could.
 */
import { cookies } from 'next/headers';
import { requestLine } from '@/client/api';
import { SESSION_COOKIE } from '@/contract/accounts';
import type { AnswerOf, OperationKey } from '@/contract/operations';

const SERVER_READ_TIMEOUT_MS = 3_000;

type Input = { params?: Record<string, string | number>; query?: object; withSession?: boolean };

export async function serverRead<K extends OperationKey>(
  key: K,
  input: Input = {},
): Promise<AnswerOf<K> | undefined> {
  const base = process.env.MOVIEBOOK_INTERNAL_API_URL;
  const [method, path] = requestLine(key, input);
  if (!base || method !== 'GET') return undefined;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (input.withSession) {
    const session = (await cookies()).get(SESSION_COOKIE)?.value;
    if (session) headers.authorization = `Bearer ${session}`;
  }
  try {
    const res = await fetch(base + path, {
      headers,
      cache: 'no-store',
      signal: AbortSignal.timeout(SERVER_READ_TIMEOUT_MS),
    });
    return res.ok ? ((await res.json()) as AnswerOf<K>) : undefined;
  } catch {
    return undefined;
  }
}
