import pg from 'pg';

export type Db = pg.Pool;

// bigint (int8) columns hold ids and Lamport clocks well below 2^53: read them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export function createPool(connectionString: string, max: number): Db {
  const pool = new pg.Pool({ connectionString, max, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 });
  // A client losing its connection (the server restarting) must not crash the process: the pool
  // hears an idle client's errors, a checked-out client's go unheard — its next query fails instead.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** Run `work` in a transaction on one client; roll back on any error. */
export async function inTransaction<T>(db: Db, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** SQLSTATEs worth retrying the whole transaction for. */
const RETRYABLE = new Set(['40001', '40P01']);
const TRANSACTION_ATTEMPTS = 4;

export async function inRetryingTransaction<T>(db: Db, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await inTransaction(db, work);
    } catch (err) {
      if (attempt >= TRANSACTION_ATTEMPTS || !RETRYABLE.has(sqlState(err))) throw err;
    }
  }
}

/** Retry one statement that lost a deadlock or serialization race (it rolled back entirely). */
export async function withDeadlockRetry<T>(statement: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await statement();
    } catch (err) {
      if (attempt >= TRANSACTION_ATTEMPTS || !RETRYABLE.has(sqlState(err))) throw err;
    }
  }
}

export function sqlState(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
}
