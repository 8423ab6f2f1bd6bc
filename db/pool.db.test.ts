import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createTestDatabase } from '../harness/helpers';
import { createPool, inTransaction } from './pool';

/**
 * A pool's client that loses its connection while checked out (the server restarts, an
 * administrator ends the backend) fails its transaction; it never takes the process down. pg-pool
 * listens for a client's errors only while the client is idle: an unheard 'error' event crashed a
 * node whose database went away in the middle of a transaction.
 */

const database = await createTestDatabase();
after(() => database.drop());

test('a checked-out client whose connection the server ends fails its transaction; the process and the pool go on', async () => {
  const db = createPool(database.url, 2);
  try {
    const outcome = inTransaction(db, async (client) => {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const ended = new Promise((resolve) => client.once('end', resolve));
      await database.db.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await ended; // the server's FATAL error arrived between two queries, then the connection closed
      return client.query('SELECT 1');
    });
    await assert.rejects(outcome, 'the transaction fails');
    const { rows } = await db.query<{ one: number }>('SELECT 1 AS one');
    assert.equal(rows[0]!.one, 1, 'the pool connects again');
  } finally {
    await db.end();
  }
});
