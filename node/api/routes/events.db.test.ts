import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { expireHolds } from '../../../db/booking/reservations';
import { SeatEventHub } from '../../../db/booking/seat-events';
import { inTransaction } from '../../../db/pool';
import { waitFor } from '../../../harness/cluster';
import { client, findShowtime, signedUpClient, startTestApi, type TestApi } from '../../../harness/helpers';

type SseEvent = {
  event: string;
  data: { showtimeId: number; resync?: boolean; nodeId?: string; listening?: boolean; version?: number; status?: string; seats?: string[]; heldByYou?: boolean };
};

/** A server-sent event stream read with fetch: every event is kept; `next` waits for a matching one. */
async function openStream(url: string) {
  const abort = new AbortController();
  const res = await fetch(url, { signal: abort.signal, headers: { accept: 'text/event-stream' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events: SseEvent[] = [];
  let ended = false;
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = res.body!.getReader();
    try {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        buffer += decoder.decode(chunk.value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      /* aborted */
    }
    ended = true;
  })();
  return {
    events,
    get ended() {
      return ended;
    },
    seatEvents: () => events.filter((e) => e.event === 'seats'),
    /** Wait until at least `count` events match. */
    async until(what: string, predicate: (e: SseEvent) => boolean, count = 1): Promise<SseEvent[]> {
      await waitFor(what, 10_000, async () => events.filter(predicate).length >= count, 10);
      return events.filter(predicate);
    },
    async close() {
      abort.abort();
      await reading;
    },
    reading,
  };
}

/** Open a stream and wait until its node's listener is LISTENing (else a change could go unheard). */
async function openListeningStream(api: TestApi, showtimeId: number) {
  const stream = await openStream(`${api.url}/api/showtimes/${showtimeId}/events`);
  const [hello] = await stream.until('hello', (e) => e.event === 'hello');
  assert.equal(hello!.data.showtimeId, showtimeId);
  // Not yet listening: the hub tells every subscriber to resync as soon as it is.
  if (!hello!.data.listening) await stream.until('resync after connecting', (e) => e.event === 'seats' && e.data.resync === true);
  return stream;
}

describe('live seat events across API instances (LISTEN/NOTIFY)', () => {
  let node1: TestApi;
  let node2: TestApi;
  let showtimeA: { id: number; seats: string[] };
  let showtimeB: { id: number; seats: string[] };

  before(async () => {
    node1 = await startTestApi({ nodeId: 'node-1' });
    node2 = await startTestApi({ nodeId: 'node-2' }, node1.database);
    showtimeA = await findShowtime(node1.database.db, 'Grand Hall');
    showtimeB = await findShowtime(node1.database.db, 'Studio 2');
  });

  after(async () => {
    await node2?.close();
    await node1?.close();
  });

  test('a booking committed through node-1 reaches a subscriber connected to node-2', async () => {
    const stream = await openListeningStream(node2, showtimeA.id);
    const hello = stream.events.find((e) => e.event === 'hello')!;
    assert.equal(hello.data.nodeId, 'node-2');
    const before = stream.seatEvents().length;

    const { api } = await signedUpClient(node1.url, 'booker');
    const booked = await api.post('/api/bookings', { showtimeId: showtimeA.id, seats: ['F7', 'F8'] });
    assert.equal(booked.status, 201);
    assert.equal(booked.body.distributedInfo.processedBy, 'node-1');

    const events = await stream.until('the booking event on node-2', (e) => e.event === 'seats' && !e.data.resync, 1);
    assert.equal(events.length, 1);
    // The event carries the change: the seats, their new state and its version.
    const { version } = events[0]!.data;
    assert.ok(Number.isSafeInteger(version) && version! > 0);
    assert.deepEqual(events[0]!.data, { showtimeId: showtimeA.id, version, status: 'booked', seats: ['F7', 'F8'] });
    assert.equal(stream.seatEvents().length, before + 1);
    // node-2's seat map agrees, at the same version.
    const map = await client(node2.url).get(`/api/showtimes/${showtimeA.id}`);
    const seats = map.body.seats.filter((s: { id: string }) => ['F7', 'F8'].includes(s.id)).map((s: { status: string; version: number }) => [s.status, s.version]);
    assert.deepEqual(seats, [['booked', version], ['booked', version]]);
    await stream.close();
  });

  test('holds, releases and cancels are announced to that showtime only; a refused change announces nothing', async () => {
    const streamA = await openListeningStream(node2, showtimeA.id);
    const streamB = await openListeningStream(node2, showtimeB.id);
    const changes = (s: Awaited<ReturnType<typeof openStream>>) => s.seatEvents().filter((e) => !e.data.resync);
    const alice = await signedUpClient(node1.url, 'alice');
    const bob = await signedUpClient(node1.url, 'bob');

    const hold = await alice.api.post('/api/holds', { showtimeId: showtimeA.id, seats: ['G1', 'G2'] });
    assert.equal(hold.status, 201);
    await streamA.until('hold event', (e) => e.event === 'seats' && !e.data.resync, 1);

    // Bob's hold on the same seats is refused (409): its transaction rolls back, so no event.
    const refused = await bob.api.post('/api/holds', { showtimeId: showtimeA.id, seats: ['G2', 'G3'] });
    assert.equal(refused.status, 409);
    assert.equal((await alice.api.delete(`/api/holds/${hold.body.hold.id}`)).status, 200);
    await streamA.until('release event', (e) => e.event === 'seats' && !e.data.resync, 2);

    const booking = await bob.api.post('/api/bookings', { showtimeId: showtimeB.id, seats: ['C3'] });
    assert.equal(booking.status, 201);
    await streamB.until('booking event', (e) => e.event === 'seats' && !e.data.resync, 1);
    assert.equal((await bob.api.post(`/api/bookings/${booking.body.booking.id}/cancel`)).status, 200);
    await streamB.until('cancel event', (e) => e.event === 'seats' && !e.data.resync, 2);

    // One more change on A: had B's events (or the refused hold) leaked into A's stream, they
    // would have been written to it before this one.
    assert.equal((await alice.api.post('/api/holds', { showtimeId: showtimeA.id, seats: ['G5'] })).status, 201);
    await streamA.until('second hold event', (e) => e.event === 'seats' && !e.data.resync, 3);
    assert.deepEqual(changes(streamA).map((e) => [e.data.showtimeId, e.data.status, e.data.seats]), [
      [showtimeA.id, 'held', ['G1', 'G2']], [showtimeA.id, 'available', ['G1', 'G2']], [showtimeA.id, 'held', ['G5']],
    ]);
    assert.deepEqual(changes(streamB).map((e) => [e.data.showtimeId, e.data.status, e.data.seats]), [
      [showtimeB.id, 'booked', ['C3']], [showtimeB.id, 'available', ['C3']],
    ]);
    // Each change of a seat has a higher version than the one before it.
    const [held, released] = changes(streamA);
    assert.ok(released!.data.version! > held!.data.version!);
    const [sold, cancelled] = changes(streamB);
    assert.ok(cancelled!.data.version! > sold!.data.version!);
    await streamA.close();
    await streamB.close();
  });

  test('hold expiry (the leader sweep) is announced', async () => {
    const stream = await openListeningStream(node2, showtimeA.id);
    const user = await signedUpClient(node1.url, 'expiring');
    const hold = await user.api.post('/api/holds', { showtimeId: showtimeA.id, seats: ['K4'] });
    assert.equal(hold.status, 201);
    await stream.until('hold event', (e) => e.event === 'seats' && !e.data.resync, 1);
    await node1.database.db.query("UPDATE showtime_seats SET held_until = now() - interval '1 second' WHERE hold_id = $1", [hold.body.hold.id]);
    await inTransaction(node1.database.db, (c) => expireHolds(c, 'node-1'));
    const [held, expired] = await stream.until('expiry event', (e) => e.event === 'seats' && !e.data.resync, 2);
    assert.deepEqual(expired!.data, { showtimeId: showtimeA.id, version: expired!.data.version, status: 'available', seats: ['K4'] });
    assert.ok(expired!.data.version! > held!.data.version!);
    await stream.close();
  });

  test('a change too big for one notification (8000 bytes) is announced as a resync', async () => {
    // A sweep that frees more seats of one showtime than a payload can list: a screen of 2,000
    // seats, every one of them held and lapsed.
    const db = node1.database.db;
    const layout = { categories: [{ code: 'standard', name: 'Standard', priceCents: 900, color: '#336699' }], rows: Array.from({ length: 40 }, (_, i) => ({ label: `${String.fromCharCode(65 + Math.floor(i / 26))}${String.fromCharCode(65 + (i % 26))}`, seats: 50, category: 'standard' })) };
    const screen = await db.query<{ id: number }>('INSERT INTO screens (name, layout, seat_count) VALUES ($1, $2, 2000) RETURNING id', ['Arena', JSON.stringify(layout)]);
    const movie = await db.query<{ id: number }>('SELECT id FROM movies ORDER BY id LIMIT 1');
    const showtime = await db.query<{ id: number }>(
      "INSERT INTO showtimes (movie_id, screen_id, starts_at) VALUES ($1, $2, now() + interval '30 days') RETURNING id", [movie.rows[0]!.id, screen.rows[0]!.id],
    );
    const id = showtime.rows[0]!.id;
    const seats = layout.rows.flatMap((r) => Array.from({ length: r.seats }, (_, n) => ({ id: `${r.label}${n + 1}`, row: r.label, n: n + 1 })));
    await db.query(
      `INSERT INTO showtime_seats (showtime_id, seat_id, row_label, seat_number, category, price_cents, held_by, hold_id, held_until)
       SELECT $1, s.id, s.row, s.n, 'standard', 900, (SELECT id FROM users LIMIT 1), gen_random_uuid(), now() - interval '1 second'
       FROM jsonb_to_recordset($2::jsonb) AS s(id text, row text, n int)`, [id, JSON.stringify(seats)],
    );
    const stream = await openListeningStream(node2, id);
    const isResync = (e: SseEvent) => e.event === 'seats' && e.data.resync === true;
    const resyncsBefore = stream.events.filter(isResync).length;
    await inTransaction(db, (c) => expireHolds(c, 'node-1'));
    const resyncs = await stream.until('the resync', isResync, resyncsBefore + 1);
    assert.deepEqual(resyncs.at(-1)!.data, { showtimeId: id, resync: true });
    assert.equal(stream.seatEvents().filter((e) => !e.data.resync).length, 0, 'no change event for it');
    const free = await db.query("SELECT count(*)::int AS n FROM showtime_seats WHERE showtime_id = $1 AND hold_id IS NULL AND version > 0", [id]);
    assert.equal(free.rows[0].n, seats.length, 'the seats were freed, at a version');
    await stream.close();
  });

  test('the listener comes back after its connection is killed and tells subscribers to resync', async () => {
    const stream = await openListeningStream(node2, showtimeA.id);
    const resyncsBefore = stream.seatEvents().filter((e) => e.data.resync).length;
    // Kill every LISTEN connection on this database (node-1's and node-2's listeners).
    const killed = await node1.database.db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND query = 'LISTEN seat_changes' AND pid <> pg_backend_pid()`,
    );
    assert.equal(killed.rowCount, 2);
    await stream.until('resync after reconnecting', (e) => e.event === 'seats' && e.data.resync === true, resyncsBefore + 1);

    const { api } = await signedUpClient(node1.url, 'after-reconnect');
    assert.equal((await api.post('/api/bookings', { showtimeId: showtimeA.id, seats: ['L9'] })).status, 201);
    await stream.until('a booking event after the reconnect', (e) => e.event === 'seats' && !e.data.resync, 1);
    await stream.close();
  });

  test('an unknown showtime is a 404, not a stream; a closed stream is no longer counted as load', async () => {
    const missing = await client(node2.url).get('/api/showtimes/999999/events');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'SHOWTIME_NOT_FOUND');
    const stream = await openListeningStream(node2, showtimeA.id);
    await stream.close();
    await waitFor('in-flight count back to 0', 5_000, async () => node2.ctx.stats.inFlight === 0);
  });

  test('HEAD of a stream is answered at once (405, Allow: GET), not left hanging', async () => {
    // Node sends nothing for a HEAD until the response ends, and a stream never ends: before, a
    // HEAD waited forever (through the gateway, until a timeout counted against a healthy node).
    const res = await fetch(`${node2.url}/api/showtimes/${showtimeA.id}/events`, { method: 'HEAD', signal: AbortSignal.timeout(5_000) });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET');
    await waitFor('in-flight count back to 0', 5_000, async () => node2.ctx.stats.inFlight === 0);
  });

  test('closing an API server ends its open streams instead of waiting for them', async () => {
    const node3 = await startTestApi({ nodeId: 'node-3' }, node1.database);
    const stream = await openListeningStream(node3, showtimeA.id);
    await node3.close();
    await stream.reading;
    assert.equal(stream.ended, true);
  });
});

describe('SeatEventHub subscriber bound', () => {
  test('refuses subscribers beyond the per-process limit, and has room again after one leaves', () => {
    const hub = new SeatEventHub('postgres://unused', pino({ level: 'silent' }), { maxSubscribers: 2, reconnectMinMs: 10, reconnectMaxMs: 10 });
    const first = hub.subscribe(1, () => {});
    const second = hub.subscribe(2, () => {});
    assert.ok(first && second);
    assert.equal(hub.subscribe(1, () => {}), undefined);
    first();
    first(); // unsubscribing twice frees one place only
    assert.equal(hub.size, 1);
    assert.ok(hub.subscribe(3, () => {}));
    assert.equal(hub.subscribe(3, () => {}), undefined);
  });
});
