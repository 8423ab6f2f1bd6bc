/**
 * The monitor's view of the API. Every answer comes through the gateway, so it says which node
 * served it (`X-Served-By`); `node` pins a request to one node (`X-Node`, see docs/gateway.md) —
 * for chaos actions on a chosen node and for one node's own view.
 */
import {
  answerOf,
  ApiError,
  requestOf,
  send,
  type AnyCallInput,
  type CallInput,
} from '@/client/api';
import type { AnswerOf, OperationKey } from '@/contract/operations';

export type {
  ElectionResult,
  ElectionRound,
  Faults,
  KnownNode as HealthNode,
  Role,
  SyncRound,
} from '@/contract/cluster';
export type { LbNode, LbStats } from '@/contract/gateway';
export type { ReplicaNode } from '@/contract/replication';
export type { PeerStatus as NodeStatus } from '@/core/vocabulary';

export type Health = AnswerOf<'GET /api/health'>;
export type Sync = AnswerOf<'GET /api/sync'>;
export type Election = AnswerOf<'GET /api/election'>;
export type Replicas = AnswerOf<'GET /api/replicas'>;

export type Served<T> = { data: T; servedBy: string | null; at: number };

/** `node` pins the request to that node (`X-Node`). */
type MonitorInput<K extends OperationKey> = CallInput<K> & { node?: string };

/** One call of the API through the gateway, typed by the contract, with the node that served it. */
export async function monitorCall<K extends OperationKey>(
  key: K,
  ...[input]: object extends CallInput<K> ? [MonitorInput<K>?] : [MonitorInput<K>]
): Promise<Served<AnswerOf<K>>> {
  const given = (input ?? {}) as AnyCallInput & { node?: string };
  const [path, options] = requestOf(key, given);
  const res = await send(path, options, given.node ? { 'x-node': given.node } : {});
  return {
    data: await answerOf<AnswerOf<K>>(res),
    servedBy: res.headers.get('x-served-by'),
    at: Date.now(),
  };
}

/** A message for an error of a monitor request (codes the booking pages never see included). */
export function monitorErrorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'NETWORK') return 'The gateway cannot be reached.';
    if (err.code === 'UNAUTHENTICATED') return 'Log in as an administrator to do this.';
    if (err.code === 'FORBIDDEN') return 'Only an administrator may do this.';
    return err.message;
  }
  return 'Something unexpected happened.';
}
