import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Pool } from 'undici';
import { createPool, prepareSchema } from '../db/database';
import { childProcessesRunning, startCluster, startGateway, waitFor, type TestCluster, type TestGateway } from '../harness/cluster';
import { Cleanup, cleanUpOnSignal, describeMachine, measuredOn, openBenchDatabase, percentile, runMain, stopClusterWithin, writeDocSection } from '../harness/kit';

/**
 * `npm run bench:abuse`: 3 real nodes behind the real gateway, and legit virtual users browsing
 * movies, reading seat maps, holding, booking and cancelling seats with their own accounts —
 * first alone, then with attackers beside them (in a child process of their own, so that their
 * work does not run on the legit users' event loop):
 *   login flood     wrong passwords against one account (from one address and from many) and
 *                   against many accounts;
 *   header tricks   Expect: 100-continue, duplicate Host, Content-Length with Transfer-Encoding;
 *   big bodies      3 MB posts, with and without Expect: 100-continue;
 *   slow uploads    hundreds of connections trickling a body, a byte at a time;
 *   SSE flood       many seat-map event streams from one address;
 *   seat squatting  a few accounts holding as many seats as they can.
 * Everybody has an address of their own in 127.0.0.0/8 (all loopback on Linux): each legit user
 * one, each attack one (or a range), so that per-address limits separate them as in real life.
 * Reports legit availability (answers 2xx, or the expected 409 of a seat someone else took) and
 * p50/p99 without and with attackers side by side, and the attack requests by answer. Writes the
 * "Abuse" section of docs/benchmarks.md. Targets (issue 12): legit availability ≥ 99.9% and legit
 * p99 ≤ 2× the run without attackers.
 *
 * Environment: BENCH_SECONDS (30, per phase), BENCH_WARMUP_SECONDS (3), BENCH_USERS (12 legit users),
 * BENCH_THINK_MS (600, a legit user's mean pause between two clicks: a round then stays within the
 * per-account limits of the nodes, HOLDS_PER_ACCOUNT_PER_MIN and BOOKINGS_PER_ACCOUNT_PER_MIN), BENCH_LOGIN_FLOODERS (6),
 * BENCH_HEADER_TRICKSTERS (2), BENCH_BIG_BODY_SENDERS (2), BENCH_SLOW_UPLOADS (200),
 * BENCH_SSE_STREAMS (300), BENCH_SQUATTERS (2), BENCH_GATEWAY_ENV (extra gateway env, "K=V,K=V"),
 * BENCH_NODE_ENV (extra node env), BENCH_ATTACKERS_NICE (19: the attackers' process runs at the lowest CPU
 * priority, as if on machines of their own — what is left is the cost of handling their requests;
 * 0 lets them compete for these 2 cores as equals), BENCH_WRITE_DOCS (1), BENCH_DOCS_FILE (docs/benchmarks.md),
 * DATABASE_URL (else a fresh embedded PostgreSQL).
 */

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const DEFAULT_PHASE_S = 30;
const PHASE_S = env('BENCH_SECONDS', DEFAULT_PHASE_S);
const WARMUP_S = env('BENCH_WARMUP_SECONDS', 3);
const USERS = env('BENCH_USERS', 12);
const THINK_MS = env('BENCH_THINK_MS', 600);
const ATTACKERS_NICE = env('BENCH_ATTACKERS_NICE', 19);
const ATTACK = {
  loginFlooders: env('BENCH_LOGIN_FLOODERS', 6),
  headerTricksters: env('BENCH_HEADER_TRICKSTERS', 2),
  bigBodySenders: env('BENCH_BIG_BODY_SENDERS', 2),
  slowUploads: env('BENCH_SLOW_UPLOADS', 200),
  sseStreams: env('BENCH_SSE_STREAMS', 300),
  squatters: env('BENCH_SQUATTERS', 2),
};
const WRITE_DOCS = process.env.BENCH_WRITE_DOCS !== '0';
const DOCS_FILE = process.env.BENCH_DOCS_FILE ?? path.join('docs', 'benchmarks.md');
const DOCS_HEADING = 'Abuse';
const NODE_COUNT = 3;
const SHOWTIME_COUNT = 3;
const SEATS_PER_HOLD = 2;
/** A legit request without an answer within this time counts as failed. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Attackers give up on one exchange after this long (a slow upload lasts the whole phase instead). */
const ATTACK_EXCHANGE_TIMEOUT_MS = 15_000;
const BIG_BODY_BYTES = 3 * 1024 * 1024;
/** A slow upload's announced body (within BODY_LIMIT_BYTES), of which one byte goes out every SLOW_UPLOAD_BYTE_INTERVAL_MS. */
const SLOW_UPLOAD_BODY_BYTES = 60_000;
const SLOW_UPLOAD_BYTE_INTERVAL_MS = 1_000;
/** A refused or closed stream / upload is opened again after this pause, at most REOPENS_PER_SLOT times. */
const REOPEN_DELAY_MS = 1_000;
const REOPENS_PER_SLOT = 30;
/** The attackers' child process reports ready within this time (its connections open). */
const ATTACKERS_READY_TIMEOUT_MS = 60_000;
const ATTACKERS_EXIT_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const TARGET_AVAILABILITY = 0.999;
const TARGET_P99_RATIO = 2;
const LEGIT_PASSWORD = 'correct horse battery staple';

const log = (msg: string) => console.error(`[bench:abuse ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Who sends from where: every party its own loopback address (or range). */
const ADDRESS = {
  signup: (n: number) => `127.0.9.${n + 1}`,
  legit: (i: number) => `127.0.2.${i + 1}`,
  loginFloodOne: '127.0.10.1',
  loginFloodMany: (n: number) => `127.0.11.${(n % 250) + 1}`,
  headerTricks: '127.0.12.1',
  bigBodies: '127.0.13.1',
  slowUploads: (n: number) => `127.0.14.${(n % 4) + 1}`,
  sseFlood: '127.0.15.1',
  squatter: (i: number) => `127.0.16.${i + 1}`,
};

// ── A tiny JSON client from one address ─────────────────────────────────────────────────────────

type Answer = { status: number; body: unknown; ms: number };

function jsonClient(url: string, localAddress: string, token?: string) {
  const pool = new Pool(url, { connections: 4, localAddress, keepAliveTimeout: 10_000 });
  async function call(method: 'GET' | 'POST' | 'DELETE', p: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const started = performance.now();
    try {
      const res = await pool.request({
        path: p, method, headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.body.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON */
      }
      return { status: res.statusCode, body: parsed, ms: performance.now() - started };
    } catch (err) {
      return { status: 0, body: (err as { code?: string }).code ?? String(err), ms: performance.now() - started };
    }
  }
  return { call, close: () => pool.close() };
}

// ── The legit workload ──────────────────────────────────────────────────────────────────────────

type LegitRecord = { kind: string; status: number; ms: number; ok: boolean; detail?: string };
type SeatMap = { seats?: { id: string; status: string }[] };

/** A seat someone else took or a hold that ran out is a normal answer in a booking system, not a failure. */
function legitOk(kind: string, a: Answer): boolean {
  if (a.status >= 200 && a.status < 300) return true;
  const code = (a.body as { error?: { code?: string } } | undefined)?.error?.code;
  return (kind === 'hold' || kind === 'book') && a.status === 409 && (code === 'SEATS_UNAVAILABLE' || code === 'HOLD_NOT_ACTIVE');
}

function pickSeats(map: SeatMap, count: number): string[] {
  const free = (map.seats ?? []).filter((s) => s.status === 'available');
  const picked = new Set<string>();
  while (picked.size < Math.min(count, free.length)) picked.add(free[Math.floor(Math.random() * free.length)]!.id);
  return [...picked];
}

/**
 * One legit user until `deadline`: the catalogue, a movie, a seat map, a hold of two free seats,
 * the booking, every other round (so the inventory lasts) its cancellation, every 10th a login.
 */
async function legitUser(i: number, ctx: { url: string; token: string; email: string; showtimes: number[]; movies: number[] }, deadline: number, records: LegitRecord[]): Promise<void> {
  const api = jsonClient(ctx.url, ADDRESS.legit(i), ctx.token);
  const step = async (kind: string, run: () => Promise<Answer>): Promise<Answer> => {
    const a = await run();
    const ok = legitOk(kind, a);
    records.push({ kind, status: a.status, ms: a.ms, ok, ...(ok ? {} : { detail: JSON.stringify(a.body).slice(0, 200) }) });
    await sleep(THINK_MS * (0.5 + Math.random()));
    return a;
  };
  try {
    for (let n = 0; Date.now() < deadline; n++) {
      await step('movies', () => api.call('GET', '/api/movies'));
      await step('movie', () => api.call('GET', `/api/movies/${ctx.movies[n % ctx.movies.length]}`));
      const showtimeId = ctx.showtimes[(i + n) % ctx.showtimes.length]!;
      const map = await step('seat map', () => api.call('GET', `/api/showtimes/${showtimeId}`));
      if (n % 10 === 9) await step('login', () => api.call('POST', '/api/auth/login', { email: ctx.email, password: LEGIT_PASSWORD }));
      const seats = pickSeats(map.body as SeatMap, SEATS_PER_HOLD);
      if (Date.now() >= deadline || !seats.length) continue;
      const hold = await step('hold', () => api.call('POST', '/api/holds', { showtimeId, seats }));
      const holdId = (hold.body as { hold?: { id?: string } }).hold?.id;
      if (!holdId) continue;
      const booking = await step('book', () => api.call('POST', '/api/bookings', { holdId }, { 'idempotency-key': `legit-${i}-${n}-${randomBytes(4).toString('hex')}` }));
      const bookingId = (booking.body as { booking?: { id?: string } }).booking?.id;
      if (bookingId && n % 2 === 1) await step('cancel', () => api.call('POST', `/api/bookings/${bookingId}/cancel`));
    }
  } finally {
    await api.close();
  }
}

type LegitSummary = { requests: number; ok: number; availability: number; p50Ms: number; p99Ms: number; failures: Record<string, number>; byKind: Record<string, { n: number; p50Ms: number; p99Ms: number; share2xx: number }> };

function summarise(records: LegitRecord[]): LegitSummary {
  const sorted = Float64Array.from(records.map((r) => r.ms)).sort();
  const failures: Record<string, number> = {};
  for (const r of records) {
    if (r.ok) continue;
    const key = `${r.kind} ${r.status || 'no answer'}${r.detail ? ` ${r.detail.slice(0, 80)}` : ''}`;
    failures[key] = (failures[key] ?? 0) + 1;
  }
  const byKind: LegitSummary['byKind'] = {};
  for (const kind of new Set(records.map((r) => r.kind))) {
    const mine = records.filter((r) => r.kind === kind);
    const ms = Float64Array.from(mine.map((r) => r.ms)).sort();
    byKind[kind] = { n: ms.length, p50Ms: percentile(ms, 50), p99Ms: percentile(ms, 99), share2xx: mine.filter((r) => r.status >= 200 && r.status < 300).length / mine.length };
  }
  const ok = records.filter((r) => r.ok).length;
  return { requests: records.length, ok, availability: records.length ? ok / records.length : NaN, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), failures, byKind };
}

async function runLegit(seconds: number, ctx: Omit<Parameters<typeof legitUser>[1], 'token' | 'email'>, users: { token: string; email: string }[]): Promise<LegitRecord[]> {
  const records: LegitRecord[] = [];
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(users.map((u, i) => legitUser(i, { ...ctx, ...u }, deadline, records)));
  return records;
}

// ── The attackers (a child process: `bench/abuse.ts --attackers`) ───────────────────────────────

type AttackPlan = {
  url: string; deadline: number; showtimes: number[]; victimEmail: string; squatterTokens: string[]; userToken: string; attack: typeof ATTACK;
};
type AttackResults = Record<string, Record<string, number>>;

function count(results: AttackResults, attack: string, outcome: string | number): void {
  const byCode = (results[attack] ??= {});
  byCode[outcome] = (byCode[outcome] ?? 0) + 1;
}

/**
 * One raw exchange: send `head` (and `body`, after a 100 Continue when `expect100`), and return
 * the final status, or 'closed' / 'timeout' / 'error' when there was none.
 */
function rawExchange(port: number, localAddress: string, head: string, body?: Buffer, expect100 = false): Promise<number | string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    let seen = '';
    let done = false;
    const finish = (outcome: number | string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish('timeout'), ATTACK_EXCHANGE_TIMEOUT_MS);
    socket.on('connect', () => {
      socket.write(head);
      if (body && !expect100) socket.write(body);
    });
    socket.on('data', (chunk: Buffer) => {
      seen += chunk.toString('latin1', 0, Math.min(chunk.length, 4096));
      for (const m of seen.matchAll(/HTTP\/1\.[01] (\d{3})/g)) {
        const status = Number(m[1]);
        if (status === 100 && body && expect100) {
          socket.write(body);
          seen = seen.slice(m.index! + 12);
        } else if (status >= 200) {
          return finish(status);
        }
      }
    });
    socket.on('error', () => finish('error'));
    socket.on('close', () => finish('closed'));
  });
}

async function runAttackers(plan: AttackPlan): Promise<AttackResults> {
  const results: AttackResults = {};
  const port = Number(new URL(plan.url).port);
  const host = `Host: 127.0.0.1:${port}`;
  const live = () => Date.now() < plan.deadline;
  const clients: ReturnType<typeof jsonClient>[] = [];
  const clientFor = (address: string, token?: string) => {
    const c = jsonClient(plan.url, address, token);
    clients.push(c);
    return c;
  };
  const loops: Promise<void>[] = [];

  // Login flood: a third from one address at one account, a third from one address at random
  // accounts, a third from many addresses at the one account (a botnet against one victim).
  const one = clientFor(ADDRESS.loginFloodOne);
  const many = Array.from({ length: 50 }, (_, k) => clientFor(ADDRESS.loginFloodMany(k)));
  for (let f = 0; f < plan.attack.loginFlooders; f++) {
    loops.push((async () => {
      for (let n = 0; live(); n++) {
        const kind = f % 3;
        const email = kind === 1 ? `nobody-${f}-${n}@example.test` : plan.victimEmail;
        const c = kind === 2 ? many[n % many.length]! : one;
        const a = await c.call('POST', '/api/auth/login', { email, password: `guess-${n}` });
        count(results, ['login flood: one address, one account', 'login flood: one address, many accounts', 'login flood: 50 addresses, one account'][kind]!, a.status || String(a.body));
      }
    })());
  }

  // Header tricks, each on a new connection.
  const tricks = [
    { name: 'Expect: 100-continue', head: `GET /api/movies HTTP/1.1\r\n${host}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n` },
    { name: 'duplicate Host', head: `GET /api/movies HTTP/1.1\r\n${host}\r\nHost: evil.example\r\nConnection: close\r\n\r\n` },
    { name: 'Content-Length + Transfer-Encoding', head: `POST /api/holds HTTP/1.1\r\n${host}\r\nContent-Type: application/json\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\nG` },
  ];
  for (let t = 0; t < plan.attack.headerTricksters; t++) {
    loops.push((async () => {
      for (let n = t; live(); n++) {
        const trick = tricks[n % tricks.length]!;
        count(results, `header trick: ${trick.name}`, await rawExchange(port, ADDRESS.headerTricks, trick.head));
      }
    })());
  }

  // Big bodies: 3 MB holds, half behind Expect: 100-continue.
  const big = Buffer.alloc(BIG_BODY_BYTES, 0x20);
  for (let b = 0; b < plan.attack.bigBodySenders; b++) {
    loops.push((async () => {
      for (let n = b; live(); n++) {
        const expect = n % 2 === 1;
        const head = `POST /api/holds HTTP/1.1\r\n${host}\r\nAuthorization: Bearer ${plan.userToken}\r\nContent-Type: application/json\r\n`
          + `Content-Length: ${BIG_BODY_BYTES}\r\n${expect ? 'Expect: 100-continue\r\n' : ''}Connection: close\r\n\r\n`;
        count(results, `3 MB body${expect ? ' behind Expect: 100-continue' : ''}`, await rawExchange(port, ADDRESS.bigBodies, head, big, expect));
      }
    })());
  }

  // Slow uploads: connections that announce a body and send a byte of it per second.
  const trickling = new Set<net.Socket>();
  const ticker = setInterval(() => {
    for (const s of trickling) s.write('x');
  }, SLOW_UPLOAD_BYTE_INTERVAL_MS);
  const openSlow = (slot: number, reopens: number): Promise<void> => new Promise((resolve) => {
    if (!live()) return resolve();
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: ADDRESS.slowUploads(slot) });
    let outcome: string | number = 'closed';
    socket.on('connect', () => {
      // Half at signup (a rate-limited path), half at a path no rate limit covers: there only the body timeout helps.
      const target = slot % 2 === 0 ? '/api/auth/signup' : `/api/bookings/${randomUUID()}/cancel`;
      socket.write(`POST ${target} HTTP/1.1\r\n${host}\r\nContent-Type: application/json\r\nContent-Length: ${SLOW_UPLOAD_BODY_BYTES}\r\n\r\n{"email":"`);
      trickling.add(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      const m = /HTTP\/1\.[01] (\d{3})/.exec(chunk.toString('latin1', 0, 64));
      if (m) outcome = Number(m[1]);
      socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      trickling.delete(socket);
      // Still open at the end of the phase: the gateway let it trickle all along.
      count(results, `slow upload to ${slot % 2 === 0 ? 'signup' : 'cancel'}`, live() ? outcome : 'still open at the end');
      if (!live() || reopens >= REOPENS_PER_SLOT) return resolve();
      setTimeout(() => void openSlow(slot, reopens + 1).then(resolve), REOPEN_DELAY_MS);
    });
  });
  const slowLoops = Array.from({ length: plan.attack.slowUploads }, (_, k) => openSlow(k, 0));

  // SSE flood: many event streams from one address, kept open; refused ones are retried.
  const streams = new Set<net.Socket>();
  const openStream = (slot: number, reopens: number): Promise<void> => new Promise((resolve) => {
    if (!live()) return resolve();
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: ADDRESS.sseFlood });
    let outcome: string | number = 'closed';
    socket.on('connect', () => {
      socket.write(`GET /api/showtimes/${plan.showtimes[slot % plan.showtimes.length]}/events HTTP/1.1\r\n${host}\r\nAccept: text/event-stream\r\n\r\n`);
      streams.add(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      const m = /HTTP\/1\.[01] (\d{3})/.exec(chunk.toString('latin1', 0, 64));
      if (!m) return;
      outcome = Number(m[1]);
      if (outcome !== 200) socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      streams.delete(socket);
      count(results, 'SSE stream', live() ? outcome : outcome === 200 ? '200 (open to the end)' : outcome);
      if (!live() || reopens >= REOPENS_PER_SLOT) return resolve();
      setTimeout(() => void openStream(slot, reopens + 1).then(resolve), REOPEN_DELAY_MS);
    });
  });
  const streamLoops = Array.from({ length: plan.attack.sseStreams }, (_, k) => openStream(k, 0));

  // Seat squatting: hold every free seat one can, 10 at a time, on the legit users' showtimes.
  plan.squatterTokens.slice(0, plan.attack.squatters).forEach((token, s) => {
    const c = clientFor(ADDRESS.squatter(s), token);
    loops.push((async () => {
      for (let n = 0; live(); n++) {
        const showtimeId = plan.showtimes[n % plan.showtimes.length]!;
        const map = await c.call('GET', `/api/showtimes/${showtimeId}`);
        count(results, 'seat squatting: seat map', map.status || String(map.body));
        const seats = pickSeats(map.body as SeatMap, 10);
        if (!seats.length) continue;
        const hold = await c.call('POST', '/api/holds', { showtimeId, seats });
        count(results, 'seat squatting: hold 10 seats', hold.status || String(hold.body));
      }
    })());
  });

  // Ready once the long-lived connections have had a moment to open.
  await waitFor('the attackers to connect', ATTACKERS_READY_TIMEOUT_MS, async () => trickling.size + streams.size >= 0.5 * (plan.attack.slowUploads + plan.attack.sseStreams) || !live(), 50)
    .catch(() => {});
  console.log(JSON.stringify({ ready: true, trickling: trickling.size, streams: streams.size }));
  await Promise.all(loops);
  // The end of the phase: hang up every long-lived connection (each counts itself as it closes).
  for (const s of [...trickling, ...streams]) s.destroy();
  clearInterval(ticker);
  await Promise.all([...slowLoops, ...streamLoops]);
  await Promise.all(clients.map((c) => c.close()));
  return results;
}

/** The attackers' child process, its PID known to the cleanup; resolves with their results once the phase is over. */
async function startAttackers(cleanup: Cleanup, children: Set<ChildProcess>, plan: AttackPlan): Promise<{ ready: Promise<unknown>; done: Promise<AttackResults> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('bench', 'abuse.ts'), '--attackers'], {
    env: { ...process.env, ABUSE_ATTACK_PLAN: JSON.stringify(plan) }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  if (ATTACKERS_NICE !== 0) os.setPriority(child.pid!, ATTACKERS_NICE);
  cleanup.add(`stop the attackers (pid ${child.pid})`, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const lines = readline.createInterface({ input: child.stdout! });
  let onReady: (v: unknown) => void = () => {};
  const ready = new Promise((resolve) => (onReady = resolve));
  const done = new Promise<AttackResults>((resolve, reject) => {
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      const msg = JSON.parse(line) as { ready?: boolean; results?: AttackResults };
      if (msg.ready) onReady(msg);
      if (msg.results) resolve(msg.results);
    });
    child.once('exit', (code) => reject(new Error(`the attackers exited (${code}) without results`)));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), plan.deadline - Date.now() + ATTACKERS_EXIT_TIMEOUT_MS);
  void done.finally(() => clearTimeout(timer)).catch(() => {});
  return { ready, done };
}

// ── The run ─────────────────────────────────────────────────────────────────────────────────────

type GatewayStats = { totals?: Record<string, unknown>; refusals?: unknown; edge?: unknown; nodes: { id: string; eligible: boolean; ejections?: number; errors: number; requests: number }[] };

function parseEnvList(value: string | undefined): Record<string, string> {
  if (!value) return {};
  return Object.fromEntries(value.split(',').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

async function signUp(url: string, address: string, email: string): Promise<string> {
  const api = jsonClient(url, address);
  try {
    const res = await api.call('POST', '/api/auth/signup', { email, name: email.split('@')[0], password: LEGIT_PASSWORD });
    if (res.status !== 201) throw new Error(`signup of ${email}: ${res.status} ${JSON.stringify(res.body)}`);
    return (res.body as { token: string }).token;
  } finally {
    await api.close();
  }
}

const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : '–');

function report(alone: LegitSummary, attacked: LegitSummary, attacks: AttackResults, stats: { before: GatewayStats; after: GatewayStats }): { text: string; verdict: string } {
  const ratio = attacked.p99Ms / alone.p99Ms;
  const availabilityOk = attacked.availability >= TARGET_AVAILABILITY;
  const p99Ok = ratio <= TARGET_P99_RATIO;
  const verdict = `legit availability with attackers ${pct(attacked.availability)} (target ≥ ${pct(TARGET_AVAILABILITY)}: ${availabilityOk ? 'meets' : 'BELOW'}) · `
    + `legit p99 ${ms(attacked.p99Ms)} ms vs ${ms(alone.p99Ms)} ms alone = ${ratio.toFixed(2)}× (target ≤ ${TARGET_P99_RATIO}×: ${p99Ok ? 'meets' : 'ABOVE'})`;
  const legitRow = (name: string, s: LegitSummary) => `| ${name} | ${s.requests} | ${pct(s.availability)} | ${ms(s.p50Ms)} | ${ms(s.p99Ms)} |`;
  const failures = (s: LegitSummary) => Object.entries(s.failures).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${v}× ${k}`).join('; ') || 'none';
  const kinds = [...new Set([...Object.keys(alone.byKind), ...Object.keys(attacked.byKind)])];
  const attackRows = Object.entries(attacks).map(([name, byCode]) => {
    const total = Object.values(byCode).reduce((a, b) => a + b, 0);
    const codes = Object.entries(byCode).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c}: ${n}`).join(' · ');
    return `| ${name} | ${total} | ${codes} |`;
  });
  const ejections = stats.after.nodes.map((n) => {
    const before = stats.before.nodes.find((b) => b.id === n.id);
    return `${n.id} ${n.ejections === undefined ? 'eligible ' + n.eligible : `${n.ejections - (before?.ejections ?? 0)} ejections`}, ${n.errors - (before?.errors ?? 0)} errors`;
  }).join(' · ');
  const edge = Object.fromEntries(Object.entries(stats.after).filter(([k]) => k !== 'nodes' && k !== 'algorithms'));
  const text = `**${verdict}.**

| legit users (${USERS}) | requests | availability | p50 ms | p99 ms |
| --- | ---: | ---: | ---: | ---: |
${legitRow('alone', alone)}
${legitRow('with attackers', attacked)}

Legit failures alone: ${failures(alone)}. With attackers: ${failures(attacked)}.
p50 / p99 per step (alone → with attackers): ${kinds.map((k) => `${k} ${ms(alone.byKind[k]?.p50Ms ?? NaN)} / ${ms(alone.byKind[k]?.p99Ms ?? NaN)} → ${ms(attacked.byKind[k]?.p50Ms ?? NaN)} / ${ms(attacked.byKind[k]?.p99Ms ?? NaN)} ms`).join(' · ')}.
Share answered 2xx (alone → with attackers; a hold that lost its seats is a 409): ${kinds.map((k) => `${k} ${pct(alone.byKind[k]?.share2xx ?? NaN)} → ${pct(attacked.byKind[k]?.share2xx ?? NaN)}`).join(' · ')}.

| attack (with attackers phase) | requests | answers (status, or what happened to the connection) |
| --- | ---: | --- |
${attackRows.join('\n')}

Gateway during the attack phase: ${ejections}. Its stats afterwards (without per-node figures): \`${JSON.stringify(edge)}\`.`;
  return { text, verdict };
}

async function main(): Promise<void> {
  const began = performance.now();
  const cleanup = new Cleanup();
  const children = new Set<ChildProcess>();
  let cluster: TestCluster | undefined;
  let gateway: TestGateway | undefined;
  const killNow = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (gateway && gateway.proc.exitCode === null) gateway.proc.kill('SIGKILL');
    for (const n of cluster?.nodes.values() ?? []) if (n.proc && n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
    // A startCluster that failed half-way hands back nothing: its nodes are our children still.
    for (const stray of childProcessesRunning('node/main.ts', 'gateway/main.ts')) {
      try {
        process.kill(stray.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      if (stray.dataDir && path.basename(stray.dataDir).startsWith('moviebook-cluster-') && path.dirname(stray.dataDir) === os.tmpdir()) {
        fs.rmSync(stray.dataDir, { recursive: true, force: true });
      }
    }
  };
  cleanUpOnSignal(cleanup, log, killNow);
  process.once('exit', killNow);
  try {
    const database = await openBenchDatabase(cleanup, log, 'moviebook_abuse');
    const db = createPool(database.url, 2);
    cleanup.add('close the database pool', () => db.end());
    await prepareSchema(db, { seed: true });

    log(`starting ${NODE_COUNT} nodes and the gateway`);
    cluster = await startCluster(NODE_COUNT, database.url, { LOG_LEVEL: 'warn', ...parseEnvList(process.env.BENCH_NODE_ENV) });
    cleanup.add('stop the nodes', () => stopClusterWithin(cluster!, STOP_TIMEOUT_MS, log));
    // The edge as it ships under `npm start` (production, per-address limits on; test gateways turn them off), unless BENCH_GATEWAY_ENV says otherwise.
    gateway = await startGateway(database.url, { NODE_ENV: 'production', LB_HEALTH_INTERVAL_MS: '500', LB_ADDRESS_LIMITS: 'on', ...parseEnvList(process.env.BENCH_GATEWAY_ENV) });
    cleanup.add('stop the gateway', () => gateway!.stop());
    const url = gateway.url;
    const lb = jsonClient(url, '127.0.0.1');
    cleanup.add('close the stats client', () => lb.close());
    await waitFor('every node eligible at the gateway', 30_000, async () => ((await lb.call('GET', '/api/lb')).body as GatewayStats).nodes.filter((n) => n.eligible).length === NODE_COUNT);

    const { rows: showtimeRows } = await db.query<{ id: number; movie_id: number }>(
      `SELECT s.id, s.movie_id FROM showtimes s JOIN screens sc ON sc.id = s.screen_id
       WHERE sc.name = 'Grand Hall' AND s.starts_at > now() + interval '1 hour' ORDER BY s.starts_at LIMIT $1`, [SHOWTIME_COUNT],
    );
    const movies = (await db.query<{ id: number }>('SELECT id FROM movies ORDER BY id')).rows.map((r) => r.id);
    const showtimes = showtimeRows.map((r) => r.id);
    const run = randomBytes(3).toString('hex');
    const users: { token: string; email: string }[] = [];
    for (let i = 0; i < USERS; i++) {
      const email = `legit-${i}-${run}@example.test`;
      users.push({ email, token: await signUp(url, ADDRESS.signup(i), email) });
    }
    const victimEmail = `victim-${run}@example.test`;
    await signUp(url, ADDRESS.signup(USERS), victimEmail);
    const squatterTokens: string[] = [];
    for (let s = 0; s < ATTACK.squatters; s++) squatterTokens.push(await signUp(url, ADDRESS.signup(USERS + 1 + s), `squatter-${s}-${run}@example.test`));
    const attackerToken = await signUp(url, ADDRESS.signup(USERS + 1 + ATTACK.squatters), `big-bodies-${run}@example.test`);
    const ctx = { url, showtimes, movies };

    log(`warm-up: ${USERS} legit users for ${WARMUP_S} s`);
    await runLegit(WARMUP_S, ctx, users);
    log(`phase 1: ${USERS} legit users alone for ${PHASE_S} s`);
    const alone = summarise(await runLegit(PHASE_S, ctx, users));
    log(`alone: ${alone.requests} requests, availability ${pct(alone.availability)}, p50 ${ms(alone.p50Ms)} ms, p99 ${ms(alone.p99Ms)} ms`);

    const before = (await lb.call('GET', '/api/lb')).body as GatewayStats;
    const rampS = 5;
    const attackers = await startAttackers(cleanup, children, {
      url, deadline: Date.now() + (rampS + PHASE_S) * 1000, showtimes, victimEmail, squatterTokens, userToken: attackerToken, attack: ATTACK,
    });
    const readyState = await Promise.race([attackers.ready, attackers.done.then(() => 'finished early')]);
    log(`attackers ready (${JSON.stringify(readyState)}); phase 2: ${USERS} legit users with attackers for ${PHASE_S} s`);
    const attacked = summarise(await runLegit(PHASE_S, ctx, users));
    const after = (await lb.call('GET', '/api/lb')).body as GatewayStats;
    log('legit users done; waiting for the attackers to hang up');
    const attacks = await attackers.done;
    log(`with attackers: ${attacked.requests} requests, availability ${pct(attacked.availability)}, p50 ${ms(attacked.p50Ms)} ms, p99 ${ms(attacked.p99Ms)} ms`);

    const { text, verdict } = report(alone, attacked, attacks, { before, after });
    console.log(text);
    log(verdict);
    if (WRITE_DOCS) {
      const machine = await describeMachine(db);
      writeDocSection(DOCS_FILE, 'Benchmarks', DOCS_HEADING, `<!-- generated by \`npm run bench:abuse\` (bench/abuse.ts); rerunning replaces this section -->

${PHASE_S < DEFAULT_PHASE_S ? `**A short run (${PHASE_S} s per phase, default ${DEFAULT_PHASE_S} s): a smoke test, not the figures of record.**\n\n` : ''}${measuredOn(machine, database)}. Everything shares these ${machine.cpus} cores: the legit users and the attackers (two
processes), the gateway, the ${NODE_COUNT} nodes and PostgreSQL.

Command: \`npm run bench:abuse\` (BENCH_SECONDS=${PHASE_S} per phase, BENCH_USERS=${USERS}, BENCH_THINK_MS=${THINK_MS}, BENCH_ATTACKERS_NICE=${ATTACKERS_NICE}; attackers
${JSON.stringify(ATTACK)}${process.env.BENCH_GATEWAY_ENV ? `, BENCH_GATEWAY_ENV=${process.env.BENCH_GATEWAY_ENV}` : ''}; whole run ${((performance.now() - began) / 1000).toFixed(0)} s). ${NODE_COUNT} nodes
(\`node/main.ts\`, API only) behind the gateway (\`gateway/main.ts\`, default settings: per-address limits on). Each legit user (own account,
own address 127.0.2.x) loops: the catalogue, a movie, a seat map of one of ${SHOWTIME_COUNT} Grand Hall showtimes, a hold of
${SEATS_PER_HOLD} free seats, the booking, every other round its cancellation, every 10th a login; ${THINK_MS} ms × 0.5–1.5 between clicks.
Legit availability = answers 2xx, or 409 SEATS_UNAVAILABLE / HOLD_NOT_ACTIVE (a seat someone else took). Then the same
with the attackers of the table below running beside them (in their own process${ATTACKERS_NICE ? `, at nice ${ATTACKERS_NICE}: the lowest CPU priority, as if on machines of their own` : ''}, each attack from its own addresses in
127.0.0.0/8, started ${rampS} s before the legit users). Targets (issue 12): legit availability ≥ ${pct(TARGET_AVAILABILITY)} and
legit p99 ≤ ${TARGET_P99_RATIO}× the run without attackers.

${text}`);
      log(`wrote the "${DOCS_HEADING}" section of ${DOCS_FILE}`);
    }
  } catch (err) {
    if (cluster) log(`the nodes' last words:\n${cluster.logTail(3_000)}`);
    if (gateway) log(`the gateway's last words:\n${gateway.log.join('').slice(-3_000)}`);
    throw err;
  } finally {
    await cleanup.run();
  }
}

if (process.argv.includes('--attackers')) {
  runMain(async () => {
    const plan = JSON.parse(process.env.ABUSE_ATTACK_PLAN ?? '{}') as AttackPlan;
    const results = await runAttackers(plan);
    console.log(JSON.stringify({ results }));
  });
} else {
  runMain(main);
}
