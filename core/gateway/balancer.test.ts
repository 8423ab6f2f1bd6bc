import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { INITIAL_BALANCER_STATE, pick, type BalancerState, type Candidate } from './balancer';
import {
  checkFailed,
  checkPassed,
  checkSaidStopping,
  DEFAULT_HEALTH_CONFIG,
  eligible,
  isNodeFailure,
  NEW_BACKEND,
  reportedDeadByMajority,
  requestFailed,
  type BackendHealth,
  type ClusterReport,
} from './health';
import { LB_ALGORITHMS, type LbAlgorithm } from '../vocabulary';

function run(
  algorithm: LbAlgorithm,
  candidates: Candidate[],
  count: number,
  state: BalancerState = INITIAL_BALANCER_STATE,
) {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const next = pick(algorithm, state, candidates);
    state = next.state;
    ids.push(next.id!);
  }
  return { ids, state };
}

const abc = (weights = [1, 1, 1]): Candidate[] =>
  ['A', 'B', 'C'].map((id, i) => ({ id, inFlight: 0, weight: weights[i]! }));

describe('round robin', () => {
  test('exact rotation', () => {
    assert.deepEqual(run('round-robin', abc(), 7).ids, ['A', 'B', 'C', 'A', 'B', 'C', 'A']);
  });

  test('a backend leaving or joining keeps the rotation going', () => {
    let { state } = run('round-robin', abc(), 2); // A B
    const withoutC = abc().filter((c) => c.id !== 'C');
    const next = pick('round-robin', state, withoutC); // after B comes A (C is gone)
    assert.equal(next.id, 'A');
    state = next.state;
    assert.deepEqual(
      run('round-robin', [...abc(), { id: 'D', inFlight: 0, weight: 1 }], 4, state).ids,
      ['B', 'C', 'D', 'A'],
    );
  });
});

describe('smooth weighted round robin', () => {
  test('weights 5:1:1 give A A B A C A A', () => {
    assert.deepEqual(run('weighted', abc([5, 1, 1]), 7).ids, ['A', 'A', 'B', 'A', 'C', 'A', 'A']);
  });

  test('every full cycle has exact proportions, for any weights', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 4 }),
        (weights, cycles) => {
          const candidates = weights.map((weight, i) => ({ id: `n${i}`, inFlight: 0, weight }));
          const total = weights.reduce((a, b) => a + b, 0);
          let state = INITIAL_BALANCER_STATE;
          for (let cycle = 0; cycle < cycles; cycle++) {
            const result = run('weighted', candidates, total, state);
            state = result.state;
            for (const c of candidates)
              assert.equal(result.ids.filter((id) => id === c.id).length, c.weight);
          }
        },
      ),
    );
  });

  test('a weight of zero is never picked', () => {
    assert.ok(!run('weighted', abc([3, 0, 2]), 50).ids.includes('B'));
  });
});

describe('least connections', () => {
  test('sends nothing to a saturated backend while another has room', () => {
    const candidates = [
      { id: 'A', inFlight: 50, weight: 1 },
      { id: 'B', inFlight: 2, weight: 1 },
      { id: 'C', inFlight: 3, weight: 1 },
    ];
    let state = INITIAL_BALANCER_STATE;
    for (let i = 0; i < 40; i++) {
      const next = pick('least-connections', state, candidates);
      state = next.state;
      assert.notEqual(next.id, 'A');
      candidates.find((c) => c.id === next.id)!.inFlight += 1;
    }
  });

  test('ties are broken round robin', () => {
    assert.deepEqual(run('least-connections', abc(), 6).ids, ['A', 'B', 'C', 'A', 'B', 'C']);
  });
});

describe('every algorithm', () => {
  test('never picks an ejected or unhealthy backend, and picks someone whenever one is eligible', () => {
    const event = fc.oneof(
      fc.record({ kind: fc.constant('pass' as const), node: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('fail' as const), node: fc.integer({ min: 0, max: 3 }) }),
      fc.record({
        kind: fc.constant('requestFailed' as const),
        node: fc.integer({ min: 0, max: 3 }),
      }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 5_000 }) }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...LB_ALGORITHMS),
        fc.array(event, { maxLength: 60 }),
        (algorithm, events) => {
          const health: BackendHealth[] = Array.from({ length: 4 }, () => NEW_BACKEND);
          let now = 0;
          let state = INITIAL_BALANCER_STATE;
          for (const e of events) {
            if (e.kind === 'tick') now += e.ms;
            else if (e.kind === 'pass')
              health[e.node] = checkPassed(health[e.node]!, DEFAULT_HEALTH_CONFIG);
            else if (e.kind === 'fail')
              health[e.node] = checkFailed(health[e.node]!, DEFAULT_HEALTH_CONFIG);
            else health[e.node] = requestFailed(health[e.node]!, now, DEFAULT_HEALTH_CONFIG);
            const candidates = health.flatMap((h, i) =>
              eligible(h, now) ? [{ id: `n${i}`, inFlight: i, weight: i + 1 }] : [],
            );
            const next = pick(algorithm, state, candidates);
            state = next.state;
            if (candidates.length)
              assert.ok(
                candidates.some((c) => c.id === next.id),
                `${algorithm} picked ${next.id}`,
              );
            else assert.equal(next.id, null);
          }
        },
      ),
    );
  });
});

describe('health', () => {
  test('a backend that says it is stopping is out at once, back after `rise` passed checks', () => {
    const cfg = { ...DEFAULT_HEALTH_CONFIG, rise: 2, fall: 3 };
    let h = checkPassed(checkPassed(NEW_BACKEND, cfg), cfg);
    assert.equal(h.healthy, true);
    h = checkSaidStopping(h, cfg);
    assert.equal(h.healthy, false, 'one answer, not `fall` of them');
    h = checkPassed(h, cfg);
    assert.equal(h.healthy, false);
    assert.equal(checkPassed(h, cfg).healthy, true);
  });

  test('rise and fall thresholds; ejection back-off doubles and is capped', () => {
    const cfg = {
      ...DEFAULT_HEALTH_CONFIG,
      rise: 2,
      fall: 3,
      ejectBaseMs: 1_000,
      ejectMaxMs: 4_000,
    };
    let h = checkPassed(NEW_BACKEND, cfg);
    assert.equal(h.healthy, false);
    h = checkPassed(h, cfg);
    assert.equal(h.healthy, true);
    h = checkFailed(checkFailed(h, cfg), cfg);
    assert.equal(h.healthy, true);
    h = checkFailed(h, cfg);
    assert.equal(h.healthy, false);

    h = checkPassed(checkPassed(h, cfg), cfg);
    const ejectedAt = [0, 10_000, 20_000, 30_000];
    const backoffs = ejectedAt.map((t) => {
      h = requestFailed(h, t, cfg);
      const until = h.ejectedUntilMs - t;
      h = { ...h, healthy: true };
      return until;
    });
    assert.deepEqual(backoffs, [1_000, 2_000, 4_000, 4_000]);
    // Failures of requests that were in flight at the ejection do not extend it.
    const ejected = requestFailed(h, 50_000, cfg);
    assert.deepEqual(requestFailed(ejected, 50_001, cfg), ejected);
    assert.equal(eligible({ ...h, healthy: true, deadInCluster: true }, 99_999), false);
  });
});

describe("the cluster's view of a node", () => {
  /** Reports of a partition: every node of a side sees its own side alive and the other dead. */
  function partitionReports(sides: string[][], reporters: string[]): ClusterReport[] {
    return reporters.map((reporter) => {
      const own = sides.find((s) => s.includes(reporter))!;
      return {
        reporter,
        statuses: new Map(sides.flat().map((id) => [id, own.includes(id) ? 'alive' : 'dead'])),
      };
    });
  }
  const minority = ['node-1', 'node-2'];
  const majority = ['node-3', 'node-4', 'node-5'];

  test("a partition: the minority is dropped, the majority kept — even when a majority node's report is missing", () => {
    for (const reporters of [
      [...minority, ...majority],
      [...minority, 'node-3', 'node-4'],
      [...minority, 'node-3'],
    ]) {
      const reports = partitionReports([minority, majority], reporters);
      for (const id of majority)
        assert.equal(
          reportedDeadByMajority(id, reports, 5),
          false,
          `${id} with reports of ${reporters.join(',')}`,
        );
    }
    const all = partitionReports([minority, majority], [...minority, ...majority]);
    for (const id of minority) assert.equal(reportedDeadByMajority(id, all, 5), true, id);
  });

  test("a node counts only the others' reports, and half of them is not most", () => {
    const selfDead: ClusterReport = { reporter: 'node-1', statuses: new Map([['node-1', 'dead']]) };
    assert.equal(reportedDeadByMajority('node-1', [selfDead], 2), false);
    const oneOfTwo = partitionReports([['node-1'], ['node-2'], ['node-3']], ['node-2']);
    assert.equal(reportedDeadByMajority('node-1', oneOfTwo, 3), false);
    assert.equal(
      reportedDeadByMajority(
        'node-1',
        partitionReports([['node-1'], ['node-2', 'node-3']], ['node-2', 'node-3']),
        3,
      ),
      true,
    );
    assert.equal(reportedDeadByMajority('node-1', [], 1), false);
  });

  test('a 503 is an answer, not a failing node; other 5xx count against it', () => {
    assert.deepEqual([200, 409, 499, 500, 502, 503, 504].map(isNodeFailure), [
      false,
      false,
      false,
      true,
      true,
      false,
      true,
    ]);
  });
});
