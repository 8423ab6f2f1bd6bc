/**
 * A node's Prometheus metrics (`GET /metrics` on the node's own port): the process, its HTTP
 * requests by route template, bookings, holds, the election, the clocks, replication and the
 * database pool. Counts the node already keeps are read at scrape time; only the request
 * histogram and the booking counters are updated per request.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../core/errors';
import {
  metricsRegistry,
  METRICS_CONTENT_TYPE,
  mirroredCounter,
  PerScrape,
  readGauge,
  readMetric,
  type MetricKind,
} from '../../http/metrics';
import type { ClusterNode } from '../cluster/cluster-node';
import type { NodeContext } from './context';
import { route } from './route';
import type { ReplicationNode } from '../replication/replication-node';

type LocalStats = ReturnType<ReplicationNode['localStats']>;

const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type NodeMetrics = {
  /** The text of one scrape. */
  scrape(): Promise<string>;
  requests: Histogram<'method' | 'route' | 'status_code'>;
  bookings: Counter<'outcome'>;
  holds: Counter;
  conflicts: Counter<'operation'>;
};

export function nodeMetrics(ctx: NodeContext): NodeMetrics {
  const registry = metricsRegistry({ node: ctx.config.nodeId });
  const perScrape = replicationMetrics(registry, ctx);
  const metrics: NodeMetrics = {
    scrape() {
      perScrape.next();
      return registry.metrics();
    },
    requests: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'API requests by method, route template and status',
      labelNames: ['method', 'route', 'status_code'],
      buckets: SECONDS_BUCKETS,
      registers: [registry],
    }),
    bookings: new Counter({
      name: 'moviebook_bookings_total',
      help: 'Bookings answered 201: created, or replayed (a repeated Idempotency-Key)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    holds: new Counter({
      name: 'moviebook_holds_total',
      help: 'Holds created',
      registers: [registry],
    }),
    conflicts: new Counter({
      name: 'moviebook_seat_conflicts_total',
      help: 'Holds and bookings refused because a seat was taken (409 SEATS_UNAVAILABLE)',
      labelNames: ['operation'],
      registers: [registry],
    }),
  };
  readGauge(registry, {
    name: 'http_requests_in_flight',
    help: 'API requests being served',
    read: () => ctx.stats.inFlight,
  });
  readGauge(registry, {
    name: 'moviebook_holds_active',
    help: 'Holds not yet booked, released or expired (from PostgreSQL)',
    read: async () =>
      (
        await ctx.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM seat_holds
           WHERE status = 'active' AND expires_at > now()`,
        )
      ).rows[0]!.n,
  });
  databaseMetrics(registry, ctx);
  clusterMetrics(registry, ctx);
  return metrics;
}

function databaseMetrics(registry: Registry, ctx: NodeContext): void {
  readGauge(registry, {
    name: 'moviebook_db_pool_connections',
    help: 'Database pool connections by state',
    labelNames: ['state'],
    read: () => [
      [{ state: 'idle' }, ctx.db.idleCount],
      [{ state: 'in_use' }, ctx.db.totalCount - ctx.db.idleCount],
    ],
  });
  readGauge(registry, {
    name: 'moviebook_db_pool_waiting',
    help: 'Queries waiting for a pool connection',
    read: () => ctx.db.waitingCount,
  });
}

function clusterMetrics(registry: Registry, ctx: NodeContext): void {
  // The cluster starts after the API (the port opens first): read it at each scrape.
  const read = (value: (cluster: ClusterNode) => number) => () =>
    ctx.cluster ? value(ctx.cluster) : [];
  readGauge(registry, {
    name: 'moviebook_election_epoch',
    help: 'The election epoch this node knows',
    read: read((c) => c.election().epoch),
  });
  readGauge(registry, {
    name: 'moviebook_election_leader',
    help: 'The leader this node knows (1 on its id); no sample while there is none',
    labelNames: ['leader'],
    read: () => {
      const leader = ctx.cluster?.election().leader;
      return leader ? [[{ leader }, 1]] : [];
    },
  });
  readGauge(registry, {
    name: 'moviebook_is_leader',
    help: '1 while this node leads',
    read: read((c) => (c.election().leader === c.nodeId ? 1 : 0)),
  });
  mirroredCounter(registry, {
    name: 'moviebook_leader_changes_total',
    help: 'Leader changes this node has seen',
    read: read((c) => c.leaderChanges),
  });
  mirroredCounter(registry, {
    name: 'moviebook_election_messages_sent_total',
    help: 'Election messages this node sent',
    read: read((c) => c.electionStats().messagesSent),
  });
  readGauge(registry, {
    name: 'moviebook_lamport_clock',
    help: "This node's Lamport clock",
    read: read((c) => c.clock.lamport),
  });
  readGauge(registry, {
    name: 'moviebook_berkeley_offset_seconds',
    help: "The correction Berkeley rounds have applied to this node's clock",
    read: read((c) => c.clock.physical().offsetMs / 1000),
  });
  mirroredCounter(registry, {
    name: 'moviebook_peer_messages_refused_total',
    help: 'Peer messages refused, by reason',
    labelNames: ['reason'],
    read: () => Object.entries(ctx.cluster?.refused ?? {}).map(([reason, n]) => [{ reason }, n]),
  });
}

/** This replica's own counts, one metric each. */
const LOCAL_REPLICA_METRICS: [MetricKind, string, string, (s: LocalStats) => number][] = [
  ['gauge', 'moviebook_replica_entries', "Entries in this node's replica", (s) => s.entries],
  [
    'gauge',
    'moviebook_replication_hints_pending',
    'Hinted writes waiting for a replica',
    (s) => s.hints,
  ],
  [
    'counter',
    'moviebook_replication_conflicts_total',
    'Concurrent writes resolved by last-writer-wins',
    (s) => s.conflicts,
  ],
  [
    'counter',
    'moviebook_replication_sync_rounds_total',
    'Anti-entropy and gossip rounds started',
    (s) => s.syncRounds,
  ],
];

/**
 * Replication's metrics. A scrape reads this replica's stats once, and asks the peers for theirs
 * once (the lag; the transport bounds each peer request): `next()` before each scrape.
 */
function replicationMetrics(registry: Registry, ctx: NodeContext): { next(): void } {
  const local = new PerScrape(async () => ctx.replication?.localStats());
  const view = new PerScrape(
    async () => (await ctx.replication?.clusterStats().catch(() => undefined))?.nodes ?? [],
  );
  const fromLocal = (value: (s: LocalStats) => number) => async () => {
    const stats = await local.get();
    return stats ? value(stats) : [];
  };
  for (const [kind, name, help, value] of LOCAL_REPLICA_METRICS) {
    readMetric(kind, registry, { name, help, read: fromLocal(value) });
  }
  mirroredCounter(registry, {
    name: 'moviebook_replication_writes_total',
    help: 'Replicated writes by result',
    labelNames: ['result'],
    read: async () => {
      const s = await local.get();
      return s
        ? [
            [{ result: 'acked' }, s.writesAcked],
            [{ result: 'failed' }, s.writesFailed],
          ]
        : [];
    },
  });
  // Every reachable replica against the most advanced one, as this node sees them.
  readGauge(registry, {
    name: 'moviebook_replication_lag_entries',
    help: 'Entries a replica has not applied yet, per node',
    labelNames: ['replica'],
    read: async () => (await view.get()).map((n) => [{ replica: n.nodeId }, n.lagEntries]),
  });
  readGauge(registry, {
    name: 'moviebook_replication_lag_seconds',
    help: "How far a replica's newest entry is behind the newest anywhere, per node",
    labelNames: ['replica'],
    read: async () => (await view.get()).map((n) => [{ replica: n.nodeId }, n.lagMs / 1000]),
  });
  return {
    next() {
      local.next();
      view.next();
    },
  };
}

/** `GET /metrics` and the seat conflicts' count (the request histogram is in app.ts's hook). */
export function metricsRoutes(app: FastifyInstance, metrics: NodeMetrics): void {
  app.addHook('onError', async (req, _reply, err) => {
    if (!(err instanceof AppError && err.code === 'SEATS_UNAVAILABLE')) return;
    metrics.conflicts.inc({
      operation: req.routeOptions.url === '/api/holds' ? 'hold' : 'booking',
    });
  });
  route(app, 'GET /metrics', async ({ reply }) => {
    reply.type(METRICS_CONTENT_TYPE);
    return metrics.scrape();
  });
}
