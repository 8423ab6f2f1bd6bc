import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster, DEFAULT_SIM_CONFIG, PERFECT_NETWORK } from '../sim/cluster';
import type { ElectionMessage } from './election';
import { createRingElection, ringElection, successor, type RingState } from './ring-election';

const members = ['node-1', 'node-2', 'node-3', 'node-4', 'node-5'];

function alive(self: string, peers: readonly string[]): RingState {
  let state = ringElection.init(self, members);
  for (const id of peers) state = ringElection.step(state, { type: 'peerAlive', id }).state;
  return state;
}

test('the ring follows priority order and skips dead successors', () => {
  assert.equal(successor(alive('node-2', ['node-3', 'node-5'])), 'node-3');
  assert.equal(successor(alive('node-2', ['node-1', 'node-5'])), 'node-5');
  assert.equal(successor(alive('node-5', ['node-2', 'node-3'])), 'node-2');
  assert.equal(successor(alive('node-5', [])), null);
});

test('each node appends its id and ACKs the hop', () => {
  const state = alive('node-2', ['node-1', 'node-3', 'node-4']);
  const token: ElectionMessage = {
    type: 'token',
    epoch: 0,
    key: 'node-1#0.1',
    initiator: 'node-1',
    ids: ['node-1'],
    leading: null,
    leadingEpoch: 0,
  };
  const r = ringElection.step(state, { type: 'message', from: 'node-1', msg: token });
  assert.deepEqual(r.send, [
    { to: 'node-1', msg: { type: 'ack', epoch: 0, ref: 'token:node-1#0.1' } },
    { to: 'node-3', msg: { ...token, ids: ['node-1', 'node-2'] } },
  ]);
});

test('the winner is the highest-priority id in the returned token', () => {
  let state = alive('node-1', ['node-2', 'node-3', 'node-4']);
  assert.equal(state.phase, 'electing');
  const key = state.electionKey ?? '';
  const back: ElectionMessage = {
    type: 'token',
    epoch: 0,
    key,
    initiator: 'node-1',
    ids: ['node-1', 'node-2', 'node-4', 'node-3'],
    leading: null,
    leadingEpoch: 0,
  };
  const r = ringElection.step(state, { type: 'message', from: 'node-4', msg: back });
  assert.deepEqual(
    r.effects.find((e) => e.type === 'claim'),
    { type: 'claim', epoch: 1, leader: 'node-4' },
  );
  state = r.state;
  const done = ringElection.step(state, {
    type: 'claimResult',
    epoch: 1,
    leader: 'node-4',
    ok: true,
    currentEpoch: 1,
    currentLeader: 'node-4',
  });
  assert.equal(done.state.leader, 'node-4');
  const sent = done.send.map((o) => [o.to, o.msg.type]);
  assert.deepEqual(sent, [
    ['node-2', 'ringCoordinator'],
    ['node-4', 'coordinator'],
  ]);
});

test('a triggered election claims a new epoch even when its token confirms the sitting leader', () => {
  const confirming = (state: RingState): ElectionMessage => ({
    type: 'token',
    epoch: 1,
    key: state.electionKey ?? '',
    initiator: 'node-1',
    ids: ['node-1', 'node-2', 'node-3', 'node-4', 'node-5'],
    leading: 'node-5',
    leadingEpoch: 1,
  });
  let follower = alive('node-1', ['node-2', 'node-3', 'node-4', 'node-5']);
  follower = ringElection.step(follower, {
    type: 'message',
    from: 'node-5',
    msg: { type: 'coordinator', epoch: 1, leader: 'node-5' },
  }).state;
  const started = ringElection.step(follower, { type: 'start' }).state;
  const confirmed = ringElection.step(started, {
    type: 'message',
    from: 'node-5',
    msg: confirming(started),
  });
  assert.equal(
    confirmed.effects.some((e) => e.type === 'claim'),
    false,
    'a plain start keeps the sitting leader and epoch',
  );
  let triggered = ringElection.step(follower, { type: 'trigger' }).state;
  // The leader's periodic announcement while the token is out does not end a triggered election…
  triggered = ringElection.step(triggered, {
    type: 'message',
    from: 'node-5',
    msg: { type: 'coordinator', epoch: 1, leader: 'node-5' },
  }).state;
  assert.equal(triggered.phase, 'electing');
  // …and the returning token claims the next epoch for the same winner.
  const renewed = ringElection.step(triggered, {
    type: 'message',
    from: 'node-5',
    msg: confirming(triggered),
  });
  assert.deepEqual(
    renewed.effects.find((e) => e.type === 'claim'),
    { type: 'claim', epoch: 2, leader: 'node-5' },
  );
});

test('a token that holds no majority elects nobody', () => {
  const state = alive('node-1', ['node-2', 'node-3']);
  const back: ElectionMessage = {
    type: 'token',
    epoch: 0,
    key: state.electionKey ?? '',
    initiator: 'node-1',
    ids: ['node-1', 'node-2'],
    leading: null,
    leadingEpoch: 0,
  };
  const r = ringElection.step(state, { type: 'message', from: 'node-2', msg: back });
  assert.equal(
    r.effects.some((e) => e.type === 'claim'),
    false,
  );
  assert.equal(r.state.leader, null);
});

test('a successor that does not ACK is suspected and skipped before the failure detector notices', () => {
  // A slow failure detector: the ring must route around crashed nodes by ACK timeouts alone.
  const failureDetector = { suspectAfterMs: 2500, deadAfterMs: 5000 };
  const config = { ...DEFAULT_SIM_CONFIG, failureDetector };
  const cluster = new Cluster({
    seed: 2,
    core: createRingElection(),
    nodeIds: members,
    network: PERFECT_NETWORK,
    config,
  });
  cluster.bootAll();
  cluster.runUntil(3000);
  assert.equal(cluster.electionState('node-1').leader, 'node-5');
  cluster.crash('node-5');
  cluster.crash('node-2');
  cluster.trigger('node-1', { type: 'peerDead', id: 'node-5' }); // only node-1 learns the leader is gone
  cluster.runUntil(4500);
  assert.equal(cluster.electionState('node-1').leader, 'node-4');
  assert.equal(cluster.electionState('node-3').leader, 'node-4');
  assert.equal(cluster.electionState('node-4').phase, 'leading');
});

test('a token confirming the sitting leader leaves the epoch alone', () => {
  const cluster = new Cluster({
    seed: 4,
    core: ringElection,
    nodeIds: members,
    network: PERFECT_NETWORK,
  });
  cluster.bootAll();
  cluster.runUntil(3000);
  const epoch = cluster.electionState('node-5').epoch;
  cluster.trigger('node-5', { type: 'start' });
  cluster.trigger('node-2', { type: 'start' });
  cluster.runUntil(5000);
  for (const id of members)
    assert.deepEqual(
      [cluster.electionState(id).leader, cluster.electionState(id).epoch],
      ['node-5', epoch],
    );
});
