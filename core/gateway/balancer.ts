/**
 * Load-balancing algorithms as pure functions: the gateway passes the state and the backends
 * that may be chosen right now, and gets back the choice and the next state. No clock, no I/O.
 *
 * - round robin: each eligible backend in turn;
 * - least connections: fewest requests in flight at the gateway, ties broken round robin;
 * - smooth weighted round robin (nginx): every pick adds each backend's weight to its current
 *   value, takes the largest, and subtracts the total from the winner — weights 5:1:1 give
 *   A A B A C A A, spread out rather than in bursts.
 */
import type { LbAlgorithm } from '../vocabulary';

export type Candidate = { id: string; inFlight: number; weight: number };

export type BalancerState = {
  /** Round robin position: the id picked last (robust to backends joining and leaving). */
  lastPicked: string | null;
  /** Smooth WRR current weights, by backend id. */
  current: Readonly<Record<string, number>>;
};

export const INITIAL_BALANCER_STATE: BalancerState = { lastPicked: null, current: {} };

export type Pick = { id: string | null; state: BalancerState };

/** The candidate after `lastPicked` in id order (the first if none or if it left). */
function nextInTurn(candidates: readonly Candidate[], lastPicked: string | null): Candidate {
  const sorted = [...candidates].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (lastPicked === null) return sorted[0]!;
  return sorted.find((c) => c.id > lastPicked) ?? sorted[0]!;
}

export function roundRobin(state: BalancerState, candidates: readonly Candidate[]): Pick {
  if (!candidates.length) return { id: null, state };
  const chosen = nextInTurn(candidates, state.lastPicked);
  return { id: chosen.id, state: { ...state, lastPicked: chosen.id } };
}

export function leastConnections(state: BalancerState, candidates: readonly Candidate[]): Pick {
  if (!candidates.length) return { id: null, state };
  const fewest = Math.min(...candidates.map((c) => c.inFlight));
  const chosen = nextInTurn(
    candidates.filter((c) => c.inFlight === fewest),
    state.lastPicked,
  );
  return { id: chosen.id, state: { ...state, lastPicked: chosen.id } };
}

export function smoothWeighted(state: BalancerState, candidates: readonly Candidate[]): Pick {
  const usable = candidates.filter((c) => c.weight > 0);
  if (!usable.length) return { id: null, state };
  const current: Record<string, number> = {};
  let total = 0;
  let best: Candidate | null = null;
  for (const c of usable) {
    const value = (state.current[c.id] ?? 0) + c.weight;
    current[c.id] = value;
    total += c.weight;
    if (best === null || value > current[best.id]!) best = c;
  }
  current[best!.id]! -= total;
  return { id: best!.id, state: { lastPicked: best!.id, current } };
}

export function pick(
  algorithm: LbAlgorithm,
  state: BalancerState,
  candidates: readonly Candidate[],
): Pick {
  switch (algorithm) {
    case 'round-robin':
      return roundRobin(state, candidates);
    case 'least-connections':
      return leastConnections(state, candidates);
    case 'weighted':
      return smoothWeighted(state, candidates);
  }
}
