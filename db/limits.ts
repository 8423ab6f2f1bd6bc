import type pg from 'pg';
import { AppError } from '../core/errors';
import type { Db } from './pool';
import { decide, type Decision, type Rule } from '../core/limits/window';

/**
 * The PostgreSQL shell of the limiter: one UNLOGGED row per key in rate_limit_windows, so every
 * node of the cluster counts the same hits, and one upsert round trip per check. PostgreSQL's own
 * clock decides windows (nodes' clocks may be skewed). Keys: `login:<lower email>`,
 * `hold:<user id>`, `booking:<user id>`.
 */

// Exactly `advance` of ./window.ts, with the database's now(). Hits stop counting at HITS_CAP so a
// flood cannot overflow the int column.
const HIT = `
  INSERT INTO rate_limit_windows AS w (key, hits, ends_at) VALUES ($1, 1, now() + make_interval(secs => $2::float8 / 1000))
  ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN w.ends_at <= now() THEN 1 ELSE least(w.hits + 1, $3) END,
    ends_at = CASE WHEN w.ends_at <= now() THEN EXCLUDED.ends_at ELSE w.ends_at END
  RETURNING hits, extract(epoch FROM ends_at)::float8 * 1000 AS ends_at_ms, extract(epoch FROM now())::float8 * 1000 AS now_ms`;
const HITS_CAP = 1_000_000_000;

type Queryable = Db | pg.ClientBase;

/** Count one hit of `key` under `rule`: allowed, or refused with the seconds until it would be. */
export async function hit(db: Queryable, key: string, rule: Rule): Promise<Decision> {
  const { rows } = await db.query<{ hits: number; ends_at_ms: number; now_ms: number }>({
    name: 'rate_limit_hit', text: HIT, values: [key, rule.windowMs, HITS_CAP],
  });
  const row = rows[0]!;
  return decide({ hits: row.hits, endsAtMs: row.ends_at_ms }, rule.limit, row.now_ms);
}

/** Take back one hit of the current window (an attempt that turned out not to count). */
export async function unhit(db: Queryable, key: string): Promise<void> {
  await db.query({
    name: 'rate_limit_unhit',
    text: 'UPDATE rate_limit_windows SET hits = greatest(hits - 1, 0) WHERE key = $1 AND ends_at > now()',
    values: [key],
  });
}

export function rateLimited(what: string, retryAfterS: number): AppError {
  return new AppError('RATE_LIMITED', `Too many ${what}; try again in ${retryAfterS} s`, { retryAfterS });
}

/** Count one hit and throw RATE_LIMITED (429, Retry-After) when it is over the rule's limit. */
export async function enforce(db: Queryable, key: string, rule: Rule, what: string): Promise<void> {
  const decision = await hit(db, key, rule);
  if (!decision.allowed) throw rateLimited(what, decision.retryAfterS);
}

/** Delete at most `batchRows` ended windows (a bounded round of the purge duty). */
export async function purgeEndedWindows(client: Queryable, batchRows: number): Promise<number> {
  const res = await client.query(
    'DELETE FROM rate_limit_windows WHERE key IN (SELECT key FROM rate_limit_windows WHERE ends_at <= now() LIMIT $1)', [batchRows],
  );
  return res.rowCount ?? 0;
}
