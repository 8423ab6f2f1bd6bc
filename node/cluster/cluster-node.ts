import type { Logger } from 'pino';
import type { z } from 'zod';
import type { ElectionConfig } from '../../core/election';
import { compareNodeIds } from '../../core/node-id';
import type { BerkeleyConfig } from '../../core/berkeley';
import { LOGICAL_START, restore as restoreClock } from '../../core/clock-rules';
import {
  DEFAULT_FRESHNESS_WINDOW_MS, DEFAULT_MAX_REMEMBERED_PER_SENDER, ReplayGuard, type Envelope,
} from '../../transport/envelope';
import type { FailureDetectorConfig, VerdictChange } from '../../core/failure-detector';
import { claimEpoch, currentLeadership, saveElectionAlgorithm } from '../../db/leadership';
import { noFaults, PeerTransport, PeerUnreachable, type Peer, type PeerFaults } from '../../transport/transport';
import type { Db } from '../../db/pool';
import { ClockSync } from './clock-sync';
import {
  PeerRouter, type Admit, type InboundResult, type PeerMessageHandler, type RefusedReason,
} from './peer-routes';
import { ClockFile } from './clock-file';
import { ClockTraceFile, type ClockTraceConfig } from './clock-trace';
import { ClusterClock, messageId } from './cluster-clock';
import { createCore, ElectionDriver } from './election-driver';
import { NamedTimers } from './named-timers';
import { Members } from './members';
import { LeaderDuties, type LeaderDuty } from './leader-duties';
import * as membership from '../../db/membership';
import * as wire from './peer-messages';
import type { KnownNode, NodeSummary, SyncRound } from '../../contract/cluster';
import type { ElectionAlgorithm, PeerStatus } from '../../core/vocabulary';

export type { LeaderDuty };

export type ClusterConfig = {
  nodeId: string;
  url: string;
  host: string;
  port: number;
  secret: string;
  heartbeatIntervalMs: number;
  failureDetector: FailureDetectorConfig;
  syncIntervalMs: number;
  membershipRefreshMs: number;
  memberTtlMs: number;
  electionAlgorithm: ElectionAlgorithm;
  election: Partial<ElectionConfig>;
  berkeley: BerkeleyConfig;
  clockSkewMs: number;
  /** Fixed peers (CLUSTER_PEERS) instead of discovery through server_nodes. */
  staticPeers: Peer[] | undefined;
  /** Where the logical clocks are written on every change (DATA_DIR/clocks/<nodeId>); none: database only. */
  clockFile?: string;
  /** Record a clock trace (CLOCK_TRACE_DIR, see clock-trace.ts). */
  clockTrace?: ClockTraceConfig;
};

/** What a node tells its peers in every heartbeat (and so what the monitor shows of it). */
/** What to answer a POST /api/peer: nothing (a cut network), a signed reply, or a refusal. */
export type { InboundResult };

/** A peer's send time may be this far from our wall clock (see docs/cluster.md, "Peer messages"). */
export const PEER_FRESHNESS_WINDOW_MS = DEFAULT_FRESHNESS_WINDOW_MS;

export class ClusterNode {
  readonly clock: ClusterClock;
  readonly faults: PeerFaults = noFaults();
  /** Fault injection: extra latency on this node's API requests (a slow node). */
  requestDelayMs = 0;
  private readonly replayGuard = new ReplayGuard({
    freshnessWindowMs: PEER_FRESHNESS_WINDOW_MS, startedAtMs: Date.now(), maxRememberedPerSender: DEFAULT_MAX_REMEMBERED_PER_SENDER,
  });
  private readonly transport: PeerTransport;
  private readonly driver: ElectionDriver;
  private readonly clockSync: ClockSync;
  private readonly members: Members<NodeSummary>;
  private readonly loops: NodeJS.Timeout[] = [];
  private readonly duties: LeaderDuties;
  private readonly router: PeerRouter;
  private readonly startedAt = new Date();
  private stopped = false;
  private readonly leaderListeners: ((leader: string | null, epoch: number) => void)[] = [];
  /** Leader changes this node has seen (the metrics). */
  leaderChanges = 0;
  private clockFile: ClockFile | undefined;
  private clockTrace: ClockTraceFile | undefined;

  constructor(
    private readonly config: ClusterConfig,
    private readonly db: Db,
    private readonly log: Logger,
    persistedEpoch: number,
    private readonly load: () => NodeSummary['load'],
  ) {
    this.clock = new ClusterClock(config.nodeId, config.clockSkewMs);
    this.transport = new PeerTransport(
      config.nodeId, config.secret,
      (m) => ({ epoch: this.driver?.view.epoch ?? persistedEpoch, ...this.clock.stampSend({ id: messageId(config.nodeId, m.boot, m.seq), type: m.type, to: m.to }) }),
      this.faults, this.replayGuard,
    );
    this.duties = new LeaderDuties(config.nodeId, db, log);
    this.members = new Members<NodeSummary>(config.failureDetector, {
      heartbeat: async (peer, summary) => {
        return (await this.call(peer, 'heartbeat', summary, wire.nodeSummary)).body;
      },
      isRefusal: (err) => err instanceof PeerUnreachable && err.refused,
      membershipChanged: (ids) => this.driver.membership(ids),
      verdictChanged: (change) => this.onVerdictChanged(change),
      now: () => Date.now(),
    });
    const core = createCore(config.electionAlgorithm, config.election);
    this.driver = new ElectionDriver(config.nodeId, core, config.election, [], persistedEpoch, {
      send: (out) => {
        const peer = this.members.get(out.to);
        if (peer) this.sendAndForget(peer, 'election', out.msg, wire.okReply);
      },
      claim: (epoch, leader, algorithm) => {
        claimEpoch(this.db, epoch, leader, algorithm).then(
          (result) => this.driver.claimResult({ type: 'claimResult', ...result }),
          (err: unknown) => this.log.warn({ err }, 'claim failed: the fencing register is unreachable'),
        );
      },
      leaderChanged: (leader, epoch) => this.onLeaderChanged(leader, epoch),
      now: () => Date.now(),
    }, new NamedTimers());
    this.router = this.createRouter();
    this.routeBuiltIns();
    this.clockSync = new ClockSync({
      nodeId: config.nodeId,
      clock: this.clock,
      berkeley: config.berkeley,
      leadingEpoch: () => this.duties.epoch,
      leaderView: () => this.driver.view,
      reachablePeers: () => this.members.reachable(),
      peer: (id) => this.members.get(id),
      call: (peer, type, body, schema) => this.call(peer, type, body, schema),
      route: (type, schema, handle, admit) => this.route(type, schema, handle, admit),
    });
    // While leading, a Berkeley round every interval, and a first one soon after winning, so a
    // skewed cluster is corrected without waiting.
    const every = config.syncIntervalMs;
    this.duties.addTask({ everyMs: every, firstAfterMs: Math.min(500, every), run: () => this.syncClocks() });
  }

  /** Inbound peer messages: what the router needs of the node. */
  private createRouter(): PeerRouter {
    return new PeerRouter({
      nodeId: this.config.nodeId,
      secret: this.config.secret,
      replayGuard: this.replayGuard,
      // A stopped node no longer takes part (its clock trace is closed; it would answer unrecorded).
      takesPartWith: (from) => !this.stopped && !this.faults.paused && !this.faults.partitionedFrom.has(from),
      heard: (from) => {
        this.members.heard(from);
        if (!this.members.has(from)) void this.refreshMembership();
      },
      delivered: (env) => this.clock.deliver({ id: messageId(env.from, env.boot, env.seq), type: env.type, from: env.from }, env),
      reply: (to, type, body) => {
        const { bytes, signature } = this.transport.envelope(to, type, body);
        return { bytes, signature };
      },
      now: () => Date.now(),
    });
  }

  static async create(config: ClusterConfig, db: Db, log: Logger, load: () => NodeSummary['load']): Promise<ClusterNode> {
    const clock = await membership.persistedClock(db, config.nodeId);
    await membership.register(db, { id: config.nodeId, url: config.url, pid: process.pid, host: config.host, port: config.port });
    const { epoch, algorithm } = await currentLeadership(db);
    const node = new ClusterNode({ ...config, electionAlgorithm: algorithm ?? config.electionAlgorithm }, db, log, epoch, load);
    node.openClockFiles();
    node.clock.restore(restoreClock(clock, node.clockFile?.persisted ?? LOGICAL_START));
    return node;
  }

  /** Persist every clock change before it can leave the node; record the trace if asked to. */
  private openClockFiles(): void {
    const { clockFile, clockTrace, nodeId } = this.config;
    this.clockFile = clockFile ? ClockFile.open(clockFile) : undefined;
    this.clockTrace = clockTrace ? ClockTraceFile.open(clockTrace, nodeId, this.transport.boot) : undefined;
    const file = this.clockFile;
    const trace = this.clockTrace;
    this.clock.attach({ ...(file && { persist: (c) => file.write(c) }), ...(trace && { record: (r) => trace.record(r) }) });
  }

  get nodeId(): string {
    return this.config.nodeId;
  }

  async start(): Promise<void> {
    await this.refreshMembership();
    this.driver.start('boot');
    this.every(this.config.membershipRefreshMs, () => this.refreshMembership());
    this.every(this.config.heartbeatIntervalMs, () => this.members.heartbeatRound(this.summary()));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.loops) clearInterval(t);
    this.duties.stop();
    this.driver.stop();
    await membership.leave(this.db, this.config.nodeId).catch(() => {});
    await this.transport.close();
    this.clock.attach({});
    this.clockFile?.close();
    this.clockTrace?.close();
  }

  /** A peer call whose reply counts in the clocks by its type's rule (a heartbeat's reply does). */
  private async call<S extends z.ZodType>(peer: Peer, type: string, body: unknown, replySchema: S, timeoutMs?: number): Promise<Envelope<z.output<S>>> {
    const reply = await this.transport.call(peer, type, body, replySchema, timeoutMs);
    this.clock.deliver({ id: messageId(reply.from, reply.boot, reply.seq), type: reply.type, from: reply.from }, reply);
    return reply;
  }

  /** Fire and forget; an unreachable peer is reported to the failure detector. */
  private sendAndForget(peer: Peer, type: string, body: unknown, replySchema: z.ZodType): void {
    this.call(peer, type, body, replySchema).catch((err: unknown) => {
      if (err instanceof PeerUnreachable) this.members.unreachable(err.peer, err);
    });
  }

  private every(ms: number, work: () => Promise<void> | void): void {
    const timer = setInterval(() => {
      Promise.resolve()
        .then(work)
        .catch((err: unknown) => this.log.warn({ err }, 'periodic task failed'));
    }, ms);
    this.loops.push(timer);
  }

  // ---- membership and failure detection -------------------------------------------------------

  private async refreshMembership(): Promise<void> {
    // Refreshing our row also persists our clocks, so a restart resumes above them.
    const discovered = await membership.refresh(this.db, this.config.nodeId, this.config.memberTtlMs, {
      leader: this.driver.view.leader, clock: { lamport: this.clock.lamport, vector: this.clock.vector },
    });
    const found = this.config.staticPeers ?? discovered;
    this.members.update(found.filter((p) => p.id !== this.config.nodeId));
  }

  private onVerdictChanged({ id, before, status }: VerdictChange): void {
    if (status === 'alive') this.driver.peerAlive(id);
    else if (status === 'dead') this.driver.peerDead(id);
    if (before !== undefined) this.log.info(`${id}: ${before} → ${status}`);
  }

  // ---- inbound messages -----------------------------------------------------------------------

  /** The raw bytes of a POST /api/peer, through the router (authenticated before any parsing). */
  handleInbound(bytes: Buffer, signature: string | undefined, fromHeader?: string): Promise<InboundResult> {
    return this.router.handle(bytes, signature, fromHeader);
  }

  /** Peer messages refused, by reason. */
  get refused(): PeerRouter['refused'] {
    return this.router.refused;
  }

  /** The cluster's own message types (the body schemas are in peer-wire.ts). */
  private routeBuiltIns(): void {
    this.route('heartbeat', wire.nodeSummary, (from, body) => {
      this.members.heard(from, body);
      return this.summary();
    });
    this.route('election', wire.electionMessage, (from, body) => {
      this.driver.onMessage(from, body);
      return { ok: true };
    });
    this.route('election.algorithm', wire.algorithmBody, (_from, body) => {
      this.driver.switchAlgorithm(body.algorithm);
      return { ok: true, algorithm: this.driver.algorithm };
    });
    this.route('election.trigger', wire.algorithmBody, (_from, body) => this.triggerElection(body.algorithm));
    this.route('election.stats', wire.emptyBody, () => this.electionStats());
  }

  private route<S extends z.ZodType>(type: string, schema: S, handle: PeerMessageHandler<z.output<S>>, admit?: Admit): void {
    this.router.route(type, schema, handle, admit);
  }

  // ---- for protocols built on the node (replication) --------------------------------------------

  /**
   * Handle peer messages of `type`, once their body parsed with `schema` (the handler's return
   * value is the signed reply's body). How they count in the clocks is their type's rule: protocol
   * messages are events.
   */
  on<S extends z.ZodType>(type: string, schema: S, handler: PeerMessageHandler<z.output<S>>): void {
    this.route(type, schema, handler);
  }

  /** Send a protocol message to a peer and wait for its reply body. */
  async request<S extends z.ZodType>(peerId: string, type: string, body: unknown, replySchema: S): Promise<z.output<S>> {
    const peer = this.members.get(peerId);
    if (!peer) throw new PeerUnreachable(peerId, false, `${peerId} is not a known peer`);
    return (await this.call(peer, type, body, replySchema)).body;
  }

  /** Peer ids, and those the failure detector believes alive. */
  peerIds(): string[] {
    return this.members.ids();
  }

  /** Peers not known dead. */
  reachablePeerIds(): string[] {
    return this.members.reachable().map((p) => p.id);
  }

  alivePeerIds(): string[] {
    return this.members.alive().map((p) => p.id);
  }

  get leader(): { leader: string | null; epoch: number } {
    const view = this.driver.view;
    return { leader: view.leader, epoch: view.epoch };
  }

  onLeaderChange(listener: (leader: string | null, epoch: number) => void): void {
    this.leaderListeners.push(listener);
  }

  /** Count a refused message; the reason is the message of the error answered. */
  refuse(reason: RefusedReason, status: number, code: string, message: string = reason): InboundResult {
    return this.router.refuse(reason, status, code, message);
  }

  // ---- leadership -----------------------------------------------------------------------------

  private onLeaderChanged(leader: string | null, epoch: number): void {
    this.leaderChanges += 1;
    this.log.info(leader ? `leader is ${leader} (epoch ${epoch})` : `no leader (epoch ${epoch})`);
    for (const listener of this.leaderListeners) listener(leader, epoch);
    if (leader === this.config.nodeId) this.duties.lead(epoch);
    else this.duties.stop();
  }

  /**
   * A duty of the leader's, registered by the part of the node it belongs to (the hold sweep by
   * booking, the purge by accounts): run every `everyMs` while this node leads, each run a write
   * fenced by the epoch it leads. Registered before `start()`.
   */
  addLeaderDuty(duty: LeaderDuty): void {
    this.duties.add(duty);
  }

  /** Leader-only writes accepted and refused by the fencing register. */
  get leaderWrites(): LeaderDuties['writes'] {
    return this.duties.writes;
  }

  /** Try a leader-only write with the epoch this node last led (tests and the chaos tab). */
  fencedWriteProbe() {
    return this.duties.probe();
  }

  /** A Berkeley round now, if this node leads (`POST /api/cluster/sync-now`). */
  syncClocks(): Promise<SyncRound | undefined> {
    return this.clockSync.runRound();
  }

  /** The Berkeley rounds: ours if we lead, else the leader's. */
  syncHistory(): Promise<SyncRound[]> {
    return this.clockSync.history();
  }

  // ---- elections on demand --------------------------------------------------------------------

  /**
   * Run an election from this node with `algorithm` (switching the whole cluster to it), wait
   * for this node to know the new leader, and report what it cost across the cluster.
   */
  async triggerElection(algorithm: ElectionAlgorithm, timeoutMs = 5_000) {
    const before = this.driver.view.epoch;
    const alive = this.members.alive();
    const statsBefore = await this.clusterElectionStats(alive);
    await saveElectionAlgorithm(this.db, algorithm);
    await Promise.all(alive.map((p) => this.call(p, 'election.algorithm', { algorithm }, wire.algorithmReply).catch(() => undefined)));
    this.driver.switchAlgorithm(algorithm);
    const started = Date.now();
    this.driver.trigger();
    const deadline = started + timeoutMs;
    while (Date.now() < deadline && !(this.driver.view.epoch > before && this.driver.view.leader)) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const durationMs = Date.now() - started;
    // Let the announcement reach everyone before counting messages.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const statsAfter = await this.clusterElectionStats(alive);
    const messages = Object.keys(statsAfter).reduce((sum, id) => sum + (statsAfter[id]! - (statsBefore[id] ?? 0)), 0);
    const view = this.driver.view;
    return { ok: view.epoch > before && view.leader !== null, algorithm, initiator: this.config.nodeId, leader: view.leader, epoch: view.epoch, durationMs, messages };
  }

  private async clusterElectionStats(peers: Peer[]): Promise<Record<string, number>> {
    const out: Record<string, number> = { [this.config.nodeId]: this.driver.messagesSent };
    await Promise.all(peers.map(async (p) => {
      try {
        out[p.id] = (await this.call(p, 'election.stats', {}, wire.electionStats)).body.messagesSent;
      } catch {
        /* unreachable: its messages are not counted */
      }
    }));
    return out;
  }

  electionStats() {
    return { messagesSent: this.driver.messagesSent, messagesReceived: this.driver.messagesReceived, rounds: this.driver.rounds };
  }

  /** Forward an election trigger to another node. */
  async triggerElectionOn(nodeId: string, algorithm: ElectionAlgorithm) {
    const peer = this.members.get(nodeId);
    if (!peer) return undefined;
    // The peer answers once its election finished (up to its 5 s bound): wait a little longer.
    return (await this.call(peer, 'election.trigger', { algorithm }, wire.electionResult, 7_000)).body;
  }

  // ---- views for the API ----------------------------------------------------------------------

  summary(): NodeSummary {
    const view = this.driver.view;
    return {
      id: this.config.nodeId,
      url: this.config.url,
      pid: process.pid,
      role: view.leader === this.config.nodeId ? 'leader' : view.phase === 'follower' ? 'follower' : 'candidate',
      leader: view.leader,
      epoch: view.epoch,
      lamport: this.clock.lamport,
      vector: this.clock.vector,
      load: this.load(),
      startedAt: this.startedAt.toISOString(),
      algorithm: this.driver.algorithm,
    };
  }

  election() {
    const view = this.driver.view;
    return {
      nodeId: this.config.nodeId,
      leader: view.leader,
      epoch: view.epoch,
      algorithm: this.driver.algorithm,
      phase: view.phase,
      members: view.members,
      alive: view.alive,
      refusedStaleMessages: view.refusedStaleMessages,
      ...this.electionStats(),
    };
  }

  nodes(): KnownNode[] {
    const now = Date.now();
    const self = { ...this.summary(), status: 'alive' as PeerStatus, lastHeartbeat: new Date(now).toISOString(), lastHeardMsAgo: 0 };
    return [self, ...this.members.view()].sort((a, b) => compareNodeIds(b.id, a.id));
  }

  faultsView() {
    return {
      partitionedFrom: [...this.faults.partitionedFrom],
      delayToMs: Object.fromEntries(this.faults.delayToMs),
      paused: this.faults.paused,
      clockSkewMs: this.clock.skewMs,
      requestDelayMs: this.requestDelayMs,
    };
  }

  setFaults(input: { partitionedFrom?: string[]; delayToMs?: Record<string, number>; paused?: boolean; clockSkewMs?: number; requestDelayMs?: number }): void {
    if (input.requestDelayMs !== undefined) this.requestDelayMs = input.requestDelayMs;
    if (input.partitionedFrom) {
      const all = input.partitionedFrom.includes('*') ? this.members.ids() : input.partitionedFrom;
      this.faults.partitionedFrom = new Set(all.filter((id) => id !== this.config.nodeId));
    }
    if (input.delayToMs) this.faults.delayToMs = new Map(Object.entries(input.delayToMs));
    if (input.paused !== undefined) this.faults.paused = input.paused;
    if (input.clockSkewMs !== undefined) this.clock.skewMs = input.clockSkewMs;
  }
}
