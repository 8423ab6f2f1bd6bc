/**
 * Backend health as a pure state machine. Active checks (rise/fall thresholds) decide `healthy`;
 * passive ejection takes a backend out at once after `ejectAfterFailures` consecutive failed
 * requests, for a back-off that doubles on every ejection (capped) and resets once it is healthy
 * again. A backend the cluster itself reports dead is never eligible.
 */
export type HealthConfig = {
  rise: number;
  fall: number;
  ejectAfterFailures: number;
  ejectBaseMs: number;
  ejectMaxMs: number;
};

export const DEFAULT_HEALTH_CONFIG: HealthConfig = {
  rise: 2,
  fall: 2,
  ejectAfterFailures: 1,
  ejectBaseMs: 1_000,
  ejectMaxMs: 30_000,
};

export type BackendHealth = {
  healthy: boolean;
  successes: number;
  failures: number;
  requestFailures: number;
  ejectedUntilMs: number;
  ejections: number;
  deadInCluster: boolean;
};

/** A new backend starts unhealthy: it must pass `rise` checks before it takes traffic. */
export const NEW_BACKEND: BackendHealth = {
  healthy: false,
  successes: 0,
  failures: 0,
  requestFailures: 0,
  ejectedUntilMs: 0,
  ejections: 0,
  deadInCluster: false,
};

export function checkPassed(h: BackendHealth, config: HealthConfig): BackendHealth {
  const successes = h.successes + 1;
  const healthy = h.healthy || successes >= config.rise;
  return {
    ...h,
    successes,
    failures: 0,
    healthy,
    ...(healthy && !h.healthy ? { ejections: 0 } : {}),
  };
}

export function checkFailed(h: BackendHealth, config: HealthConfig): BackendHealth {
  const failures = h.failures + 1;
  return { ...h, failures, successes: 0, healthy: h.healthy && failures < config.fall };
}

/**
 * The backend said it is stopping (draining for a shutdown): out at once, not after `fall`
 * failed checks, and back only through `rise` passed ones like any unhealthy backend.
 */
export function checkSaidStopping(h: BackendHealth, config: HealthConfig): BackendHealth {
  return { ...h, failures: Math.max(h.failures, config.fall), successes: 0, healthy: false };
}

export function requestSucceeded(h: BackendHealth): BackendHealth {
  return h.requestFailures === 0 ? h : { ...h, requestFailures: 0 };
}

export function requestFailed(
  h: BackendHealth,
  nowMs: number,
  config: HealthConfig,
): BackendHealth {
  // Requests already in flight when it was ejected fail together: that is one failure, not many.
  if (nowMs < h.ejectedUntilMs) return h;
  const requestFailures = h.requestFailures + 1;
  if (requestFailures < config.ejectAfterFailures) return { ...h, requestFailures };
  const backoff = Math.min(config.ejectMaxMs, config.ejectBaseMs * 2 ** h.ejections);
  // Ejected: out for the back-off, and it must pass `rise` fresh checks to come back.
  return {
    ...h,
    requestFailures: 0,
    ejectedUntilMs: nowMs + backoff,
    ejections: h.ejections + 1,
    healthy: false,
    successes: 0,
  };
}

export function eligible(h: BackendHealth, nowMs: number): boolean {
  return h.healthy && !h.deadInCluster && nowMs >= h.ejectedUntilMs;
}

/**
 * What one node said of the others at the last health check: id → its status (`alive`, `suspect`,
 * `dead`).
 */
export type ClusterReport = { reporter: string; statuses: ReadonlyMap<string, string> };

/**
 * Does most of the cluster report `id` dead? More than half of the other nodes the gateway knows
 * must say so — counted against all of them, not only those that reported this round: otherwise
 * the minority side of a partition, while a majority node's check is slow or in flight, outvotes
 * the majority and the gateway drops the very nodes that can still serve.
 */
export function reportedDeadByMajority(
  id: string,
  reports: readonly ClusterReport[],
  knownNodes: number,
): boolean {
  const others = knownNodes - 1;
  const dead = reports.filter((r) => r.reporter !== id && r.statuses.get(id) === 'dead').length;
  return others > 0 && dead * 2 > others;
}

/**
 * Does an answer count against its node (toward passive ejection)? A 5xx does — except 503: that
 * is a live node answering that it cannot serve this request now (a causal read its replica cannot
 * cover yet, the database away). Ejecting it would only send the same answer elsewhere, and during
 * a partition, when such answers come from every node, it emptied the gateway's list.
 */
export function isNodeFailure(statusCode: number): boolean {
  return statusCode >= 500 && statusCode !== 503;
}
