import type pg from 'pg';
import { purgeEndedWindows } from '../limits';

/**
 * Replayable booking answers are kept this long (a retry with the same Idempotency-Key within it
 * replays the booking; a later one is a new request). Stripe keeps keys for 24 h too.
 */
export const IDEMPOTENCY_KEY_RETENTION_S = 24 * 3600;
/** Rows deleted per table per run: a backlog is worked off over several runs, never in one long one. */
export const PURGE_BATCH_ROWS = 1_000;

export type Purged = { sessions: number; idempotencyKeys: number; limiterWindows: number };

/**
 * Delete what nobody can use any more: sessions past their expiry or idle deadline, idempotency
 * keys past their retention, ended rate-limit windows — at most PURGE_BATCH_ROWS of each.
 * Leader-only in a cluster, run inside the leader's fenced transaction (`client`).
 */
export async function purgeExpired(client: pg.ClientBase, batchRows = PURGE_BATCH_ROWS): Promise<Purged> {
  const sessions = await client.query(
    `DELETE FROM sessions WHERE token_hash IN (
       SELECT token_hash FROM sessions WHERE expires_at <= now() OR idle_expires_at <= now() LIMIT $1)`,
    [batchRows],
  );
  const keys = await client.query(
    `DELETE FROM idempotency_keys WHERE (user_id, key) IN (
       SELECT user_id, key FROM idempotency_keys WHERE created_at <= now() - make_interval(secs => $2) LIMIT $1)`,
    [batchRows, IDEMPOTENCY_KEY_RETENTION_S],
  );
  return { sessions: sessions.rowCount ?? 0, idempotencyKeys: keys.rowCount ?? 0, limiterWindows: await purgeEndedWindows(client, batchRows) };
}
