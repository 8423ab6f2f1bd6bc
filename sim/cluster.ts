/**
 * Deterministic discrete-event simulation of a MovieBook cluster.
 *
 * Each simulated node runs the real node's election shell — `ElectionDriver`
 * (node/cluster/election-driver.ts) over a Bully or Ring core, with the simulator's network,
 * register and timers as its seams — Lamport and vector clocks under the shell's clock rules
 * (core/clock-rules.ts, by the wire type each message would have), and Berkeley synchronization
 * with the elected leader as time daemon: its measurement is the daemon's own machine
 * (core/berkeley-round.ts), its corrections `planCorrections`. Around them the simulator plays the
 * rest of the shell: a heartbeat failure detector and the fencing register (a linearizable
 * compare-and-set that every node reaches, like PostgreSQL). Time, the network (loss, random
 * delay, hence reordering, and partitions), crashes and restarts come from SimCluster
 * (./sim-cluster), shared with the replication simulator. Nodes crash and restart; a restarted node keeps only what the shell persists: the
 * highest epoch seen and its logical clocks. Physical clocks have per-node skew and drift.
 *
 * All randomness comes from one seeded source and events run in (time, seq) order, so a seed
 * replays exactly.
 */
import * as berkeley from '../core/berkeley';
import type { SlewedOffset } from '../core/berkeley';
import {
  startMeasurement, stepMeasurement, type Measurement, type MeasurementStep,
} from '../core/berkeley-round';
import type { ClockTraceRecord } from '../core/clock-check';
import * as clocks from '../core/clock-rules';
import type { LogicalClock } from '../core/clock-rules';
import type { ElectionCore, ElectionEvent, ElectionMessage, ElectionState } from '../core/election';
import { ElectionDriver, type CoreTimerPort } from '../node/cluster/election-driver';
import * as fd from '../core/failure-detector';
import type { PeerStatus } from '../core/vocabulary';
import type { History, FinalNodeState } from './history';
import { PERFECT_NETWORK, type NetworkConditions } from './network';
import { CoreTimers, stepTraceLine } from './scheduler';
import { SimCluster, type DeliverEvent, type TimerEvent } from './sim-cluster';

export { PERFECT_NETWORK, type NetworkConditions } from './network';

export interface NodeClock {
  /** Physical clock minus true time at time 0. */
  readonly skewMs: number;
  /** Rate error of the physical clock, parts per million. */
  readonly driftPpm: number;
}

export interface BerkeleySimConfig {
  readonly syncIntervalMs: number;
  /** The daemon waits this long for poll replies, then corrects. */
  readonly roundTimeoutMs: number;
  readonly samplesPerNode: number;
  readonly outlierBoundMs: number;
  readonly maxRttMs: number;
  readonly maxSlewRate: number;
  /** No round starts at or after this time (lets the last corrections land before a check). */
  readonly stopAtMs: number;
}

export interface SimConfig {
  readonly heartbeatIntervalMs: number;
  /** The node's failure detector's settings (core/failure-detector.ts, as the shell runs it). */
  readonly failureDetector: fd.FailureDetectorConfig;
  readonly registerLatencyMinMs: number;
  readonly registerLatencyMaxMs: number;
  readonly recordCausality: boolean;
  readonly berkeley: BerkeleySimConfig;
}

export const DEFAULT_SIM_CONFIG: SimConfig = {
  heartbeatIntervalMs: 200,
  failureDetector: { suspectAfterMs: 500, deadAfterMs: 1000 },
  registerLatencyMinMs: 1,
  registerLatencyMaxMs: 5,
  recordCausality: true,
  berkeley: {
    syncIntervalMs: 1000,
    roundTimeoutMs: 300,
    samplesPerNode: 3,
    outlierBoundMs: 100,
    maxRttMs: 200,
    maxSlewRate: berkeley.DEFAULT_MAX_SLEW_RATE,
    stopAtMs: Number.POSITIVE_INFINITY,
  },
};

export interface ClusterOptions {
  readonly seed: number;
  readonly core: ElectionCore<ElectionState>;
  readonly nodeIds: readonly string[];
  readonly clocks?: Readonly<Record<string, NodeClock>>;
  readonly network?: NetworkConditions;
  readonly config?: SimConfig;
  /** Receives one line per core step (set SIM_TRACE=1 in the sim test to print a replay). */
  readonly trace?: (line: string) => void;
}

type Payload =
  | { readonly kind: 'election'; readonly msg: ElectionMessage }
  | { readonly kind: 'heartbeat' }
  | { readonly kind: 'timeRequest'; readonly epoch: number; readonly round: number; readonly index: number }
  | { readonly kind: 'timeReply'; readonly epoch: number; readonly round: number; readonly index: number; readonly clockMs: number }
  | { readonly kind: 'timeAdjust'; readonly epoch: number; readonly round: number; readonly deltaMs: number };

/** The shell's message type for each payload, which decides its clock rule. */
const WIRE_TYPE: Readonly<Record<Payload['kind'], string>> = {
  election: 'election',
  heartbeat: 'heartbeat',
  timeRequest: 'clock.poll',
  timeReply: 'clock.poll.reply',
  timeAdjust: 'clock.adjust',
};

interface Envelope {
  readonly from: string;
  readonly to: string;
  readonly payload: Payload;
  /** Unique per message, like the shell's from/boot/seq. */
  readonly id: string;
  readonly stamp: LogicalClock;
}

type SimEvent =
  | DeliverEvent<Envelope>
  | TimerEvent
  | { readonly kind: 'heartbeat'; readonly node: string; readonly inc: number }
  | { readonly kind: 'syncTick'; readonly node: string; readonly inc: number; readonly daemon: number }
  | { readonly kind: 'roundEnd'; readonly node: string; readonly inc: number; readonly daemon: number; readonly round: number }
  | { readonly kind: 'claimApply'; readonly node: string; readonly inc: number; readonly epoch: number; readonly leader: string }
  | { readonly kind: 'claimReply'; readonly node: string; readonly inc: number; event: ClaimResult };

type ClaimResult = Extract<ElectionEvent, { type: 'claimResult' }>;

interface Daemon {
  readonly id: number;
  readonly epoch: number;
  round: number;
  roundStartedAt: number;
  /** The round's measurement (core/berkeley-round.ts, the real daemon's); null between rounds. */
  measurement: Measurement | null;
}

interface NodeRuntime {
  readonly id: string;
  up: boolean;
  incarnation: number;
  /** The node's election shell (node/cluster/election-driver.ts), a new one per incarnation. */
  driver: ElectionDriver;
  readonly timers: CoreTimers;
  /** What each armed timer of the driver runs when it fires. */
  readonly onTimer: Map<string, () => void>;
  /** The shell's failure detector: what it heard when, and its last verdicts. */
  detector: fd.FailureDetectorState;
  verdicts: ReadonlyMap<string, PeerStatus>;
  /** Kept across crashes: the shell writes it on every change before it leaves the node. */
  logical: LogicalClock;
  sent: number;
  /** Message ids delivered, as the shell's replay guard refuses a second copy. */
  readonly delivered: Set<string>;
  readonly clock: NodeClock;
  offset: SlewedOffset;
  persistedEpoch: number;
  daemon: Daemon | null;
  lastAdjust: { epoch: number; round: number };
}

export class Cluster extends SimCluster<NodeRuntime, Envelope, SimEvent, History> {
  readonly config: SimConfig;
  private readonly core: ElectionCore<ElectionState>;
  private register: { epoch: number; leader: string | null } = { epoch: 0, leader: null };
  private daemonSeq = 0;
  private readonly trace: ((line: string) => void) | undefined;

  constructor(options: ClusterOptions) {
    const history: History = {
      seed: options.seed,
      algorithm: options.core.name,
      nodeIds: [...options.nodeIds],
      leaderBeliefs: [],
      claimDecisions: [],
      registerOps: [],
      topology: [],
      clockReadings: [],
      clockTrace: [],
      droppedMessages: 0,
      deliveredMessages: 0,
      refusedAdjustments: 0,
      finalState: [],
      endTime: 0,
    };
    super(options.seed, history, options.network ?? PERFECT_NETWORK);
    this.core = options.core;
    this.trace = options.trace;
    this.config = options.config ?? DEFAULT_SIM_CONFIG;
    for (const id of options.nodeIds) {
      const fields: Omit<NodeRuntime, 'driver'> = {
        id,
        up: false,
        incarnation: 0,
        timers: new CoreTimers(),
        onTimer: new Map(),
        detector: new Map(),
        verdicts: new Map(),
        logical: clocks.LOGICAL_START,
        sent: 0,
        delivered: new Set(),
        clock: options.clocks?.[id] ?? { skewMs: 0, driftPpm: 0 },
        offset: berkeley.initialOffset(this.config.berkeley.maxSlewRate),
        persistedEpoch: 0,
        daemon: null,
        lastAdjust: { epoch: -1, round: -1 },
      };
      // The driver's seams close over the node, so it is set right after.
      const node = fields as NodeRuntime;
      node.driver = this.newDriver(node);
      this.nodes.set(id, node);
    }
  }

  // ------------------------------------------------------------------ control (fault injection)

  crash(id: string): void {
    const node = this.takeDown(id);
    if (node === undefined) return;
    node.daemon = null;
    this.topologyChanged('crash');
  }

  /** (Re)start a node from fresh state, keeping what the shell persists. */
  restart(id: string): void {
    const started = this.bringUp(id);
    if (started === undefined) return;
    const node = started.node;
    node.driver.stop();
    node.onTimer.clear();
    node.driver = this.newDriver(node);
    node.detector = fd.track(new Map(), this.history.nodeIds.filter((p) => p !== id), this.now);
    node.verdicts = new Map();
    node.offset = berkeley.initialOffset(this.config.berkeley.maxSlewRate);
    node.daemon = null;
    node.lastAdjust = { epoch: -1, round: -1 };
    this.topologyChanged(started.kind);
    node.logical = clocks.restore(clocks.LOGICAL_START, node.logical); // a fresh process reads its clock file
    this.recordClock({ node: id, kind: 'restore', clock: node.logical });
    node.driver.start('boot');
    this.scheduler.push(this.now, { kind: 'heartbeat', node: id, inc: node.incarnation });
  }

  /** A phantom claim: the register grants `epoch` to `leader` (e.g. a node that claimed, then died). */
  stealEpoch(epoch: number, leader: string): void {
    const ok = epoch > this.register.epoch;
    if (ok) this.register = { epoch, leader };
    this.history.registerOps.push({ time: this.now, node: leader, epoch, leader, ok, currentEpoch: this.register.epoch, currentLeader: this.register.leader });
  }

  /** Deliver a raw election message as if `from` had sent it (for scripted tests). */
  inject(from: string, to: string, msg: ElectionMessage): void {
    const node = this.mustGet(to);
    if (node.up) node.driver.onMessage(from, msg);
  }

  /** Feed an event straight into a node's core (for scripted tests, e.g. a manual trigger). */
  trigger(id: string, event: ElectionEvent): void {
    const node = this.mustGet(id);
    if (node.up) node.driver.handle(event);
  }

  // ------------------------------------------------------------------ views

  electionState(id: string): ElectionState {
    return this.mustGet(id).driver.state;
  }

  registerState(): { epoch: number; leader: string | null } {
    return { ...this.register };
  }

  localClock(id: string): number {
    return this.localNow(this.mustGet(id));
  }

  appClock(id: string): number {
    const node = this.mustGet(id);
    return berkeley.appClock(node.offset, this.localNow(node));
  }

  /** Snapshot of every node, stored into the history as its final state. */
  finish(): History {
    const finalState: FinalNodeState[] = [];
    for (const node of this.nodes.values()) {
      finalState.push({
        id: node.id,
        up: node.up,
        incarnation: node.incarnation,
        leader: node.driver.state.leader,
        epoch: node.driver.state.epoch,
        appClockMs: berkeley.appClock(node.offset, this.localNow(node)),
      });
    }
    this.history.finalState = finalState;
    this.history.endTime = this.now;
    return this.history;
  }

  // ------------------------------------------------------------------ internals

  private localNow(node: NodeRuntime): number {
    return this.now * (1 + node.clock.driftPpm / 1e6) + node.clock.skewMs;
  }

  private recordClock(record: ClockTraceRecord): void {
    if (this.config.recordCausality) this.history.clockTrace.push(record);
  }

  /** Each message is stamped by its type's send rule, as the shell's transport does. */
  private sendBatch(node: NodeRuntime, batch: readonly { to: string; payload: Payload }[]): void {
    for (const { to, payload } of batch) {
      const type = WIRE_TYPE[payload.kind];
      const rule = clocks.clockRule(type);
      node.logical = clocks.send(node.logical, node.id, rule);
      const id = `${node.id}/${node.incarnation}/${++node.sent}`;
      if (clocks.isClocked(rule)) this.recordClock({ node: node.id, kind: 'send', id, type, to, event: rule.send === 'tick', clock: node.logical });
      this.network.send(this.now, { from: node.id, to, payload, id, stamp: node.logical });
    }
  }

  /** The receive rule of the message's type, once the node accepted it (as the shell does). */
  private receiveClock(node: NodeRuntime, env: Envelope): void {
    const type = WIRE_TYPE[env.payload.kind];
    const rule = clocks.clockRule(type);
    if (rule.receive === 'none') return;
    node.logical = clocks.receive(node.logical, node.id, rule, env.stamp);
    this.recordClock({ node: node.id, kind: 'receive', id: env.id, type, from: env.from, effect: rule.receive, stamp: env.stamp, clock: node.logical });
  }

  protected handle(event: SimEvent): void {
    switch (event.kind) {
      case 'deliver':
        this.deliver(event.env);
        return;
      case 'claimApply': {
        const ok = event.epoch > this.register.epoch;
        if (ok) this.register = { epoch: event.epoch, leader: event.leader };
        this.history.registerOps.push({
          time: this.now,
          node: event.node,
          epoch: event.epoch,
          leader: event.leader,
          ok,
          currentEpoch: this.register.epoch,
          currentLeader: this.register.leader,
        });
        const result: ClaimResult = {
          type: 'claimResult',
          epoch: event.epoch,
          leader: event.leader,
          ok,
          currentEpoch: this.register.epoch,
          currentLeader: this.register.leader,
        };
        this.scheduler.push(this.now + this.registerLatency(), { kind: 'claimReply', node: event.node, inc: event.inc, event: result });
        return;
      }
      default:
        break;
    }
    const node = this.liveTarget(event);
    if (node === undefined) return;
    switch (event.kind) {
      case 'timer':
        if (!node.timers.fire(event.name, event.gen)) return;
        this.fireTimer(node, event.name);
        return;
      case 'heartbeat':
        this.heartbeat(node);
        return;
      case 'syncTick':
        this.startRound(node, event.daemon);
        return;
      case 'roundEnd':
        this.endRound(node, event.daemon, event.round);
        return;
      case 'claimReply':
        node.driver.claimResult(event.event);
        return;
    }
  }

  private registerLatency(): number {
    return this.rng.float(this.config.registerLatencyMinMs, this.config.registerLatencyMaxMs);
  }

  private deliver(env: Envelope): void {
    if (!this.network.arrives(env)) return;
    const node = this.mustGet(env.to);
    if (node.delivered.has(env.id)) return;
    node.delivered.add(env.id);
    const p = env.payload;
    if (p.kind === 'timeAdjust' && p.epoch < node.driver.state.epoch) {
      this.history.refusedAdjustments += 1; // fencing: a deposed daemon's correction, refused before it counts
      return;
    }
    this.receiveClock(node, env);
    switch (p.kind) {
      case 'election':
        node.driver.onMessage(env.from, p.msg);
        return;
      case 'heartbeat':
        node.detector = fd.heard(node.detector, env.from, this.now);
        this.evaluateDetector(node);
        return;
      case 'timeRequest':
        this.sendBatch(node, [
          {
            to: env.from,
            payload: { kind: 'timeReply', epoch: p.epoch, round: p.round, index: p.index, clockMs: berkeley.syncClock(node.offset, this.localNow(node)) },
          },
        ]);
        return;
      case 'timeReply':
        this.onTimeReply(node, env.from, p);
        return;
      case 'timeAdjust':
        this.applyAdjust(node, p.epoch, p.round, p.deltaMs);
        return;
    }
  }

  private heartbeat(node: NodeRuntime): void {
    const peers = this.history.nodeIds.filter((id) => id !== node.id);
    this.sendBatch(node, peers.map((to) => ({ to, payload: { kind: 'heartbeat' } as const })));
    this.evaluateDetector(node);
    this.history.clockReadings.push({
      time: this.now,
      node: node.id,
      incarnation: node.incarnation,
      appClockMs: berkeley.appClock(node.offset, this.localNow(node)),
    });
    this.scheduler.push(this.now + this.config.heartbeatIntervalMs, { kind: 'heartbeat', node: node.id, inc: node.incarnation });
  }

  /** The shell's rule: a verdict turned alive or dead is told to the election (cluster-node.ts). */
  private evaluateDetector(node: NodeRuntime): void {
    const cfg = this.config.failureDetector;
    const { verdicts, changes } = fd.reevaluate(node.detector, node.verdicts, this.now, cfg);
    node.verdicts = verdicts;
    for (const { id, status } of changes) {
      if (!node.up) break;
      if (status === 'alive') node.driver.peerAlive(id);
      else if (status === 'dead') node.driver.peerDead(id);
    }
  }

  /**
   * The node's election shell, as the real node builds it, with the simulator's seams: messages
   * onto the simulated network, claims against the simulated register, timers in simulated time.
   */
  private newDriver(node: NodeRuntime): ElectionDriver {
    return new ElectionDriver(node.id, this.core, {}, this.history.nodeIds, node.persistedEpoch, {
      send: ({ to, msg }) => this.sendBatch(node, [{ to, payload: { kind: 'election', msg } }]),
      claim: (epoch, leader) => {
        const [time, inc] = [this.now, node.incarnation];
        this.history.claimDecisions.push({ time, node: node.id, incarnation: inc, epoch, leader });
        const at = this.now + this.registerLatency();
        this.scheduler.push(at, { kind: 'claimApply', node: node.id, inc, epoch, leader });
      },
      leaderChanged: (leader, epoch) => {
        const [time, inc] = [this.now, node.incarnation];
        this.history.leaderBeliefs.push({ time, node: node.id, incarnation: inc, leader, epoch });
      },
      now: () => this.now,
      stepped: (event, result) => {
        const s = result.state;
        const summary = `${s.phase} leader=${s.leader} epoch=${s.epoch}`;
        this.trace?.(stepTraceLine(this.now, node.id, event, summary, result));
        node.persistedEpoch = s.epoch; // persist before sending
        this.updateDaemon(node, s);
      },
    }, this.timerPort(node));
  }

  private timerPort(node: NodeRuntime): CoreTimerPort {
    return {
      set: (name, afterMs, fire) => {
        node.onTimer.set(name, fire);
        const gen = node.timers.set(name);
        const timer = { kind: 'timer', node: node.id, inc: node.incarnation, name, gen } as const;
        this.scheduler.push(this.now + afterMs, timer);
      },
      cancel: (name) => {
        node.timers.cancel(name);
        node.onTimer.delete(name);
      },
      clear: () => {
        node.timers.clear();
        node.onTimer.clear();
      },
    };
  }

  private fireTimer(node: NodeRuntime, name: string): void {
    const fire = node.onTimer.get(name);
    node.onTimer.delete(name);
    fire?.();
  }

  // ------------------------------------------------------------------ Berkeley time daemon

  private updateDaemon(node: NodeRuntime, s: ElectionState): void {
    const leads = s.leader === node.id;
    if (!leads) {
      node.daemon = null;
      return;
    }
    if (node.daemon !== null && node.daemon.epoch === s.epoch) return;
    const daemon: Daemon = {
      id: ++this.daemonSeq, epoch: s.epoch, round: 0, roundStartedAt: this.now, measurement: null,
    };
    node.daemon = daemon;
    this.scheduler.push(this.now + 1, { kind: 'syncTick', node: node.id, inc: node.incarnation, daemon: daemon.id });
  }

  private startRound(node: NodeRuntime, daemonId: number): void {
    const d = node.daemon;
    if (d === null || d.id !== daemonId || this.now >= this.config.berkeley.stopAtMs) return;
    d.round += 1;
    d.roundStartedAt = this.now;
    const peers = this.history.nodeIds.filter((id) => id !== node.id);
    const samples = this.config.berkeley.samplesPerNode;
    this.measured(node, d, startMeasurement(peers, samples, this.syncNow(node)));
    this.scheduler.push(this.now + this.config.berkeley.roundTimeoutMs, {
      kind: 'roundEnd',
      node: node.id,
      inc: node.incarnation,
      daemon: d.id,
      round: d.round,
    });
  }

  private syncNow(node: NodeRuntime): number {
    return berkeley.syncClock(node.offset, this.localNow(node));
  }

  /** Send the polls a measurement step asks for; once it is done, correct. */
  private measured(node: NodeRuntime, d: Daemon, step: MeasurementStep): void {
    d.measurement = step.state;
    const { epoch, round } = d;
    this.sendBatch(node, step.polls.map(({ to, index }) => ({
      to, payload: { kind: 'timeRequest', epoch, round, index } as const,
    })));
    if (step.state.done) this.correct(node, d, step.state);
  }

  private onTimeReply(node: NodeRuntime, from: string, p: Extract<Payload, { kind: 'timeReply' }>): void {
    const d = node.daemon;
    if (d === null || d.measurement === null || p.epoch !== d.epoch || p.round !== d.round) return;
    const reply = { type: 'reply', from, index: p.index, remoteClock: p.clockMs, now: this.syncNow(node) } as const;
    this.measured(node, d, stepMeasurement(d.measurement, reply));
  }

  /** The round's timeout: it ends with the samples it has. */
  private endRound(node: NodeRuntime, daemonId: number, round: number): void {
    const d = node.daemon;
    if (d === null || d.id !== daemonId || d.round !== round || d.measurement === null) return;
    this.measured(node, d, stepMeasurement(d.measurement, { type: 'timeout' }));
  }

  private correct(node: NodeRuntime, d: Daemon, measurement: Measurement): void {
    d.measurement = null;
    const cfg = this.config.berkeley;
    const { outlierBoundMs, maxRttMs } = cfg;
    const plan = berkeley.planCorrections(node.id, measurement.samples, { outlierBoundMs, maxRttMs });
    const adjustments: { to: string; payload: Payload }[] = [];
    for (const [id, deltaMs] of Object.entries(plan.corrections)) {
      const payload = { kind: 'timeAdjust', epoch: d.epoch, round: d.round, deltaMs } as const;
      if (id !== node.id) adjustments.push({ to: id, payload });
    }
    this.sendBatch(node, adjustments);
    this.applyAdjust(node, d.epoch, d.round, plan.corrections[node.id] ?? 0);
    const nextAt = Math.max(this.now + 1, d.roundStartedAt + cfg.syncIntervalMs);
    this.scheduler.push(nextAt, { kind: 'syncTick', node: node.id, inc: node.incarnation, daemon: d.id });
  }

  private applyAdjust(node: NodeRuntime, epoch: number, round: number, deltaMs: number): void {
    if (epoch < node.driver.state.epoch) {
      this.history.refusedAdjustments += 1; // fencing: a deposed daemon's correction
      return;
    }
    const last = node.lastAdjust;
    if (epoch < last.epoch || (epoch === last.epoch && round <= last.round)) return;
    node.lastAdjust = { epoch, round };
    const local = this.localNow(node);
    const reading = (): void => {
      this.history.clockReadings.push({ time: this.now, node: node.id, incarnation: node.incarnation, appClockMs: berkeley.appClock(node.offset, local) });
    };
    reading();
    node.offset = berkeley.applyCorrection(node.offset, deltaMs, local);
    reading();
  }
}
