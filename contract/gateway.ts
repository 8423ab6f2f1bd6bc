/** The gateway's own endpoint: the balancer's state, and the settings an admin changes. */
import { z } from 'zod';
import { LB_ALGORITHMS } from '../core/vocabulary';
import { count, nodeId } from './shapes';

const algorithm = z.enum(LB_ALGORITHMS);
const latency = z.number().finite().min(0).nullable();

export const lbNode = z.object({
  id: nodeId,
  url: z.string(),
  healthy: z.boolean(),
  eligible: z.boolean(),
  ejected: z.boolean(),
  ejectedForMs: count,
  ejections: count,
  deadInCluster: z.boolean(),
  weight: z.number().finite().min(0),
  inFlight: z.number().int(),
  requests: count,
  errors: count,
  retriedElsewhere: count,
  latencyMs: z.object({ p50: latency, p99: latency }),
  /** This node's part of every request the gateway forwarded (0–1). */
  share: z.number().min(0).max(1),
});
export type LbNode = z.output<typeof lbNode>;

export const lbStats = z.object({
  algorithm,
  algorithms: z.array(algorithm),
  weights: z.enum(['static', 'load-based']),
  /** With GATEWAY_WORKERS > 1: how many worker processes the counters add up. */
  workers: count.optional(),
  totals: z.object({ requests: count, errors: count, retries: count, noBackend: count }),
  /** The gateway's own refusals by error code (nothing reached a node). */
  edge: z.record(z.string(), count),
  nodes: z.array(lbNode),
});
export type LbStats = z.output<typeof lbStats>;

export const LB_WEIGHT_MAX = 1_000;
export const lbSettingsBody = z.object({
  algorithm: algorithm.optional(),
  /** Static weights by node id; null returns to weights that follow each node's load. */
  weights: z.record(z.string(), z.number().int().min(0).max(LB_WEIGHT_MAX)).nullable().optional(),
});
