import { spawn, type ChildProcess } from 'node:child_process';
import pino from 'pino';
import { z } from 'zod';
import { ensureAdmin } from '../db/accounts/accounts';
import { createPool, prepareSchema, resolveDatabase } from '../db/database';
import { handleShutdownSignalsOurselves } from '../db/embedded';
import { takeRestartRequest } from '../node/cluster/restart-requests';
import { clusterSecret } from '../node/cluster/secret';
import { loadDotEnv } from '../config/dotenv';
import { exitWithBadSettings, readSettings, SettingsError } from '../config/settings';
import { gatewaySettings } from '../gateway/config';
import { loadConfig } from '../node/config';
import { buildIfNeeded } from './build-if-needed';

/**
 * `npm start`: the whole system in production mode. Builds the pages if needed, starts the
 * database (embedded under DATA_DIR unless DATABASE_URL is set), then CLUSTER_SIZE node
 * processes on NODE_BASE_PORT, NODE_BASE_PORT+1, … which find each other through the node
 * registry, and the gateway (our load balancer) on PORT (default 3000) in front of them.
 */
const launcherSchema = z.object({
  CLUSTER_SIZE: z.coerce.number().int().min(1).max(20).default(3),
  NODE_BASE_PORT: z.coerce.number().int().min(1).max(65_535).default(3001),
});

loadDotEnv();
Object.assign(process.env, { NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' });
/** Every process's settings are checked before anything starts: each bad one is a line, then exit 2. */
function checkedSettings() {
  const problems: string[] = [];
  const attempt = <T>(read: () => T): T | undefined => {
    try {
      return read();
    } catch (err) {
      if (!(err instanceof SettingsError)) throw err;
      problems.push(...err.problems);
      return undefined;
    }
  };
  const launcher = attempt(() => readSettings(launcherSchema, process.env));
  const config = attempt(() => loadConfig());
  // The gateway's own, as it will get them (the database URL is known once the database runs).
  const gatewayEnv = { ...process.env, DATABASE_URL: process.env.DATABASE_URL || 'embedded' };
  attempt(() => gatewaySettings(gatewayEnv));
  if (!launcher || !config || problems.length) exitWithBadSettings(problems, 'npm start');
  return { ...launcher, config };
}
const { CLUSTER_SIZE: clusterSize, NODE_BASE_PORT: basePort, config } = checkedSettings();
const log = pino({ level: config.logLevel, base: { node: 'launcher' } });

// API only (SERVE_PAGES=off): no node serves the pages, so there is nothing to build.
if (config.servePages) buildIfNeeded();
const database = await resolveDatabase(config, (msg) => log.info(msg), (msg) => log.warn(msg));
const db = createPool(database.url, 2);
await prepareSchema(db, { seed: true });
const admin = await ensureAdmin(db, config.dataDir);
await db.end();
const secret = await clusterSecret(config.cluster.secret, config.dataDir);

const nodes = new Map<string, ChildProcess>();
const pendingRestarts = new Set<NodeJS.Timeout>();
let stopping = false;

function startNode(index: number): void {
  const id = `node-${index}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'node/main.ts'], {
    stdio: 'inherit',
    env: {
      ...process.env,
      NODE_ID: id,
      NODE_PORT: String(basePort + index - 1),
      DATA_DIR: config.dataDir,
      DATABASE_URL: database.url,
      CLUSTER_SECRET: secret,
    },
  });
  nodes.set(id, child);
  child.on('exit', (code, signal) => {
    nodes.delete(id);
    if (stopping) return;
    // A crash from the monitor's chaos tab may ask to be restarted (docs/cluster.md, "Chaos from the monitor").
    const restartAfterMs = takeRestartRequest(config.dataDir, id, code);
    if (restartAfterMs === undefined) return void log.warn(`${id} exited (${signal ?? code}); the others carry on`);
    log.warn(`${id} crashed on request; restarting it in ${restartAfterMs} ms`);
    const timer = setTimeout(() => {
      pendingRestarts.delete(timer);
      if (!stopping) startNode(index);
    }, restartAfterMs);
    pendingRestarts.add(timer);
  });
}

for (let i = 1; i <= clusterSize; i++) startNode(i);

const gateway = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], {
  stdio: 'inherit',
  env: { ...process.env, PORT: String(config.port), DATABASE_URL: database.url },
});
nodes.set('gateway', gateway);
gateway.on('exit', (code, signal) => {
  nodes.delete('gateway');
  if (!stopping) log.error(`the gateway exited (${signal ?? code})`);
});

console.log(`
  MovieBook is starting at http://localhost:${config.port}
  (gateway on ${config.port}; ${clusterSize} node(s) on ports ${basePort}–${basePort + clusterSize - 1}; load balancer stats at /api/lb)
  Admin login: ${admin.email} / ${admin.password ?? `(see ${admin.file})`}
  Ctrl-C stops everything.
`);

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const timer of pendingRestarts) clearTimeout(timer);
  log.info(`${signal}: stopping the gateway and the nodes`);
  await Promise.all([...nodes.values()].map((child) => new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  })));
  await database.stop();
  process.exit(0);
}
handleShutdownSignalsOurselves();
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
