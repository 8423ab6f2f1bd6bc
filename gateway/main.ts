import http from 'node:http';
import { z } from 'zod';
import { loadDotEnv } from '../server/config';
import { parsePeerList } from '../server/cluster/membership';
import type { Algorithm } from './balancer';
import { Gateway } from './gateway';

/** The gateway process: `npm start` runs it on PORT in front of the nodes. */
const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.string().optional(),
  GATEWAY_BACKENDS: z.string().optional(),
  LB_ALGORITHM: z.enum(['round-robin', 'least-connections', 'weighted']).default('round-robin'),
  LB_WEIGHTS: z.string().optional(),
  LB_HEALTH_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(500),
  LB_HEALTH_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
  LB_RISE: z.coerce.number().int().min(1).max(20).default(2),
  LB_FALL: z.coerce.number().int().min(1).max(20).default(2),
  LB_EJECT_AFTER_FAILURES: z.coerce.number().int().min(1).max(100).default(1),
  LB_EJECT_BASE_MS: z.coerce.number().int().min(100).max(600_000).default(1_000),
  LB_EJECT_MAX_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  LB_UPSTREAM_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  LB_CONNECTIONS_PER_NODE: z.coerce.number().int().min(1).max(1_024).default(64),
  MEMBER_TTL_MS: z.coerce.number().int().min(1_000).default(30_000),
});

export function parseWeights(value: string): Record<string, number> {
  return Object.fromEntries(
    value.split(',').map((part) => {
      const [id, weight] = part.split('=').map((s) => s.trim());
      const n = Number(weight);
      if (!id || !Number.isInteger(n) || n < 0) throw new Error(`LB_WEIGHTS entry "${part}" is not id=integer`);
      return [id, n];
    }),
  );
}

async function main(): Promise<void> {
  loadDotEnv();
  const env = envSchema.parse(process.env);
  const gateway = new Gateway({
    algorithm: env.LB_ALGORITHM as Algorithm,
    staticWeights: env.LB_WEIGHTS ? parseWeights(env.LB_WEIGHTS) : undefined,
    health: { rise: env.LB_RISE, fall: env.LB_FALL, ejectAfterFailures: env.LB_EJECT_AFTER_FAILURES, ejectBaseMs: env.LB_EJECT_BASE_MS, ejectMaxMs: env.LB_EJECT_MAX_MS },
    healthIntervalMs: env.LB_HEALTH_INTERVAL_MS,
    healthTimeoutMs: env.LB_HEALTH_TIMEOUT_MS,
    upstreamTimeoutMs: env.LB_UPSTREAM_TIMEOUT_MS,
    connectionsPerBackend: env.LB_CONNECTIONS_PER_NODE,
    retryBodyLimitBytes: 1_048_576,
    discoveryIntervalMs: 1_000,
    memberTtlMs: env.MEMBER_TTL_MS,
    staticBackends: env.GATEWAY_BACKENDS ? parsePeerList(env.GATEWAY_BACKENDS) : undefined,
    databaseUrl: env.DATABASE_URL,
  });
  if (!env.GATEWAY_BACKENDS && !env.DATABASE_URL) throw new Error('Set DATABASE_URL (node registry) or GATEWAY_BACKENDS (id=url,…)');
  const server = http.createServer((req, res) => void gateway.handle(req, res));
  server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  server.keepAliveTimeout = 65_000;
  await gateway.start();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(env.PORT, env.HOST, resolve));
  console.log(`gateway on http://localhost:${env.PORT} (${gateway.algorithm}), ${gateway.backends.size} node(s) known`);
  const shutdown = () => {
    server.close();
    server.closeAllConnections();
    void gateway.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
