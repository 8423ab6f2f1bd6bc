import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { client, createTestDatabase, createUsersDirect, findShowtime, type Reply } from '../../harness/helpers';
import { startCluster, waitFor } from '../../harness/cluster';
import { REPLICATION_MODES } from '../../core/vocabulary';

/**
 * Strong reads judged from outside, the way a client meets a cluster that has just started: a
 * booking through node-3 the moment the cluster takes one, then at once a strong read through
 * node-2 with the booking's session token, and a strong seat-map read through node-1 with no
 * token at all. An answer may be a refusal (503); an answer that is not must contain the booking
 * — with the token always, without it once the booking's publication was acknowledged (its
 * outbox row gone before the read began: what PostgreSQL says, not what the nodes report).
 */
const CLUSTERS_PER_MODE = 2;

type Outcome = { answered: number; refused: number };

describe('strong reads in clusters that have just started', () => {
  for (const mode of REPLICATION_MODES) {
    test(`${mode}: a booking is in every strong read that answers, through the other nodes, at once`, async () => {
      const tally: Record<'withToken' | 'fresh', Outcome> = { withToken: { answered: 0, refused: 0 }, fresh: { answered: 0, refused: 0 } };
      for (let round = 0; round < CLUSTERS_PER_MODE; round++) {
        const database = await createTestDatabase();
        const cluster = await startCluster(3, database.url, { REPLICATION_MODE: mode });
        try {
          const [user] = await createUsersDirect(database.db, 1);
          const { id: showtimeId, seats } = await findShowtime(database.db);
          const seat = seats[round]!;
          let booked: Reply | undefined;
          await waitFor('the cluster to take a first booking', 30_000, async () => {
            const res = await client(cluster.node('node-3').url, user!.token).post('/api/bookings', { showtimeId, seats: [seat] }, { 'idempotency-key': `first-${round}` });
            assert.ok(res.status === 201 || res.status === 503, `booking answered ${res.status} ${JSON.stringify(res.body)}`);
            booked = res;
            return res.status === 201;
          });
          const bookingId = booked!.body.booking.id as string;
          const token = booked!.headers.get('x-session-token')!;
          const published = (await database.db.query('SELECT 1 FROM replication_outbox')).rowCount === 0;

          const [mine, map] = await Promise.all([
            client(cluster.node('node-2').url, user!.token).get('/api/bookings?consistency=strong', { 'x-session-token': token }),
            client(cluster.node('node-1').url).get(`/api/showtimes/${showtimeId}?consistency=strong`),
          ]);
          const hasIt = (res: Reply) => () => res.body.bookings.some((b: { id: string }) => b.id === bookingId);
          const what = `${mode}: strong read of my bookings through node-2 with the session token`;
          judge(tally.withToken, mine, hasIt(mine), what);
          // Refused at once (a cluster this young may still be electing): the same read again
          // until one answers, and that answer is judged the same way.
          if (mine.status === 503) {
            let again: Reply | undefined;
            await waitFor('a strong read that answers', 20_000, async () => {
              const res = await client(cluster.node('node-2').url, user!.token)
                .get('/api/bookings?consistency=strong', { 'x-session-token': token });
              if (res.status === 503) tally.withToken.refused += 1;
              else again = res;
              return again !== undefined;
            }, 100);
            judge(tally.withToken, again!, hasIt(again!), `${what} (again)`);
          }
          if (published) judge(tally.fresh, map, () => map.body.seats.find((s: { id: string }) => s.id === seat).status === 'booked', `${mode}: strong seat map through node-1, no token, after the booking was published`);
        } finally {
          await cluster.stop();
          await database.drop();
        }
      }
      assert.ok(tally.withToken.answered > 0, `${mode}: every strong read was refused (${JSON.stringify(tally)}): nothing was judged`);
    });
  }
});

function judge(tally: Outcome, res: Reply, contains: () => boolean, what: string): void {
  if (res.status === 503) {
    assert.equal(res.body.error.code, 'REPLICA_UNAVAILABLE', `${what}: ${JSON.stringify(res.body)}`);
    tally.refused += 1;
    return;
  }
  assert.equal(res.status, 200, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
  assert.ok(contains(), `${what}: the booking is missing`);
  tally.answered += 1;
}
