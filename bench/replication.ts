import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dominates, type VectorClock } from '../core/vector-clock';
import { createPool } from '../db/database';
import type { Db } from '../db/pool';
import { decodeSessionToken } from '../core/replication/session-token';
import {
  pushEpidemicRounds, SERF_1000_NODES_99_99_S, SPREAD_FANOUT, SPREAD_GOSSIP_INTERVAL_MS, SPREAD_NETWORK, spreadTable, type SpreadRow,
} from '../sim/replication/spread';
import { startCluster, waitFor, waitForAgreement, type TestCluster } from '../harness/cluster';
import { createUsersDirect } from '../harness/helpers';
import { measureReadsAtScale } from './replica-scale';
import {
  HTTP_SCALE_ROUNDS, IDLE_SAMPLE_MS, MIN_CELL_MS, measureHttpReadsAtScale, type HttpScaleRow,
} from './replica-scale-http';
import {
  BenchClusters, Cleanup, cloneDatabase, dropDatabase, measuredOn, openSeededBenchDatabase, percentile, runMain, writeDocSection,
  type BenchDatabase, type Machine,
} from '../harness/kit';
import {
  CONSISTENCIES, REPLICATION_MODES, type Consistency, type ReplicationMode,
} from '../core/vocabulary';

/**
 * `npm run bench:replication`: how fast an acknowledged write reaches every replica, per
 * replication mode, on real node processes (harness/cluster.ts: one OS process per node, API only,
 * one PostgreSQL database) and in the simulator (sim/replication/spread.ts) beside Serf's
 * model; and what a read costs at each consistency level.
 *
 * Real nodes, per size (--sizes, default 3,5) and mode (switched at runtime with POST
 * /api/replicas as admin; measured once every node reports it and the replicas have converged):
 * WRITES bookings of one seat each (distinct seats, random users) through random nodes, one at a
 * time. For each, the answer's `X-Session-Token` (the dots of the facts it published) is decoded,
 * and GET /api/replicas (every live node's version vector, gathered by the node asked; the node
 * asked rotates) is polled every POLL_INTERVAL_MS until every node's vector covers those dots:
 * **ack → every replica** = answer received → the poll answer that showed it (an upper bound: it
 * includes up to one poll's round trip). A random pause of 0–WRITE_GAP_MAX_MS separates writes,
 * so they land at random points of the gossip rounds.
 *
 * Reads, on 3 nodes, per mode (--read-modes): READS requests each of GET /api/showtimes/:id and
 * GET /api/bookings at eventual, causal (carrying the session token, updated from every answer,
 * as the web app does) and strong, interleaved, at random nodes; and RYW times "book through one
 * node, then at once read one's bookings causally through another node with the new token".
 *
 * Simulator: `spreadTable()` (every mode, 100 and 1,000 nodes, memberlist's 200 ms / fanout 3).
 *
 * Options: --writes N (env WRITES, default 50), --reads N (env READS, 200), --ryw N (30),
 * --sizes 3,5, --modes master-slave,multi-master,gossip, --read-modes (default: all of --modes),
 * --no-sim, --no-docs (env BENCH_WRITE_DOCS=0), --scale 1000,10000,100000,1000000 (the reads-at-scale
 * part, bench/replica-scale.ts, in this process), --no-scale, --only-scale. DATABASE_URL: use that server instead of a fresh
 * embedded PostgreSQL. TEST_CLUSTER_LOG_DIR=<dir> keeps every node's log there. Results go to
 * stdout and to the "Replication" section of docs/benchmarks.md.
 */

type Endpoint = 'showtime' | 'bookings';

const DEFAULT_WRITES = 50;
const DEFAULT_READS = 200;
const DEFAULT_RYW = 30;
const WARMUP_WRITES = 2;
const POLL_INTERVAL_MS = 5;
/** Give up on a write that has not reached every replica this long after its acknowledgement. */
const SPREAD_BOUND_MS = 15_000;
const WRITE_GAP_MAX_MS = 200;
const MODE_SWITCH_TIMEOUT_MS = 60_000;
/** After start: the seeded catalogue's facts are published from the outbox (adopted after 10 s) and reach every replica. */
const INITIAL_SETTLE_TIMEOUT_MS = 120_000;
const CLUSTER_AGREEMENT_MS = 60_000;
const CLUSTER_STOP_TIMEOUT_MS = 15_000;
const HTTP_TIMEOUT_MS = 5_000;
const USERS = 50;
const DOCS_FILE = path.join('docs', 'benchmarks.md');
const DOCS_HEADING = 'Replication';
const SCALE_HEADING = 'Replica reads at scale';
/** Bookings in the replica for the reads-at-scale part (--scale), and reads per cell and round. */
const DEFAULT_SCALE = [1_000, 10_000, 100_000, 1_000_000];
const SCALE_READS = 300;
const SCALE_HTTP_HEADING = 'Replica reads at scale, through a node';
/**
 * One reader books 30+ times a minute: this measures replication, not the per-account limits
 * (node/config.ts; bench:abuse measures those).
 */
const UNLIMITED_ACCOUNTS = {
  BOOKINGS_PER_ACCOUNT_PER_MIN: '1000000', HOLDS_PER_ACCOUNT_PER_MIN: '1000000',
};
/** Reads per cell through a node (each a real HTTP request). */
const SCALE_HTTP_READS = 200;

const log = (msg: string) => console.log(`[replication] ${msg}`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

// ── Options ──────────────────────────────────────────────────────────────────────────────────────

function positiveInts(text: string, what: string): number[] {
  const values = text.split(',').map((s) => Number(s.trim()));
  if (!values.length || values.some((v) => !Number.isInteger(v) || v < 1)) throw new Error(`${what}: expected positive integers, got "${text}"`);
  return values;
}

function modeList(text: string, what: string): ReplicationMode[] {
  const modes = text.split(',').map((m) => m.trim());
  for (const m of modes) if (!(REPLICATION_MODES as readonly string[]).includes(m)) throw new Error(`${what}: unknown mode "${m}"`);
  return modes as ReplicationMode[];
}

function readOptions() {
  const { values } = parseArgs({
    options: {
      writes: { type: 'string' },
      reads: { type: 'string' },
      ryw: { type: 'string' },
      sizes: { type: 'string' },
      modes: { type: 'string' },
      'read-modes': { type: 'string' },
      'no-sim': { type: 'boolean' },
      'no-docs': { type: 'boolean' },
      scale: { type: 'string' },
      'no-scale': { type: 'boolean' },
      'only-scale': { type: 'boolean' },
      'no-scale-http': { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  const writes = positiveInts(values.writes ?? process.env.WRITES ?? String(DEFAULT_WRITES), '--writes')[0]!;
  const reads = positiveInts(values.reads ?? process.env.READS ?? String(DEFAULT_READS), '--reads')[0]!;
  const ryw = positiveInts(values.ryw ?? String(DEFAULT_RYW), '--ryw')[0]!;
  const sizes = positiveInts(values.sizes ?? '3,5', '--sizes');
  for (const n of sizes) if (n < 2) throw new Error(`--sizes: replication needs at least 2 nodes, got ${n}`);
  const modes = modeList(values.modes ?? REPLICATION_MODES.join(','), '--modes');
  const readModes = modeList(values['read-modes'] ?? modes.join(','), '--read-modes');
  const scale = values['no-scale'] ? [] : positiveInts(values.scale ?? DEFAULT_SCALE.join(','), '--scale');
  return {
    writes, reads, ryw, sizes, modes, readModes, sim: !values['no-sim'], scale, onlyScale: values['only-scale'] === true,
    scaleHttp: !values['no-scale-http'],
    writeDocs: !values['no-docs'] && process.env.BENCH_WRITE_DOCS !== '0',
  };
}
type Options = ReturnType<typeof readOptions>;

function command(o: Options): string {
  const extra = [
    o.writes !== DEFAULT_WRITES ? `--writes ${o.writes}` : '',
    o.reads !== DEFAULT_READS ? `--reads ${o.reads}` : '',
    o.ryw !== DEFAULT_RYW ? `--ryw ${o.ryw}` : '',
    o.sizes.join(',') !== '3,5' ? `--sizes ${o.sizes.join(',')}` : '',
    o.modes.join(',') !== REPLICATION_MODES.join(',') ? `--modes ${o.modes.join(',')}` : '',
    o.readModes.join(',') !== o.modes.join(',') ? `--read-modes ${o.readModes.join(',')}` : '',
    o.sim ? '' : '--no-sim',
  ].filter(Boolean);
  return `npm run bench:replication${extra.length ? ` -- ${extra.join(' ')}` : ''}`;
}

// ── HTTP ─────────────────────────────────────────────────────────────────────────────────────────

type Answer<T> = { status: number; body: T; headers: Headers };

async function http<T>(
  method: 'GET' | 'POST', url: string, options: { bearer?: string; body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Answer<T>> {
  const res = await fetch(url, {
    method,
    headers: {
      ...(options.bearer ? { authorization: `Bearer ${options.bearer}` } : {}),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    signal: AbortSignal.timeout(options.timeoutMs ?? HTTP_TIMEOUT_MS),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, body: body as T, headers: res.headers };
}

type NodeReplica = { nodeId: string; mode: string; versionVector: VectorClock; entries: number; digest: string };
type ReplicasView = {
  servedBy: string; mode: string; n: number; r: number; w: number; synchronous: boolean; fanout: number; gossipIntervalMs: number;
  converged: boolean; nodes: NodeReplica[];
};

async function replicas(cluster: TestCluster, id: string): Promise<ReplicasView> {
  const res = await http<ReplicasView>('GET', `${cluster.node(id).url}/api/replicas`);
  if (res.status !== 200) throw new Error(`GET /api/replicas on ${id}: ${res.status}`);
  return res.body;
}

// ── Processes ────────────────────────────────────────────────────────────────────────────────────

const clusters = new BenchClusters(CLUSTER_STOP_TIMEOUT_MS, log);

// ── Load average, sampled through the run ────────────────────────────────────────────────────────

const loadSeen = { min: Infinity, max: 0 };
function sampleLoad(): number {
  const l = os.loadavg()[0]!;
  loadSeen.min = Math.min(loadSeen.min, l);
  loadSeen.max = Math.max(loadSeen.max, l);
  return l;
}

// ── Real nodes: writes ───────────────────────────────────────────────────────────────────────────

type Seat = { showtimeId: number; seatId: string };
type User = { id: string; token: string };

type Booked = {
  status: number; node: string; requestMs: number; ackAt: number; bookingId?: string; token: string | null; dots: VectorClock | null; error?: string;
};

/** Book one seat through `node`; `ackAt` is when the answer was received (performance.now()). */
async function book(cluster: TestCluster, node: string, user: User, seat: Seat, sessionToken?: string): Promise<Booked> {
  const started = performance.now();
  try {
    const res = await http<{ booking?: { id?: string } }>('POST', `${cluster.node(node).url}/api/bookings`, {
      bearer: user.token,
      body: { showtimeId: seat.showtimeId, seats: [seat.seatId] },
      headers: sessionToken ? { 'x-session-token': sessionToken } : {},
    });
    const ackAt = performance.now();
    const token = res.headers.get('x-session-token');
    return {
      status: res.status, node, requestMs: ackAt - started, ackAt, token, dots: token === null ? null : decodeSessionToken(token),
      ...(res.status === 201 ? { bookingId: res.body?.booking?.id } : { error: JSON.stringify(res.body).slice(0, 200) }),
    };
  } catch (err) {
    const ackAt = performance.now();
    return { status: 0, node, requestMs: ackAt - started, ackAt, token: null, dots: null, error: String(err) };
  }
}

type Spread = {
  /** Answer received → the poll answer showing every node covering the dots; null: not within SPREAD_BOUND_MS. */
  ms: number | null;
  /**
   * Lower bound: when the last poll that still found a node lacking them was sent (its answer was
   * sampled after that), from the answer received; 0 when the first poll already found them everywhere.
   */
  lowerMs: number;
  /** Every node already covered them at the first poll. */
  atFirstPoll: boolean;
  /** The nodes the last unsuccessful poll found lacking them. */
  lastLacking: string[];
  polls: number;
  pollRttMs: number[];
  /** When not within the bound: who was missing what, as last seen. */
  missing: string;
};

function missingDots(view: ReplicasView, ids: string[], dots: VectorClock): string[] {
  const out: string[] = [];
  for (const id of ids) {
    const node = view.nodes.find((n) => n.nodeId === id);
    if (!node) out.push(`${id}: not in the answer (not alive for ${view.servedBy})`);
    else if (!dominates(node.versionVector, dots)) out.push(`${id}: vector ${JSON.stringify(node.versionVector)}`);
  }
  return out;
}

/** Poll GET /api/replicas (rotating over the nodes) until every node's version vector covers `dots`. */
async function awaitEverywhere(cluster: TestCluster, ids: string[], dots: VectorClock, ackAt: number): Promise<Spread> {
  const pollRttMs: number[] = [];
  let missing = 'no answer';
  let polls = 0;
  let lowerMs = 0;
  let lastLacking: string[] = [];
  while (performance.now() - ackAt < SPREAD_BOUND_MS) {
    const target = ids[polls % ids.length]!;
    polls += 1;
    const sent = performance.now();
    const view = await replicas(cluster, target).catch((err: unknown) => String(err));
    const got = performance.now();
    pollRttMs.push(got - sent);
    if (typeof view === 'string') {
      missing = view;
    } else {
      const lacking = missingDots(view, ids, dots);
      if (lacking.length === 0) return { ms: got - ackAt, lowerMs, atFirstPoll: polls === 1, lastLacking, polls, pollRttMs, missing: '' };
      missing = `asked ${target}: ${lacking.join('; ')}`;
      lowerMs = Math.max(0, sent - ackAt);
      lastLacking = lacking.map((l) => (l.includes('not in the answer') ? `${l.split(':')[0]!} (absent from ${target}'s answer)` : l.split(':')[0]!));
    }
    await sleep(POLL_INTERVAL_MS);
  }
  return { ms: null, lowerMs, atFirstPoll: false, lastLacking, polls, pollRttMs, missing };
}

type WriteSample = { node: string; requestMs: number; spread: Spread | null; dots: number; problem?: string };

type ModeSettings = { n: number; r: number; w: number; synchronous: boolean; fanout: number; gossipIntervalMs: number };

type WriteResult = {
  mode: ReplicationMode; size: number; samples: WriteSample[]; settings: ModeSettings; switchMs: number; loadAvg1m: { min: number; max: number };
};

/** Switch the whole cluster to `mode` and wait until every node runs it and the replicas agree (nothing in flight). */
async function switchMode(cluster: TestCluster, ids: string[], admin: string, mode: ReplicationMode, db: Db): Promise<{ ms: number; settings: ModeSettings }> {
  const started = performance.now();
  // The change is stored before it is pushed to the peers, so an answer that comes too late (a busy host) is not a failure:
  // what counts is every node reporting the mode, checked below.
  const res = await http<unknown>('POST', `${cluster.node(ids[0]!).url}/api/replicas`, { bearer: admin, body: { mode }, timeoutMs: MODE_SWITCH_TIMEOUT_MS })
    .catch((err: unknown) => {
      log(`POST /api/replicas {mode: ${mode}}: ${String(err)}; waiting for the nodes anyway`);
      return undefined;
    });
  if (res && res.status !== 200) throw new Error(`POST /api/replicas {mode: ${mode}}: ${res.status} ${JSON.stringify(res.body)}`);
  const settings = await awaitQuiet(cluster, ids, db, mode, MODE_SWITCH_TIMEOUT_MS);
  return { ms: performance.now() - started, settings };
}

/** Wait until every node runs `mode` (any, if undefined), sees every other, the replicas have converged and the outbox is empty. */
async function awaitQuiet(cluster: TestCluster, ids: string[], db: Db, mode: ReplicationMode | undefined, timeoutMs: number): Promise<ModeSettings> {
  let last = '';
  let settings: ModeSettings | undefined;
  await waitFor(`every node in ${mode ?? 'one mode'}, converged`, timeoutMs, async () => {
    const views = await Promise.all(ids.map((id) => replicas(cluster, id)));
    const outbox = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM replication_outbox');
    last = views.map((v) => `${v.servedBy}: ${v.mode}, ${v.converged ? 'converged' : 'not converged'}, sees ${v.nodes.map((n) => `${n.nodeId}=${n.mode}`).join(',')}`).join('; ')
      + `; outbox ${outbox.rows[0]!.n}`;
    const want = mode ?? views[0]!.mode;
    const ok = outbox.rows[0]!.n === 0 && views.every((v) => v.mode === want && v.converged && v.nodes.length === ids.length && v.nodes.every((n) => n.mode === want));
    if (ok) settings = { n: views[0]!.n, r: views[0]!.r, w: views[0]!.w, synchronous: views[0]!.synchronous, fanout: views[0]!.fanout, gossipIntervalMs: views[0]!.gossipIntervalMs };
    return ok;
  }, 50).catch((err: Error) => {
    throw new Error(`${err.message}; last: ${last}`);
  });
  return settings!;
}

async function measureWrites(
  cluster: TestCluster, ids: string[], mode: ReplicationMode,
  writes: number, users: User[], seats: () => Seat,
): Promise<WriteSample[]> {
  for (let i = 0; i < WARMUP_WRITES; i++) {
    const b = await book(cluster, pick(ids), pick(users), seats());
    if (b.status !== 201) log(`${mode}/${ids.length}: warm-up booking through ${b.node} failed: ${b.status} ${b.error ?? ''}`);
    if (b.dots) await awaitEverywhere(cluster, ids, b.dots, b.ackAt);
  }
  const samples: WriteSample[] = [];
  for (let i = 0; i < writes; i++) {
    const b = await book(cluster, pick(ids), pick(users), seats());
    const dots = b.dots ? Object.keys(b.dots).length : 0;
    let sample: WriteSample;
    if (b.status !== 201) {
      sample = { node: b.node, requestMs: b.requestMs, spread: null, dots, problem: `booking failed: ${b.status} ${b.error ?? ''}` };
    } else if (!b.dots || dots === 0) {
      // The answer's token does not name the write: nothing to wait for (see the report).
      sample = { node: b.node, requestMs: b.requestMs, spread: null, dots, problem: `201 with session token ${JSON.stringify(b.token)}: names no write` };
    } else {
      const spread = await awaitEverywhere(cluster, ids, b.dots, b.ackAt);
      sample = { node: b.node, requestMs: b.requestMs, spread, dots, ...(spread.ms === null ? { problem: `not everywhere within ${SPREAD_BOUND_MS} ms: ${spread.missing}` } : {}) };
    }
    if (sample.problem) log(`${mode}/${ids.length} write ${i + 1} through ${b.node}: ${sample.problem}`);
    samples.push(sample);
    sampleLoad();
    await sleep(Math.random() * WRITE_GAP_MAX_MS);
  }
  return samples;
}

// ── Real nodes: reads ────────────────────────────────────────────────────────────────────────────

type ReadCell = {
  mode: ReplicationMode; endpoint: Endpoint; consistency: Consistency; ms: number[]; failures: Record<string, number>; byPeer: number;
  /** Bookings (or seats) in the last answer. */
  listed: number;
};
type RywResult = {
  mode: ReplicationMode; ms: number[]; sawOwn: number; byPeer: number; failures: Record<string, number>; samples: number;
  /** Bookings whose answer's session token named no write (so a causal read cannot wait for it). */
  emptyTokens: number;
  /** The reads that did not return the booking just made. */
  misses: string[];
};

function servedByPeer(headers: Headers, node: string): boolean {
  const servedBy = headers.get('x-replica-served-by');
  return servedBy !== null && servedBy !== node;
}

async function measureReads(
  cluster: TestCluster, ids: string[], mode: ReplicationMode,
  reads: number, reader: User, showtimeId: number, startToken: string,
): Promise<ReadCell[]> {
  const cells: ReadCell[] = [];
  for (const endpoint of ['showtime', 'bookings'] as const) {
    for (const consistency of CONSISTENCIES) cells.push({ mode, endpoint, consistency, ms: [], failures: {}, byPeer: 0, listed: 0 });
  }
  let session = startToken;
  for (let i = 0; i < reads; i++) {
    // Interleaved, in a fresh random order each time, so noise spreads evenly over the cells.
    const order = [...cells].sort(() => Math.random() - 0.5);
    for (const cell of order) {
      const node = pick(ids);
      const target = cell.endpoint === 'showtime' ? `/api/showtimes/${showtimeId}` : '/api/bookings';
      const started = performance.now();
      const res = await http<{ bookings?: unknown[]; seats?: unknown[] }>('GET', `${cluster.node(node).url}${target}?consistency=${cell.consistency}`, {
        ...(cell.endpoint === 'bookings' ? { bearer: reader.token } : {}),
        headers: cell.consistency === 'causal' ? { 'x-session-token': session } : {},
      }).catch((err: unknown) => ({ status: 0, body: { error: String(err) } as never, headers: new Headers() }));
      const ms = performance.now() - started;
      if (res.status === 200) {
        cell.ms.push(ms);
        cell.listed = (cell.endpoint === 'bookings' ? res.body.bookings : res.body.seats)?.length ?? 0;
        if (servedByPeer(res.headers, node)) cell.byPeer += 1;
        if (cell.consistency === 'causal') session = res.headers.get('x-session-token') ?? session;
      } else {
        const key = res.status === 0 ? 'error' : `${res.status} ${(res.body as { code?: string } | undefined)?.code ?? ''}`.trim();
        cell.failures[key] = (cell.failures[key] ?? 0) + 1;
      }
    }
    if (i % 20 === 0) sampleLoad();
  }
  return cells;
}

/** Book through one node, then at once read one's bookings causally through another with the new token. */
async function measureReadYourWrites(
  cluster: TestCluster, ids: string[], mode: ReplicationMode,
  count: number, reader: User, seats: () => Seat,
): Promise<RywResult> {
  const result: RywResult = { mode, ms: [], sawOwn: 0, byPeer: 0, failures: {}, samples: 0, emptyTokens: 0, misses: [] };
  for (let i = 0; i < count; i++) {
    const writer = pick(ids);
    const readerNode = pick(ids.filter((id) => id !== writer));
    const b = await book(cluster, writer, reader, seats());
    if (b.status !== 201 || !b.token) {
      result.failures[`booking ${b.status}`] = (result.failures[`booking ${b.status}`] ?? 0) + 1;
      continue;
    }
    result.samples += 1;
    const emptyToken = !b.dots || Object.keys(b.dots).length === 0;
    if (emptyToken) result.emptyTokens += 1;
    const started = performance.now();
    const res = await http<{ bookings?: { id?: string }[] }>(
      'GET', `${cluster.node(readerNode).url}/api/bookings?consistency=causal`, { bearer: reader.token, headers: { 'x-session-token': b.token } },
    ).catch((err: unknown) => ({ status: 0, body: { error: String(err) } as never, headers: new Headers() }));
    const ms = performance.now() - started;
    if (res.status === 200) {
      result.ms.push(ms);
      if (servedByPeer(res.headers, readerNode)) result.byPeer += 1;
      if (b.bookingId !== undefined && res.body.bookings?.some((x) => x.id === b.bookingId)) {
        result.sawOwn += 1;
      } else {
        const miss = `booked through ${writer} (token ${b.token}${emptyToken ? ', naming no write' : ''}), read through ${readerNode}, ` +
          `served by ${res.headers.get('x-replica-served-by') ?? '?'} in ${ms.toFixed(0)} ms without the booking`;
        result.misses.push(miss);
        log(`${mode}/${ids.length} read-your-write ${i + 1}: ${miss}`);
      }
    } else {
      const key = res.status === 0 ? 'error' : `${res.status}`;
      result.failures[key] = (result.failures[key] ?? 0) + 1;
    }
    await sleep(Math.random() * WRITE_GAP_MAX_MS);
  }
  return result;
}

// ── One cluster size ─────────────────────────────────────────────────────────────────────────────

type SizeResult = { writes: WriteResult[]; reads: ReadCell[]; ryw: RywResult[] };

async function runSize(size: number, databaseUrl: string, options: Options): Promise<SizeResult> {
  const ids = Array.from({ length: size }, (_, i) => `node-${i + 1}`);
  const db = createPool(databaseUrl, 4);
  const result: SizeResult = { writes: [], reads: [], ryw: [] };
  let cluster: TestCluster | undefined;
  try {
    const users = await createUsersDirect(db, USERS);
    const free = (await db.query<{ showtime_id: string; seat_id: string }>(
      `SELECT ss.showtime_id, ss.seat_id FROM showtime_seats ss JOIN showtimes s ON s.id = ss.showtime_id
       WHERE s.starts_at > now() + interval '1 hour' AND ss.booking_id IS NULL AND ss.hold_id IS NULL
       ORDER BY s.starts_at, s.id, ss.row_label, ss.seat_number LIMIT $1`,
      [options.modes.length * (options.writes + WARMUP_WRITES + options.ryw + 1) + 10],
    )).rows.map((r) => ({ showtimeId: Number(r.showtime_id), seatId: r.seat_id }));
    let next = 0;
    const seats = (): Seat => {
      const seat = free[next++];
      if (!seat) throw new Error('ran out of free seats');
      return seat;
    };

    log(`${size} nodes: starting the cluster`);
    try {
      cluster = await startCluster(size, databaseUrl, UNLIMITED_ACCOUNTS);
    } catch (err) {
      clusters.killNow();
      throw err;
    }
    clusters.add(cluster);
    await waitForAgreement(cluster, ids, CLUSTER_AGREEMENT_MS);
    const admin = await cluster.adminToken();
    const settleStarted = performance.now();
    await awaitQuiet(cluster, ids, db, undefined, INITIAL_SETTLE_TIMEOUT_MS);
    log(`${size} nodes: the seeded catalogue is on every replica after ${((performance.now() - settleStarted) / 1000).toFixed(1)} s`);

    for (const mode of options.modes) {
      const load = { min: sampleLoad(), max: 0 };
      const switched = await switchMode(cluster, ids, admin, mode, db);
      log(`${size} nodes: ${mode} everywhere and converged after ${switched.ms.toFixed(0)} ms (${JSON.stringify(switched.settings)})`);
      const samples = await measureWrites(cluster, ids, mode, options.writes, users, seats);
      const spread = sortedMs(samples.filter((s) => s.spread).map((s) => s.spread!.ms));
      log(`${size} nodes, ${mode}: ack → every replica p50 ${fmt(percentile(spread, 50))} ms, p99 ${fmt(percentile(spread, 99))} ms`
        + ` (${samples.filter((s) => s.problem).length} problem(s)); load ${os.loadavg()[0]!.toFixed(2)}`);

      if (size === 3 && options.readModes.includes(mode)) {
        const reader = users[0]!;
        const ryw = await measureReadYourWrites(cluster, ids, mode, options.ryw, reader, seats);
        result.ryw.push(ryw);
        log(`${size} nodes, ${mode}: read-your-write on another node p50 ${fmt(percentile(sortedMs(ryw.ms), 50))} ms, saw own ${ryw.sawOwn}/${ryw.samples}`);
        // Steady state: one more booking by the reader; its token starts the session.
        const b = await book(cluster, pick(ids), reader, seats());
        if (b.status !== 201 || !b.token || !b.dots) throw new Error(`the reader's booking failed: ${b.status} ${b.error ?? ''}`);
        await awaitEverywhere(cluster, ids, b.dots, b.ackAt);
        const cells = await measureReads(cluster, ids, mode, options.reads, reader, free[0]!.showtimeId, b.token);
        result.reads.push(...cells);
        log(`${size} nodes, ${mode}: reads p50 ${cells.map((c) => `${c.endpoint}/${c.consistency} ${fmt(percentile(sortedMs(c.ms), 50))}`).join(', ')} ms`);
      }
      load.max = Math.max(sampleLoad(), load.min);
      result.writes.push({ mode, size, samples, settings: switched.settings, switchMs: switched.ms, loadAvg1m: load });
    }
    return result;
  } finally {
    if (cluster) await clusters.stop(cluster);
    await db.end();
  }
}

// ── Report ───────────────────────────────────────────────────────────────────────────────────────

function sortedMs(values: (number | null)[]): number[] {
  return values.map((v) => v ?? Infinity).sort((a, b) => a - b);
}

const fmt = (v: number, digits = 0) => (v === Infinity ? `> ${SPREAD_BOUND_MS}` : Number.isNaN(v) ? '–' : v.toFixed(digits));

function table(head: string[], rows: string[][], leftColumns = 1): string {
  const align = head.map((_, i) => (i < leftColumns ? '---' : '---:'));
  return [head, align, ...rows].map((cells) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`).join('\n');
}

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(line(r));
  console.log('');
}

const WRITE_HEAD = [
  'Mode', 'Nodes', 'Writes', 'Booking request p50 ms', 'p99 ms', '**Ack → every replica p50 ms**', '**p99 ms**', 'max ms',
  'Lower bound p50 / p99 ms', 'Already everywhere at 1st poll', 'Not within 15 s', 'Unmeasurable', 'Poll round trip p50 ms', 'Settings',
];

function writeRows(results: WriteResult[]): string[][] {
  return results.map((r) => {
    const measured = r.samples.filter((s) => s.spread !== null);
    const spread = sortedMs(measured.map((s) => s.spread!.ms));
    const request = sortedMs(r.samples.map((s) => s.requestMs));
    const rtt = sortedMs(measured.flatMap((s) => s.spread!.pollRttMs));
    const lower = sortedMs(measured.filter((s) => s.spread!.ms !== null).map((s) => s.spread!.lowerMs));
    const st = r.settings;
    const settings = r.mode === 'gossip' ? `every ${st.gossipIntervalMs} ms, fanout ${st.fanout}`
      : r.mode === 'multi-master' ? `N/R/W ${st.n}/${st.r}/${st.w}` : st.synchronous ? 'synchronous' : 'asynchronous';
    return [
      r.mode, String(r.size), String(r.samples.length), fmt(percentile(request, 50)), fmt(percentile(request, 99)),
      fmt(percentile(spread, 50)), fmt(percentile(spread, 99)), fmt(spread[spread.length - 1] ?? NaN),
      `${fmt(percentile(lower, 50))} / ${fmt(percentile(lower, 99))}`,
      `${measured.filter((s) => s.spread!.atFirstPoll).length}/${measured.length}`,
      String(measured.filter((s) => s.spread!.ms === null).length), String(r.samples.length - measured.length),
      fmt(percentile(rtt, 50), 1), settings,
    ];
  });
}

const READ_HEAD = ['Mode', 'Read', 'Consistency', 'Requests OK', 'p50 ms', 'p99 ms', 'Served by another node', 'Failed'];

function failuresText(f: Record<string, number>): string {
  const parts = Object.entries(f).map(([k, n]) => `${n} × ${k}`);
  return parts.length ? parts.join(', ') : '0';
}

function bookingsListed(cells: ReadCell[]): string {
  const counts = cells.filter((c) => c.endpoint === 'bookings').map((c) => c.listed);
  return counts.length ? `${Math.min(...counts)}–${Math.max(...counts)}` : '–';
}

function readRows(cells: ReadCell[]): string[][] {
  return cells.map((c) => {
    const ms = sortedMs(c.ms);
    return [
      c.mode, c.endpoint === 'showtime' ? 'GET /api/showtimes/:id' : 'GET /api/bookings', c.consistency, String(c.ms.length),
      fmt(percentile(ms, 50), 1), fmt(percentile(ms, 99), 1), String(c.byPeer), failuresText(c.failures),
    ];
  });
}

const RYW_HEAD = [
  'Mode', 'Book on one node, read causally on another', 'p50 ms', 'p99 ms', 'Saw own booking', 'Token named no write', 'Served by a peer of the node asked', 'Failed',
];

function rywRows(results: RywResult[]): string[][] {
  return results.map((r) => {
    const ms = sortedMs(r.ms);
    return [
      r.mode, String(r.samples), fmt(percentile(ms, 50), 1), fmt(percentile(ms, 99), 1), `${r.sawOwn}/${r.ms.length}`, String(r.emptyTokens),
      String(r.byPeer), failuresText(r.failures),
    ];
  });
}

const SIM_HEAD = [
  'Mode', 'Nodes', 'Writes', 'Write → ack p50 / p99 ms', 'Ack → every replica p50 / p99 ms',
  '50% of nodes: rounds p50 / p99', '99%: rounds p50 / p99', '**99.99%: rounds p50 / p99**', '**99.99%: simulated s p50 / p99**', 'Incomplete',
];

function simRows(rows: SpreadRow[]): string[][] {
  const pair = (p: { p50: number; p99: number }, digits: number, scale = 1) => `${(p.p50 * scale).toFixed(digits)} / ${(p.p99 * scale).toFixed(digits)}`;
  return rows.map((r) => {
    const share = (s: number) => r.shares.find((x) => x.share === s)!;
    return [
      r.mode, r.nodes.toLocaleString('en-US'), String(r.trials), pair(r.ackMs, 1), pair(r.afterAckMs, 1),
      pair(share(0.5).rounds, 2), pair(share(0.99).rounds, 2), pair(share(0.9999).rounds, 2), pair(share(0.9999).ms, 3, 1 / 1000),
      String(r.incomplete),
    ];
  });
}

function serfRows(sizes: number[]): string[][] {
  return sizes.map((n) => {
    const rounds = pushEpidemicRounds(n, SPREAD_FANOUT, 0.9999);
    return [
      `push epidemic, fanout ${SPREAD_FANOUT}`, n.toLocaleString('en-US'), String(rounds), (rounds * SPREAD_GOSSIP_INTERVAL_MS / 1000).toFixed(1),
      n === 1000 ? `~${SERF_1000_NODES_99_99_S} s (Serf's convergence model)` : '–',
    ];
  });
}

function rttRange(writes: WriteResult[]): string {
  const rows = writes.map((r) => ({ r, rtt: percentile(sortedMs(r.samples.flatMap((s) => s.spread?.pollRttMs ?? [])), 50) })).filter((x) => Number.isFinite(x.rtt));
  if (!rows.length) return '–';
  rows.sort((a, b) => a.rtt - b.rtt);
  const lo = rows[0]!;
  const hi = rows[rows.length - 1]!;
  return `${fmt(lo.rtt, 1)} ms (${lo.r.mode}, ${lo.r.size} nodes) to ${fmt(hi.rtt, 1)} ms (${hi.r.mode}, ${hi.r.size} nodes)`;
}

function rywMisses(ryw: RywResult[]): string {
  const misses = ryw.flatMap((r) => r.misses);
  if (!misses.length) return '';
  const empty = misses.filter((m) => m.includes('naming no write')).length;
  return ` ${misses.length} read(s) missed the booking just made. ${empty} of them came after a booking whose token named no write. ` +
    'A token that does not cover the write gives the node asked nothing to wait for.' +
    (empty < misses.length ? ` ${misses.length - empty} had a token naming the write and still missed it: a causal-read violation.` : '');
}

function interpretation(writes: WriteResult[], reads: ReadCell[], ryw: RywResult[], sim: SpreadRow[] | undefined): string {
  const lines: string[] = [];
  const p = (r: WriteResult, q: number) => percentile(sortedMs(r.samples.filter((s) => s.spread).map((s) => s.spread!.ms)), q);
  const rtt = percentile(sortedMs(writes.flatMap((r) => r.samples.flatMap((s) => s.spread?.pollRttMs ?? []))), 50);
  const byMode = (m: ReplicationMode) => writes.filter((r) => r.mode === m);
  const firstPoll = (r: WriteResult) => {
    const measured = r.samples.filter((s) => s.spread);
    return `${measured.filter((s) => s.spread!.atFirstPoll).length}/${measured.length}`;
  };
  const desc = (rs: WriteResult[]) => rs.map((r) => `${r.size} nodes p50 ${fmt(p(r, 50))} / p99 ${fmt(p(r, 99))} ms`).join(', ');
  lines.push(
    `**How to read "ack → every replica".** It runs from the booking's answer arriving to the first GET /api/replicas answer in which ` +
    'every node\'s version vector covers the dots named by the answer\'s session token. Polls go one after another with ' +
    `${POLL_INTERVAL_MS} ms between them, and each one asks one node, which gathers its peers' vectors over the cluster transport ` +
    `(a poll took ${fmt(rtt, 1)} ms at the median). So every figure includes about one poll (${POLL_INTERVAL_MS} ms + a round trip). ` +
    'A write that was everywhere before its acknowledgement reads as one poll. The true time lies between the "lower bound" ' +
    '(when the last poll that still found a replica lacking the write was sent; 0 if the first poll found it everywhere) and the figure. ' +
    `Median poll round trips ranged from ${rttRange(writes)} across the rows, because the host's load changed during the run. ` +
    'Where a round trip is comparable to the gossip interval, the figure mostly measures the polling, and the lower bound is the better estimate. ' +
    'Version vectors are contiguous per origin, so a node covers a dot only once it has every earlier write of that origin too.',
  );
  if (byMode('master-slave').length) {
    lines.push(
      `**master-slave** (${desc(byMode('master-slave'))}): the master acknowledges only after every live slave applied the write ` +
      '(REPLICATION_SYNC=true), so the write should be everywhere at the acknowledgement. ' +
      `Measured: ${byMode('master-slave').map((r) => `${firstPoll(r)} on ${r.size} nodes`).join(', ')} writes were everywhere at the first poll` +
      (byMode('master-slave').every((r) => r.samples.every((x) => !x.spread || x.spread.atFirstPoll))
        ? ', so the time shown is the polling itself. '
        : '. The others are in the slowest-writes table. Where the last miss reads "absent from …\'s answer", the node asked did not ' +
          'count that node alive just then (its failure detector, on a busy host), so the poll could not show that node\'s vector. That ' +
          'does not show the node lacked the write. Any other miss is a slave that applied the write after the acknowledgement, which synchronous mode allows only ' +
          'for a slave not counted as live. ') +
      'The cost is on the write path instead: a booking through a slave is forwarded to the master and waits for ' +
      'every slave (the booking request column).',
    );
  }
  if (byMode('multi-master').length) {
    lines.push(
      `**multi-master** (${desc(byMode('multi-master'))}): the coordinator sends the write to every peer at once and acknowledges after W of ` +
      'the key\'s N preference-list replicas hold it. The remaining replicas (every node is a full replica) get the same push a moment later, ' +
      `usually before the first poll (${byMode('multi-master').map((r) => `${firstPoll(r)} on ${r.size} nodes`).join(', ')}). ` +
      'A push that is lost or arrives late waits for hinted handoff (every 250 ms) or anti-entropy (every 1 s), which would show in the tail.',
    );
  }
  if (byMode('gossip').length) {
    const g = byMode('gossip')[0]!.settings;
    let longTail = false;
    const tails = byMode('gossip').map((r) => {
      const lower = percentile(sortedMs(r.samples.filter((x) => x.spread?.ms != null).map((x) => x.spread!.lowerMs)), 99);
      if (lower > 2 * g.gossipIntervalMs) longTail = true;
      return `${r.size} nodes: max ${fmt(p(r, 100))} ms, lower bound p99 ${fmt(lower)} ms = ${(lower / g.gossipIntervalMs).toFixed(1)} intervals`;
    });
    lines.push(
      `**gossip** (${desc(byMode('gossip'))}): the node that took the write acknowledges it alone (W = 1). The others learn of it at their own or that node's next ` +
      `push-pull round: every ${g.gossipIntervalMs} ms with ${g.fanout} random peers. With 3 nodes that is every peer; with 5 it is three ` +
      'of four. In theory that takes 0–1 interval plus an exchange (digest, reply, persist to PostgreSQL before sending), and rarely more ' +
      `than two intervals. Tails measured: ${tails.join('; ')}. ` +
      (longTail
        ? 'Where the lower bound passes two intervals, the write really was late. The benchmark does not tell apart the likely causes on this ' +
          'loaded host: timers firing late, slow PostgreSQL persists, or an exchange that timed out and waited for a later round. '
        : byMode('gossip').some((r) => p(r, 100) > 2 * g.gossipIntervalMs)
          ? 'The lower bounds are within two intervals. Upper figures beyond that come from slow polls (the "slowest poll" column). '
          : 'That is within two intervals. ') +
      'The slowest writes are listed above, with the nodes that still lacked them.',
    );
  }
  if (reads.length) {
    const cell = (m: ReplicationMode, e: Endpoint, c: Consistency) => reads.find((r) => r.mode === m && r.endpoint === e && r.consistency === c);
    const med = (x: ReadCell | undefined) => (x ? fmt(percentile(sortedMs(x.ms), 50), 1) : '–');
    const modes = [...new Set(reads.map((r) => r.mode))];
    lines.push(
      '**Reads.** *eventual* reads this node\'s replica. *causal* does the same once the replica covers the session token. In steady state ' +
      'it always does, so it costs the same as eventual. *strong* reads R replicas and merges them (multi-master, gossip), or asks the ' +
      'master (master-slave, local on the master), which adds one or more peer round trips. Medians on 3 nodes, showtime seat map: ' +
      modes.map((m) => `${m} ${CONSISTENCIES.map((c) => `${c} ${med(cell(m, 'showtime', c))}`).join(' / ')} ms`).join('; ') + '. ' +
      'Compare the consistency levels within a mode only, because the cells of one mode were interleaved and so saw the same load. Eventual and ' +
      'causal reads run the same code in every mode, so differences between modes in those rows measure the load on the host during that mode\'s ' +
      'run, not the mode. Both endpoints also query PostgreSQL (the showtime and seat layout, the booking details).',
    );
  }
  if (ryw.length) {
    lines.push(
      '**Read-your-writes across nodes.** Right after a booking answered by one node, a causal read of one\'s bookings through another node ' +
      `with the new token: ${ryw.map((r) => `${r.mode} p50 ${fmt(percentile(sortedMs(r.ms), 50), 1)} ms, saw its booking ${r.sawOwn}/${r.ms.length}`).join('; ')}. ` +
      'If the node asked has not yet seen the token, it waits (polling every 20 ms, up to 300 ms) and then asks a peer. ' +
      'In gossip mode this wait shows up as a longer p50/p99.' + rywMisses(ryw),
    );
  }
  if (sim?.length) {
    const g1000 = sim.find((r) => r.mode === 'gossip' && r.nodes === 1000);
    const all = g1000?.shares.find((s) => s.share === 0.9999);
    lines.push(
      `**Simulator against Serf.** Serf's model (DESIGN.md): 99.99% of 1,000 nodes informed in ~${SERF_1000_NODES_99_99_S} s at ` +
      `${SPREAD_GOSSIP_INTERVAL_MS} ms / fanout ${SPREAD_FANOUT}. The mean-field push epidemic behind it needs ${pushEpidemicRounds(1000, SPREAD_FANOUT, 0.9999)} rounds ` +
      `(${(pushEpidemicRounds(1000, SPREAD_FANOUT, 0.9999) * SPREAD_GOSSIP_INTERVAL_MS / 1000).toFixed(1)} s). ` +
      (all ? `Our gossip in the simulator informs 99.99% of 1,000 nodes in ${all.rounds.p50.toFixed(2)} rounds at the median (${(all.ms.p50 / 1000).toFixed(2)} s; p99 ${(all.ms.p99 / 1000).toFixed(2)} s). ` : '') +
      'That is several times faster than the model, for three reasons. The exchange is push-pull: an uninformed node that contacts an informed one ' +
      'pulls the write, so the informed share grows by pull as well as by push. Nodes tick at random phases, not in lockstep, so a node informed early in a ' +
      'round passes the write on in the same round. And the simulated network is an ideal LAN (1–10 ms, no loss, no CPU or bandwidth cost). ' +
      `At 1,000 nodes "99.99%" rounds up to all 1,000 nodes. Multi-master and master-slave push to every replica directly: ` +
      'one network delay to reach everyone, independent of size, but the node that takes the write sends n − 1 messages (and master-slave ' +
      'waits for them all). In the simulator messages cost nothing, so direct push looks fastest there. Gossip\'s advantage, a fixed ' +
      'per-node load whatever the size, does not show in these figures.',
    );
  }
  lines.push(
    '**Noise.** The nodes, PostgreSQL and the poller share the machine\'s cores with whatever else runs on this shared host (see the load ' +
    `averages above). With ${writes[0]?.samples.length ?? 0} writes per row, p99 (nearest rank) is the largest sample, ` +
    'so a single descheduled process or garbage collection sets it.',
  );
  return lines.join('\n\n');
}

function problemsText(writes: WriteResult[]): string {
  const lines: string[] = [];
  for (const r of writes) {
    r.samples.forEach((s, i) => {
      if (s.problem) lines.push(`- ${r.mode}, ${r.size} nodes, write ${i + 1} through ${s.node}: ${s.problem}`);
    });
  }
  if (!lines.length) {
    return 'None: every booking was answered 201 with a token naming its write, and reached every replica within the bound. ' +
      'The "unmeasurable" column counts answers whose token names no write. Such answers used to happen: when another drain of the node\'s ' +
      'outbox (the periodic one, or another request\'s) had published the booking\'s row first, the token returned only what the ' +
      'request\'s own drain had found. `ReplicationNode.publish()` now returns every write the node has published.';
  }
  if (lines.some((l) => l.includes('names no write'))) {
    lines.push(
      '\n"Names no write": the booking was answered 201, but its `X-Session-Token` named none of its facts (`W10` is an empty list). ' +
      'The client therefore holds a token that does not cover its own write, and read-your-writes on another node is not guaranteed for it. ' +
      '`ReplicationNode.publish()` is meant to return every write the node has published, this one included, so this is a bug.',
    );
  }
  return lines.join('\n');
}

function slowestTable(writes: WriteResult[], perConfig = 3): string {
  const head = ['Mode', 'Nodes', 'Write', 'Through', 'Booking request ms', 'Lower bound ms', 'Ack → every replica ms', 'Polls', 'Slowest poll ms', 'Lacking at the last miss'];
  const rows: string[][] = [];
  for (const r of writes) {
    const indexed = r.samples.map((s, i) => ({ s, i })).filter((x) => x.s.spread !== null);
    indexed.sort((a, b) => (b.s.spread!.ms ?? Infinity) - (a.s.spread!.ms ?? Infinity));
    for (const { s, i } of indexed.slice(0, perConfig)) {
      const sp = s.spread!;
      rows.push([
        r.mode, String(r.size), String(i + 1), s.node, fmt(s.requestMs), fmt(sp.lowerMs), fmt(sp.ms ?? Infinity), String(sp.polls),
        fmt(Math.max(...sp.pollRttMs)), sp.lastLacking.join(', ') || '–',
      ]);
    }
  }
  return table(head, rows, 1);
}

function writeDocs(
  o: Options, machine: Machine, database: BenchDatabase, writes: WriteResult[], reads: ReadCell[], ryw: RywResult[],
  sim: SpreadRow[] | undefined, simSeconds: number, elapsedS: number, loadStart: number[], loadEnd: number[],
): void {
  const fmtLoad = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
  const body = `<!-- generated by \`npm run bench:replication\` (bench/replication.ts); rerunning replaces this section -->
${measuredOn(machine, database)}. The machine is shared: load average (1 / 5 / 15 min) ${fmtLoad(loadStart)} at the start,
${fmtLoad(loadEnd)} at the end, 1-minute load between ${loadSeen.min.toFixed(2)} and ${loadSeen.max.toFixed(2)} during the run.

Command: \`${command(o)}\` (whole run ${elapsedS.toFixed(0)} s, of which the simulator ${simSeconds.toFixed(0)} s).

### Real nodes: acknowledged write → every replica

Each node is \`node/main.ts\` in its own OS process on loopback (\`harness/cluster.ts\`), all on one PostgreSQL database (a fresh copy
per cluster size). After start, the run waits until the seeded catalogue's facts are on every replica. Then the mode is switched
at runtime (\`POST /api/replicas\` as admin). Measuring starts once every node reports the new mode, the replicas have converged and the
outbox is empty. Then ${WARMUP_WRITES} warm-up bookings and ${o.writes} measured ones, one at a time: one seat each,
distinct seats, random users, through a random node, with a random 0–${WRITE_GAP_MAX_MS} ms pause between writes. **Booking request** is
\`POST /api/bookings\` as the client sees it (commit, publication into replication, answer). **Ack → every replica** is the time
from that answer to the first \`GET /api/replicas\` answer in which every node's \`versionVector\` covers the dots of the answer's
\`X-Session-Token\`. Polls run every ${POLL_INTERVAL_MS} ms, asking the nodes in turn, with a bound of ${SPREAD_BOUND_MS / 1000} s per write.

${table(WRITE_HEAD, writeRows(writes), 1)}

Writes that failed, named no write in their token, or did not spread within the bound:
${problemsText(writes)}

<details><summary>The 3 slowest writes of each row</summary>

${slowestTable(writes)}

</details>

### Real nodes: read latency per consistency model (3 nodes)

${o.reads} requests per cell, interleaved in random order, each to a random node, one at a time. \`GET /api/showtimes/:id\` is the seat
map of a showtime with bookings, anonymous. \`GET /api/bookings\` lists one user's bookings (${bookingsListed(reads)} at the end). *causal*
carries the user's session token, updated from every answer as the web app does. "Served by another node" counts answers whose
\`X-Replica-Served-By\` is not the node asked: the master, or a merge of R replicas.

${table(READ_HEAD, readRows(reads), 3)}

${table(RYW_HEAD, rywRows(ryw), 1)}
${ryw.some((r) => r.misses.length) ? `\nReads that missed the booking just made:\n${ryw.flatMap((r) => r.misses.map((m) => `- ${r.mode}: ${m}`)).join('\n')}\n` : ''}
${sim ? `### Simulator: 100 and 1,000 nodes beside Serf

\`spreadTable()\` (sim/replication/spread.ts): the real replication cores in the deterministic simulator. The network is
${SPREAD_NETWORK.minDelayMs}–${SPREAD_NETWORK.maxDelayMs} ms one way with no loss. Gossip uses memberlist's ${SPREAD_GOSSIP_INTERVAL_MS} ms interval and fanout ${SPREAD_FANOUT}, and multi-master N/R/W 3/2/2.
Writes go one after another through random nodes. Rounds = simulated ms ÷ ${SPREAD_GOSSIP_INTERVAL_MS}, and count from the write (for gossip, W = 1,
so the write and its acknowledgement coincide).

${table(SIM_HEAD, simRows(sim), 1)}

${table(['Model', 'Nodes', 'Rounds to 99.99%', `Seconds at ${SPREAD_GOSSIP_INTERVAL_MS} ms`, 'Published'], serfRows([...new Set(sim.map((r) => r.nodes))]), 1)}
` : ''}
### Interpretation

${interpretation(writes, reads, ryw, sim)}`;
  // writeDocSection re-reads the file right before writing: other benchmarks write their own sections of it.
  writeDocSection(DOCS_FILE, 'Benchmarks', DOCS_HEADING, body);
  log(`wrote the "${DOCS_HEADING}" section of ${DOCS_FILE}`);
}

// ── Main ─────────────────────────────────────────────────────────────────────────────────────────

/** Reads at scale (bench/replica-scale.ts): in this process, no cluster needed; its own section of the docs. */
function runScale(options: Options): void {
  if (!options.scale.length) return;
  log(`reads at scale: replicas of ${options.scale.join(', ')} bookings`);
  const started = performance.now();
  const rows = measureReadsAtScale(options.scale, SCALE_READS, log);
  const seconds = (performance.now() - started) / 1000;
  const sizes = [...new Set(rows.map((r) => r.size))];
  const levels = [...new Set(rows.map((r) => r.level))];
  const smallest = sizes[0]!;
  const largest = sizes.at(-1)!;
  const cell = (size: number, read: string, level: string) => rows.find((r) => r.size === size && r.read === read && r.level === level)!;
  const lines: string[] = [];
  for (const read of ['seat map', 'my bookings'] as const) {
    lines.push(`**${read}** (${cell(smallest, read, levels[0]!).returned} documents returned), median µs per read:`, '');
    lines.push(`| Read | ${sizes.map((n) => `${n.toLocaleString('en-US')} bookings`).join(' | ')} | ${largest.toLocaleString('en-US')} ÷ ${smallest.toLocaleString('en-US')} |`);
    lines.push(`|---|${sizes.map(() => '---:').join('|')}|---:|`);
    for (const level of levels) {
      const figures = sizes.map((n) => cell(n, read, level).medianUs);
      const fmt = (us: number) => (us >= 10_000 ? `${(us / 1000).toFixed(0)} ms` : us.toFixed(1));
      lines.push(`| ${level} | ${figures.map(fmt).join(' | ')} | ${(figures.at(-1)! / figures[0]!).toFixed(2)}× |`);
    }
    lines.push('');
  }
  const ratio = (read: string, level: string) => cell(largest, read, level).medianUs / cell(smallest, read, level).medianUs;
  const judged = (['seat map', 'my bookings'] as const).flatMap((read) => levels.filter((l) => !l.startsWith('scan')).map((level) => ({ read, level, x: ratio(read, level) })));
  const met = judged.filter((j) => j.x <= 1.2).map((j) => `${j.read}, ${j.level}: ${j.x.toFixed(2)}×`);
  const worst = Math.max(...judged.map((j) => j.x));
  const scanRatio = ratio('seat map', 'scan (before the indexes)');
  printTable(['Read', 'Level', ...sizes.map(String)], rows.filter((r) => r.size === smallest).map((r) => [r.read, r.level, ...sizes.map((n) => cell(n, r.read, r.level).medianUs.toFixed(1))]));
  if (!options.writeDocs) return;
  writeDocSection(DOCS_FILE, 'Benchmarks', SCALE_HEADING, `Measured ${machineLine()} · \`npm run bench:replication -- --only-scale\` (${seconds.toFixed(0)} s; part of every \`npm run bench:replication\`).

What a replica read costs as the replica grows — the part of a seat-map or my-bookings read that depends on the
replica's size, measured on the replication core itself, in one process (bench/replica-scale.ts). Bulk path: the
bookings are generated (100 per showtime, 20 per user) and the store is built by \`restoreStore\`, as a node
loads its persisted replica at start. Eventual and causal (a token the replica covers) answer from the local store;
strong steps each mode's core over a 3-node cluster whose replicas are that same store, delivering the messages in
process until the answer (the protocol's whole CPU for the read, without HTTP and PostgreSQL, which do not depend on
the replica's size). "scan" is what every read cost before the indexes: a walk of every entry. Medians of
${SCALE_READS} reads per cell, 3 rounds over every size in turn (median of the rounds' medians).

${lines.join('\n')}
Target (issue 13): cost at the largest size ≤ 1.2× the cost at the smallest — met by ${met.length} of ${judged.length} indexed rows${met.length ? ` (${met.join('; ')})` : ''}.
The reads no longer walk the replica (the scan grows ${Math.round(scanRatio)}×, the indexed reads at most ${worst.toFixed(1)}×): what is
left grows with the heap, not with the work — every document a read touches is a cache miss in a replica of
${largest.toLocaleString('en-US')} bookings (${(process.memoryUsage().rss / 2 ** 30).toFixed(1)} GiB resident here, every size's store at once), and the
B+ tree is a level or two deeper. This is the replica's part of a read, in microseconds; the next
section measures whole reads as a client sees them, where it is a few percent.`);
  log(`wrote the "${SCALE_HEADING}" section of ${DOCS_FILE}`);
}

/**
 * Reads at scale through a real node (bench/replica-scale-http.ts): a 3-node cluster per size,
 * its replicas bulk-loaded; its own section of the docs. Opens the seeded database when the
 * rest of the run did not (--only-scale).
 */
async function runScaleThroughNode(options: Options, opened?: BenchDatabase): Promise<void> {
  if (!options.scale.length || !options.scaleHttp) return;
  const cleanup = new Cleanup();
  if (!opened) clusters.guard(cleanup);
  try {
    const { database, machine } = opened ? { database: opened, machine: undefined } : await openSeededBenchDatabase(cleanup, log);
    const started = performance.now();
    const rows = await measureHttpReadsAtScale(database, options.scale, SCALE_HTTP_READS, clusters, log);
    const seconds = (performance.now() - started) / 1000;
    printTable(
      ['Read', 'Level', 'Bookings', 'Median ms', 'CPU ms / read (above rest)', 'CPU ms / read (all)', 'Returned', 'Refused'],
      rows.map((r) => [r.read, r.level, String(r.size), r.medianMs.toFixed(2), r.readCpuMsPerRead.toFixed(2), r.cpuMsPerRead.toFixed(2), String(r.returned), String(r.refused)]),
    );
    if (options.writeDocs) writeDocSection(DOCS_FILE, 'Benchmarks', SCALE_HTTP_HEADING, scaleHttpSection(rows, seconds, machine, database));
  } finally {
    await cleanup.run();
  }
}

function scaleHttpSection(rows: HttpScaleRow[], seconds: number, machine: Machine | undefined, database: BenchDatabase): string {
  const sizes = [...new Set(rows.map((r) => r.size))];
  const smallest = sizes[0]!;
  const largest = sizes.at(-1)!;
  const cell = (size: number, read: string, level: string) => rows.find((r) => r.size === size && r.read === read && r.level === level)!;
  const lines: string[] = [];
  const judged: { what: string; latency: number; cpu: number }[] = [];
  for (const read of ['seat map', 'my bookings'] as const) {
    lines.push(`**${read}** — median latency ms / cluster CPU ms per read above the cluster's CPU at rest (all CPU while reading):`, '');
    lines.push(`| Level | ${sizes.map((n) => `${n.toLocaleString('en-US')} bookings`).join(' | ')} | ${largest.toLocaleString('en-US')} ÷ ${smallest.toLocaleString('en-US')} (latency / CPU) |`);
    lines.push(`|---|${sizes.map(() => '---:').join('|')}|---:|`);
    for (const level of [...new Set(rows.map((r) => r.level))]) {
      const at = sizes.map((n) => cell(n, read, level));
      const latency = at.at(-1)!.medianMs / at[0]!.medianMs;
      const cpu = at.at(-1)!.readCpuMsPerRead / at[0]!.readCpuMsPerRead;
      judged.push({ what: `${read}, ${level}`, latency, cpu });
      lines.push(`| ${level} | ${at.map((c) => `${c.medianMs.toFixed(2)} / ${c.readCpuMsPerRead.toFixed(2)} (${c.cpuMsPerRead.toFixed(2)})`).join(' | ')} | ${latency.toFixed(2)}× / ${cpu.toFixed(2)}× |`);
    }
    lines.push('');
  }
  const over = judged.filter((j) => j.latency > 1.2 || j.cpu > 1.2);
  const refused = rows.filter((r) => r.refused > 0);
  const when = machine ? measuredOn(machine, database) : `Measured ${machineLine()}`;
  const atRest = sizes.map((n) => `${n.toLocaleString('en-US')}: ${(cell(n, 'seat map', 'eventual').idleCpuShare * 100).toFixed(1)}%`).join(', ');
  const mib = (n: number) => (cell(n, 'seat map', 'eventual').rssBytes / 2 ** 20).toFixed(0);
  const resident = sizes.map((n) => `${n.toLocaleString('en-US')}: ${mib(n)} MiB`).join(', ');
  return `${when} · \`npm run bench:replication -- --only-scale\` (${seconds.toFixed(0)} s for this part; part of every \`npm run bench:replication\`).

A seat-map and a my-bookings read as a client sees them — HTTP to node-1 of a 3-node multi-master cluster, one
read at a time — while every replica holds that many booking documents. Bulk path (bench/replica-scale-http.ts):
the cluster starts on a fresh copy of the seeded database and stops; the bookings are inserted into every node's
persisted replica by one SQL statement (100 per showtime, 20 per user, from an origin that is no member); the nodes
start again and load them, as after any restart. The seat map reads the measured showtime's 100 documents (10
seats booked), my bookings the bench user's 20. CPU: every node process's, per read. Every size's cluster is up at
once; per cell and round at least ${SCALE_HTTP_READS} reads and ${MIN_CELL_MS / 1000} s of them, ${HTTP_SCALE_ROUNDS} rounds over the
sizes in turn; latency is the median of the rounds' medians, CPU per read the median of the rounds' figures
(a full collection that falls into one round does not decide the cell). A read
refused with 503 is tried again and its latency runs until it answers: ${refused.length === 0 ? 'none was refused.'
    : refused.map((r) => `${r.refused} of ${r.read} ${r.level} at ${r.size.toLocaleString('en-US')}`).join(', ') + ' (a replica in a long collection missed the read timeout).'}
The cluster's CPU at rest (${IDLE_SAMPLE_MS / 1000} s before each size's reads, median of the rounds; one
core = 100%) — ${atRest} — is heartbeats, anti-entropy and the collection of a larger heap; it is
subtracted from the CPU while reading to give what a read costs, and grows with the replica, not with
the reads. The windows are seconds long because CPU is counted in 10 ms ticks and because a full
collection of a large heap (hundreds of milliseconds of CPU, every few seconds) must be shared out
over many reads: in a window of a few hundred milliseconds it lands whole in the one cell it falls
into. The latency medians are what a client sees. A node's resident memory (node-1, median of the
rounds) — ${resident}.

${lines.join('\n')}
Target (issue 13): cost at ${largest.toLocaleString('en-US')} ≤ 1.2× cost at ${smallest.toLocaleString('en-US')} (latency, and CPU above rest) — ${over.length === 0
    ? `met by every row (latency and CPU).`
    : `met by ${judged.length - over.length} of ${judged.length} rows; not by ${over.map((j) => `${j.what} (${j.latency.toFixed(2)}× / ${j.cpu.toFixed(2)}×)`).join('; ')}.`}`;
}

function machineLine(): string {
  const cpus = os.cpus();
  return `${new Date().toUTCString()} · ${cpus.length} cores (${cpus[0]?.model ?? '?'}) · ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM · Linux ${os.release()} · Node.js ${process.version}`;
}

async function main(): Promise<number> {
  const options = readOptions();
  if (options.onlyScale) {
    runScale(options);
    await runScaleThroughNode(options);
    return 0;
  }
  const began = performance.now();
  const loadStart = os.loadavg();
  sampleLoad();
  const cleanup = new Cleanup();
  clusters.guard(cleanup);
  const loadTimer = setInterval(sampleLoad, 5_000);
  loadTimer.unref();
  cleanup.add('stop load sampling', () => clearInterval(loadTimer));
  try {
    log(`${options.writes} writes × ${options.modes.join(', ')} × ${options.sizes.join(', ')} nodes; load average ${loadStart.map((x) => x.toFixed(2)).join(' ')}`);
    const { database, machine } = await openSeededBenchDatabase(cleanup, log);

    const writes: WriteResult[] = [];
    const reads: ReadCell[] = [];
    const ryw: RywResult[] = [];
    for (const size of options.sizes) {
      // A fresh copy of the prepared database per size: no members, epochs or replicas left over.
      const name = `${database.name}_n${size}`;
      cleanup.add(`drop database ${name}`, () => dropDatabase(database.serverUrl, name));
      const url = await cloneDatabase(database.serverUrl, database.name, name);
      const r = await runSize(size, url, options);
      writes.push(...r.writes);
      reads.push(...r.reads);
      ryw.push(...r.ryw);
      await dropDatabase(database.serverUrl, name);
    }
    printTable(WRITE_HEAD.map((h) => h.replace(/\*/g, '')), writeRows(writes));
    if (reads.length) printTable(READ_HEAD, readRows(reads));
    if (ryw.length) printTable(RYW_HEAD, rywRows(ryw));

    let sim: SpreadRow[] | undefined;
    let simSeconds = 0;
    if (options.sim) {
      log('simulator: spreadTable() for 100 and 1,000 nodes');
      const simStarted = performance.now();
      sim = spreadTable();
      simSeconds = (performance.now() - simStarted) / 1000;
      printTable(SIM_HEAD.map((h) => h.replace(/\*/g, '')), simRows(sim));
      printTable(['Model', 'Nodes', 'Rounds to 99.99%', 'Seconds', 'Published'], serfRows([...new Set(sim.map((r) => r.nodes))]));
    }
    sampleLoad();
    const loadEnd = os.loadavg();
    const elapsedS = (performance.now() - began) / 1000;
    log(`whole run ${elapsedS.toFixed(0)} s; load average ${loadEnd.map((x) => x.toFixed(2)).join(' ')} (1-minute between ${loadSeen.min.toFixed(2)} and ${loadSeen.max.toFixed(2)})`);
    if (options.writeDocs) {
      writeDocs(
        options, machine, database, writes, reads, ryw, sim, simSeconds,
        elapsedS, loadStart, loadEnd,
      );
    }
    runScale(options);
    await runScaleThroughNode(options, database);
    const problems = writes.reduce((n, r) => n + r.samples.filter((s) => s.problem).length, 0);
    if (problems) log(`${problems} write(s) with a problem: see the report`);
    return 0;
  } finally {
    await cleanup.run();
  }
}

runMain(main);
