/**
 * The checkers must be able to fail: deliberately broken cores and corrupted histories are caught.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ElectionCore, ElectionEffect, ElectionState, Outgoing } from '../core/election';
import { entry, type CausalOrder, type VectorClock } from '../core/vector-clock';
import {
  checkAgreedLeader,
  checkAll,
  checkClaimsNeedMajority,
  checkClockBound,
  checkClocks,
  checkClocksMonotonic,
  checkIsolatedLeadersStepDown,
  checkLamport,
  checkUniqueLeaderPerEpoch,
  checkVectorClocks,
  scenarioClockBoundMs,
  scenarioSettleMs,
  SimCheckError,
} from './checkers';
import { electionCoreFor, runScenario, type ScenarioResult } from './scenario';
import { ELECTION_ALGORITHMS } from '../core/vocabulary';

/** Seeds tried before concluding that a broken core goes unnoticed. */
const MUTANT_SEED_BUDGET = 300;

function firstFailure(run: (seed: number) => void): SimCheckError | undefined {
  for (let seed = 1; seed <= MUTANT_SEED_BUDGET; seed++) {
    try {
      run(seed);
    } catch (error) {
      if (error instanceof SimCheckError) return error;
      throw error;
    }
  }
  return undefined;
}

/** Forgets the majority rule: counts only itself and the peers it believes alive as members. */
function withoutMajorityRule(core: ElectionCore<ElectionState>): ElectionCore<ElectionState> {
  return {
    ...core,
    step(state, event) {
      const visible = state.members.filter((id) => id === state.self || state.alive.includes(id));
      const r = core.step({ ...state, members: visible }, event);
      return { ...r, state: { ...r.state, members: state.members } };
    },
  };
}

/** Announces as soon as it claims, without waiting for the fencing register's answer. */
function withoutFencing(core: ElectionCore<ElectionState>): ElectionCore<ElectionState> {
  return {
    ...core,
    step(state, event) {
      if (event.type === 'claimResult') return { state, send: [], effects: [] };
      let r = core.step(state, event);
      const send: Outgoing[] = [...r.send];
      const effects: ElectionEffect[] = [...r.effects];
      for (const claim of r.effects.filter((e) => e.type === 'claim')) {
        r = core.step(r.state, { type: 'claimResult', epoch: claim.epoch, leader: claim.leader, ok: true, currentEpoch: claim.epoch, currentLeader: claim.leader });
        send.push(...r.send);
        effects.push(...r.effects);
      }
      return { state: r.state, send, effects };
    },
  };
}

/** Ignores the failure detector's "dead" reports: a crashed leader is never replaced. */
function deafToFailures(core: ElectionCore<ElectionState>): ElectionCore<ElectionState> {
  return { ...core, step: (state, event) => (event.type === 'peerDead' ? { state, send: [], effects: [] } : core.step(state, event)) };
}

const algorithms = ELECTION_ALGORITHMS;

for (const algorithm of algorithms) {
  test(`${algorithm}: the unmodified core passes where the mutants below fail`, () => {
    for (let seed = 1; seed <= 20; seed++) checkAll(runScenario({ seed, algorithm }));
  });

  test(`${algorithm}: forgetting the majority rule is caught`, () => {
    const failure = firstFailure((seed) => {
      const r = runScenario({ seed, algorithm, core: withoutMajorityRule(electionCoreFor(algorithm)) });
      checkClaimsNeedMajority(r.history, scenarioSettleMs(r));
    });
    assert.ok(failure, 'no seed exposed a minority claim');
    assert.match(failure.message, /claims need a majority.*\n  replay: SIM_SEED=\d+ SIM_ALGORITHM=/);
  });

  test(`${algorithm}: announcing before the fencing register accepts is caught`, () => {
    const failure = firstFailure((seed) => {
      const r = runScenario({ seed, algorithm, core: withoutFencing(electionCoreFor(algorithm)) });
      checkUniqueLeaderPerEpoch(r.history);
    });
    assert.ok(failure, 'no seed exposed an unfenced leader');
    assert.match(failure.message, /unique leader per epoch/);
  });

  test(`${algorithm}: a core that never replaces a dead leader is caught`, () => {
    const failure = firstFailure((seed) => checkAgreedLeader(runScenario({ seed, algorithm, core: deafToFailures(electionCoreFor(algorithm)) }).history));
    assert.ok(failure, 'no seed exposed a stale leader');
    assert.match(failure.message, /agreed leader/);
  });

  test(`${algorithm}: a leader that never steps down when cut off is caught`, () => {
    const failure = firstFailure((seed) => {
      const r = runScenario({ seed, algorithm, core: deafToFailures(electionCoreFor(algorithm)) });
      checkIsolatedLeadersStepDown(r.history, scenarioSettleMs(r));
    });
    assert.ok(failure, 'no seed exposed an isolated leader');
    assert.match(failure.message, /isolated leader steps down/);
  });
}

function sample(): ScenarioResult {
  return runScenario({ seed: 7, algorithm: 'bully' });
}

test('a vector-clock compare that looks only at totals is caught', () => {
  const total = (c: VectorClock): number => Object.keys(c).reduce((sum, k) => sum + entry(c, k), 0);
  const bySum = (a: VectorClock, b: VectorClock): CausalOrder => (total(a) < total(b) ? 'before' : total(a) > total(b) ? 'after' : 'equal');
  const r = sample();
  checkVectorClocks(r.history);
  assert.throws(() => checkVectorClocks(r.history, 200, bySum), /vector clocks: .*the history says concurrent, compare says (before|after|equal)/);
});

test('Lamport clocks that skip max() on receive are caught', () => {
  const r = sample();
  checkLamport(r.history);
  // Every receive ignores the sender's stamp: its node's previous Lamport time + 1.
  const last = new Map<string, number>();
  const trace = r.history.clockTrace;
  trace.forEach((rec, i) => {
    const lamport = rec.kind === 'receive' && rec.effect === 'receive' ? (last.get(rec.node) ?? 0) + 1 : rec.clock.lamport;
    trace[i] = { ...rec, clock: { ...rec.clock, lamport } };
    last.set(rec.node, lamport);
  });
  assert.throws(() => checkLamport(r.history), /lamport order/);
});

test('the simulator records events, knowledge-only messages and restores, and every one is checked', () => {
  const r = sample();
  const kinds = new Set(r.history.clockTrace.map((rec) => (rec.kind === 'receive' ? `receive:${rec.effect}` : rec.kind)));
  for (const kind of ['send', 'receive:receive', 'receive:observe', 'restore']) assert.ok(kinds.has(kind), `no ${kind} record`);
  const report = checkClocks(r.history);
  assert.equal(report.violationCount, 0);
  assert.ok(report.messagesDelivered > 100, `only ${report.messagesDelivered} messages checked`);
});

test('clocks left unsynchronized break the stated bound', () => {
  const r = runScenario({ seed: 3, algorithm: 'ring', berkeley: { stopAtMs: 0 } }); // the time daemon never runs a round
  assert.throws(() => checkClockBound(r.history, scenarioClockBoundMs(r)), /berkeley bound/);
});

test('an app clock stepped backwards is caught', () => {
  const r = sample();
  checkClocksMonotonic(r.history);
  const last = r.history.clockReadings.at(-1);
  assert.ok(last);
  r.history.clockReadings.push({ ...last, time: last.time + 1, appClockMs: last.appClockMs - 0.5 });
  assert.throws(() => checkClocksMonotonic(r.history), /clock monotonic/);
});

test('a failure names the seed and the command that replays it', () => {
  const r = sample();
  r.history.leaderBeliefs.push({ time: 1, node: r.history.nodeIds[0] ?? '', incarnation: 1, leader: 'node-99', epoch: 1 });
  assert.throws(
    () => checkUniqueLeaderPerEpoch(r.history),
    (e: unknown) => e instanceof SimCheckError && e.message.includes('seed=7') && e.message.includes('SIM_SEED=7 SIM_ALGORITHM=bully node --import tsx --test sim/cluster.sim.test.ts'),
  );
});
