import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decode, encode, type Envelope } from '../../transport/envelope';
import { client, createTestDatabase, type TestDatabase } from '../../harness/helpers';
import { spawnLoneNode, startCluster, waitFor, waitForAgreement, type TestCluster } from '../../harness/cluster';

/** Generous bounds on a loaded 2-core machine: a refusal must not wait for the upload. */
const REFUSAL_BOUND_MS = 2_000;
const HEALTH_BOUND_MS = 2_000;
const MiB = 1_048_576;

type Answer = { status: number; code: string | undefined; body: unknown; signature: string | null };

/** A raw upload of `size` bytes over a socket: when did the status line come, and how much was sent by then. */
function rawUpload(port: number, headers: string[], size: number, chunked = false): Promise<{ status: number; ms: number; sentBytes: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    let head = '';
    let status = 0;
    let ms = 0;
    let sentAtAnswer = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within 15 s (${sent} bytes sent)`));
    }, 15_000);
    const pump = () => {
      while (sent < size && status === 0 && !socket.destroyed) {
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        const data = n === chunk.length ? chunk : chunk.subarray(0, n);
        const framed = chunked ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), data, Buffer.from('\r\n')]) : data;
        if (!socket.write(framed)) return void socket.once('drain', pump);
      }
    };
    socket.on('connect', () => {
      socket.write([`POST /api/peer HTTP/1.1`, 'Host: 127.0.0.1', ...headers, '', ''].join('\r\n'));
      pump();
    });
    socket.on('data', (data) => {
      head += data.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (match && status === 0) {
        status = Number(match[1]);
        ms = Date.now() - started;
        sentAtAnswer = sent;
        socket.end();
      }
    });
    socket.on('error', () => {}); // the node closing mid-upload resets it: expected
    socket.on('close', () => {
      clearTimeout(timer);
      if (status === 0) reject(new Error(`closed without an answer after ${sent} bytes`));
      else resolve({ status, ms, sentBytes: sentAtAnswer });
    });
  });
}

/** Poll GET /api/health until `done` settles; the slowest answer's latency. */
async function healthLatencyDuring(url: string, done: Promise<unknown>): Promise<{ maxMs: number; answers: number }> {
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => {});
  let maxMs = 0;
  let answers = 0;
  while (!finished) {
    const started = Date.now();
    const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    maxMs = Math.max(maxMs, Date.now() - started);
    answers += 1;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { maxMs, answers };
}

describe('peer messages on real nodes: authenticated before parsed, fresh, once, well-formed', () => {
  let database: TestDatabase;
  let cluster: TestCluster;
  let secret: string;
  const all = ['node-1', 'node-2', 'node-3'];
  const probeBoot = `${Date.now()}-${'ab'.repeat(4)}`;
  let seq = 0;

  before(async () => {
    database = await createTestDatabase();
    cluster = await startCluster(3, database.url);
    secret = fs.readFileSync(path.join(cluster.dataDir, 'cluster-secret'), 'utf8').trim();
    await waitForAgreement(cluster, all, 20_000);
  });
  after(async () => {
    await cluster?.stop();
    await database?.drop();
  });

  /** A message from a sender of its own ('probe-1'), so the real nodes' replay windows stay untouched. */
  function envelope(type: string, body: unknown, over: Partial<Envelope> = {}): Envelope {
    seq += 1;
    return { from: 'probe-1', to: 'node-1', type, epoch: 0, lamport: 1, vector: {}, sentAt: Date.now(), boot: probeBoot, seq, body, ...over };
  }

  async function post(bytes: Buffer | string, headers: Record<string, string>, node = 'node-1'): Promise<Answer> {
    const res = await fetch(`${cluster.node(node).url}/api/peer`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof bytes === 'string' ? bytes : new Uint8Array(bytes) });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: res.status, code: (body as { error?: { code?: string } }).error?.code, body, signature: res.headers.get('x-peer-signature') };
  }

  function send(env: Envelope, key = secret): Promise<Answer> {
    const { bytes, signature } = encode(key, env);
    return post(bytes, { 'x-peer-signature': signature, 'x-peer-from': env.from }, env.to);
  }

  async function refused(): Promise<Record<string, number>> {
    return (await client(cluster.node('node-1').url).get('/api/health')).body.refusedPeerMessages;
  }

  test('a 60 MB and a 3 MB post are refused with 413 at once, while the node keeps answering its health', async () => {
    const port = cluster.node('node-1').port;
    const headers = (size: number) => ['Content-Type: application/json', `Content-Length: ${size}`, 'X-Peer-From: node-2', `X-Peer-Signature: ${'0'.repeat(64)}`];
    // Four 60 MB posts at once (the attack), then a 3 MB one.
    for (const [size, parallel] of [[60_000_000, 4], [3_000_000, 1]] as const) {
      const uploads = Promise.all(Array.from({ length: parallel }, () => rawUpload(port, headers(size), size)));
      const health = await healthLatencyDuring(cluster.node('node-1').url, uploads);
      for (const { status, ms, sentBytes } of await uploads) {
        console.log(`# ${parallel}× ${size} bytes: ${status} after ${ms} ms, ${sentBytes} bytes sent by then; health answered ${health.answers}× meanwhile, slowest ${health.maxMs} ms`);
        assert.equal(status, 413);
        assert.ok(ms < REFUSAL_BOUND_MS, `refused after ${ms} ms`);
        if (size > 10 * MiB) assert.ok(sentBytes < size, 'refused before the upload finished'); // (3 MB fit in the sockets' buffers)
      }
      assert.ok(health.maxMs < HEALTH_BOUND_MS, `health took ${health.maxMs} ms`);
    }
    // Without a Content-Length (chunked), the read stops at the limit.
    const chunked = await rawUpload(port, ['Content-Type: application/json', 'Transfer-Encoding: chunked', 'X-Peer-From: node-2', `X-Peer-Signature: ${'0'.repeat(64)}`], 60_000_000, true);
    console.log(`# a chunked upload of 60 MB: ${chunked.status} after ${chunked.ms} ms, ${chunked.sentBytes} bytes sent by then`);
    assert.equal(chunked.status, 413);
    assert.ok(chunked.sentBytes < 60_000_000);
    assert.ok((await refused())['too-large']! >= 2);
  });

  test('unsigned or badly signed bodies are refused before they are parsed (401, not INVALID_JSON)', async () => {
    const before = await refused();
    const garbage = '{"this is": not json';
    const unsigned = await post(garbage, {});
    assert.equal(unsigned.status, 401);
    assert.equal(unsigned.code, 'PEER_MESSAGE_REFUSED');
    const badlySigned = await post(garbage, { 'x-peer-signature': 'f'.repeat(64), 'x-peer-from': 'node-2' });
    assert.equal(badlySigned.status, 401);
    assert.equal(badlySigned.code, 'PEER_MESSAGE_REFUSED');
    // A well-formed envelope signed with another key: refused the same way, and it changed nothing.
    const forged = await send(envelope('election', { type: 'coordinator', epoch: 99, leader: 'probe-1' }), 'not-the-cluster-secret');
    assert.equal(forged.status, 401);
    const after = await refused();
    assert.equal(after.unsigned! - before.unsigned!, 1);
    assert.equal(after['bad-signature']! - before['bad-signature']!, 2);
    const view = (await client(cluster.node('node-1').url).get('/api/election')).body;
    assert.notEqual(view.leader, 'probe-1');
  });

  test('a genuine message is answered once, signed; a replay, a stale or a future send time are refused', async () => {
    const genuine = envelope('election.stats', {});
    const { bytes, signature } = encode(secret, genuine);
    const first = await post(bytes, { 'x-peer-signature': signature, 'x-peer-from': 'probe-1' });
    assert.equal(first.status, 200);
    // The reply is signed over its raw bytes, addressed back to us.
    const reply = decode(secret, Buffer.from(JSON.stringify(first.body)), first.signature ?? undefined);
    assert.ok(reply.ok && reply.envelope.to === 'probe-1' && reply.envelope.from === 'node-1', JSON.stringify(first));
    const again = await post(bytes, { 'x-peer-signature': signature, 'x-peer-from': 'probe-1' });
    assert.equal(again.status, 409);
    assert.equal(again.code, 'PEER_MESSAGE_REPLAYED');
    const stale = await send(envelope('election.stats', {}, { sentAt: Date.now() - 60_000 }));
    assert.equal(stale.status, 409);
    assert.match(JSON.stringify(stale.body), /stale/);
    const future = await send(envelope('election.stats', {}, { sentAt: Date.now() + 60_000 }));
    assert.equal(future.status, 409);
    const counts = await refused();
    assert.ok(counts.replayed! >= 1 && counts.stale! >= 1 && counts['from-the-future']! >= 1, JSON.stringify(counts));
  });

  test('every message type with a body of the wrong shape is refused with 400, and the node stays healthy', async () => {
    const types = ['heartbeat', 'election', 'clock.poll', 'clock.adjust', 'clock.history', 'election.algorithm', 'election.trigger',
      'election.stats', 'repl', 'repl.batch', 'repl.part', 'repl.stats', 'repl.settings'];
    const wrong: unknown[] = [42, 'x', null, [], { type: 'nope' }, { algorithm: 'paxos', deltaMs: 'soon', prefixes: 'all', mode: 'raft' }];
    const before = (await refused()).malformed!;
    for (const type of types) {
      for (const body of wrong) {
        // (An empty object is a valid body for the types that take none: those get the others.)
        const answer = await send(envelope(type, body));
        assert.equal(answer.status, 400, `${type} ${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`);
        assert.equal(answer.code, 'PEER_MESSAGE_INVALID', `${type} ${JSON.stringify(body)}`);
      }
    }
    // Signed, but the header names another sender than the envelope.
    const { bytes, signature } = encode(secret, envelope('election.stats', {}));
    const mislabelled = await post(bytes, { 'x-peer-signature': signature, 'x-peer-from': 'node-3' });
    assert.equal(mislabelled.status, 400);
    assert.equal(mislabelled.code, 'PEER_MESSAGE_INVALID');
    const unknown = await send(envelope('no.such.type', {}));
    assert.equal(unknown.status, 400);
    assert.equal(unknown.code, 'UNKNOWN_PEER_MESSAGE');
    assert.equal((await refused()).malformed! - before, types.length * wrong.length + 1);
    const health = await client(cluster.node('node-1').url).get('/api/health');
    assert.equal(health.status, 200);
    const { leader } = await waitForAgreement(cluster, all, 10_000);
    // Replies are parsed too: a follower shows the leader's Berkeley rounds (a clock.history reply).
    const follower = all.find((id) => id !== leader)!;
    await waitFor('a follower to show the leader\'s sync rounds', 15_000, async () => {
      const rounds = (await client(cluster.node(follower).url).get('/api/sync')).body.rounds as { master: string }[];
      return rounds.length > 0 && rounds[0]!.master === leader;
    }, 100);
  });

  test('a message captured before a node restarts is refused after it', async () => {
    const captured = encode(secret, envelope('election.stats', {}));
    await cluster.kill('node-1');
    await cluster.start('node-1');
    await waitFor('node-1 to run its cluster runtime', 20_000, async () => (await fetch(`${cluster.node('node-1').url}/api/election`)).status === 200);
    const replay = await post(captured.bytes, { 'x-peer-signature': captured.signature, 'x-peer-from': 'probe-1' });
    assert.equal(replay.status, 409, JSON.stringify(replay.body));
    assert.match(JSON.stringify(replay.body), /before-start/);
    // Not a node refusing everything: a message sent now is accepted.
    assert.equal((await send(envelope('election.stats', {}))).status, 200);
    await waitForAgreement(cluster, all, 20_000);
  });

  test('a catch-up of thousands of entries after a partition converges through split messages, and so do the replies of a large strong range read', async () => {
    const entries = 4_000;
    const padding = 'p'.repeat(600);
    const isolated = client(cluster.node('node-2').url, await cluster.adminToken());
    assert.equal((await isolated.post('/api/faults', { partitionedFrom: ['*'] })).status, 200);
    type Stats = { converged: boolean; nodes: { nodeId: string; digest: string; byKind: Record<string, number>; messagesSplit: number; messagesReassembled: number }[] };
    const stats = async (node: string) => (await client(cluster.node(node).url).get<Stats>('/api/replicas')).body;
    try {
      await waitForAgreement(cluster, ['node-1', 'node-3'], 10_000);
      await database.db.query(
        `INSERT INTO replication_outbox (key, value, node_id)
         SELECT 'bulk:' || lpad(i::text, 5, '0'), jsonb_build_object('i', i, 'padding', $1::text), 'node-1' FROM generate_series(1, $2) i`,
        [padding, entries],
      );
      await waitFor('node-1 and node-3 to hold the bulk entries', 60_000, async () => {
        const s = await stats('node-1');
        return ['node-1', 'node-3'].every((id) => s.nodes.find((n) => n.nodeId === id)?.byKind.bulk === entries);
      }, 200);
    } finally {
      assert.equal((await isolated.post('/api/faults', { partitionedFrom: [] })).status, 200);
    }
    const ms = await waitFor('node-2 to catch up', 60_000, async () => {
      const s = await stats('node-2');
      return s.converged && s.nodes.length === 3 && s.nodes.every((n) => n.byKind.bulk === entries);
    }, 200);
    const s = await stats('node-2');
    const split = s.nodes.reduce((sum, n) => sum + n.messagesSplit, 0);
    const reassembled = s.nodes.find((n) => n.nodeId === 'node-2')!.messagesReassembled;
    console.log(`# ${entries} entries (~${Math.round((entries * 700) / MiB)} MiB) caught up in ${ms} ms: ${split} messages split, node-2 reassembled ${reassembled}`);
    assert.ok(split >= 1 && reassembled >= 1, JSON.stringify(s.nodes));

    // A strong range read whose replies are larger than one peer message: the replies travel in parts.
    const showtime = (await database.db.query<{ id: number }>('SELECT id FROM showtimes ORDER BY id LIMIT 1')).rows[0]!.id;
    await database.db.query(
      `INSERT INTO replication_outbox (key, value, node_id)
       SELECT 'hold:' || $3::int || ':bulk' || lpad(i::text, 5, '0'),
              jsonb_build_object('id', 'bulk' || i, 'userId', 'nobody', 'showtimeId', $3::int, 'seats', '[]'::jsonb,
                                 'expiresAt', '2000-01-01T00:00:00Z', 'status', 'released', 'padding', $1::text), 'node-1'
       FROM generate_series(1, $2) i`,
      [padding, entries, showtime],
    );
    await waitFor('every replica to hold the released holds', 60_000, async () => {
      const now = await stats('node-1');
      return now.nodes.length === 3 && now.nodes.every((n) => (n.byKind.hold ?? 0) >= entries);
    }, 200);
    const splitBefore = (await stats('node-2')).nodes.reduce((sum, n) => sum + n.messagesSplit, 0);
    const map = await client(cluster.node('node-2').url).get(`/api/showtimes/${showtime}?consistency=strong`);
    assert.equal(map.status, 200, JSON.stringify(map.body).slice(0, 300));
    const splitAfter = (await stats('node-2')).nodes.reduce((sum, n) => sum + n.messagesSplit, 0);
    assert.ok(splitAfter > splitBefore, `no reply was split (${splitBefore} → ${splitAfter})`);
  });
});

/** The local address of the socket listening on `port`, from /proc/net/tcp (hex, e.g. 0100007F = 127.0.0.1). */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) => fs.readFileSync(file, 'utf8').split('\n').slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '0A') // 0A: LISTEN
    .map((cols) => cols[1]!.split(':')[0]!));
}

describe('a node started without HOST', () => {
  test('listens on 127.0.0.1 only', async () => {
    const database = await createTestDatabase();
    const node = await spawnLoneNode(database.url, { HOST: undefined });
    try {
      const health = `http://127.0.0.1:${node.port}/api/health`;
      await waitFor('the node to answer', 60_000, async () => (await fetch(health).catch(() => undefined))?.status === 200);
      assert.deepEqual(listeningAddresses(node.port), ['0100007F']);
      // Bounded: a node that ignored SIGTERM once kept this test (and CI) waiting.
      const exit = await node.terminate(20_000);
      assert.notEqual(exit, 'running', 'the node exits within 20 s of SIGTERM');
    } finally {
      await node.cleanup();
      await database.drop();
    }
  });
});
