import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { ensureAdmin } from '../lib/auth/accounts';
import { expireHolds } from '../lib/booking/reservations';
import { createPool, prepareSchema, resolveDatabase } from '../lib/db/database';
import { buildApi, type FallbackHandler } from './api/app';
import type { NodeContext } from './api/context';
import type { Config } from './config';
import { NodeClock } from './node-clock';

const HOLD_SWEEP_INTERVAL_MS = 5_000;

export type RunningNode = { url: string; ctx: NodeContext; stop(): Promise<void> };

/**
 * One node process: database (embedded or DATABASE_URL), schema, API, and — unless `withPages`
 * is false (API-only tests and benchmarks) — the Next.js pages on the same port.
 */
export async function startNode(config: Config, options: { withPages?: boolean; seed?: boolean } = {}): Promise<RunningNode> {
  const log = pino({ level: config.logLevel, base: { node: config.nodeId } });
  const database = await resolveDatabase(config, (msg) => log.info(msg));
  const db = createPool(database.url, config.dbPoolSize);
  await prepareSchema(db, { seed: options.seed ?? true });
  const admin = await ensureAdmin(db, config.dataDir);
  if (admin.password) {
    log.info(`created the admin account ${admin.email} with password ${admin.password} (also saved in ${admin.file})`);
  }

  const ctx: NodeContext = { config, db, clock: new NodeClock(config.nodeId), log, startedAt: Date.now() };
  let fallback: FallbackHandler | undefined;
  let closePages = async () => {};
  let upgrade: ((req: import('node:http').IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => void) | undefined;
  if (options.withPages ?? true) {
    // Telemetry would try to reach the internet; this product runs fine without it.
    process.env.NEXT_TELEMETRY_DISABLED ??= '1';
    const { default: next } = await import('next');
    const pages = next({ dev: config.dev, dir: process.cwd(), hostname: 'localhost', port: config.port });
    await pages.prepare();
    fallback = pages.getRequestHandler();
    const upgradeHandler = pages.getUpgradeHandler();
    upgrade = (req, socket, head) => void upgradeHandler(req, socket, head);
    closePages = () => pages.close();
  }

  const app = await buildApi(ctx, fallback);
  if (upgrade) app.server.on('upgrade', upgrade);
  await app.listen({ port: config.port, host: config.host });
  const { port } = app.server.address() as AddressInfo;
  const url = `http://localhost:${port}`;

  const sweeper = setInterval(() => {
    expireHolds(db).catch((err: unknown) => log.warn({ err }, 'hold sweep failed'));
  }, HOLD_SWEEP_INTERVAL_MS);
  sweeper.unref();

  let stopped = false;
  return {
    url,
    ctx,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(sweeper);
      await app.close();
      await closePages();
      await db.end();
      await database.stop();
    },
  };
}
