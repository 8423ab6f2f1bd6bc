import type pg from 'pg';
import { inTransaction, type Db } from './pool';
import type { ElectionAlgorithm } from '../core/vocabulary';

/** The fencing register in PostgreSQL (table cluster_leadership). */
export type ClaimResult = { ok: boolean; epoch: number; leader: string; currentEpoch: number; currentLeader: string | null };

/** Compare-and-set: `leader` holds `epoch` iff `epoch` is above the current one. */
export async function claimEpoch(db: Db, epoch: number, leader: string, algorithm: string): Promise<ClaimResult> {
  return inTransaction(db, async (client) => {
    const moved = await client.query(
      'UPDATE cluster_leadership SET epoch = $1, leader_id = $2, claimed_at = now() WHERE id = 1 AND epoch < $1', [epoch, leader],
    );
    if (moved.rowCount) {
      await client.query('INSERT INTO elections (epoch, leader_id, algorithm) VALUES ($1, $2, $3)', [epoch, leader, algorithm]);
      return { ok: true, epoch, leader, currentEpoch: epoch, currentLeader: leader };
    }
    const current = await client.query<{ epoch: number; leader_id: string | null }>('SELECT epoch, leader_id FROM cluster_leadership WHERE id = 1');
    const row = current.rows[0]!;
    return { ok: false, epoch, leader, currentEpoch: row.epoch, currentLeader: row.leader_id };
  });
}

export async function currentLeadership(db: Db): Promise<{ epoch: number; leader: string | null; algorithm: ElectionAlgorithm | null }> {
  const { rows } = await db.query<{ epoch: number; leader_id: string | null; algorithm: ElectionAlgorithm | null }>(
    'SELECT epoch, leader_id, algorithm FROM cluster_leadership WHERE id = 1',
  );
  return { epoch: rows[0]?.epoch ?? 0, leader: rows[0]?.leader_id ?? null, algorithm: rows[0]?.algorithm ?? null };
}

/** Remember the cluster's election algorithm (chosen at runtime) for nodes that restart. */
export async function saveElectionAlgorithm(db: Db, algorithm: ElectionAlgorithm): Promise<void> {
  await db.query('UPDATE cluster_leadership SET algorithm = $1 WHERE id = 1', [algorithm]);
}

export class FencedOut extends Error {
  constructor(readonly epoch: number, readonly currentEpoch: number) {
    super(`leader-only write of epoch ${epoch} refused: the current epoch is ${currentEpoch}`);
  }
}

/**
 * Run a leader-only write as leader of `epoch`. The row lock makes a concurrent claim of a newer
 * epoch wait for this transaction, and a write of a deposed leader is refused.
 */
export async function fencedWrite<T>(db: Db, epoch: number, leader: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(db, async (client) => {
    const { rows } = await client.query<{ epoch: number; leader_id: string | null }>(
      'SELECT epoch, leader_id FROM cluster_leadership WHERE id = 1 FOR SHARE',
    );
    const current = rows[0]!;
    if (current.epoch !== epoch || current.leader_id !== leader) throw new FencedOut(epoch, current.epoch);
    return work(client);
  });
}
