import path from 'node:path';
import { z } from 'zod';
import { parseSiteOrigins, type CookieSecureMode } from '../http/browser-edge';
import { readSettings } from '../config/settings';
import { replicationModeInput } from '../contract/replication';
import {
  CONSISTENCIES, ELECTION_ALGORITHMS, REPLICATION_MODES,
  type Consistency, type ElectionAlgorithm, type ReplicationMode,
} from '../core/vocabulary';

/** A replication mode by its name, or by the spec's `peer-to-peer` for gossip (settings, API). */
const replicationModeSchema = replicationModeInput.describe(`one of ${REPLICATION_MODES.join(', ')}, peer-to-peer (= gossip)`);

/** Everything a node reads from its environment, parsed once at start. */
const envSchema = z.object({
  NODE_ENV: z.string().default('development'),
  NODE_ID: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).describe('1–64 letters, digits, - or _')
    .default('node-1'),
  NODE_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Loopback unless a multi-host setup says otherwise (peers and the gateway reach nodes by ADVERTISED_URL). */
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: z.string().optional(),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(20),
  HOLD_TTL_S: z.coerce.number().int().min(1).max(86_400).default(600),
  MAX_SEATS_PER_BOOKING: z.coerce.number().int().min(1).max(100).default(10),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(10_485_760).default(65_536),
  SESSION_TTL_S: z.coerce.number().int().min(60).default(30 * 86_400),
  /** A session unused this long stops working (its deadline moves forward with use). */
  SESSION_IDLE_TIMEOUT_S: z.coerce.number().int().min(60).default(7 * 86_400),
  /** Failed logins per account (email) per LOGIN_FAILURE_WINDOW_S, counted cluster-wide; then 429. */
  LOGIN_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).max(1_000_000).default(10),
  LOGIN_FAILURE_WINDOW_S: z.coerce.number().int().min(1).max(86_400).default(900),
  /** Hold and booking requests per account per minute, counted cluster-wide; then 429. */
  HOLDS_PER_ACCOUNT_PER_MIN: z.coerce.number().int().min(1).max(1_000_000).default(60),
  BOOKINGS_PER_ACCOUNT_PER_MIN: z.coerce.number().int().min(1).max(1_000_000).default(30),
  /** Seats one account may hold at once, over all showtimes (unset: MAX_SEATS_PER_BOOKING). */
  MAX_HELD_SEATS_PER_ACCOUNT: z.coerce.number().int().min(1).max(10_000).optional(),
  /** The site's own origin(s) for the cross-site check (comma-separated); unset: the request's Host. */
  SITE_ORIGIN: z.string().optional(),
  /** `Secure` on the session cookie: auto = when X-Forwarded-Proto says https. */
  COOKIE_SECURE: z.enum(['auto', 'on', 'off']).default('auto'),
  /** Relative capacity this node declares; the gateway's load-based weights start from it. */
  NODE_CAPACITY: z.coerce.number().int().min(1).max(1_000).default(10),
  /** off: API only (benchmarks, cluster tests); the pages need a `next build` in production. */
  SERVE_PAGES: z.enum(['on', 'off']).default('on'),
  CLUSTER_SECRET: z.string().min(16).optional(),
  CLUSTER_PEERS: z.string().optional(),
  ADVERTISED_URL: z.url().optional(),
  ELECTION_ALGORITHM: z.enum(ELECTION_ALGORITHMS).default('bully'),
  HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(100),
  SUSPECT_AFTER_MS: z.coerce.number().int().min(10).max(600_000).default(500),
  DEAD_AFTER_MS: z.coerce.number().int().min(10).max(600_000).default(1_500),
  ELECTION_ANSWER_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(150),
  SYNC_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(5_000),
  MEMBER_TTL_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(30_000),
  HOLD_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(5_000),
  CLOCK_SKEW_MS: z.coerce.number().int().min(-86_400_000).max(86_400_000).default(0),
  REPLICATION_MODE: replicationModeSchema.default('multi-master'),
  REPLICATION_N: z.coerce.number().int().min(1).max(100).default(3),
  REPLICATION_R: z.coerce.number().int().min(1).max(100).default(2),
  REPLICATION_W: z.coerce.number().int().min(1).max(100).default(2),
  /** master-slave: acknowledge after every live slave applied the write (true) or at once (false). */
  REPLICATION_SYNC: z.enum(['true', 'false']).default('true'),
  /** Multi-master anti-entropy, and a master-slave slave's sync with its master: one push-pull this often. */
  REPLICATION_ANTI_ENTROPY_MS: z.coerce.number().int().min(10).max(3_600_000).default(1_000),
  /** Compaction: a showtime's bookings and holds leave the replicas this long after it started (the database keeps them). */
  REPLICA_RETENTION_HOURS: z.coerce.number().min(0).max(87_600).default(168),
  /** How often a node applies the compaction rule to its replica. */
  REPLICA_COMPACT_EVERY_MS: z.coerce.number().int().min(100).max(86_400_000).default(600_000),
  GOSSIP_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(200),
  GOSSIP_FANOUT: z.coerce.number().int().min(1).max(100).default(3),
  /** Consistency of replica reads when the client does not say (?consistency= or X-Consistency). */
  READ_CONSISTENCY: z.enum(CONSISTENCIES).default('causal'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** On SIGTERM: say "stopping", serve on this long (the gateway takes it out), then close. */
  SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
});

export type Config = {
  nodeId: string;
  /** The port this node's HTTP server listens on (NODE_PORT, else PORT). */
  port: number;
  host: string;
  dev: boolean;
  dataDir: string;
  databaseUrl: string | undefined;
  dbPoolSize: number;
  holdTtlS: number;
  maxSeatsPerBooking: number;
  bodyLimitBytes: number;
  shutdownDrainMs: number;
  sessionTtlS: number;
  sessionIdleTimeoutS: number;
  /** Per-account limits, enforced through PostgreSQL (so cluster-wide). */
  accountLimits: {
    loginFailures: number;
    loginFailureWindowS: number;
    holdsPerMin: number;
    bookingsPerMin: number;
    maxHeldSeats: number;
  };
  /** Normalised origins (empty: compare Origin with the request's Host). */
  siteOrigins: string[];
  cookieSecure: CookieSecureMode;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  servePages: boolean;
  nodeCapacity: number;
  replication: {
    mode: ReplicationMode;
    n: number;
    r: number;
    w: number;
    synchronous: boolean;
    gossipIntervalMs: number;
    fanout: number;
    antiEntropyMs: number;
    /** Compaction: past showtimes leave the replicas this long after they started (ms), checked every compactEveryMs. */
    retentionMs: number;
    compactEveryMs: number;
    readConsistency: Consistency;
  };
  cluster: {
    secret: string | undefined;
    peers: string | undefined;
    advertisedUrl: string | undefined;
    electionAlgorithm: ElectionAlgorithm;
    heartbeatIntervalMs: number;
    suspectAfterMs: number;
    deadAfterMs: number;
    electionAnswerTimeoutMs: number;
    syncIntervalMs: number;
    memberTtlMs: number;
    holdSweepIntervalMs: number;
    clockSkewMs: number;
  };
};

/**
 * Settings that are valid alone but not together (etcd's `Config.validate()` style): the failure
 * detector's three periods in order, and quorums no larger than the replicas they count.
 */
type Related =
  | 'HEARTBEAT_INTERVAL_MS' | 'SUSPECT_AFTER_MS' | 'DEAD_AFTER_MS'
  | 'REPLICATION_N' | 'REPLICATION_R' | 'REPLICATION_W';

export function relationProblems(e: Pick<z.infer<typeof envSchema>, Related>): string[] {
  const problems: string[] = [];
  const below = (a: Related, b: Related) => {
    if (e[a] >= e[b]) problems.push(`${a} (${e[a]}) must be less than ${b} (${e[b]})`);
  };
  below('HEARTBEAT_INTERVAL_MS', 'SUSPECT_AFTER_MS');
  below('SUSPECT_AFTER_MS', 'DEAD_AFTER_MS');
  for (const q of ['REPLICATION_R', 'REPLICATION_W'] as const) {
    const n = e.REPLICATION_N;
    if (e[q] > n) problems.push(`${q} (${e[q]}) must be at most REPLICATION_N (${n})`);
  }
  return problems;
}

/** The node's settings from `env`; a SettingsError (config/settings.ts) names each bad one. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const e = readSettings(envSchema, env, relationProblems);
  return {
    nodeId: e.NODE_ID,
    port: e.NODE_PORT ?? e.PORT,
    host: e.HOST,
    dev: e.NODE_ENV !== 'production',
    dataDir: path.resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL || undefined,
    dbPoolSize: e.DB_POOL_SIZE,
    holdTtlS: e.HOLD_TTL_S,
    maxSeatsPerBooking: e.MAX_SEATS_PER_BOOKING,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    sessionTtlS: e.SESSION_TTL_S,
    sessionIdleTimeoutS: e.SESSION_IDLE_TIMEOUT_S,
    accountLimits: {
      loginFailures: e.LOGIN_FAILURES_PER_ACCOUNT,
      loginFailureWindowS: e.LOGIN_FAILURE_WINDOW_S,
      holdsPerMin: e.HOLDS_PER_ACCOUNT_PER_MIN,
      bookingsPerMin: e.BOOKINGS_PER_ACCOUNT_PER_MIN,
      maxHeldSeats: e.MAX_HELD_SEATS_PER_ACCOUNT ?? e.MAX_SEATS_PER_BOOKING,
    },
    siteOrigins: parseSiteOrigins(e.SITE_ORIGIN),
    cookieSecure: e.COOKIE_SECURE,
    logLevel: e.LOG_LEVEL,
    servePages: e.SERVE_PAGES === 'on',
    nodeCapacity: e.NODE_CAPACITY,
    replication: {
      mode: e.REPLICATION_MODE,
      n: e.REPLICATION_N,
      r: e.REPLICATION_R,
      w: e.REPLICATION_W,
      synchronous: e.REPLICATION_SYNC === 'true',
      gossipIntervalMs: e.GOSSIP_INTERVAL_MS,
      fanout: e.GOSSIP_FANOUT,
      antiEntropyMs: e.REPLICATION_ANTI_ENTROPY_MS,
      retentionMs: e.REPLICA_RETENTION_HOURS * 3_600_000,
      compactEveryMs: e.REPLICA_COMPACT_EVERY_MS,
      readConsistency: e.READ_CONSISTENCY,
    },
    cluster: {
      secret: e.CLUSTER_SECRET,
      peers: e.CLUSTER_PEERS,
      advertisedUrl: e.ADVERTISED_URL,
      electionAlgorithm: e.ELECTION_ALGORITHM,
      heartbeatIntervalMs: e.HEARTBEAT_INTERVAL_MS,
      suspectAfterMs: e.SUSPECT_AFTER_MS,
      deadAfterMs: e.DEAD_AFTER_MS,
      electionAnswerTimeoutMs: e.ELECTION_ANSWER_TIMEOUT_MS,
      syncIntervalMs: e.SYNC_INTERVAL_MS,
      memberTtlMs: e.MEMBER_TTL_MS,
      holdSweepIntervalMs: e.HOLD_SWEEP_INTERVAL_MS,
      clockSkewMs: e.CLOCK_SKEW_MS,
    },
    ...overrides,
  };
}
