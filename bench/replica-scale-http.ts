import { startCluster, waitFor, waitForAgreement, type TestCluster } from '../harness/cluster';
import { client } from '../harness/helpers';
import {
  cloneDatabase, createBenchUsers, dropDatabase, median, processRssBytes, processTicks,
  type BenchClusters, type BenchDatabase,
} from '../harness/kit';
import { createPool } from '../db/pool';
import type { AnswerOf } from '../contract/operations';

/**
 * Replica reads at scale through a real node: what a client waits for, and the cluster's CPU per
 * read, for a seat map and a user's bookings at each consistency level while the replicas hold
 * SIZE booking documents.
 *
 * Bulk path (docs/benchmarks.md): a 3-node cluster starts on a fresh copy of the seeded database
 * (so the catalogue is replicated as usual) and stops; SIZE booking documents are inserted into
 * every node's persisted replica (`data_replicas`) in one SQL statement — 100 per showtime (the
 * first ones on the real showtimes, the rest on showtimes that exist only in the replicas), 20 per
 * user, the bench user's 20 on the measured showtime — from an origin that is no member (`bulk`),
 * so no node's own sequence numbers are touched; then the nodes start again and load them, as
 * after any restart. Reads go to node-1 directly (no gateway), one at a time.
 */

export type HttpScaleRow = { size: number; read: 'seat map' | 'my bookings'; level: string; medianMs: number; cpuMsPerRead: number; readCpuMsPerRead: number; idleCpuShare: number; rssBytes: number; returned: number; refused: number };

const NODES = ['node-1', 'node-2', 'node-3'];
const PER_SHOWTIME = 100;
const PER_USER = 20;
const LEVELS = ['eventual', 'causal', 'strong'] as const;
const LOAD_TIMEOUT_MS = 10 * 60_000;
const CLOCK_TICK_MS = 10; // USER_HZ = 100 on Linux
export const HTTP_SCALE_ROUNDS = 5;
/**
 * Windows long enough for a 10 ms tick to resolve a read's CPU, and for the collections of a large
 * heap (a second of CPU, every several seconds) to be shared out over many reads instead of
 * landing whole in the one cell they fall into.
 */
export const IDLE_SAMPLE_MS = 10_000;
export const MIN_CELL_MS = 2_000;
/** A read refused (503: a replica busy in a collection missed the read timeout) is tried again, at most this often. */
const MAX_ATTEMPTS = 5;
/**
 * Nodes as they ship (V8's default heap limit: a replica of 1M bookings is under 1 GiB resident),
 * with a failure detector that tolerates the seconds a node spends loading it — this measures
 * reads, not failover.
 */
const NODE_ENV = { LOG_LEVEL: 'warn', SUSPECT_AFTER_MS: '3000', DEAD_AFTER_MS: '10000' };

/** One statement: SIZE booking documents in each node's replica. */
const BULK_INSERT = `
  WITH real AS (SELECT array_agg(id ORDER BY id) AS ids FROM showtimes),
  docs AS (
    SELECT i,
           CASE WHEN i / ${PER_SHOWTIME} < cardinality(real.ids) THEN real.ids[i / ${PER_SHOWTIME} + 1] ELSE 10000000 + i / ${PER_SHOWTIME} END AS showtime,
           CASE WHEN i < ${PER_USER} THEN $2::text ELSE 'bulk-user-' || (i % greatest(1, $1::int / ${PER_USER})) END AS owner,
           md5('bulk-' || i)::uuid::text AS id
    FROM real, generate_series(0, $1::int - 1) AS i
  )
  INSERT INTO data_replicas (node_id, key, value, vector_clock, lamport, origin, seq, deleted, rank, updated_at)
  SELECT n.id, 'booking:' || d.showtime || ':' || d.id,
         jsonb_build_object('id', d.id, 'userId', d.owner, 'showtimeId', d.showtime, 'seats', jsonb_build_array('A' || (d.i % 10 + 1)),
           'totalCents', 1200, 'status', 'confirmed', 'createdAt', '2026-12-01T20:00:00.000Z', 'cancelledAt', NULL,
           'processedBy', 'bulk', 'logicalClock', d.i, 'vectorClock', '{}'::jsonb),
         jsonb_build_object('bulk', d.i + 1), 1700000000000 + d.i, 'bulk', d.i + 1, false, 1, now()
  FROM docs d CROSS JOIN unnest($3::text[]) AS n(id)`;

async function replicaEntries(url: string): Promise<number> {
  const res = await client(url).get<AnswerOf<'GET /api/replicas'>>('/api/replicas');
  return res.status === 200 ? Math.min(...res.body.nodes.map((n) => n.entries)) : 0;
}

/** Ticks of every node process together. */
const clusterTicks = (cluster: TestCluster) => [...cluster.nodes.values()].reduce((sum, n) => sum + (n.proc?.pid ? processTicks(n.proc.pid) : 0), 0);

async function prepare(database: BenchDatabase, size: number, clusters: BenchClusters, log: (msg: string) => void) {
  const name = `${database.name}_scale${size}`;
  const url = await cloneDatabase(database.serverUrl, database.name, name);
  const db = createPool(url, 4);
  const cluster = clusters.add(await startCluster(NODES.length, url, NODE_ENV));
  await waitForAgreement(cluster, NODES, 60_000);
  const [user] = await createBenchUsers(db, 1);
  const catalogue = await replicaEntries(cluster.node('node-1').url);
  for (const id of NODES) await cluster.kill(id, 'SIGTERM');
  const inserted = performance.now();
  await db.query(BULK_INSERT, [size, user!.id, NODES]);
  // Each replica's meta says it has seen the bulk origin's writes, as a replica that received them does.
  await db.query(
    `INSERT INTO replica_meta (node_id, meta, updated_at)
     SELECT id, $2::jsonb, now() FROM unnest($3::text[]) AS id
     ON CONFLICT (node_id) DO UPDATE SET updated_at = now(),
       meta = jsonb_set(replica_meta.meta, '{store,seen}', coalesce(replica_meta.meta->'store'->'seen', '{}') || jsonb_build_object('bulk', $1::int))`,
    [size, JSON.stringify({ store: { seen: { bulk: size }, pending: [], conflicts: 0, recentConflicts: [] }, epoch: 0 }), NODES],
  );
  await db.query('VACUUM ANALYZE data_replicas');
  log(`  ${size.toLocaleString('en-US')} bookings × ${NODES.length} replicas inserted in ${((performance.now() - inserted) / 1000).toFixed(1)} s`);
  const loaded = performance.now();
  for (const id of NODES) await cluster.start(id);
  await waitFor(`every replica to load ${size} bookings`, LOAD_TIMEOUT_MS, async () => (await replicaEntries(cluster.node('node-1').url)) >= catalogue + size, 250);
  // Loading a large replica keeps a node too busy to answer heartbeats: it may take a few rounds of
  // elections after that for the cluster to settle.
  await waitForAgreement(cluster, NODES, LOAD_TIMEOUT_MS);
  log(`  replicas loaded in ${((performance.now() - loaded) / 1000).toFixed(1)} s`);
  const { rows } = await db.query<{ id: number }>('SELECT min(id)::int AS id FROM showtimes');
  return {
    cluster, user: user!, showtimeId: rows[0]!.id,
    async drop() {
      await clusters.stop(cluster);
      await db.end();
      await dropDatabase(database.serverUrl, name);
    },
  };
}

/** Every try of a read, and the refusals (503) retried before it answered. */
type Timed = { samples: number[]; ticks: number; ms: number; reads: number; refused: number; returned: number };

/** The cluster's CPU at rest (ms of CPU per ms): heartbeats, anti-entropy, collections of its heap. */
async function idleCpu(cluster: TestCluster): Promise<number> {
  const ticks = clusterTicks(cluster);
  const t = performance.now();
  await new Promise((resolve) => setTimeout(resolve, IDLE_SAMPLE_MS));
  return ((clusterTicks(cluster) - ticks) * CLOCK_TICK_MS) / (performance.now() - t);
}

/**
 * At least `reads` reads one after another, and for at least MIN_CELL_MS, each retried on a 503
 * (counted) until it answers.
 */
async function timeReads(cluster: TestCluster, reads: number, read: () => Promise<number | 'refused'>, into: Timed): Promise<void> {
  const ticks = clusterTicks(cluster);
  const started = performance.now();
  let done = 0;
  for (; done < reads || performance.now() - started < MIN_CELL_MS; done++) {
    const t = performance.now();
    for (let attempt = 1; ; attempt++) {
      const got = await read();
      if (got !== 'refused') {
        into.returned = got;
        break;
      }
      into.refused += 1;
      if (attempt >= MAX_ATTEMPTS) throw new Error(`a read was refused ${MAX_ATTEMPTS} times in a row`);
    }
    into.samples.push(performance.now() - t);
  }
  into.ticks += clusterTicks(cluster) - ticks;
  into.ms += performance.now() - started;
  into.reads += done;
}

/**
 * Every size's cluster is up at once and the rounds go over the sizes in turn (the median of the
 * rounds' medians), so the sizes are compared side by side on a machine whose load changes.
 */
export async function measureHttpReadsAtScale(
  database: BenchDatabase, sizes: readonly number[], reads: number, clusters: BenchClusters, log: (msg: string) => void,
): Promise<HttpScaleRow[]> {
  const runs: Awaited<ReturnType<typeof prepare>>[] = [];
  try {
    for (const size of sizes) {
      log(`reads at scale through a node: ${size.toLocaleString('en-US')} bookings`);
      runs.push(await prepare(database, size, clusters, log));
    }
    const cells = new Map<string, { size: number; read: HttpScaleRow['read']; level: string; rounds: Timed[] }>();
    const idle = new Map<number, number[]>();
    const rss = new Map<number, number[]>();
    for (let round = 1; round <= HTTP_SCALE_ROUNDS; round++) {
      for (const [i, run] of runs.entries()) {
        const size = sizes[i]!;
        idle.set(size, [...(idle.get(size) ?? []), await idleCpu(run.cluster)]);
        const pid = run.cluster.node('node-1').proc?.pid;
        rss.set(size, [...(rss.get(size) ?? []), pid === undefined ? 0 : processRssBytes(pid)]);
        const api = client(run.cluster.node('node-1').url, run.user.token);
        const get = async (path: string, count: (body: Record<string, unknown[]>) => number): Promise<number | 'refused'> => {
          const res = await api.get(path);
          if (res.status === 503) return 'refused';
          if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(res.body)}`);
          return count(res.body);
        };
        const reads_ = [
          ['seat map', (level: string) => get(`/api/showtimes/${run.showtimeId}?consistency=${level}`, (b) => (b.seats as { status: string }[]).filter((s) => s.status !== 'available').length)],
          ['my bookings', (level: string) => get(`/api/bookings?consistency=${level}`, (b) => b.bookings!.length)],
        ] as const;
        for (const [read, at] of reads_) {
          for (const level of LEVELS) {
            const key = `${size}|${read}|${level}`;
            const cell = cells.get(key) ?? { size, read, level, rounds: [] };
            cells.set(key, cell);
            await at(level); // warm
            const timed: Timed = { samples: [], ticks: 0, ms: 0, reads: 0, refused: 0, returned: 0 };
            await timeReads(run.cluster, reads, () => at(level), timed);
            cell.rounds.push(timed);
          }
        }
      }
      log(`  round ${round} of ${HTTP_SCALE_ROUNDS} measured`);
    }
    return [...cells.values()].map(({ size, read, level, rounds }) => {
      const atRest = median(idle.get(size)!);
      const perRead = (f: (r: Timed) => number) => median(rounds.map((r) => f(r) / r.reads));
      return {
        size, read, level,
        medianMs: median(rounds.map((r) => median(r.samples))),
        cpuMsPerRead: perRead((r) => r.ticks * CLOCK_TICK_MS),
        // What the reads added to the cluster's CPU at rest.
        readCpuMsPerRead: perRead((r) => Math.max(0, r.ticks * CLOCK_TICK_MS - atRest * r.ms)),
        idleCpuShare: atRest,
        rssBytes: median(rss.get(size)!),
        returned: rounds.at(-1)!.returned,
        refused: rounds.reduce((n, r) => n + r.refused, 0),
      };
    });
  } finally {
    for (const run of runs) await run.drop();
  }
}
