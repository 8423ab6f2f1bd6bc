import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster, PERFECT_NETWORK } from '../sim/cluster';
import { ANSWER_TIMER, bullyElection, createBullyElection } from './bully-election';
import type { BullyState } from './bully-election';

const members = ['node-1', 'node-2', 'node-3'];

function withPeersAlive(self: string): BullyState {
  let state = bullyElection.init(self, members);
  state = bullyElection.step(state, { type: 'start' }).state;
  for (const id of members)
    if (id !== self) state = bullyElection.step(state, { type: 'peerAlive', id }).state;
  return state;
}

test('ELECTION goes to higher-priority members only; the highest claims at once', () => {
  const low = bullyElection.step(bullyElection.init('node-1', members), { type: 'start' });
  assert.deepEqual(
    low.send.map((o) => [o.to, o.msg.type]),
    [
      ['node-2', 'election'],
      ['node-3', 'election'],
    ],
  );
  assert.ok(
    low.effects.some(
      (e) =>
        e.type === 'setTimer' &&
        e.name === ANSWER_TIMER &&
        e.afterMs === bullyElection.config.answerTimeoutMs,
    ),
  );

  let top = bullyElection.init('node-3', members);
  for (const id of ['node-1', 'node-2'])
    top = bullyElection.step(top, { type: 'peerAlive', id }).state;
  assert.equal(top.phase, 'claiming');
  assert.deepEqual(top.claim?.leader, 'node-3');
});

test('no ANSWER within answer_timeout_ms: claim, and announce only after the register accepts', () => {
  let state = withPeersAlive('node-2');
  assert.equal(state.phase, 'electing');
  let r = bullyElection.step(state, { type: 'timer', name: ANSWER_TIMER });
  assert.deepEqual(
    r.effects.find((e) => e.type === 'claim'),
    { type: 'claim', epoch: 1, leader: 'node-2' },
  );
  assert.deepEqual(r.send, []);
  state = r.state;
  r = bullyElection.step(state, {
    type: 'claimResult',
    epoch: 1,
    leader: 'node-2',
    ok: true,
    currentEpoch: 1,
    currentLeader: 'node-2',
  });
  assert.equal(r.state.phase, 'leading');
  assert.deepEqual(
    r.effects.find((e) => e.type === 'leader'),
    { type: 'leader', leader: 'node-2', epoch: 1 },
  );
  assert.deepEqual(
    r.send.map((o) => [o.to, o.msg]),
    [
      ['node-1', { type: 'coordinator', epoch: 1, leader: 'node-2' }],
      ['node-3', { type: 'coordinator', epoch: 1, leader: 'node-2' }],
    ],
  );
});

test('an ANSWER makes the node wait for COORDINATOR; silence restarts the election', () => {
  let state = withPeersAlive('node-1');
  state = bullyElection.step(state, {
    type: 'message',
    from: 'node-3',
    msg: { type: 'answer', epoch: 0 },
  }).state;
  assert.equal(state.phase, 'awaitingCoordinator');
  const r = bullyElection.step(state, { type: 'timer', name: 'coordinator' });
  assert.equal(r.state.phase, 'electing');
  assert.equal(r.send.filter((o) => o.msg.type === 'election').length, 2);
});

test('a sitting leader answers ELECTION and re-announces itself without a new epoch', () => {
  let state = withPeersAlive('node-3');
  state = bullyElection.step(state, {
    type: 'claimResult',
    epoch: 1,
    leader: 'node-3',
    ok: true,
    currentEpoch: 1,
    currentLeader: 'node-3',
  }).state;
  const r = bullyElection.step(state, {
    type: 'message',
    from: 'node-1',
    msg: { type: 'election', epoch: 1 },
  });
  assert.deepEqual(r.send, [
    { to: 'node-1', msg: { type: 'answer', epoch: 1 } },
    { to: 'node-1', msg: { type: 'coordinator', epoch: 1, leader: 'node-3' } },
  ]);
  assert.equal(r.state.epoch, 1);
});

test('an ELECTION an operator triggered (renew) makes a sitting leader claim a new epoch instead of re-announcing', () => {
  let state = withPeersAlive('node-3');
  state = bullyElection.step(state, {
    type: 'claimResult',
    epoch: 1,
    leader: 'node-3',
    ok: true,
    currentEpoch: 1,
    currentLeader: 'node-3',
  }).state;
  const r = bullyElection.step(state, {
    type: 'message',
    from: 'node-1',
    msg: { type: 'election', epoch: 1, renew: true },
  });
  assert.deepEqual(r.send, [{ to: 'node-1', msg: { type: 'answer', epoch: 1 } }]);
  assert.deepEqual(
    r.effects.find((e) => e.type === 'claim'),
    { type: 'claim', epoch: 2, leader: 'node-3' },
  );
  // And a trigger on a follower passes `renew` up to every higher node.
  const low = bullyElection.step(withPeersAlive('node-1'), { type: 'trigger' });
  assert.deepEqual(
    low.send.map((o) => [o.to, o.msg]),
    [
      ['node-2', { type: 'election', epoch: 0, renew: true }],
      ['node-3', { type: 'election', epoch: 0, renew: true }],
    ],
  );
});

test('refused because a higher node holds the epoch: wait for its COORDINATOR instead of retrying', () => {
  let state = withPeersAlive('node-2');
  state = bullyElection.step(state, { type: 'timer', name: ANSWER_TIMER }).state;
  const r = bullyElection.step(state, {
    type: 'claimResult',
    epoch: 1,
    leader: 'node-2',
    ok: false,
    currentEpoch: 1,
    currentLeader: 'node-3',
  });
  assert.equal(r.state.phase, 'awaitingCoordinator');
  assert.equal(
    r.effects.some((e) => e.type === 'claim'),
    false,
  );
});

test('timeouts come from the config', () => {
  const core = createBullyElection({ answerTimeoutMs: 42 });
  const r = core.step(core.init('node-1', members), { type: 'start' });
  assert.ok(
    r.effects.some((e) => e.type === 'setTimer' && e.name === ANSWER_TIMER && e.afterMs === 42),
  );
});

test('five nodes with the top two crashed: node-3 leads', () => {
  const ids = ['node-1', 'node-2', 'node-3', 'node-4', 'node-5'];
  const cluster = new Cluster({
    seed: 3,
    core: bullyElection,
    nodeIds: ids,
    network: PERFECT_NETWORK,
  });
  cluster.bootAll();
  cluster.runUntil(3000);
  cluster.crash('node-5');
  cluster.crash('node-4');
  cluster.runUntil(9000);
  for (const id of ['node-1', 'node-2', 'node-3'])
    assert.equal(cluster.electionState(id).leader, 'node-3');
});
