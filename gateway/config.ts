import { z } from 'zod';
import { readSettings, type Env } from '../config/settings';
import { LB_ALGORITHMS } from '../core/vocabulary';

/** Everything the gateway reads from its environment (`npm start` runs it on PORT). */
const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.string().optional(),
  GATEWAY_BACKENDS: z.string().optional(),
  LB_ALGORITHM: z.enum(LB_ALGORITHMS).default('round-robin'),
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
  // ---- the edge (docs/gateway.md "Limits at the edge"); for a limit, 0 disables it ----
  /** The largest request body, as on the nodes (the same setting). */
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(10_485_760).default(65_536),
  /** The request line and headers must be in within this time (slowloris). */
  LB_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** The whole request, body included, must be in within this time (slow uploads). */
  LB_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(20_000),
  /** An idle keep-alive connection is closed after this long. */
  LB_KEEPALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
  /** off: every per-address limit below is off (load tests from one address). */
  LB_ADDRESS_LIMITS: z.enum(['on', 'off']).default('on'),
  LB_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().min(0).default(256),
  LB_LOGIN_RATE_PER_MIN: z.coerce.number().min(0).default(20),
  LB_LOGIN_BURST: z.coerce.number().int().min(1).default(10),
  LB_SIGNUP_RATE_PER_MIN: z.coerce.number().min(0).default(5),
  LB_SIGNUP_BURST: z.coerce.number().int().min(1).default(5),
  LB_WRITE_RATE_PER_MIN: z.coerce.number().min(0).default(120),
  LB_WRITE_BURST: z.coerce.number().int().min(1).default(30),
  LB_READ_RATE_PER_SEC: z.coerce.number().min(0).default(50),
  LB_READ_BURST: z.coerce.number().int().min(1).default(100),
  LB_SSE_STREAMS_PER_ADDRESS: z.coerce.number().int().min(0).default(20),
  /** Addresses remembered per rate limit; the least recently seen are forgotten first. */
  LB_LIMIT_ADDRESSES: z.coerce.number().int().min(100).default(100_000),
  /** A client that reads none of an answer for this long is cut off (its node connection freed). */
  LB_SEND_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** As on the nodes: the origins whose pages may send cookie-authenticated unsafe requests (default: the request's Host). */
  SITE_ORIGIN: z.string().optional(),
  /** on: the gateway is behind a proxy of ours; trust the last X-Forwarded-For hop and X-Forwarded-Proto. */
  LB_TRUST_PROXY: z.enum(['on', 'off']).default('off'),
  /** auto: websocket upgrades (Next's hot reload) only when NODE_ENV is not production. */
  LB_WEBSOCKETS: z.enum(['auto', 'on', 'off']).default('auto'),
  NODE_ENV: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MEMBER_TTL_MS: z.coerce.number().int().min(1_000).default(30_000),
  /**
   * Worker processes sharing the port (node:cluster). 1: one process, one balancer (exact round
   * robin). More: more CPU for proxying, but each worker balances on its own — round robin and
   * weights hold per worker (so overall within a few requests), least connections sees only its
   * own worker's in-flight requests, and every worker runs its own health checks.
   */
  GATEWAY_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
});

export type GatewaySettings = z.infer<typeof envSchema>;

export function parseWeights(value: string): Record<string, number> {
  return Object.fromEntries(
    value.split(',').map((part) => {
      const [id, weight] = part.split('=').map((s) => s.trim());
      const n = Number(weight);
      if (!id || !weight || !Number.isInteger(n) || n < 0) throw new Error(`entry "${part}" is not id=integer`);
      return [id, n];
    }),
  );
}

/** Settings valid alone but not together (config/settings.ts). */
export function gatewayRelationProblems(env: GatewaySettings): string[] {
  const problems: string[] = [];
  if (!env.GATEWAY_BACKENDS && !env.DATABASE_URL) {
    problems.push('DATABASE_URL or GATEWAY_BACKENDS: one must be set');
  }
  if (env.LB_EJECT_BASE_MS > env.LB_EJECT_MAX_MS) {
    const { LB_EJECT_BASE_MS: base, LB_EJECT_MAX_MS: max } = env;
    problems.push(`LB_EJECT_BASE_MS (${base}) must be at most LB_EJECT_MAX_MS (${max})`);
  }
  if (env.LB_WEIGHTS) {
    try {
      parseWeights(env.LB_WEIGHTS);
    } catch (err) {
      problems.push(`LB_WEIGHTS=${env.LB_WEIGHTS}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/** The gateway's settings from `env`; a SettingsError (config/settings.ts) names each bad one. */
export function gatewaySettings(env: Env): GatewaySettings {
  return readSettings(envSchema, env, gatewayRelationProblems);
}
