import type { Db } from './pool';
import type { PersistedMeta, PersistedReplica, ReplicationConfig } from '../core/replication/replication';
import type { Entry } from '../core/replication/store';
import type { ReplicationMode } from '../core/vocabulary';

/** A node's replica in PostgreSQL: its own rows of data_replicas plus one replica_meta row. */
export async function loadReplica(db: Db, nodeId: string): Promise<PersistedReplica> {
  const { rows } = await db.query<{ key: string; value: Entry['value']; vector_clock: Entry['version']; lamport: number; origin: string; seq: number; deleted: boolean; rank: number }>(
    'SELECT key, value, vector_clock, lamport, origin, seq, deleted, rank FROM data_replicas WHERE node_id = $1', [nodeId],
  );
  const meta = await db.query<{ meta: PersistedMeta }>('SELECT meta FROM replica_meta WHERE node_id = $1', [nodeId]);
  const entries: Entry[] = rows.map((r) => ({
    key: r.key, value: r.value, deleted: r.deleted, version: r.vector_clock, ts: r.lamport, origin: r.origin, seq: r.seq,
    ...(r.rank !== 0 ? { rank: r.rank } : {}),
  }));
  return { entries, ...(meta.rows[0] ? { meta: meta.rows[0].meta } : {}) };
}

/**
 * Delete the persisted entries under retired groups (compaction). The meta that names them is
 * written first, so rows a crash leaves behind are skipped on load (store.ts `restoreStore`).
 */
export async function deleteRetired(db: Db, nodeId: string, groups: readonly string[]): Promise<number> {
  const { rowCount } = await db.query(
    'DELETE FROM data_replicas d USING unnest($2::text[]) AS g(prefix) WHERE d.node_id = $1 AND starts_with(d.key, g.prefix)',
    [nodeId, groups],
  );
  return rowCount ?? 0;
}

/** Persist changed entries and the meta row in one statement (one transaction). */
export async function persistReplica(db: Db, nodeId: string, entries: readonly Entry[], meta: PersistedMeta): Promise<void> {
  await db.query({
    name: 'persist_replica',
    text: `WITH saved AS (
             INSERT INTO data_replicas (node_id, key, value, vector_clock, lamport, origin, seq, deleted, rank, updated_at)
             SELECT $1, x.key, x.value, x.version, x.ts, x.origin, x.seq, x.deleted, coalesce(x.rank, 0), now()
             FROM jsonb_to_recordset($2::jsonb) AS x(key text, value jsonb, version jsonb, ts bigint, origin text, seq bigint, deleted boolean, rank int)
             ON CONFLICT (node_id, key) DO UPDATE SET value = EXCLUDED.value, vector_clock = EXCLUDED.vector_clock,
               lamport = EXCLUDED.lamport, origin = EXCLUDED.origin, seq = EXCLUDED.seq, deleted = EXCLUDED.deleted,
               rank = EXCLUDED.rank, updated_at = now()
           )
           INSERT INTO replica_meta (node_id, meta, updated_at) VALUES ($1, $3, now())
           ON CONFLICT (node_id) DO UPDATE SET meta = EXCLUDED.meta, updated_at = now()`,
    values: [nodeId, JSON.stringify(entries), JSON.stringify(meta)],
  });
}

export type ReplicationSettings = { mode: ReplicationMode } & Pick<ReplicationConfig, 'n' | 'r' | 'w' | 'synchronous' | 'fanout' | 'gossipIntervalMs'>;

export async function loadSettings(db: Db, defaults: ReplicationSettings): Promise<ReplicationSettings> {
  await db.query('INSERT INTO replication_settings (id, settings) VALUES (1, $1) ON CONFLICT (id) DO NOTHING', [JSON.stringify(defaults)]);
  const { rows } = await db.query<{ settings: ReplicationSettings }>('SELECT settings FROM replication_settings WHERE id = 1');
  return { ...defaults, ...rows[0]!.settings };
}

export async function saveSettings(db: Db, settings: ReplicationSettings): Promise<void> {
  await db.query('UPDATE replication_settings SET settings = $1, updated_at = now() WHERE id = 1', [JSON.stringify(settings)]);
}

export type OutboxRow = { id: number; key: string; value: Entry['value'] };

/**
 * Take this node's pending facts, and adopt those of nodes that crashed before publishing theirs
 * (older than `orphanAfterMs`), except `skip` (published, being deleted). Own rows are only read:
 * this node's drains run one at a time, so nothing else takes them (a node adopts a row only once
 * it is old, and publishing a fact twice is harmless). Rows stay until `deleteOutbox` after the
 * write is acknowledged.
 */
export async function claimOutbox(db: Db, nodeId: string, orphanAfterMs: number, limit: number, skip: number[] = []): Promise<OutboxRow[]> {
  const { rows } = await db.query<OutboxRow>({
    name: 'claim_outbox',
    text: `WITH adopted AS (
             UPDATE replication_outbox o SET node_id = $1
             FROM (SELECT id FROM replication_outbox
                   WHERE node_id <> $1 AND created_at < now() - make_interval(secs => $2)
                   ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) c
             WHERE o.id = c.id RETURNING o.id, o.key, o.value
           )
           SELECT id, key, value FROM adopted
           UNION ALL
           (SELECT id, key, value FROM replication_outbox WHERE node_id = $1 AND id <> ALL($4::bigint[]) ORDER BY id LIMIT $3)`,
    values: [nodeId, orphanAfterMs / 1000, limit, skip],
  });
  return rows.sort((a, b) => a.id - b.id).slice(0, limit);
}

/** Outbox rows under `prefixes` (of `owner`, by `value.userId`): committed, not yet acknowledged by the replication. */
export async function outboxUnder(db: Db, prefixes: readonly string[], owner?: string): Promise<{ key: string; value: Entry['value'] }[]> {
  const patterns = prefixes.map((p) => `${p.replace(/[\\%_]/g, '\\$&')}%`);
  const { rows } = await db.query<{ key: string; value: Entry['value'] }>({
    name: 'outbox_under',
    text: `SELECT key, value FROM replication_outbox
           WHERE key LIKE ANY($1::text[]) AND ($2::text IS NULL OR value->>'userId' = $2) ORDER BY id`,
    values: [patterns, owner ?? null],
  });
  return rows;
}

export async function deleteOutbox(db: Db, ids: number[]): Promise<void> {
  if (ids.length) await db.query({ name: 'delete_outbox', text: 'DELETE FROM replication_outbox WHERE id = ANY($1::bigint[])', values: [ids] });
}
