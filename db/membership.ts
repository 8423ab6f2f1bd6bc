import { nodePriority } from '../core/node-id';
import type { Db } from './pool';
import type { Peer } from '../transport/transport';

/**
 * Who is in the cluster: nodes register themselves in server_nodes (advertised URL, priority from
 * the id) and keep their row fresh; a node learns its peers from the rows refreshed within
 * `memberTtlMs`. CLUSTER_PEERS (transport/peers.ts) replaces discovery.
 */
export async function register(db: Db, self: { id: string; url: string; pid: number; host: string; port: number }): Promise<void> {
  await db.query(
    `INSERT INTO server_nodes (id, host, port, url, priority, pid, status, started_at, last_heartbeat, is_leader)
     VALUES ($1, $2, $3, $4, $5, $6, 'alive', now(), now(), false)
     ON CONFLICT (id) DO UPDATE SET host = $2, port = $3, url = $4, priority = $5, pid = $6, status = 'alive',
       started_at = now(), last_heartbeat = now(), is_leader = false`,
    [self.id, self.host, self.port, self.url, nodePriority(self.id) ?? 0, self.pid],
  );
}

/** Refresh our row and read the live peers. */
export async function refresh(db: Db, selfId: string, memberTtlMs: number, metadata: object): Promise<Peer[]> {
  await db.query("UPDATE server_nodes SET last_heartbeat = now(), status = 'alive', metadata = $2 WHERE id = $1", [selfId, JSON.stringify(metadata)]);
  const { rows } = await db.query<{ id: string; url: string }>(
    `SELECT id, url FROM server_nodes
     WHERE id <> $1 AND url IS NOT NULL AND status <> 'left' AND last_heartbeat > now() - make_interval(secs => $2)
     ORDER BY id`,
    [selfId, memberTtlMs / 1000],
  );
  return rows;
}

/**
 * The clocks this node had when it last persisted them (every membership refresh) or last stamped
 * a booking, whichever is later: a restarted node resumes above both.
 */
export async function persistedClock(db: Db, selfId: string): Promise<{ lamport: number; vector: Record<string, number> }> {
  const { rows } = await db.query<{ lamport: number | null; vector: Record<string, number> | null; booked_lamport: number | null; booked_own: number | null }>(
    `SELECT (n.metadata->'clock'->>'lamport')::bigint AS lamport, n.metadata->'clock'->'vector' AS vector,
            (SELECT max(logical_clock) FROM bookings WHERE processed_by = $1) AS booked_lamport,
            (SELECT max((vector_clock->>$1)::bigint) FROM bookings WHERE processed_by = $1) AS booked_own
     FROM (SELECT 1) AS one LEFT JOIN server_nodes n ON n.id = $1`,
    [selfId],
  );
  const row = rows[0];
  const vector = { ...(row?.vector ?? {}) };
  vector[selfId] = Math.max(vector[selfId] ?? 0, row?.booked_own ?? 0);
  return { lamport: Math.max(row?.lamport ?? 0, row?.booked_lamport ?? 0), vector };
}

/** A clean shutdown leaves the cluster at once instead of waiting to be declared dead. */
export async function leave(db: Db, selfId: string): Promise<void> {
  await db.query("UPDATE server_nodes SET status = 'left', is_leader = false WHERE id = $1", [selfId]);
}
