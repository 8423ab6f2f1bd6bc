import type { TestCluster } from '../harness/cluster';
import type { FaultKind, HistoryWriter } from './history';
import { FAULT_KINDS } from './history';
import { Random } from './random';
import {
  LB_ALGORITHMS, REPLICATION_MODES, type LbAlgorithm, type ReplicationMode,
} from '../core/vocabulary';
import type { AnswerOf } from '../contract/operations';

/**
 * The nemesis: Jepsen's faults against the real cluster, on a schedule drawn from the seed —
 * SIGKILL and restart a node (the leader more often than not), pause one (SIGSTOP/SIGCONT),
 * partition nodes from each other, bump or strobe one node's clock, switch the replication mode
 * and the balancing algorithm. One fault at a time; each is recorded as a window (start/stop
 * events) in the history and healed before the next. `heal()` undoes everything, whatever state
 * a failure left behind.
 */


export type FaultStep = {
  kind: FaultKind;
  /** Quiet time before the fault. */
  gapMs: number;
  /** How long the fault lasts; for the switches, how long their window is observed. */
  durationMs: number;
  /** kill / pause / clock: the leader at that moment, or a node chosen by `pick`. */
  target: 'leader' | 'random';
  /** In [0, 1): which node, among the candidates, when the target is random. */
  pick: number;
  partition?: 'isolate-leader' | 'isolate-one' | 'halves';
  /** clock-bump: the skew; clock-strobe: the amplitude. */
  skewMs?: number;
  strobe?: { periodMs: number; flips: number };
  mode?: ReplicationMode;
  algorithm?: LbAlgorithm;
};

export type ScheduleOptions = {
  durationMs: number;
  /** Quiet time between faults, [min, max] ms. */
  gapMs?: [number, number];
  /** Length of a kill / pause / partition / clock bump, [min, max] ms. */
  faultMs?: [number, number];
  /** Window observed after an instantaneous switch (mode, balancer). */
  switchWindowMs?: number;
  /** Share of kills, pauses and clock faults aimed at the current leader. */
  leaderBias?: number;
};

const WEIGHTS: Record<FaultKind, number> = {
  kill: 3, pause: 2, partition: 3, 'clock-bump': 1, 'clock-strobe': 1, 'replication-mode': 1, 'lb-algorithm': 1,
};
/** The schedule ends here even if faults are short: a bound on its length. */
const MAX_STEPS = 10_000;
/** A restart usually takes this long on a busy machine; the planner leaves room for it. */
const EXPECTED_RESTART_MS = 4_000;

/**
 * The seeded schedule: every kind of fault once first (in a seeded order), then kinds drawn by
 * weight, until the planned time reaches the duration.
 */
export function planSchedule(seed: number, options: ScheduleOptions): FaultStep[] {
  const rng = Random.derive(seed, 1_000_003);
  const [gapMin, gapMax] = options.gapMs ?? [1_000, 4_000];
  const [faultMin, faultMax] = options.faultMs ?? [1_500, 6_000];
  const switchWindowMs = options.switchWindowMs ?? 3_000;
  const leaderBias = options.leaderBias ?? 0.6;
  const steps: FaultStep[] = [];
  let plannedMs = 0;
  let mode: ReplicationMode = 'multi-master';
  let algorithm: LbAlgorithm = 'round-robin';
  const firstRound = rng.shuffle(FAULT_KINDS);
  while (steps.length < MAX_STEPS) {
    const kind = steps.length < firstRound.length ? firstRound[steps.length]! : rng.weighted(WEIGHTS);
    const gapMs = rng.int(gapMin, gapMax);
    const step: FaultStep = { kind, gapMs, durationMs: rng.int(faultMin, faultMax), target: rng.chance(leaderBias) ? 'leader' : 'random', pick: rng.next() };
    switch (kind) {
      case 'partition':
        step.partition = rng.weighted({ 'isolate-leader': 2, 'isolate-one': 1, halves: 2 });
        break;
      case 'clock-bump':
        step.skewMs = (rng.chance(0.5) ? 1 : -1) * rng.int(2_000, 60_000);
        break;
      case 'clock-strobe':
        step.skewMs = rng.int(1_000, 20_000);
        step.strobe = { periodMs: rng.int(100, 300), flips: rng.int(6, 16) };
        step.durationMs = step.strobe.periodMs * step.strobe.flips;
        break;
      case 'replication-mode':
        mode = rng.pick(REPLICATION_MODES.filter((m) => m !== mode));
        step.mode = mode;
        step.durationMs = switchWindowMs;
        break;
      case 'lb-algorithm':
        algorithm = rng.pick(LB_ALGORITHMS.filter((a) => a !== algorithm));
        step.algorithm = algorithm;
        step.durationMs = switchWindowMs;
        break;
      default:
        break;
    }
    const cost = gapMs + step.durationMs + (kind === 'kill' ? EXPECTED_RESTART_MS : 0);
    if (plannedMs + cost > options.durationMs && steps.length >= firstRound.length) break;
    plannedMs += cost;
    steps.push(step);
  }
  return steps;
}

// ── Executing it against real processes ──────────────────────────────────────────────────────────

const ADMIN_TIMEOUT_MS = 5_000;
const ELECTION_PROBE_TIMEOUT_MS = 1_000;
const HEAL_ATTEMPTS = 5;
const HEAL_RETRY_MS = 500;
const RESTART_ATTEMPTS = 3;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function postJson(url: string, body: unknown, token: string, timeoutMs = ADMIN_TIMEOUT_MS): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* keep the text */
  }
  return { status: res.status, body: parsed };
}

export type NemesisDeps = {
  cluster: TestCluster;
  gatewayUrl: string;
  adminToken: string;
  history: HistoryWriter;
  log: (msg: string) => void;
};

export class Nemesis {
  private readonly ids: string[];
  /** Nodes SIGKILLed and not yet running again. */
  readonly down = new Set<string>();
  /** Nodes SIGSTOPped and not yet continued. */
  readonly paused = new Set<string>();
  private partitioned = new Set<string>();
  private skewed = new Set<string>();
  private nextId = 1;
  private stopping = false;
  readonly injected: Partial<Record<FaultKind, number>> = {};

  constructor(private readonly deps: NemesisDeps) {
    this.ids = [...deps.cluster.nodes.keys()];
  }

  /** Stop starting new faults (the one in progress finishes and heals itself). */
  stop(): void {
    this.stopping = true;
  }

  private up(): string[] {
    return this.ids.filter((id) => !this.down.has(id) && !this.paused.has(id));
  }

  private url(id: string): string {
    return this.deps.cluster.node(id).url;
  }

  /** The leader most running nodes name (highest epoch first); undefined if none is agreed. */
  async leader(): Promise<string | undefined> {
    const views = await Promise.all(this.up().map(async (id) => {
      try {
        const res = await fetch(`${this.url(id)}/api/election`, { signal: AbortSignal.timeout(ELECTION_PROBE_TIMEOUT_MS) });
        return (await res.json()) as AnswerOf<'GET /api/election'>;
      } catch {
        return undefined;
      }
    }));
    const votes = new Map<string, number>();
    let best: { leader: string; epoch: number } | undefined;
    for (const v of views) {
      if (!v?.leader) continue;
      votes.set(v.leader, (votes.get(v.leader) ?? 0) + 1);
      if (!best || v.epoch > best.epoch) best = { leader: v.leader, epoch: v.epoch };
    }
    return best && this.up().includes(best.leader) ? best.leader : undefined;
  }

  private async target(step: FaultStep): Promise<string> {
    const candidates = this.up();
    if (step.target === 'leader') {
      const leader = await this.leader();
      if (leader) return leader;
    }
    return candidates[Math.floor(step.pick * candidates.length)] ?? this.ids[0]!;
  }

  private start(kind: FaultKind, targets: string[], detail: Record<string, unknown>): number {
    const id = this.nextId++;
    this.injected[kind] = (this.injected[kind] ?? 0) + 1;
    this.deps.history.record({ type: 'nemesis', phase: 'start', id, fault: kind, targets, detail });
    this.deps.log(`nemesis: ${kind} ${targets.join(',')} ${JSON.stringify(detail)}`);
    return id;
  }

  private finish(id: number, kind: FaultKind, targets: string[], detail?: Record<string, unknown>): void {
    this.deps.history.record({ type: 'nemesis', phase: 'stop', id, fault: kind, targets, ...(detail ? { detail } : {}) });
  }

  private error(id: number, kind: FaultKind, message: string): void {
    this.deps.history.record({ type: 'nemesis', phase: 'error', id, fault: kind, detail: { message } });
    this.deps.log(`nemesis: ${kind} failed: ${message}`);
  }

  private async faults(id: string, body: Record<string, unknown>): Promise<void> {
    const res = await postJson(`${this.url(id)}/api/faults`, body, this.deps.adminToken);
    if (res.status !== 200) throw new Error(`POST /api/faults on ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  }

  private signal(id: string, signal: NodeJS.Signals): void {
    const proc = this.deps.cluster.node(id).proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
  }

  private async restart(id: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deps.cluster.start(id);
        this.down.delete(id);
        return;
      } catch (err) {
        if (attempt >= RESTART_ATTEMPTS) throw err;
        this.deps.log(`nemesis: restart of ${id} failed (${String(err).slice(0, 200)}); again`);
        await this.deps.cluster.kill(id, 'SIGKILL').catch(() => {});
      }
    }
  }

  /**
   * Run the schedule until it ends or `deadlineT` (history time) would be passed — except the
   * first round (one fault of every kind), which always runs, so even a short run sees them all.
   */
  async run(schedule: FaultStep[], deadlineT: number): Promise<void> {
    for (const [i, step] of schedule.entries()) {
      if (this.stopping) return;
      await sleep(step.gapMs);
      if (this.stopping || (i >= FAULT_KINDS.length && this.deps.history.now() + step.durationMs > deadlineT)) return;
      await this.apply(step).catch((err: unknown) => this.error(0, step.kind, String(err)));
    }
  }

  private async apply(step: FaultStep): Promise<void> {
    switch (step.kind) {
      case 'kill': {
        const node = await this.target(step);
        const wasLeader = node === (await this.leader());
        this.down.add(node);
        await this.deps.cluster.kill(node, 'SIGKILL');
        const id = this.start('kill', [node], { wasLeader, downMs: step.durationMs });
        await sleep(step.durationMs);
        const began = performance.now();
        try {
          await this.restart(node);
        } catch (err) {
          this.error(id, 'kill', `restart of ${node}: ${String(err).slice(0, 300)}`);
        }
        this.finish(id, 'kill', [node], { restartMs: Math.round(performance.now() - began) });
        return;
      }
      case 'pause': {
        const node = await this.target(step);
        const wasLeader = node === (await this.leader());
        this.paused.add(node);
        this.signal(node, 'SIGSTOP');
        const id = this.start('pause', [node], { wasLeader, pausedMs: step.durationMs });
        await sleep(step.durationMs);
        this.signal(node, 'SIGCONT');
        this.paused.delete(node);
        this.finish(id, 'pause', [node]);
        return;
      }
      case 'partition': {
        const groups = await this.partitionGroups(step);
        const [minority, majority] = groups;
        const id = this.start('partition', minority, { shape: step.partition, minority, majority });
        for (const n of minority) this.partitioned.add(n);
        for (const n of majority) this.partitioned.add(n);
        try {
          await Promise.all([
            ...minority.map((n) => this.faults(n, { partitionedFrom: majority })),
            ...majority.map((n) => this.faults(n, { partitionedFrom: minority })),
          ]);
        } catch (err) {
          this.error(id, 'partition', String(err));
        }
        await sleep(step.durationMs);
        await this.healPartitions().catch((err: unknown) => this.error(id, 'partition', `heal: ${String(err)}`));
        this.finish(id, 'partition', minority);
        return;
      }
      case 'clock-bump': {
        const node = await this.target(step);
        this.skewed.add(node);
        const id = this.start('clock-bump', [node], { skewMs: step.skewMs });
        try {
          await this.faults(node, { clockSkewMs: step.skewMs });
        } catch (err) {
          this.error(id, 'clock-bump', String(err));
        }
        await sleep(step.durationMs);
        await this.faults(node, { clockSkewMs: 0 }).then(() => this.skewed.delete(node), (err: unknown) => this.error(id, 'clock-bump', `heal: ${String(err)}`));
        this.finish(id, 'clock-bump', [node]);
        return;
      }
      case 'clock-strobe': {
        const node = await this.target(step);
        const { periodMs, flips } = step.strobe!;
        this.skewed.add(node);
        const id = this.start('clock-strobe', [node], { amplitudeMs: step.skewMs, periodMs, flips });
        for (let i = 0; i < flips; i++) {
          const started = performance.now();
          await this.faults(node, { clockSkewMs: i % 2 === 0 ? step.skewMs! : -step.skewMs! }).catch((err: unknown) => this.error(id, 'clock-strobe', String(err)));
          await sleep(Math.max(0, periodMs - (performance.now() - started)));
        }
        await this.faults(node, { clockSkewMs: 0 }).then(() => this.skewed.delete(node), (err: unknown) => this.error(id, 'clock-strobe', `heal: ${String(err)}`));
        this.finish(id, 'clock-strobe', [node]);
        return;
      }
      case 'replication-mode': {
        const id = this.start('replication-mode', [], { mode: step.mode });
        let done = false;
        for (const node of this.up()) {
          const res = await postJson(`${this.url(node)}/api/replicas`, { mode: step.mode }, this.deps.adminToken).catch(() => undefined);
          if (res?.status === 200) {
            done = true;
            break;
          }
        }
        if (!done) this.error(id, 'replication-mode', `no node accepted mode ${step.mode}`);
        await sleep(step.durationMs);
        this.finish(id, 'replication-mode', []);
        return;
      }
      case 'lb-algorithm': {
        const id = this.start('lb-algorithm', [], { algorithm: step.algorithm });
        const res = await postJson(`${this.deps.gatewayUrl}/api/lb`, { algorithm: step.algorithm }, this.deps.adminToken).catch((err: unknown) => ({ status: 0, body: String(err) }));
        if (res.status !== 200) this.error(id, 'lb-algorithm', `POST /api/lb: ${res.status} ${JSON.stringify(res.body)}`);
        await sleep(step.durationMs);
        this.finish(id, 'lb-algorithm', []);
        return;
      }
    }
  }

  /** [minority, majority] of the running nodes for a partition step. */
  private async partitionGroups(step: FaultStep): Promise<[string[], string[]]> {
    const nodes = this.up();
    let minority: string[];
    if (step.partition === 'halves') {
      const size = Math.max(1, Math.floor((nodes.length - 1) / 2));
      const rotated = [...nodes.slice(Math.floor(step.pick * nodes.length)), ...nodes.slice(0, Math.floor(step.pick * nodes.length))];
      minority = rotated.slice(0, size);
    } else {
      minority = [step.partition === 'isolate-leader' ? await this.target({ ...step, target: 'leader' }) : await this.target({ ...step, target: 'random' })];
    }
    return [minority, this.ids.filter((id) => !minority.includes(id))];
  }

  private async healPartitions(): Promise<void> {
    const pending = [...this.partitioned];
    for (let attempt = 1; pending.length && attempt <= HEAL_ATTEMPTS; attempt++) {
      const results = await Promise.all(pending.map((n) => this.faults(n, { partitionedFrom: [] }).then(() => n, () => undefined)));
      for (const n of results) if (n) pending.splice(pending.indexOf(n), 1);
      if (pending.length) await sleep(HEAL_RETRY_MS);
    }
    this.partitioned = new Set(pending);
    if (pending.length) throw new Error(`could not heal the partition on ${pending.join(', ')}`);
  }

  /**
   * Undo everything: continue paused nodes, restart killed ones, heal every partition and clock
   * on every node (not only those this run remembers touching). Returns what it did.
   */
  async heal(): Promise<Record<string, unknown>> {
    this.stopping = true;
    const continued = [...this.paused];
    for (const id of this.ids) this.signal(id, 'SIGCONT');
    this.paused.clear();
    const restarted: string[] = [];
    for (const id of this.ids) {
      const proc = this.deps.cluster.node(id).proc;
      if (this.down.has(id) || !proc || proc.exitCode !== null || proc.signalCode !== null) {
        await this.restart(id);
        restarted.push(id);
      }
    }
    const failed: string[] = [];
    for (const id of this.ids) {
      let healed = false;
      for (let attempt = 1; !healed && attempt <= HEAL_ATTEMPTS; attempt++) {
        healed = await this.faults(id, { partitionedFrom: [], clockSkewMs: 0, paused: false }).then(() => true, () => false);
        if (!healed) await sleep(HEAL_RETRY_MS);
      }
      if (!healed) failed.push(id);
    }
    this.partitioned.clear();
    this.skewed.clear();
    const detail = { continued, restarted, failed };
    this.deps.history.record({ type: 'heal', detail });
    if (failed.length) this.deps.log(`nemesis: could not heal ${failed.join(', ')}`);
    return detail;
  }

  /** Last resort before stopping processes: nobody stays stopped (a SIGSTOPped process ignores SIGTERM). */
  continueAll(): void {
    for (const id of this.ids) this.signal(id, 'SIGCONT');
    this.paused.clear();
  }
}

/** Poll every running node's /api/election into the history until `stop` is called. */
export function sampleElections(deps: { cluster: TestCluster; history: HistoryWriter; skip: () => Set<string> }, intervalMs = 250): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      const skip = deps.skip();
      await Promise.all([...deps.cluster.nodes.keys()].filter((id) => !skip.has(id)).map(async (id) => {
        try {
          const res = await fetch(`${deps.cluster.node(id).url}/api/election`, { signal: AbortSignal.timeout(ELECTION_PROBE_TIMEOUT_MS) });
          if (res.status !== 200) return void (await res.arrayBuffer());
          const body = (await res.json()) as AnswerOf<'GET /api/election'>;
          deps.history.record({ type: 'election', node: body.nodeId ?? id, leader: body.leader, epoch: body.epoch });
        } catch {
          /* a node down, paused or slow: no sample */
        }
      }));
      await sleep(Math.max(0, intervalMs - (performance.now() - started)));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
