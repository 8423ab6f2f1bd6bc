/**
 * Prometheus metrics as a scraper sees them: the text of every node's `GET /metrics` and the
 * gateway's, parsed, before and after real work through the gateway — the numbers must move with
 * the work (bookings, holds, conflicts, requests per route template, the gateway's per-node
 * counts) and say what the cluster says of itself (its leader).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { client, findShowtime, signedUpClient } from '../../harness/helpers';
import { systemForTests } from '../../harness/system';

const system = systemForTests(3);

type Sample = { name: string; labels: Record<string, string>; value: number };

/** The Prometheus text format: `name{label="value",…} number` per line, comments skipped. */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of match[2]?.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g) ?? [])
      labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of every sample of `name` whose labels include `where`. */
function total(samples: Sample[], name: string, where: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

const NODES = ['node-1', 'node-2', 'node-3'];

async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseMetrics(await res.text());
}

const scrapeNodes = async () =>
  (await Promise.all(NODES.map((id) => scrape(system.cluster.node(id).url)))).flat();

test('the numbers move with the work: bookings, holds, conflicts, requests by route', async () => {
  const { id: showtimeId, seats } = await findShowtime(system.database.db);
  const { api } = await signedUpClient(system.gateway.url, 'metrics');
  const nodesBefore = await scrapeNodes();

  const BOOKINGS = 4;
  const ids: string[] = [];
  for (let i = 0; i < BOOKINGS; i++) {
    const hold = await api.post('/api/holds', { showtimeId, seats: [seats[i]] });
    assert.equal(hold.status, 201, JSON.stringify(hold.body));
    const booked = await api.post('/api/bookings', { holdId: hold.body.hold.id });
    assert.equal(booked.status, 201, JSON.stringify(booked.body));
    ids.push(booked.body.booking.id);
  }
  const taken = await api.post('/api/bookings', { showtimeId, seats: [seats[0]] });
  assert.equal(taken.status, 409);
  const open = await api.post('/api/holds', { showtimeId, seats: [seats[BOOKINGS]] });
  assert.equal(open.status, 201);
  assert.equal((await api.get(`/api/bookings/${ids[0]}`)).status, 200);

  const nodesAfter = await scrapeNodes();
  const grew = (name: string, where: Record<string, string> = {}) =>
    total(nodesAfter, name, where) - total(nodesBefore, name, where);
  assert.equal(grew('moviebook_bookings_total', { outcome: 'created' }), BOOKINGS);
  assert.equal(grew('moviebook_holds_total'), BOOKINGS + 1);
  assert.equal(grew('moviebook_seat_conflicts_total', { operation: 'booking' }), 1);
  assert.equal(
    grew('http_request_duration_seconds_count', {
      method: 'POST',
      route: '/api/bookings',
      status_code: '201',
    }),
    BOOKINGS,
  );
  assert.equal(
    grew('http_request_duration_seconds_count', {
      method: 'POST',
      route: '/api/bookings',
      status_code: '409',
    }),
    1,
  );
  assert.equal(
    grew('http_request_duration_seconds_count', {
      method: 'GET',
      route: '/api/bookings/:id',
      status_code: '200',
    }),
    1,
  );
  assert.ok(grew('moviebook_lamport_clock') > 0, 'the clocks ticked');
  // Per node, one value: the open hold is counted by every node, from PostgreSQL.
  for (const id of NODES)
    assert.ok(
      total(nodesAfter, 'moviebook_holds_active', { node: id }) >= 1,
      `${id}: the open hold`,
    );
  // Route templates keep the labels few: no id ever becomes a label.
  const routes = new Set(
    nodesAfter
      .filter((s) => s.name === 'http_request_duration_seconds_count')
      .map((s) => s.labels.route),
  );
  assert.ok(![...routes].some((r) => r && /\d{2}|[0-9a-f]{8}-/.test(r)), [...routes].join(' '));
});

test('the gateway counts what it forwarded to each node', async () => {
  const { id: showtimeId } = await findShowtime(system.database.db);
  const gatewayBefore = await scrape(system.gateway.url);
  const READS = 9;
  for (let i = 0; i < READS; i++)
    assert.equal(
      (await client(system.gateway.url).get(`/api/showtimes/${showtimeId}`)).status,
      200,
    );
  const gatewayAfter = await scrape(system.gateway.url);
  const forwarded =
    total(gatewayAfter, 'moviebook_gateway_upstream_requests_total') -
    total(gatewayBefore, 'moviebook_gateway_upstream_requests_total');
  assert.ok(forwarded >= READS, `the gateway forwarded the reads (${forwarded})`);
  assert.equal(
    gatewayAfter.filter((s) => s.name === 'moviebook_gateway_node_eligible' && s.value === 1)
      .length,
    3,
  );
  assert.ok(total(gatewayAfter, 'process_cpu_seconds_total') > 0, 'the default process metrics');
});

test('the election, replication and the pool as the cluster reports them', async () => {
  const { leader, epoch } = (
    await client(system.cluster.node('node-1').url).get<{ leader: string; epoch: number }>(
      '/api/election',
    )
  ).body;
  const samples = await scrape(system.cluster.node('node-1').url);
  assert.deepEqual(
    samples.filter((s) => s.name === 'moviebook_election_leader').map((s) => s.labels.leader),
    [leader],
  );
  assert.equal(total(samples, 'moviebook_election_epoch'), epoch);
  assert.equal(total(samples, 'moviebook_is_leader'), leader === 'node-1' ? 1 : 0);
  assert.ok(total(samples, 'moviebook_leader_changes_total') >= 1);
  const lagged = samples
    .filter((s) => s.name === 'moviebook_replication_lag_entries')
    .map((s) => s.labels.replica)
    .sort();
  assert.deepEqual(lagged, NODES, 'a lag per replica');
  assert.ok(total(samples, 'moviebook_replica_entries') > 0);
  assert.ok(
    total(samples, 'moviebook_replication_sync_rounds_total') > 0,
    'anti-entropy rounds ran',
  );
  assert.ok(
    total(samples, 'moviebook_db_pool_connections', { state: 'idle' }) +
      total(samples, 'moviebook_db_pool_connections', { state: 'in_use' }) >
      0,
  );
});
