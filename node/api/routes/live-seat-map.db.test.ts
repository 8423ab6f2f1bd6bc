import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCluster, waitFor, waitForAgreement, type TestCluster } from '../../../harness/cluster';
import { client, createTestDatabase, findShowtime, signedUpClient, type TestDatabase } from '../../../harness/helpers';

/**
 * The live seat map judged from outside, on real node processes: a change made through node-1
 * must reach a seat-map stream on node-2 with what changed, so that a client shows it at once
 * even while node-2's replica — what `GET /api/showtimes/:id` reads — has not caught up, and a
 * stale read of that replica arriving after the event cannot take it back.
 *
 * The client here does what the page does with the wire alone: it starts from a seat map, applies
 * every event that carries seat states (newer versions only), and refetches the seat map after an
 * event that does not (and once more a second later, as the page did before events carried the
 * change), merging each answer seat by seat (newer versions only).
 */
const DELAY_MS = 5_000;
/** "At once": well before the delayed replication could have delivered the change. */
const AT_ONCE_MS = 2_000;

type SeatView = { status: string; version: number; heldByYou: boolean };
type SeatsEvent = { showtimeId: number; version?: number; status?: string; seats?: string[]; heldByYou?: boolean; resync?: boolean };
type MapSeat = { id: string; status: string; version?: number; heldByYou?: boolean };

/** A server-sent event stream read with fetch; every event is kept. */
async function openStream(url: string, token?: string) {
  const abort = new AbortController();
  const res = await fetch(url, { signal: abort.signal, headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  assert.equal(res.status, 200);
  const events: { event: string; data: SeatsEvent & { listening?: boolean }; raw: string }[] = [];
  const listeners = new Set<() => void>();
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
          if (event && data) {
            events.push({ event, data: JSON.parse(data), raw: data });
            for (const l of listeners) l();
          }
        }
      }
    } catch {
      /* aborted */
    }
  })();
  const seatEvents = () => events.filter((e) => e.event === 'seats' && !e.data.resync).map((e) => e.data);
  return {
    events,
    seatEvents,
    onEvent(listener: () => void) {
      listeners.add(listener);
    },
    async untilSeatEvents(what: string, count: number) {
      await waitFor(what, 10_000, async () => seatEvents().length >= count, 10);
      return seatEvents();
    },
    async listening() {
      await waitFor('hello', 10_000, async () => events.some((e) => e.event === 'hello'), 10);
      const hello = events.find((e) => e.event === 'hello')!;
      if (!hello.data.listening) await waitFor('resync after connecting', 10_000, async () => events.some((e) => e.data.resync === true), 10);
    },
    async close() {
      abort.abort();
      await reading;
    },
  };
}

/** A client's view of one showtime's seats, kept live from a stream and seat-map reads. */
function liveView(baseUrl: string, showtimeId: number, stream: Awaited<ReturnType<typeof openStream>>) {
  const seats = new Map<string, SeatView>();
  const timers = new Set<NodeJS.Timeout>();
  const applySnapshot = (mapSeats: MapSeat[]) => {
    for (const s of mapSeats) {
      const version = s.version ?? -1;
      const known = seats.get(s.id);
      if (!known || version >= known.version) seats.set(s.id, { status: s.status, version, heldByYou: s.heldByYou === true });
    }
  };
  const refetch = async () => {
    const res = await client(baseUrl).get<{ seats: MapSeat[] }>(`/api/showtimes/${showtimeId}`);
    if (res.status === 200) applySnapshot(res.body.seats);
  };
  let applied = 0;
  stream.onEvent(() => {
    const events = stream.events.filter((e) => e.event === 'seats');
    for (; applied < events.length; applied++) {
      const data = events[applied]!.data;
      if (data.seats && data.status && data.version !== undefined) {
        for (const id of data.seats) {
          const known = seats.get(id);
          if (!known || data.version > known.version) seats.set(id, { status: data.status, version: data.version, heldByYou: data.heldByYou === true });
        }
      } else {
        // No seat states in the event: look at the seat map, now and again a second later.
        void refetch().catch(() => {});
        const again = setTimeout(() => void refetch().catch(() => {}), 1_000);
        timers.add(again);
      }
    }
  });
  return {
    seats,
    refetch,
    applySnapshot,
    status: (id: string) => seats.get(id)?.status,
    close: () => timers.forEach(clearTimeout),
  };
}

async function setFaults(cluster: TestCluster, id: string, body: Record<string, unknown>): Promise<void> {
  const res = await client(cluster.node(id).url, await cluster.adminToken()).post('/api/faults', body);
  assert.equal(res.status, 200, `POST /api/faults on ${id}: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Every message between node-2 and its peers, either way, waits `ms` before it is sent. */
async function delayNode2(cluster: TestCluster, ms: number): Promise<void> {
  await setFaults(cluster, 'node-1', { delayToMs: ms ? { 'node-2': ms } : {} });
  await setFaults(cluster, 'node-3', { delayToMs: ms ? { 'node-2': ms } : {} });
  await setFaults(cluster, 'node-2', { delayToMs: ms ? { 'node-1': ms, 'node-3': ms } : {} });
}

describe('the live seat map with replication to the watching node delayed', { timeout: 5 * 60_000 }, () => {
  let database: TestDatabase;
  let cluster: TestCluster;
  let node1: string;
  let node2: string;
  let showtime: { id: number; seats: string[] };

  before(async () => {
    database = await createTestDatabase();
    cluster = await startCluster(3, database.url, { LOG_LEVEL: 'warn' });
    node1 = cluster.node('node-1').url;
    node2 = cluster.node('node-2').url;
    showtime = await findShowtime(database.db, 'Grand Hall');
    await waitForAgreement(cluster, ['node-1', 'node-2', 'node-3'], 20_000);
  });

  after(async () => {
    await cluster?.stop();
    await database?.drop();
  });

  test(`a booking through node-1 shows on node-2's stream at once, ${DELAY_MS} ms before node-2's replica has it, and stays`, async () => {
    const stream = await openStream(`${node2}/api/showtimes/${showtime.id}/events`);
    await stream.listening();
    const view = liveView(node2, showtime.id, stream);
    await view.refetch();
    assert.equal(view.status('F7'), 'available');
    const booker = await signedUpClient(node1, 'booker');

    await delayNode2(cluster, DELAY_MS);
    try {
      const started = Date.now();
      const booked = await booker.api.post('/api/bookings', { showtimeId: showtime.id, seats: ['F7', 'F8'] });
      assert.equal(booked.status, 201, JSON.stringify(booked.body));
      const shownAfter = await waitFor('F7 and F8 shown booked on node-2', AT_ONCE_MS, async () =>
        view.status('F7') === 'booked' && view.status('F8') === 'booked', 5).catch((err: Error) => {
        throw new Error(`${err.message}; the client shows F7 ${view.status('F7')}; events: ${JSON.stringify(stream.seatEvents())}`);
      });
      const event = stream.seatEvents().at(-1)!;
      assert.deepEqual({ ...event, version: typeof event.version }, {
        showtimeId: showtime.id, version: 'number', status: 'booked', seats: ['F7', 'F8'],
      }, 'the event names the seats, their new state and its version (no holder for a booking)');

      // node-2's replica is still behind: its seat map says F7 is available — at an older version,
      // so merging that answer after the event leaves F7 booked.
      const stale = await client(node2).get<{ seats: MapSeat[] }>(`/api/showtimes/${showtime.id}?consistency=eventual`);
      assert.ok(Date.now() - started < DELAY_MS - 500, 'still within the delay');
      const staleF7 = stale.body.seats.find((s) => s.id === 'F7')!;
      assert.equal(staleF7.status, 'available', `node-2's replica is behind (the delay works): shown after ${shownAfter} ms`);
      assert.ok(staleF7.version! < event.version!, `the stale read is older: ${staleF7.version} < ${event.version}`);
      view.applySnapshot(stale.body.seats);
      assert.equal(view.status('F7'), 'booked', 'a stale seat map read after the event does not undo it');

      // Once replication arrives, node-2's own seat map shows it too, at the event's version.
      await waitFor("node-2's replica to have the booking", DELAY_MS + 15_000, async () => {
        const map = await client(node2).get<{ seats: MapSeat[] }>(`/api/showtimes/${showtime.id}?consistency=eventual`);
        const f7 = map.body.seats.find((s) => s.id === 'F7')!;
        return f7.status === 'booked' && f7.version === event.version;
      }, 100);
      await view.refetch();
      assert.equal(view.status('F7'), 'booked');
      assert.equal(view.seats.get('F7')!.version, event.version);
    } finally {
      view.close();
      await stream.close();
      await delayNode2(cluster, 0);
    }
  });

  test('a hold is marked as yours on your own stream only; release and the leader\'s expiry sweep free seats at newer versions', async () => {
    await waitForAgreement(cluster, ['node-1', 'node-2', 'node-3'], 20_000);
    const holder = await signedUpClient(node1, 'holder');
    const mine = await openStream(`${node2}/api/showtimes/${showtime.id}/events`, holder.token);
    const anyone = await openStream(`${node2}/api/showtimes/${showtime.id}/events`);
    await mine.listening();
    await anyone.listening();
    try {
      const hold = await holder.api.post('/api/holds', { showtimeId: showtime.id, seats: ['G1', 'G2'] });
      assert.equal(hold.status, 201, JSON.stringify(hold.body));
      const [held] = await mine.untilSeatEvents('the hold on my stream', 1);
      const [heldForOthers] = await anyone.untilSeatEvents('the hold on a stranger\'s stream', 1);
      assert.deepEqual(held, { showtimeId: showtime.id, version: held!.version, status: 'held', seats: ['G1', 'G2'], heldByYou: true });
      assert.deepEqual(heldForOthers, { showtimeId: showtime.id, version: held!.version, status: 'held', seats: ['G1', 'G2'] });
      for (const e of [...mine.events, ...anyone.events]) assert.ok(!e.raw.includes(holder.userId), 'no stream names the holder');
      // The seat map agrees, at the same version.
      const map = await client(node1, holder.token).get<{ seats: MapSeat[] }>(`/api/showtimes/${showtime.id}`, { 'x-session-token': hold.headers.get('x-session-token')! });
      assert.deepEqual(map.body.seats.find((s) => s.id === 'G1'), { ...map.body.seats.find((s) => s.id === 'G1'), status: 'held', heldByYou: true, version: held!.version });

      assert.equal((await holder.api.delete(`/api/holds/${hold.body.hold.id}`)).status, 200);
      const released = (await mine.untilSeatEvents('the release', 2))[1]!;
      assert.deepEqual(released, { showtimeId: showtime.id, version: released.version, status: 'available', seats: ['G1', 'G2'] });
      assert.ok(released.version! > held!.version!);

      // A hold that lapses is freed by the leader's sweep (every 5 s), announced at a newer version.
      const lapsing = await holder.api.post('/api/holds', { showtimeId: showtime.id, seats: ['G3'] });
      assert.equal(lapsing.status, 201);
      const heldG3 = (await mine.untilSeatEvents('the second hold', 3))[2]!;
      await database.db.query("UPDATE showtime_seats SET held_until = now() - interval '1 second' WHERE hold_id = $1", [lapsing.body.hold.id]);
      await database.db.query("UPDATE seat_holds SET expires_at = now() - interval '1 second' WHERE id = $1", [lapsing.body.hold.id]);
      await waitFor('the expiry announced', 20_000, async () => mine.seatEvents().length >= 4, 50);
      const expired = mine.seatEvents()[3]!;
      assert.deepEqual(expired, { showtimeId: showtime.id, version: expired.version, status: 'available', seats: ['G3'] });
      assert.ok(expired.version! > heldG3.version!);
    } finally {
      await mine.close();
      await anyone.close();
    }
  });
});
