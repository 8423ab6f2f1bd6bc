import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { PoolClient } from 'pg';
import pino from 'pino';
import { ensureAdmin } from '../db/accounts/accounts';
import { purgeExpired } from '../db/accounts/purge';
import { expireHolds } from '../db/booking/reservations';
import { createPool, prepareSchema, resolveDatabase } from '../db/database';
import { buildApi, type FallbackHandler } from './api/app';
import type { NodeContext } from './api/context';
import { ClusterClock } from './cluster/cluster-clock';
import { clockTraceConfig } from './cluster/clock-trace';
import { ClusterNode, type ClusterConfig } from './cluster/cluster-node';
import { parsePeerList } from '../transport/peers';
import { clusterSecret } from './cluster/secret';
import { ReplicationNode } from './replication/replication-node';
import { pastShowtimeGroups } from '../db/booking/facts';
import { select, type ReplicaStore } from '../core/replication/store';
import type { Config } from './config';

/**
 * Next.js allows one dev server per build folder, and rewrites the tsconfig it is given: an
 * extra dev node (NODE_ID=node-2 … npm run dev) gets a build folder and a tsconfig of its own.
 */
function useOwnDevBuildFolder(nodeId: string): void {
  // Turbopack only reads a tsconfig beside the project, so this one lives at the top (git-ignored).
  const tsconfig = `tsconfig.dev-${nodeId}.json`;
  if (!fs.existsSync(tsconfig)) fs.writeFileSync(tsconfig, JSON.stringify({ extends: './tsconfig.json' }, null, 2) + '\n');
  process.env.NEXT_DIST_DIR ??= path.join('.next', 'dev-nodes', nodeId);
  process.env.NEXT_TSCONFIG_PATH ??= tsconfig;
}

export type RunningNode = { url: string; ctx: NodeContext; stop(): Promise<void> };

/** How this process reaches its own port: the loopback address when it listens on every address. */
function loopbackHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * One node process: database (embedded or DATABASE_URL), schema, cluster runtime, API, and —
 * unless `withPages` is false (API-only benchmarks) — the Next.js pages on the same port.
 */
export async function startNode(config: Config, options: { withPages?: boolean; seed?: boolean } = {}): Promise<RunningNode> {
  const log = pino({ level: config.logLevel, base: { node: config.nodeId } });
  const database = await resolveDatabase(config, (msg) => log.info(msg), (msg) => log.warn(msg));
  const db = createPool(database.url, config.dbPoolSize);
  await prepareSchema(db, { seed: options.seed ?? true });
  const admin = await ensureAdmin(db, config.dataDir);
  if (admin.password) {
    log.info(`created the admin account ${admin.email} (password saved in ${admin.file})`);
    console.log(`\n  Admin login: ${admin.email} / ${admin.password}  (shown once; saved in ${admin.file})\n`);
  }

  let fallback: FallbackHandler | undefined;
  let closePages = async () => {};
  let upgrade: ((req: http.IncomingMessage, socket: Duplex, head: Buffer) => void) | undefined;
  if (options.withPages ?? true) {
    // Telemetry would try to reach the internet; this product runs fine without it.
    process.env.NEXT_TELEMETRY_DISABLED ??= '1';
    if (config.dev && config.nodeId !== 'node-1') useOwnDevBuildFolder(config.nodeId);
    const { default: next } = await import('next');
    const pages = next({ dev: config.dev, dir: process.cwd(), hostname: 'localhost', port: config.port });
    await pages.prepare();
    fallback = pages.getRequestHandler();
    const upgradeHandler = pages.getUpgradeHandler();
    upgrade = (req, socket, head) => void upgradeHandler(req, socket, head);
    closePages = () => pages.close();
  }

  const stats = { inFlight: 0, served: 0 };
  const clock = new ClusterClock(config.nodeId, config.cluster.clockSkewMs);
  const ctx: NodeContext = {
    config, db, clock, cluster: undefined, replication: undefined, log, startedAt: Date.now(), stats,
    phase: 'starting',
  };
  const app = await buildApi(ctx, fallback);
  if (upgrade) app.server.on('upgrade', upgrade);
  await app.listen({ port: config.port, host: config.host });
  const { port } = app.server.address() as AddressInfo;
  const url = `http://localhost:${port}`;
  // Where the pages' server components read the API (app/server-api.ts): this node, over loopback.
  process.env.MOVIEBOOK_INTERNAL_API_URL = `http://${loopbackHost(config.host)}:${port}`;

  // The cluster runtime starts once the node answers, so peers can reach it at once.
  const clusterConfig: ClusterConfig = {
    nodeId: config.nodeId,
    url: config.cluster.advertisedUrl ?? `http://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    secret: await clusterSecret(config.cluster.secret, config.dataDir),
    heartbeatIntervalMs: config.cluster.heartbeatIntervalMs,
    failureDetector: { suspectAfterMs: config.cluster.suspectAfterMs, deadAfterMs: config.cluster.deadAfterMs },
    syncIntervalMs: config.cluster.syncIntervalMs,
    membershipRefreshMs: 1_000,
    memberTtlMs: config.cluster.memberTtlMs,
    electionAlgorithm: config.cluster.electionAlgorithm,
    // Ring hops wait a little longer for acks than Bully for answers: a busy 2-core machine can stall
    // an event loop for a few hundred ms, and a missed ack skips a live successor.
    election: { answerTimeoutMs: config.cluster.electionAnswerTimeoutMs, ringAckTimeoutMs: 500 },
    berkeley: { outlierBoundMs: 100, maxRttMs: 200 },
    clockSkewMs: config.cluster.clockSkewMs,
    staticPeers: config.cluster.peers ? parsePeerList(config.cluster.peers) : undefined,
    clockFile: path.join(config.dataDir, 'clocks', config.nodeId),
    clockTrace: clockTraceConfig(process.env),
  };
  const cluster = await ClusterNode.create(clusterConfig, db, log, () => ({ inFlight: stats.inFlight, requestsServed: stats.served, loadAvg1m: 0 }));
  // The cluster's clock is the node's clock: bookings are stamped with it.
  Object.assign(ctx, { cluster, clock: cluster.clock });
  cluster.clock.skewMs = config.cluster.clockSkewMs;
  const sweepEveryMs = config.cluster.holdSweepIntervalMs;
  // The leader's duties, each fenced by its epoch: lapsed holds, then old sessions and keys.
  const expire = (c: PoolClient) => expireHolds(c, config.nodeId);
  cluster.addLeaderDuty({ name: 'expire holds', everyMs: sweepEveryMs, run: expire });
  const purge = (c: PoolClient) => purgeExpired(c);
  cluster.addLeaderDuty({ name: 'purge expired', everyMs: sweepEveryMs, run: purge });
  await cluster.start();
  const { mode, n, r, w, synchronous, gossipIntervalMs, fanout, antiEntropyMs, retentionMs, compactEveryMs } = config.replication;
  const compaction = {
    everyMs: compactEveryMs,
    groups: (store: ReplicaStore, now: number) => pastShowtimeGroups(select(store, { prefixes: ['showtime:'] }).map((e) => e.value), now, retentionMs),
  };
  const replication = new ReplicationNode(
    config.nodeId, db, cluster, log, { mode, n, r, w, synchronous, gossipIntervalMs, fanout }, { syncIntervalMs: antiEntropyMs }, compaction,
  );
  await replication.start();
  ctx.replication = replication;
  ctx.phase = 'serving';

  let stopped = false;
  return {
    url,
    ctx,
    async stop() {
      if (stopped) return;
      stopped = true;
      // Drain: health says "stopping" (the gateway takes this node out at its next check) while
      // the node still serves what reaches it; then the port closes and what is in flight
      // finishes (its writes still replicate); then replication and the cluster stop.
      ctx.phase = 'stopping';
      await new Promise((resolve) => setTimeout(resolve, config.shutdownDrainMs));
      await app.close();
      await replication.stop();
      await cluster.stop();
      await closePages();
      await db.end();
      await database.stop();
    },
  };
}
