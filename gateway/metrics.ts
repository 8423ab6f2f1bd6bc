/**
 * The gateway's Prometheus metrics (`GET /metrics` on the gateway's port): its process, and per
 * node what it forwarded, what failed, what it retried elsewhere, its ejections and what is in
 * flight — read at each scrape from the same counters as `GET /api/lb` (every worker's, merged).
 */
import type { LbNode, LbStats } from '../contract/gateway';
import {
  metricsRegistry,
  mirroredCounter,
  PerScrape,
  readGauge,
  readMetric,
  type MetricKind,
} from '../http/metrics';

type Sample<L extends string> = [Partial<Record<L, string>>, number];

const PER_NODE: [MetricKind, string, string, (n: LbNode) => number][] = [
  [
    'counter',
    'moviebook_gateway_upstream_requests_total',
    'Requests forwarded to each node',
    (n) => n.requests,
  ],
  [
    'counter',
    'moviebook_gateway_upstream_errors_total',
    'Forwarded requests that failed (transport or 5xx)',
    (n) => n.errors,
  ],
  [
    'counter',
    'moviebook_gateway_upstream_retries_total',
    'Requests that failed on a node, retried on another',
    (n) => n.retriedElsewhere,
  ],
  [
    'counter',
    'moviebook_gateway_ejections_total',
    'Times each node was ejected (outlier detection)',
    (n) => n.ejections,
  ],
  ['gauge', 'moviebook_gateway_in_flight', 'Requests in flight to each node', (n) => n.inFlight],
  [
    'gauge',
    'moviebook_gateway_node_eligible',
    '1 while a node may receive traffic',
    (n) => (n.eligible ? 1 : 0),
  ],
  [
    'gauge',
    'moviebook_gateway_node_weight',
    "A node's weight for the weighted algorithm",
    (n) => n.weight,
  ],
];

/** The metrics, and the text of one scrape. */
export function gatewayMetrics(stats: () => Promise<LbStats>): { scrape(): Promise<string> } {
  const registry = metricsRegistry({ service: 'gateway' });
  // One scrape reads every metric from one answer.
  const answer = new PerScrape(stats);
  const current = () => answer.get();
  for (const [kind, name, help, value] of PER_NODE) {
    const read = async () =>
      (await current()).nodes.map((n): Sample<'node'> => [{ node: n.id }, value(n)]);
    readMetric(kind, registry, { name, help, labelNames: ['node'], read });
  }
  readGauge(registry, {
    name: 'moviebook_gateway_upstream_latency_seconds',
    help: "Each node's recent latency as the gateway measured it (p50, p99 of its window)",
    labelNames: ['node', 'quantile'],
    read: async () =>
      (await current()).nodes.flatMap((n) =>
        (['0.5', '0.99'] as const)
          .map((quantile): [string, number | null] => [
            quantile,
            quantile === '0.5' ? n.latencyMs.p50 : n.latencyMs.p99,
          ])
          .filter((q): q is [string, number] => q[1] !== null)
          .map(([quantile, ms]): Sample<'node' | 'quantile'> => [
            { node: n.id, quantile },
            ms / 1000,
          ]),
      ),
  });
  const totals = (pick: (s: LbStats) => number) => async () => pick(await current());
  mirroredCounter(registry, {
    name: 'moviebook_gateway_requests_total',
    help: 'Requests received for the nodes',
    read: totals((s) => s.totals.requests),
  });
  mirroredCounter(registry, {
    name: 'moviebook_gateway_no_node_total',
    help: 'Requests answered 503 NO_HEALTHY_NODE',
    read: totals((s) => s.totals.noBackend),
  });
  mirroredCounter(registry, {
    name: 'moviebook_gateway_refused_total',
    help: 'Requests the gateway answered itself (nothing reached a node), by error code',
    labelNames: ['code'],
    read: async () =>
      Object.entries((await current()).edge).map(([code, n]): Sample<'code'> => [{ code }, n]),
  });
  return {
    scrape() {
      answer.next();
      return registry.metrics();
    },
  };
}
