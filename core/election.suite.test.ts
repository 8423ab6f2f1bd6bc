/**
 * One election suite, run unchanged against Bully and Ring. Cluster scenarios run in the
 * deterministic simulator on a perfect network (1 ms delay, no loss) with scripted faults; the
 * random-fault runs are in sim/cluster.sim.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cluster, DEFAULT_SIM_CONFIG, PERFECT_NETWORK } from '../sim/cluster';
import { checkUniqueLeaderPerEpoch } from '../sim/checkers';
import { createBullyElection } from './bully-election';
import type { ElectionConfig, ElectionCore, ElectionEvent, ElectionState } from './election';
import { createRingElection } from './ring-election';

type Factory = (config?: Partial<ElectionConfig>) => ElectionCore<ElectionState>;

const algorithms: readonly [string, Factory][] = [
  ['bully', createBullyElection],
  ['ring', createRingElection],
];

function boot(make: Factory, ids: readonly string[]): Cluster {
  const cluster = new Cluster({ seed: 1, core: make(), nodeIds: ids, network: PERFECT_NETWORK });
  cluster.bootAll();
  return cluster;
}

/** Every live node follows `expected` in one epoch; returns that epoch. */
function assertAgreed(cluster: Cluster, ids: readonly string[], expected: string): number {
  const live = ids.filter((id) => cluster.isUp(id));
  const views = live
    .map((id) => `${id}→${cluster.electionState(id).leader}@${cluster.electionState(id).epoch}`)
    .join(', ');
  const epochs = new Set(live.map((id) => cluster.electionState(id).epoch));
  for (const id of live) assert.equal(cluster.electionState(id).leader, expected, views);
  assert.equal(epochs.size, 1, views);
  assert.equal(cluster.electionState(expected).phase, 'leading');
  const epoch = cluster.electionState(expected).epoch;
  assert.deepEqual(
    cluster.registerState(),
    { epoch, leader: expected },
    'the fencing register names the leader',
  );
  checkUniqueLeaderPerEpoch(cluster.history);
  return epoch;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

for (const [name, make] of algorithms) {
  describe(`election suite: ${name}`, () => {
    test('elects the highest-priority node; everyone agrees on it and its epoch', () => {
      const ids = ['node-1', 'node-2', 'node-3'];
      const cluster = boot(make, ids);
      cluster.runUntil(3000);
      assert.ok(assertAgreed(cluster, ids, 'node-3') >= 1);
    });

    test('priority is numeric: node-10 beats node-9', () => {
      const ids = ['node-9', 'node-10', 'node-2'];
      const cluster = boot(make, ids);
      cluster.runUntil(3000);
      assertAgreed(cluster, ids, 'node-10');
    });

    test('when the leader crashes the next one takes over in a newer epoch', () => {
      const ids = ['node-1', 'node-2', 'node-3'];
      const cluster = boot(make, ids);
      cluster.runUntil(3000);
      const first = assertAgreed(cluster, ids, 'node-3');
      cluster.crash('node-3');
      cluster.runUntil(8000);
      assert.ok(assertAgreed(cluster, ids, 'node-2') > first);
    });

    test('a recovered higher-priority node takes over, above its persisted epoch', () => {
      const ids = ['node-1', 'node-2', 'node-3'];
      const cluster = boot(make, ids);
      cluster.runUntil(3000);
      cluster.crash('node-3');
      cluster.runUntil(8000);
      const second = assertAgreed(cluster, ids, 'node-2');
      cluster.restart('node-3');
      cluster.runUntil(14000);
      assert.ok(assertAgreed(cluster, ids, 'node-3') > second);
    });

    test('a leader cut off by a partition steps down and never claims; the majority side elects', () => {
      const ids = ['node-1', 'node-2', 'node-3', 'node-4', 'node-5'];
      const cluster = boot(make, ids);
      cluster.runUntil(3000);
      const first = assertAgreed(cluster, ids, 'node-5');
      cluster.partition([['node-5'], ['node-1', 'node-2', 'node-3', 'node-4']]);
      cluster.runUntil(9000);
      assert.equal(cluster.electionState('node-5').leader, null, 'isolated leader stepped down');
      const majoritySide = ['node-1', 'node-2', 'node-3', 'node-4'];
      for (const id of majoritySide) assert.equal(cluster.electionState(id).leader, 'node-4');
      assert.ok(cluster.electionState('node-4').epoch > first);
      const isolatedClaims = cluster.history.claimDecisions.filter(
        (c) => c.node === 'node-5' && c.time > 3000,
      );
      assert.deepEqual(isolatedClaims, []);
      cluster.heal();
      cluster.runUntil(15000);
      assertAgreed(cluster, ids, 'node-5');
    });

    test('without a majority nobody leads and nobody claims', () => {
      const ids = ['node-1', 'node-2', 'node-3'];
      const cluster = boot(make, ids);
      cluster.runUntil(3000);
      cluster.crash('node-3');
      cluster.crash('node-2');
      cluster.runUntil(10000);
      assert.equal(cluster.electionState('node-1').leader, null);
      const settled =
        3000 +
        DEFAULT_SIM_CONFIG.failureDetector.deadAfterMs +
        DEFAULT_SIM_CONFIG.heartbeatIntervalMs;
      assert.deepEqual(
        cluster.history.claimDecisions.filter((c) => c.time > settled),
        [],
      );
    });

    test('a claim refused by the fencing register is never announced; the next epoch is claimed', () => {
      const ids = ['node-1', 'node-2', 'node-3'];
      const cluster = new Cluster({
        seed: 1,
        core: make(),
        nodeIds: ids,
        network: PERFECT_NETWORK,
      });
      // A phantom holder (e.g. a node that claimed and died before announcing) owns epoch 7.
      cluster.at(0, () => cluster.stealEpoch(7, 'node-99'));
      cluster.bootAll();
      cluster.runUntil(6000);
      assert.ok(assertAgreed(cluster, ids, 'node-3') > 7);
      assert.ok(
        cluster.history.registerOps.some((op) => !op.ok),
        'some claim was refused',
      );
      assert.deepEqual(
        cluster.history.leaderBeliefs.filter((b) => b.epoch === 7 && b.leader !== null),
        [],
      );
    });

    test('messages from an older epoch are refused, counted and answered with the newer epoch', () => {
      const core = make();
      const state = core.init('node-1', ['node-1', 'node-2', 'node-3'], { epoch: 5 });
      const r = core.step(state, {
        type: 'message',
        from: 'node-3',
        msg: { type: 'coordinator', epoch: 3, leader: 'node-3' },
      });
      assert.equal(r.state.refusedStaleMessages, 1);
      assert.equal(r.state.leader, null);
      assert.deepEqual(r.send, [
        { to: 'node-3', msg: { type: 'refused', epoch: 5, leader: null } },
      ]);
      assert.deepEqual(r.effects, []);
    });

    test('a newer epoch deposes: a leader that hears of it steps down', () => {
      const ids = ['node-1', 'node-2', 'node-3'];
      const cluster = boot(make, ids);
      cluster.runUntil(3000);
      const epoch = assertAgreed(cluster, ids, 'node-3');
      cluster.inject('node-1', 'node-3', { type: 'refused', epoch: epoch + 1, leader: null });
      assert.notEqual(cluster.electionState('node-3').leader, 'node-3');
      cluster.runUntil(8000);
      assert.ok(assertAgreed(cluster, ids, 'node-3') > epoch + 1);
    });

    test('a start on a follower keeps the sitting leader and epoch; a trigger, on the leader or a follower, renews the epoch', () => {
      const ids = ['node-1', 'node-2', 'node-3'];
      const cluster = boot(make, ids);
      cluster.runUntil(3000);
      const epoch = assertAgreed(cluster, ids, 'node-3');
      cluster.trigger('node-1', { type: 'start' });
      cluster.runUntil(6000);
      assert.equal(assertAgreed(cluster, ids, 'node-3'), epoch);
      cluster.trigger('node-3', { type: 'trigger' });
      cluster.runUntil(9000);
      const renewed = assertAgreed(cluster, ids, 'node-3');
      assert.ok(renewed > epoch, `the leader's trigger renewed epoch ${epoch} (now ${renewed})`);
      cluster.trigger('node-1', { type: 'trigger' });
      cluster.runUntil(12000);
      assert.ok(
        assertAgreed(cluster, ids, 'node-3') > renewed,
        "a follower's trigger renewed the epoch too",
      );
    });

    test('a membership change that removes the leader starts an election', () => {
      const core = make();
      let state = core.init('node-1', ['node-1', 'node-2', 'node-3']);
      for (const id of ['node-2', 'node-3'])
        state = core.step(state, { type: 'peerAlive', id }).state;
      state = core.step(state, {
        type: 'message',
        from: 'node-3',
        msg: { type: 'coordinator', epoch: 1, leader: 'node-3' },
      }).state;
      assert.equal(state.leader, 'node-3');
      const r = core.step(state, { type: 'membership', members: ['node-1', 'node-2'] });
      assert.equal(r.state.leader, null);
      assert.deepEqual(r.state.members, ['node-1', 'node-2']);
      assert.ok(
        r.send.length > 0 || r.effects.some((e) => e.type === 'claim'),
        'an election began',
      );
    });

    test('step is pure: it never modifies its input and gives the same output for the same input', () => {
      const core = make();
      const events: ElectionEvent[] = [
        { type: 'start' },
        { type: 'trigger' },
        { type: 'peerAlive', id: 'node-2' },
        { type: 'peerAlive', id: 'node-3' },
        { type: 'timer', name: 'answer' },
        { type: 'timer', name: 'token' },
        {
          type: 'claimResult',
          epoch: 1,
          leader: 'node-3',
          ok: false,
          currentEpoch: 4,
          currentLeader: 'node-2',
        },
        {
          type: 'message',
          from: 'node-2',
          msg: { type: 'coordinator', epoch: 5, leader: 'node-2' },
        },
        { type: 'message', from: 'node-1', msg: { type: 'election', epoch: 5 } },
        { type: 'peerDead', id: 'node-2' },
        { type: 'timer', name: 'tick' },
        {
          type: 'claimResult',
          epoch: 6,
          leader: 'node-3',
          ok: true,
          currentEpoch: 6,
          currentLeader: 'node-3',
        },
      ];
      let state = core.init('node-3', ['node-1', 'node-2', 'node-3']);
      for (const event of events) {
        const snapshot = JSON.stringify(state);
        const first = core.step(deepFreeze(state), event);
        const second = core.step(state, event);
        assert.equal(JSON.stringify(state), snapshot, `input modified by ${event.type}`);
        assert.deepEqual(second, first);
        state = first.state;
      }
    });
  });
}
