/**
 * Deterministic discrete-event simulation of a cluster of replicas.
 *
 * Each node runs a replication core exactly as the node shell will: the simulator delivers
 * messages, turns `setTimer` effects into `timer` events (with entropy from the seeded source),
 * persists `persist` effects to the node's disk before sending anything, and answers clients.
 * Around the cores it models the rest of the shell: a failure detector (each node re-checks who
 * is reachable every few hundred ms, with optional false suspicions) and, for master-slave, the
 * election layer (after a topology change the highest-priority node of a majority component is
 * granted a new epoch; nodes hear of it after a random delay, so a deposed master may act for a
 * while). Time, crashes, restarts and the network, which loses, delays (hence reorders) and
 * duplicates messages and is partitioned, come from SimCluster (sim/sim-cluster), shared
 * with the election simulator.
 * A crashed node keeps only its disk; a restart rebuilds the core from it.
 *
 * All randomness comes from one seed and events run in (time, seq) order, so a seed replays.
 */
import { highestPriority } from '../../core/node-id';
import type { VectorClock } from '../../core/vector-clock';
import { PERFECT_NETWORK, type NetworkConditions } from '../network';
import type { Random } from '../../core/random';
import { CoreTimers, stepTraceLine } from '../scheduler';
import { SimCluster, type DeliverEvent, type TimerEvent } from '../sim-cluster';
import type { PersistedMeta, ReplicationCore, ReplicationEvent, ReplicationMessage, ReplicaState } from '../../core/replication/replication';
import { contentOf, restoreStore, type Entry, type ReplicaStore } from '../../core/replication/store';
import type { FinalReplica, ReplicationHistory, Stamp, TopologyChange } from './history';
import type { Consistency } from '../../core/vocabulary';

export { PERFECT_NETWORK, type NetworkConditions } from '../network';

export interface DetectorConfig {
  /** Each node re-checks reachability every [min, max] ms. */
  readonly minCheckMs: number;
  readonly maxCheckMs: number;
  /** Chance that a check wrongly reports one reachable peer dead. */
  readonly falseSuspicionRate: number;
}

export const DEFAULT_DETECTOR: DetectorConfig = { minCheckMs: 150, maxCheckMs: 400, falseSuspicionRate: 0 };

export interface ElectionModel {
  /** Delay after a topology change before the election layer settles. */
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** Extra delay per node before it hears the result. */
  readonly maxNotifyMs: number;
  /** Nodes cut off from the majority hear "no leader" up to this much later (a deposed master acts on meanwhile). */
  readonly maxDeposedNotifyMs: number;
}

export const DEFAULT_ELECTION_MODEL: ElectionModel = { minDelayMs: 300, maxDelayMs: 900, maxNotifyMs: 150, maxDeposedNotifyMs: 1500 };

/** Physical clocks start here (plus each node's skew), so timestamps are positive like Date.now(). */
export const CLOCK_ORIGIN_MS = 1_000_000;

export interface ReplicationClusterOptions {
  readonly seed: number;
  readonly core: ReplicationCore;
  readonly nodeIds: readonly string[];
  readonly network?: NetworkConditions;
  /** Physical clock offset per node, ms. */
  readonly skewMs?: Readonly<Record<string, number>>;
  readonly detector?: DetectorConfig;
  /** Run the election model and feed `leader` events (default: for master-slave only). */
  readonly election?: boolean;
  readonly electionModel?: ElectionModel;
  readonly trace?: (line: string) => void;
  /** Called after every core step (the spread benchmark watches stores through it). */
  readonly onStep?: (node: string, time: number, state: ReplicaState) => void;
}

export type WriteOutcome = { ok: true; entry: Entry; token: VectorClock; replicas: number } | { ok: false; error: string };
export type ReadOutcome = { ok: true; entry: Entry | null; token: VectorClock; servedBy: string } | { ok: false; error: string };

/** No core answered within this: recorded as `client-timeout` (a liveness bug; see checkers). */
export const CLIENT_TIMEOUT_MS = 10_000;

interface Disk {
  readonly entries: Map<string, Entry>;
  meta: PersistedMeta | undefined;
}

interface NodeRuntime {
  readonly id: string;
  up: boolean;
  incarnation: number;
  state: ReplicaState;
  readonly disk: Disk;
  readonly timers: CoreTimers;
  view: readonly string[];
  leaderInfo: string;
  leaderNotifyAt: number;
  readonly skewMs: number;
}

interface Envelope {
  readonly from: string;
  readonly to: string;
  readonly msg: ReplicationMessage;
}

type SimEvent =
  | DeliverEvent<Envelope>
  | TimerEvent
  | { readonly kind: 'detect'; readonly node: string; readonly inc: number }
  | { readonly kind: 'leader'; readonly node: string; readonly inc: number; readonly leader: string | null; readonly epoch: number };

interface PendingClient {
  readonly node: string;
  readonly inc: number;
  readonly resolve: (result: WriteOutcome | ReadOutcome) => void;
}

export class ReplicationCluster extends SimCluster<NodeRuntime, Envelope, SimEvent, ReplicationHistory> {
  private core: ReplicationCore;
  private readonly entropyRng: Random;
  private detector: DetectorConfig;
  private readonly electionOption: boolean | undefined;
  private readonly electionModel: ElectionModel;
  private register: { epoch: number; leader: string | null; leaderInc: number; active: boolean } = { epoch: 0, leader: null, leaderInc: 0, active: false };
  private readonly clients = new Map<string, PendingClient>();
  private requestSeq = 0;
  private readonly trace: ((line: string) => void) | undefined;
  private readonly onStep: ReplicationClusterOptions['onStep'];

  constructor(options: ReplicationClusterOptions) {
    const history: ReplicationHistory = {
      seed: options.seed,
      mode: options.core.mode,
      nodeIds: [...options.nodeIds],
      ops: [],
      topology: [],
      droppedMessages: 0,
      deliveredMessages: 0,
      finalReplicas: [],
      endTime: 0,
    };
    super(options.seed, history, options.network ?? PERFECT_NETWORK);
    this.core = options.core;
    this.entropyRng = this.rng.fork();
    this.detector = options.detector ?? DEFAULT_DETECTOR;
    this.electionOption = options.election;
    this.electionModel = options.electionModel ?? DEFAULT_ELECTION_MODEL;
    this.trace = options.trace;
    this.onStep = options.onStep;
    for (const id of options.nodeIds) {
      this.nodes.set(id, {
        id,
        up: false,
        incarnation: 0,
        state: this.core.init(id, options.nodeIds),
        disk: { entries: new Map(), meta: undefined },
        timers: new CoreTimers(),
        view: [],
        leaderInfo: '',
        leaderNotifyAt: 0,
        skewMs: options.skewMs?.[id] ?? 0,
      });
    }
  }

  get mode(): string {
    return this.core.mode;
  }

  // ------------------------------------------------------------------ control

  crash(id: string): void {
    if (this.takeDown(id) === undefined) return;
    for (const [requestId, c] of [...this.clients]) {
      if (c.node === id) {
        this.clients.delete(requestId);
        this.at(this.now, () => c.resolve({ ok: false, error: 'connection-lost' }));
      }
    }
    this.topologyChanged('crash');
  }

  /** (Re)start a node from its disk. */
  restart(id: string): void {
    const started = this.bringUp(id);
    if (started === undefined) return;
    const node = started.node;
    node.view = [];
    node.leaderInfo = '';
    node.state = this.core.init(id, this.history.nodeIds, this.persisted(node));
    this.topologyChanged(started.kind);
    this.stepCore(node, { type: 'start', now: this.physicalNow(node) });
    this.scheduler.push(this.now + this.rng.float(1, this.detector.minCheckMs), { kind: 'detect', node: id, inc: node.incarnation });
  }

  setDetector(detector: DetectorConfig): void {
    this.detector = detector;
  }

  /** Switch strategy at runtime: every live node fails its pending requests and restarts its core on the same store. */
  switchCore(core: ReplicationCore): void {
    this.core = core;
    for (const node of this.nodes.values()) {
      if (!node.up) continue;
      this.stepCore(node, { type: 'stop', now: this.physicalNow(node) });
      node.timers.clear();
      node.state = core.init(node.id, this.history.nodeIds, this.persisted(node));
      node.leaderInfo = '';
      this.stepCore(node, { type: 'start', now: this.physicalNow(node) });
      this.stepCore(node, { type: 'alive', now: this.physicalNow(node), ids: node.view });
    }
    this.scheduleElection();
  }

  /** Feed an event straight into a node's core (scripted tests). */
  trigger(id: string, event: ReplicationEvent): void {
    const node = this.mustGet(id);
    if (node.up) this.stepCore(node, event);
  }

  // ------------------------------------------------------------------ clients

  /** A client write (`value: null` deletes the key). */
  write(session: string, nodeId: string, key: string, value: string | null, token: VectorClock, done?: (r: WriteOutcome) => void): void {
    const start = this.now;
    const deleted = value === null;
    this.request(nodeId, (requestId, now) => ({ type: 'write', now, requestId, key, value, deleted, token }), (result) => {
      const r = result as WriteOutcome;
      this.history.ops.push({
        kind: 'write',
        session,
        node: nodeId,
        key,
        value,
        start,
        end: this.now,
        ok: r.ok,
        ...(r.ok ? {} : { error: r.error }),
        stamp: r.ok ? stampOf(r.entry) : null,
      });
      done?.(r);
    });
  }

  read(session: string, nodeId: string, key: string, consistency: Consistency, token: VectorClock, done?: (r: ReadOutcome) => void): void {
    const start = this.now;
    this.request(nodeId, (requestId, now) => ({ type: 'read', now, requestId, key, consistency, token }), (result) => {
      const r = result as ReadOutcome;
      this.history.ops.push({
        kind: 'read',
        session,
        node: nodeId,
        key,
        consistency,
        start,
        end: this.now,
        ok: r.ok,
        ...(r.ok ? {} : { error: r.error }),
        stamp: r.ok && r.entry !== null ? stampOf(r.entry) : null,
        servedBy: r.ok ? r.servedBy : null,
      });
      done?.(r);
    });
  }

  private request(nodeId: string, event: (requestId: string, now: number) => ReplicationEvent, resolve: (r: WriteOutcome | ReadOutcome) => void): void {
    const node = this.mustGet(nodeId);
    if (!node.up) {
      this.at(this.now, () => resolve({ ok: false, error: 'unreachable' }));
      return;
    }
    const requestId = `${nodeId}/${++this.requestSeq}`;
    this.clients.set(requestId, { node: nodeId, inc: node.incarnation, resolve });
    this.at(this.now + CLIENT_TIMEOUT_MS, () => {
      const c = this.clients.get(requestId);
      if (c === undefined) return;
      this.clients.delete(requestId);
      c.resolve({ ok: false, error: 'client-timeout' });
    });
    this.stepCore(node, event(requestId, this.physicalNow(node)));
  }

  pendingClients(): number {
    return this.clients.size;
  }

  // ------------------------------------------------------------------ views

  state(id: string): ReplicaState {
    return this.mustGet(id).state;
  }

  /** A node's replica: the live store, or what its disk holds while it is down. */
  replica(id: string): ReplicaStore {
    const node = this.mustGet(id);
    if (node.up) return node.state.store;
    const p = this.persisted(node);
    return restoreStore(p?.entries ?? [], p?.meta?.store);
  }

  /** Do all live replicas hold the same digest (and no client waits)? */
  converged(): boolean {
    let digest: string | null = null;
    for (const node of this.nodes.values()) {
      if (!node.up) continue;
      const d = node.state.store.digest.join('');
      if (digest === null) digest = d;
      else if (d !== digest) return false;
    }
    return this.clients.size === 0;
  }

  finish(): ReplicationHistory {
    const finalReplicas: FinalReplica[] = [];
    for (const node of this.nodes.values()) {
      const store = this.replica(node.id);
      const entries = new Map<string, Stamp>();
      for (const e of store.entries.values()) entries.set(e.key, stampOf(e));
      finalReplicas.push({ id: node.id, up: node.up, digest: store.digest, content: contentOf(store), entries });
    }
    this.history.finalReplicas = finalReplicas;
    this.history.endTime = this.now;
    return this.history;
  }

  // ------------------------------------------------------------------ internals

  private persisted(node: NodeRuntime): { entries: Iterable<Entry>; meta?: PersistedMeta } | undefined {
    if (node.disk.meta === undefined && node.disk.entries.size === 0) return undefined;
    return node.disk.meta === undefined ? { entries: node.disk.entries.values() } : { entries: node.disk.entries.values(), meta: node.disk.meta };
  }

  private physicalNow(node: NodeRuntime): number {
    return CLOCK_ORIGIN_MS + this.now + node.skewMs;
  }

  /** Every topology change (re)starts the election layer. */
  protected override topologyChanged(kind: TopologyChange['kind']): void {
    super.topologyChanged(kind);
    this.scheduleElection();
  }

  private scheduleElection(): void {
    if (!(this.electionOption ?? this.core.mode === 'master-slave')) return;
    const m = this.electionModel;
    this.at(this.now + this.rng.float(m.minDelayMs, m.maxDelayMs), () => this.settleElection());
  }

  /** The election layer's outcome: the highest-priority node of a majority component leads a new epoch. */
  private settleElection(): void {
    const byComponent = new Map<number, string[]>();
    for (const node of this.nodes.values()) {
      if (!node.up) continue;
      const c = this.network.componentOf(node.id);
      byComponent.set(c, [...(byComponent.get(c) ?? []), node.id]);
    }
    const majority = [...byComponent.values()].find((g) => g.length * 2 > this.nodes.size) ?? [];
    const candidate = highestPriority(majority);
    const reg = this.register;
    if (candidate === null) reg.active = false;
    else {
      const inc = this.mustGet(candidate).incarnation;
      if (!reg.active || reg.leader !== candidate || reg.leaderInc !== inc) {
        this.register = { epoch: reg.epoch + 1, leader: candidate, leaderInc: inc, active: true };
      }
    }
    const r = this.register;
    for (const node of this.nodes.values()) {
      if (!node.up) continue;
      const inMajority = majority.includes(node.id) && r.active;
      const leader = inMajority ? r.leader : null;
      const epoch = inMajority ? r.epoch : 0;
      const info = `${leader}@${epoch}`;
      if (node.leaderInfo === info) continue;
      node.leaderInfo = info;
      const m = this.electionModel;
      const delay = this.rng.float(0, m.maxNotifyMs) + (leader === null ? this.rng.float(0, m.maxDeposedNotifyMs) : 0);
      // A node hears the election layer's verdicts in the order they were reached.
      node.leaderNotifyAt = Math.max(node.leaderNotifyAt, this.now + delay);
      this.scheduler.push(node.leaderNotifyAt, { kind: 'leader', node: node.id, inc: node.incarnation, leader, epoch });
    }
  }

  private detect(node: NodeRuntime): void {
    let view = this.history.nodeIds.filter((p) => p !== node.id && this.network.reachable(node.id, p));
    if (this.detector.falseSuspicionRate > 0 && view.length > 0 && this.rng.chance(this.detector.falseSuspicionRate)) {
      const victim = this.rng.pick(view);
      view = view.filter((p) => p !== victim);
    }
    if (view.length !== node.view.length || view.some((p, i) => node.view[i] !== p)) {
      node.view = view;
      this.stepCore(node, { type: 'alive', now: this.physicalNow(node), ids: view });
    }
    this.scheduler.push(this.now + this.rng.float(this.detector.minCheckMs, this.detector.maxCheckMs), { kind: 'detect', node: node.id, inc: node.incarnation });
  }

  protected handle(event: SimEvent): void {
    if (event.kind === 'deliver') {
      if (!this.network.arrives(event.env)) return;
      const { from, to, msg } = event.env;
      const node = this.mustGet(to);
      this.stepCore(node, { type: 'message', now: this.physicalNow(node), from, msg });
      return;
    }
    const node = this.liveTarget(event);
    if (node === undefined) return;
    switch (event.kind) {
      case 'timer':
        if (!node.timers.fire(event.name, event.gen)) return;
        this.stepCore(node, { type: 'timer', now: this.physicalNow(node), name: event.name, entropy: this.entropyRng.int(0, 0xffffffff) });
        return;
      case 'detect':
        this.detect(node);
        return;
      case 'leader':
        this.stepCore(node, { type: 'leader', now: this.physicalNow(node), leader: event.leader, epoch: event.epoch });
        return;
    }
  }

  private stepCore(node: NodeRuntime, event: ReplicationEvent): void {
    const result = this.core.step(node.state, event);
    node.state = result.state;
    if (this.trace !== undefined) {
      const s = result.state;
      this.trace(stepTraceLine(this.now, node.id, event, `role=${s.role} leader=${s.leader} epoch=${s.epoch} seen=${JSON.stringify(s.store.seen)}`, result));
    }
    // Persist before anything leaves the node.
    for (const effect of result.effects) {
      if (effect.type !== 'persist') continue;
      for (const e of effect.entries) node.disk.entries.set(e.key, e);
      node.disk.meta = effect.meta;
    }
    for (const { to, msg } of result.send) this.network.send(this.now, { from: node.id, to, msg });
    for (const effect of result.effects) {
      if (this.applyTimerEffect(node, effect)) continue;
      switch (effect.type) {
        case 'writeResult':
        case 'readResult': {
          const c = this.clients.get(effect.requestId);
          if (c === undefined) break;
          this.clients.delete(effect.requestId);
          const outcome: WriteOutcome | ReadOutcome = effect.ok
            ? effect.type === 'writeResult'
              ? { ok: true, entry: effect.entry, token: effect.token, replicas: effect.replicas }
              : { ok: true, entry: effect.entry, token: effect.token, servedBy: effect.servedBy }
            : { ok: false, error: effect.error };
          this.at(this.now, () => c.resolve(outcome)); // the client hears it after this step
          break;
        }
        case 'persist':
          break;
      }
    }
    this.onStep?.(node.id, this.now, node.state);
  }
}

export function stampOf(e: Entry): Stamp {
  return { key: e.key, origin: e.origin, seq: e.seq, ts: e.ts, deleted: e.deleted };
}
