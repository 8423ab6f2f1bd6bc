import fs from 'node:fs';
import path from 'node:path';
import { createPool, type Db } from '../db/pool';
import { childProcessesRunning, startCluster, startGateway, waitFor, waitForAgreement, type TestCluster, type TestGateway } from '../harness/cluster';
import { check, type DbSnapshot, type Report } from './checker';
import { HistoryWriter, readHistory } from './history';
import { Nemesis, planSchedule, sampleElections, type ScheduleOptions } from './nemesis';
import { runWorkload, type Showtime } from './workload';
import type { AnswerOf } from '../contract/operations';

/**
 * One chaos run against a fresh cluster on `databaseUrl` (a fresh, migrated and seeded database):
 * node processes (harness/cluster.ts, API only) and the real gateway; the workload through the
 * gateway and the nemesis at the same time until the duration is up; then heal everything, wait
 * (bounded) until the replicas converge, a last causal read per client, a snapshot of the
 * database, and the checker over the history file and that snapshot. Every process started here is
 * stopped before it returns, on success or failure.
 */

/**
 * The chaos run is a fault test, not an attack: its few accounts book back to back with retries,
 * so the per-account limits (node/config.ts) are set out of the way — a client whose hold answer
 * was lost would otherwise meet HOLD_LIMIT_REACHED until its seats expire.
 */
const CHAOS_ACCOUNT_LIMITS = {
  HOLDS_PER_ACCOUNT_PER_MIN: '1000000', BOOKINGS_PER_ACCOUNT_PER_MIN: '1000000', MAX_HELD_SEATS_PER_ACCOUNT: '10000',
};

export type ChaosOptions = {
  databaseUrl: string;
  nodes: number;
  durationMs: number;
  seed: number;
  clients: number;
  historyFile: string;
  /** Where to save the database as the checker reads it, before checking (so a run can be rechecked). */
  snapshotFile?: string;
  /** How long the replicas may take to converge after the heal. */
  healBoundMs?: number;
  requestTimeoutMs?: number;
  schedule?: Omit<ScheduleOptions, 'durationMs'>;
  /** Extra environment for the node processes. */
  nodeEnv?: Record<string, string>;
  log?: (msg: string) => void;
};

export type ChaosResult = { report: Report; historyFile: string; snapshot: DbSnapshot; injected: Record<string, number> };

const DEFAULT_HEAL_BOUND_MS = 30_000;
const CLUSTER_AGREEMENT_MS = 120_000;
const GATEWAY_READY_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;
const CONVERGENCE_POLL_MS = 250;
const WARM_UP_BOUND_MS = 120_000;
const VERSION_POLL_MS = 300;
const HOT_SEATS = 10;
const WARM_SEATS = 40;

/** Processes of runs in progress, for a last-resort SIGKILL when the runner itself is interrupted. */
const live = new Set<{ cluster?: TestCluster; gateway?: TestGateway }>();

/** SIGCONT then SIGKILL every process of every run in progress (synchronous: safe in an exit handler). */
export function killEverythingNow(): void {
  // Also those of a start that failed half-way (it left no handle to them).
  for (const { pid } of childProcessesRunning('node/main.ts', 'gateway/main.ts')) {
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const run of live) {
    const procs = [...(run.cluster?.nodes.values() ?? [])].map((n) => n.proc);
    if (run.gateway) procs.push(run.gateway.proc);
    for (const proc of procs) {
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) continue;
      proc.kill('SIGCONT');
      proc.kill('SIGKILL');
    }
  }
}

async function withTimeout<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Two future showtimes: a hot one (few seats, everyone wants them) and a warm one (more seats). */
async function chooseShowtimes(db: Db): Promise<{ hot: Showtime; warm: Showtime }> {
  const { rows } = await db.query<{ id: number }>(
    `SELECT s.id FROM showtimes s JOIN screens sc ON sc.id = s.screen_id
     WHERE s.starts_at > now() + interval '3 hours' ORDER BY (sc.name = 'Grand Hall') DESC, s.starts_at LIMIT 2`,
  );
  if (rows.length < 2) throw new Error('the database needs two future showtimes (is it seeded?)');
  const seatsOf = async (id: number, limit: number, offset: number) => (await db.query<{ seat_id: string }>(
    'SELECT seat_id FROM showtime_seats WHERE showtime_id = $1 ORDER BY row_label, seat_number LIMIT $2 OFFSET $3', [id, limit, offset],
  )).rows.map((r) => r.seat_id);
  return { hot: { id: rows[0]!.id, seats: await seatsOf(rows[0]!.id, HOT_SEATS, 40) }, warm: { id: rows[1]!.id, seats: await seatsOf(rows[1]!.id, WARM_SEATS, 0) } };
}

export async function takeSnapshot(db: Db): Promise<DbSnapshot> {
  const bookings = await db.query<{ id: string; user_id: string; showtime_id: string; seat_ids: string[]; status: 'confirmed' | 'cancelled' }>(
    'SELECT id, user_id, showtime_id, seat_ids, status FROM bookings',
  );
  const seats = await db.query<{ booking_id: string; showtime_id: string; seat_id: string }>('SELECT booking_id, showtime_id, seat_id FROM booking_seats');
  const keys = await db.query<{ user_id: string; key: string; booking_id: string | null }>(
    "SELECT user_id, key, response->'booking'->>'id' AS booking_id FROM idempotency_keys",
  );
  const elections = await db.query<{ epoch: string; leader_id: string }>('SELECT epoch, leader_id FROM elections');
  const replicaRows = await db.query<{ node_id: string; id: string | null; status: string | null; origin: string | null; seq: string | null }>(
    `SELECT n.node_id, d.value->>'id' AS id, d.value->>'status' AS status, d.origin, d.seq
     FROM (SELECT DISTINCT node_id FROM data_replicas) n
     LEFT JOIN data_replicas d ON d.node_id = n.node_id AND d.key LIKE 'booking:%' AND NOT d.deleted`,
  );
  const outbox = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM replication_outbox');
  const replicas = new Map<string, DbSnapshot['replicas'][number]['bookings']>();
  for (const r of replicaRows.rows) {
    const list = replicas.get(r.node_id) ?? [];
    if (r.id) list.push({ id: r.id, status: r.status ?? '?', ...(r.origin ? { origin: r.origin } : {}), ...(r.seq !== null ? { seq: Number(r.seq) } : {}) });
    replicas.set(r.node_id, list);
  }
  return {
    bookings: bookings.rows.map((r) => ({ id: r.id, userId: r.user_id, showtimeId: Number(r.showtime_id), seats: r.seat_ids, status: r.status })),
    bookingSeats: seats.rows.map((r) => ({ bookingId: r.booking_id, showtimeId: Number(r.showtime_id), seatId: r.seat_id })),
    idempotencyKeys: keys.rows.map((r) => ({ userId: r.user_id, key: r.key, bookingId: r.booking_id })),
    elections: elections.rows.map((r) => ({ epoch: Number(r.epoch), leaderId: r.leader_id })),
    replicas: [...replicas].map(([nodeId, list]) => ({ nodeId, bookings: list })),
    outbox: outbox.rows[0]!.n,
  };
}

/** Poll the persisted replicas for new versions of booking documents into the history until stopped. */
function watchVersions(db: Db, history: HistoryWriter, intervalMs = VERSION_POLL_MS): { stop(): Promise<void> } {
  let stopped = false;
  const seen = new Set<string>();
  let since = new Date(0);
  const poll = async () => {
    const { rows } = await db.query<{ id: string; status: string; origin: string; seq: string; updated_at: Date }>(
      `SELECT value->>'id' AS id, value->>'status' AS status, origin, seq, updated_at FROM data_replicas
       WHERE key LIKE 'booking:%' AND updated_at >= $1::timestamptz - interval '2 seconds' ORDER BY updated_at`,
      [since],
    );
    for (const r of rows) {
      if (r.updated_at > since) since = r.updated_at;
      const k = `${r.id}/${r.origin}/${r.seq}`;
      if (!r.id || seen.has(k)) continue;
      seen.add(k);
      history.record({ type: 'version', booking: r.id, status: r.status, origin: r.origin, seq: Number(r.seq) });
    }
  };
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      await poll().catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, intervalMs - (performance.now() - started))));
    }
    await poll().catch(() => {});
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

type ReplicasView = AnswerOf<'GET /api/replicas'>;

/**
 * Converged: some node's GET /api/replicas lists every node with one digest, the outbox is empty,
 * and every node's persisted replica holds exactly the bookings of PostgreSQL with their status.
 */
async function convergedNow(cluster: TestCluster, db: Db, ids: string[]): Promise<{ ok: boolean; detail: Record<string, unknown> }> {
  let view: ReplicasView | undefined;
  for (const id of ids) {
    try {
      const res = await fetch(`${cluster.node(id).url}/api/replicas`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) {
        view = (await res.json()) as ReplicasView;
        break;
      }
    } catch {
      /* try the next node */
    }
  }
  const snapshot = await takeSnapshot(db);
  const truth = new Map(snapshot.bookings.map((b) => [b.id, b.status]));
  const differing = ids.filter((id) => {
    const replica = snapshot.replicas.find((r) => r.nodeId === id);
    if (!replica || replica.bookings.length !== truth.size) return true;
    return replica.bookings.some((b) => truth.get(b.id) !== b.status);
  });
  const apiOk = view !== undefined && view.converged && ids.every((id) => view!.nodes.some((n) => n.nodeId === id));
  return {
    ok: apiOk && snapshot.outbox === 0 && differing.length === 0,
    detail: {
      apiConverged: view?.converged ?? null,
      apiNodes: view?.nodes.map((n) => `${n.nodeId}:${n.digest}:${n.entries}`) ?? null,
      outbox: snapshot.outbox,
      replicasDifferingFromDatabase: differing,
      bookingsInDatabase: truth.size,
    },
  };
}

/** For a report: booking documents whose replica status differs from PostgreSQL, with their versions. */
async function replicaDifferences(db: Db): Promise<Record<string, unknown>[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT d.node_id, b.id, b.status AS database_status, d.value->>'status' AS replica_status, b.processed_by,
            b.created_at, b.cancelled_at, d.origin, d.seq, d.lamport AS ts, d.vector_clock, d.updated_at
     FROM bookings b JOIN data_replicas d ON d.key = 'booking:' || b.showtime_id || ':' || b.id
     WHERE d.value->>'status' IS DISTINCT FROM b.status ORDER BY b.id, d.node_id LIMIT 30`,
  );
  return rows;
}

/** Poll until converged or `boundMs` passed. */
async function awaitConvergence(cluster: TestCluster, db: Db, ids: string[], boundMs: number): Promise<{ converged: boolean; waitedMs: number; detail: Record<string, unknown> }> {
  const began = performance.now();
  let detail: Record<string, unknown> = {};
  while (performance.now() - began < boundMs) {
    const now = await convergedNow(cluster, db, ids).catch((err: unknown) => ({ ok: false, detail: { error: String(err) } }));
    detail = now.detail;
    if (now.ok) return { converged: true, waitedMs: Math.round(performance.now() - began), detail };
    await new Promise((resolve) => setTimeout(resolve, CONVERGENCE_POLL_MS));
  }
  const differences = await replicaDifferences(db).catch(() => []);
  return { converged: false, waitedMs: Math.round(performance.now() - began), detail: { ...detail, differences } };
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => {});
  const ids = Array.from({ length: options.nodes }, (_, i) => `node-${i + 1}`);
  const db = createPool(options.databaseUrl, 3);
  const run: { cluster?: TestCluster; gateway?: TestGateway } = {};
  live.add(run);
  let nemesis: Nemesis | undefined;
  let history: HistoryWriter | undefined;
  try {
    const showtimes = await chooseShowtimes(db);
    log(`starting ${options.nodes} nodes`);
    run.cluster = await startCluster(options.nodes, options.databaseUrl, { HOLD_TTL_S: '20', ...CHAOS_ACCOUNT_LIMITS, ...options.nodeEnv });
    const cluster = run.cluster;
    await waitForAgreement(cluster, ids, CLUSTER_AGREEMENT_MS);
    log('starting the gateway');
    run.gateway = await startGateway(options.databaseUrl);
    const gateway = run.gateway;
    await waitFor('every node eligible at the gateway', GATEWAY_READY_MS, async () => {
      const stats = (await (await fetch(`${gateway.url}/api/lb`)).json()) as AnswerOf<'GET /api/lb'>;
      return ids.every((id) => stats.nodes.some((n) => n.id === id && n.eligible));
    }, 100);
    const adminToken = await cluster.adminToken();
    // Start from a steady state: the catalogue the seeding left in the outbox replicated everywhere.
    const warm = await awaitConvergence(cluster, db, ids, WARM_UP_BOUND_MS);
    log(warm.converged ? `replicas converged before the run (${warm.waitedMs} ms)` : `replicas still not converged after ${warm.waitedMs} ms; starting anyway`);

    const schedule = planSchedule(options.seed, { durationMs: options.durationMs, ...options.schedule });
    history = new HistoryWriter(options.historyFile);
    const h = history;
    h.record({
      type: 'meta', seed: options.seed, nodes: ids, durationMs: options.durationMs, clients: options.clients, startedAt: new Date().toISOString(),
      showtimes: { hot: showtimes.hot.id, warm: showtimes.warm.id }, schedule,
    });
    nemesis = new Nemesis({ cluster, gatewayUrl: gateway.url, adminToken, history: h, log });
    const n = nemesis;
    const sampler = sampleElections({ cluster, history: h, skip: () => new Set([...n.down, ...n.paused]) });
    const versions = watchVersions(db, h);
    log(`running ${options.clients} clients for ${(options.durationMs / 1000).toFixed(0)} s with ${schedule.length} planned faults (seed ${options.seed})`);
    const deadlineT = h.now() + options.durationMs;
    // The clients run until the duration is up and the nemesis is done: every fault happens under load.
    let nemesisDone = false;
    const [clients] = await Promise.all([
      runWorkload({
        gatewayUrl: gateway.url, history: h, seed: options.seed, clients: options.clients, done: () => nemesisDone && h.now() >= deadlineT,
        hot: showtimes.hot, warm: showtimes.warm, ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}), log,
      }),
      n.run(schedule, deadlineT).finally(() => (nemesisDone = true)),
    ]);
    log(`workload done (${h.count} events); healing`);
    const healed = await n.heal();
    log(`healed: ${JSON.stringify(healed)}`);

    const boundMs = options.healBoundMs ?? DEFAULT_HEAL_BOUND_MS;
    const after = await awaitConvergence(cluster, db, ids, boundMs);
    h.record({ type: 'convergence', converged: after.converged, waitedMs: after.waitedMs, boundMs, detail: after.detail });
    log(after.converged ? `replicas converged ${after.waitedMs} ms after the heal` : `replicas NOT converged after ${after.waitedMs} ms: ${JSON.stringify(after.detail)}`);

    await Promise.all(clients.map((c) => c.finalReads()));
    await sampler.stop();
    await versions.stop();
    h.record({ type: 'end' });
    h.close();

    const snapshot = await takeSnapshot(db);
    if (options.snapshotFile) fs.writeFileSync(options.snapshotFile, `${JSON.stringify(snapshot)}\n`);
    const report = check(readHistory(options.historyFile), snapshot);
    return { report, historyFile: options.historyFile, snapshot, injected: { ...n.injected } };
  } finally {
    history?.close();
    nemesis?.continueAll();
    if (run.gateway) await withTimeout('stopping the gateway', STOP_TIMEOUT_MS, run.gateway.stop()).catch((err: unknown) => log(String(err)));
    if (run.cluster) {
      const cluster = run.cluster;
      await withTimeout('stopping the nodes', STOP_TIMEOUT_MS, cluster.stop()).catch((err: unknown) => {
        log(`${String(err)}: SIGKILL`);
        for (const node of cluster.nodes.values()) {
          if (node.proc && node.proc.exitCode === null && node.proc.signalCode === null) node.proc.kill('SIGKILL');
        }
        fs.rmSync(cluster.dataDir, { recursive: true, force: true });
      });
    }
    killEverythingNow();
    live.delete(run);
    await db.end();
  }
}

export function resultsDir(): string {
  return path.resolve('chaos-results');
}
