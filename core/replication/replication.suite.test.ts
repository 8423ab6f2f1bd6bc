/**
 * One replication suite, run unchanged against master-slave, multi-master and gossip. Scenarios
 * run in the deterministic simulator on a perfect network (1 ms, no loss) with scripted faults;
 * the random-fault runs are in sim/replication/replication.sim.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { VectorClock } from '../vector-clock';
import { createReplication } from './index';
import type { ReplicationConfig, ReplicationEvent } from './replication';
import {
  PERFECT_NETWORK,
  ReplicationCluster,
  type ReadOutcome,
  type WriteOutcome,
} from '../../sim/replication/cluster';
import { checkConvergence, checkDurability } from '../../sim/replication/checkers';
import { contentOf, isSortedMap, lwwWins, type Entry } from './store';
import { REPLICATION_MODES, type Consistency, type ReplicationMode } from '../vocabulary';

const IDS = ['node-1', 'node-2', 'node-3'];
/** Long enough for an election (master-slave) and detection after a change. */
const SETTLE_MS = 2000;

function boot(
  mode: ReplicationMode,
  config: Partial<ReplicationConfig> = {},
  ids: readonly string[] = IDS,
): ReplicationCluster {
  const cluster = new ReplicationCluster({
    seed: 1,
    core: createReplication(mode, config),
    nodeIds: ids,
    network: PERFECT_NETWORK,
  });
  cluster.bootAll();
  cluster.runUntil(SETTLE_MS);
  return cluster;
}

/** Run the simulation until `start` gets its answer (at most 5 s of simulated time). */
function answerOf<T>(
  cluster: ReplicationCluster,
  what: string,
  start: (done: (r: T) => void) => void,
): T {
  let result: T | undefined;
  start((r) => (result = r));
  const deadline = cluster.now + 5000;
  while (result === undefined && cluster.now < deadline) cluster.runUntil(cluster.now + 1);
  assert.ok(result, `${what} got no answer`);
  return result;
}

function write(
  cluster: ReplicationCluster,
  node: string,
  key: string,
  value: string | null,
  token: VectorClock = {},
): WriteOutcome {
  return answerOf(cluster, `write of ${key} at ${node}`, (done: (r: WriteOutcome) => void) =>
    cluster.write('test', node, key, value, token, done),
  );
}

function read(
  cluster: ReplicationCluster,
  node: string,
  key: string,
  consistency: Consistency,
  token: VectorClock = {},
): ReadOutcome {
  return answerOf(cluster, `read of ${key} at ${node}`, (done: (r: ReadOutcome) => void) =>
    cluster.read('test', node, key, consistency, token, done),
  );
}

function acked(r: WriteOutcome): Extract<WriteOutcome, { ok: true }> {
  assert.ok(r.ok, `write failed: ${r.ok ? '' : r.error}`);
  return r;
}

function valueOf(r: ReadOutcome): unknown {
  assert.ok(r.ok, `read failed: ${r.ok ? '' : r.error}`);
  return r.entry?.value ?? null;
}

function assertConverged(cluster: ReplicationCluster, ids: readonly string[] = IDS): void {
  const h = cluster.finish();
  checkConvergence(h);
  const contents = new Set(
    ids.filter((id) => cluster.isUp(id)).map((id) => contentOf(cluster.replica(id))),
  );
  assert.equal(contents.size, 1);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    // Frozen Maps still mutate, and a sorted map marks its nodes shared in place when copied:
    // purity is checked by JSON below.
    if (value instanceof Map || value instanceof Set || isSortedMap(value)) return value;
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

for (const mode of REPLICATION_MODES) {
  describe(`replication suite: ${mode}`, () => {
    test('writes through every node reach every replica', () => {
      const cluster = boot(mode);
      for (const [i, id] of IDS.entries()) acked(write(cluster, id, `seat:${i}`, `from ${id}`));
      cluster.runUntil(cluster.now + SETTLE_MS);
      assertConverged(cluster);
      for (const id of IDS) assert.equal(cluster.replica(id).entries.size, 3);
      checkDurability(cluster.finish(), true);
    });

    test('a partitioned node catches up after the partition heals', () => {
      const cluster = boot(mode);
      cluster.partition([['node-1'], ['node-2', 'node-3']]);
      cluster.runUntil(cluster.now + SETTLE_MS);
      acked(write(cluster, 'node-2', 'seat:1', 'while node-1 was away'));
      assert.equal(cluster.replica('node-1').entries.size, 0);
      cluster.heal();
      cluster.runUntil(cluster.now + SETTLE_MS);
      assertConverged(cluster);
      assert.equal(cluster.replica('node-1').entries.get('seat:1')?.value, 'while node-1 was away');
    });

    test('a crashed node keeps its persisted replica and catches up after a restart', () => {
      const cluster = boot(mode);
      acked(write(cluster, 'node-1', 'seat:1', 'before the crash'));
      cluster.runUntil(cluster.now + SETTLE_MS);
      cluster.crash('node-3');
      cluster.runUntil(cluster.now + SETTLE_MS);
      acked(write(cluster, 'node-1', 'seat:2', 'while node-3 was down'));
      cluster.restart('node-3');
      assert.equal(
        cluster.state('node-3').store.entries.get('seat:1')?.value,
        'before the crash',
        'restored from disk',
      );
      cluster.runUntil(cluster.now + SETTLE_MS);
      assertConverged(cluster);
      assert.equal(cluster.replica('node-3').entries.get('seat:2')?.value, 'while node-3 was down');
    });

    test('concurrent writes of one key: every replica keeps the same (ts, origin) winner', () => {
      const ids = ['node-1', 'node-2', 'node-3', 'node-4', 'node-5'];
      const cluster = boot(mode, {}, ids);
      cluster.partition([
        ['node-1', 'node-2', 'node-3'],
        ['node-4', 'node-5'],
      ]);
      cluster.runUntil(cluster.now + SETTLE_MS);
      const written: Entry[] = [];
      for (const id of ['node-2', 'node-4']) {
        const r = write(cluster, id, 'seat:7', `by ${id}`);
        if (r.ok) written.push(r.entry);
      }
      cluster.heal();
      cluster.runUntil(cluster.now + 2 * SETTLE_MS);
      assertConverged(cluster, ids);
      const kept = cluster.replica('node-1').entries.get('seat:7');
      assert.ok(kept);
      for (const e of written)
        assert.ok(
          kept === e || lwwWins(kept, e) || (kept.origin === e.origin && kept.seq === e.seq),
        );
      if (written.length === 2)
        assert.ok(
          ids.some((id) => cluster.replica(id).conflicts > 0),
          'the conflict was counted',
        );
    });

    test('a strong read after an acknowledged write returns it, from every node', () => {
      const cluster = boot(mode);
      for (let i = 0; i < 3; i++) {
        for (const writer of IDS) {
          const value = `v${i} by ${writer}`;
          acked(write(cluster, writer, 'seat:1', value));
          for (const reader of IDS)
            assert.equal(
              valueOf(read(cluster, reader, 'seat:1', 'strong')),
              value,
              `read at ${reader}`,
            );
        }
      }
    });

    test('causal: a session reads its own write at a node that has not received it yet', () => {
      const cluster = boot(mode);
      const w = acked(write(cluster, 'node-1', 'seat:1', 'mine'));
      cluster.runUntil(cluster.now + SETTLE_MS);
      // Cut node-3 off for a second write, then reconnect it and read there at once.
      cluster.partition([['node-3'], ['node-1', 'node-2']]);
      cluster.runUntil(cluster.now + SETTLE_MS);
      const w2 = acked(
        write(
          cluster,
          mode === 'master-slave' ? 'node-2' : 'node-1',
          'seat:1',
          'mine, later',
          w.token,
        ),
      );
      cluster.heal();
      const r = read(cluster, 'node-3', 'seat:1', 'causal', w2.token);
      assert.equal(valueOf(r), 'mine, later');
      assert.ok(
        r.ok && Object.keys(w2.token).every((k) => (r.token[k] ?? 0) >= (w2.token[k] ?? 0)),
        'the token only grows',
      );
    });

    test('deletes replicate as tombstones', () => {
      const cluster = boot(mode);
      acked(write(cluster, 'node-1', 'hold:1', 'held'));
      cluster.runUntil(cluster.now + SETTLE_MS);
      const removed = acked(write(cluster, 'node-2', 'hold:1', null));
      assert.equal(removed.entry.deleted, true);
      cluster.runUntil(cluster.now + SETTLE_MS);
      assertConverged(cluster);
      for (const id of IDS) assert.equal(cluster.replica(id).entries.get('hold:1')?.deleted, true);
      assert.equal(valueOf(read(cluster, 'node-3', 'hold:1', 'eventual')), null);
    });

    test('step is pure: it never modifies its input and gives the same output for the same input', () => {
      const core = createReplication(mode);
      let state = core.init('node-2', IDS);
      const other = createReplication(mode).init('node-1', IDS);
      const events: ReplicationEvent[] = [
        { type: 'start', now: 1000 },
        { type: 'alive', now: 1001, ids: ['node-1', 'node-3'] },
        { type: 'leader', now: 1002, leader: 'node-2', epoch: 1 },
        {
          type: 'message',
          now: 1003,
          from: 'node-1',
          msg: {
            type: 'syncReply',
            id: 'catchup:1',
            epoch: 1,
            digest: other.store.digest,
            seen: {},
            entries: [],
          },
        },
        { type: 'write', now: 1004, requestId: 'w1', key: 'seat:1', value: { row: 'A' } },
        {
          type: 'message',
          now: 1005,
          from: 'node-1',
          msg: { type: 'replicateAck', epoch: 1, dots: ['1@node-2'] },
        },
        { type: 'read', now: 1006, requestId: 'r1', key: 'seat:1', consistency: 'strong' },
        {
          type: 'read',
          now: 1007,
          requestId: 'r2',
          key: 'seat:1',
          consistency: 'causal',
          token: { 'node-9': 1 },
        },
        { type: 'timer', now: 1300, name: 'tick', entropy: 7 },
        { type: 'timer', now: 1301, name: 'read:r2', entropy: 8 },
        {
          type: 'message',
          now: 1302,
          from: 'node-3',
          msg: { type: 'sync', id: 'x', epoch: 1, digest: other.store.digest, seen: {} },
        },
        { type: 'peerDead', now: 1303, id: 'node-3' },
        { type: 'timer', now: 1304, name: 'retry', entropy: 9 },
        { type: 'configure', now: 1305, config: { fanout: 2, w: 1 } },
        { type: 'stop', now: 1306 },
      ];
      for (const event of events) {
        const snapshot = JSON.stringify(state, replacer);
        const first = core.step(deepFreeze(state), event);
        const second = core.step(state, event);
        assert.equal(JSON.stringify(state, replacer), snapshot, `input modified by ${event.type}`);
        assert.equal(JSON.stringify(second, replacer), JSON.stringify(first, replacer));
        state = first.state;
      }
    });
  });
}

function replacer(_key: string, value: unknown): unknown {
  if (isSortedMap(value)) return [...value.entries()];
  if (value instanceof Map) return [...value];
  if (value instanceof Set) return [...value];
  return value;
}

test('the strategy switches at runtime: the same stores carry on under the next one', () => {
  const cluster = boot('gossip');
  let token: VectorClock = {};
  const sequence: ReplicationMode[] = ['multi-master', 'master-slave', 'gossip'];
  acked(write(cluster, 'node-1', 'seat:1', 'under gossip'));
  for (const mode of sequence) {
    cluster.switchCore(createReplication(mode));
    cluster.runUntil(cluster.now + SETTLE_MS);
    const w = acked(write(cluster, 'node-2', `seat:${mode}`, `under ${mode}`, token));
    token = w.token;
    assert.equal(
      valueOf(read(cluster, 'node-3', `seat:${mode}`, 'causal', token)),
      `under ${mode}`,
    );
  }
  cluster.runUntil(cluster.now + SETTLE_MS);
  assertConverged(cluster);
  assert.equal(cluster.replica('node-3').entries.size, 4);
});
