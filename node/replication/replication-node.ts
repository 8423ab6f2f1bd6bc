import { createHash, randomInt, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { merge, type VectorClock } from '../../core/vector-clock';
import type { Db } from '../../db/pool';
import { createReplication } from '../../core/replication';
import {
  handoverOf, type Outgoing, type ReplicaState, type ReplicationConfig, type ReplicationCore,
  type ReplicationEffect, type ReplicationEvent, type ReplicationMessage,
} from '../../core/replication/replication';
import {
  coversToken, dotClock, factClaim, isRetired, rankOf, select, tokenAfterRead, withCommitted, type Entry, type JsonValue,
  type ReplicaStore,
} from '../../core/replication/store';
import { factRank } from '../../db/booking/facts';
import type { ClusterNode } from '../cluster/cluster-node';
import {
  claimOutbox, deleteOutbox, deleteRetired, loadReplica, loadSettings, outboxUnder, persistReplica, saveSettings, type ReplicationSettings,
} from '../../db/replica-storage';
import { NamedTimers } from '../cluster/named-timers';
import * as wire from './peer-messages';
import { Reassembly, REPL_PART_BYTES, splitMessage } from './reassembly';
import type { Consistency, ReplicationMode } from '../../core/vocabulary';

export class ReplicationUnavailable extends Error {
  /** `written`: the write was made in this replica, though not acknowledged (it still spreads). */
  constructor(readonly reason: string, readonly written: Entry | null = null) {
    super(`replication: ${reason}`);
  }
}

type Waiter = { resolve(effect: Extract<ReplicationEffect, { type: 'writeResult' | 'readResult' }>): void };

/** A read over a key range: a showtime's documents, a user's bookings (`owner`). */
export type RangeQuery = { prefixes: string[]; owner?: string };
export type RangeResult = { entries: Entry[]; token: VectorClock; servedBy: string };

const OUTBOX_BATCH = 200;
const ORPHAN_AFTER_MS = 10_000;
const DRAIN_INTERVAL_MS = 1_000;
const ALIVE_POLL_MS = 100;
const SETTINGS_POLL_MS = 2_000;
/** Claims on unpublished facts a token carries at most (keeps tokens small during a long outage). */
const MAX_CLAIMS_PER_TOKEN = 16;
/** Unfinished split messages held at once (two of the largest), and how long one may take. */
const REASSEMBLY_HELD_BYTES = 2 * wire.MAX_PARTS_PER_MESSAGE * REPL_PART_BYTES;
const REASSEMBLY_TIMEOUT_MS = 10_000;

/**
 * Compaction: every `everyMs`, `groups` names the groups of documents to retire from the replica
 * (store.ts `compact`), given the replica and the node's clock — the application's rule.
 */
export interface Compaction {
  readonly everyMs: number;
  readonly groups: (store: ReplicaStore, now: number) => string[];
}

/**
 * The shell of the replication protocol on one node: drives the pure core (core/replication) with
 * real timers, peer messages over the cluster transport and PostgreSQL persistence, in a safe
 * order (persist, then send, then answer). Also drains the transactional outbox of committed facts
 * into the protocol, and answers range reads at the consistency a client asks for.
 */
export class ReplicationNode {
  private core!: ReplicationCore;
  private state!: ReplicaState;
  private settings!: ReplicationSettings;
  private queue: Promise<void> = Promise.resolve();
  /** Events waiting for the next batch of steps (joined by whoever enqueues before it starts). */
  private openBatch: { events: ReplicationEvent[]; done: Promise<void> } | null = null;
  private readonly timers = new NamedTimers();
  private readonly waiters = new Map<string, Waiter>();
  private readonly loops: NodeJS.Timeout[] = [];
  private aliveKey = '';
  private membersKey = '';
  private drains: Promise<unknown> = Promise.resolve();
  /** Published outbox rows whose delete is in flight (the next claim skips them). */
  private readonly deleting = new Set<number>();
  /** The drain queued behind the running one, not yet started: later callers join it. */
  private nextDrain: Promise<VectorClock> | null = null;
  /** Every write this node published from its outbox: a caller's own fact is covered by it. */
  private publishedToken: VectorClock = {};
  /** Facts whose publication failed before any replica made them (key → rank): named by claims. */
  private readonly unnamedFacts = new Map<string, number>();
  private stopped = false;
  private readonly reassembly = new Reassembly({ maxHeldBytes: REASSEMBLY_HELD_BYTES, timeoutMs: REASSEMBLY_TIMEOUT_MS });
  readonly stats = {
    lastAppliedAt: 0,
    lastSyncAt: 0,
    syncRounds: 0,
    writesAcked: 0,
    writesFailed: 0,
    outboxPublished: 0,
    messagesBatched: 0,
    messagesSplit: 0,
    messagesReassembled: 0,
    compactedRows: 0,
  };

  constructor(
    private readonly nodeId: string,
    private readonly db: Db,
    private readonly cluster: ClusterNode,
    private readonly log: Logger,
    private readonly defaults: ReplicationSettings,
    private readonly baseConfig: Partial<ReplicationConfig>,
    private readonly compaction?: Compaction,
  ) {}

  async start(): Promise<void> {
    this.settings = await loadSettings(this.db, this.defaults);
    const persisted = await loadReplica(this.db, this.nodeId);
    this.membersKey = this.members().join(',');
    this.core = createReplication(this.settings.mode, this.configFor(this.settings));
    this.state = this.core.init(this.nodeId, this.members(), persisted);
    this.cluster.on('repl', wire.replicationMessage, (from, msg) => {
      void this.enqueue({ type: 'message', now: this.now(), from, msg });
      return { ok: true };
    });
    this.cluster.on('repl.batch', wire.replicationBatch, (from, { msgs }) => {
      for (const msg of msgs) void this.enqueue({ type: 'message', now: this.now(), from, msg });
      return { ok: true };
    });
    this.cluster.on('repl.part', wire.replicationPart, (from, part) => {
      const whole = this.reassembly.add(from, part, Date.now());
      if (whole) this.receiveWhole(from, whole);
      return { ok: true };
    });
    this.cluster.on('repl.stats', wire.emptyBody, () => this.localStats());
    this.cluster.on('repl.settings', wire.replicationSettings, async (_from, settings) => {
      await this.applySettings(settings);
      return { ok: true };
    });
    this.cluster.onLeaderChange((leader, epoch) => this.enqueue({ type: 'leader', now: this.now(), leader, epoch }));
    this.enqueue({ type: 'start', now: this.now() });
    const { leader, epoch } = this.cluster.leader;
    this.enqueue({ type: 'leader', now: this.now(), leader, epoch });
    this.every(ALIVE_POLL_MS, () => this.followMembership());
    this.every(DRAIN_INTERVAL_MS, () => this.publish().then(() => {}));
    this.every(SETTINGS_POLL_MS, async () => this.applySettings(await loadSettings(this.db, this.defaults)));
    if (this.compaction) this.every(this.compaction.everyMs, () => this.compact());
  }

  /** Retire what the compaction rule names in this replica now (at most once per group). */
  async compact(): Promise<void> {
    if (!this.compaction || this.stopped) return;
    const groups = this.compaction.groups(this.state.store, this.now()).filter((g) => !this.state.store.retired.has(g));
    if (groups.length) await this.enqueue({ type: 'compact', now: this.now(), groups });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.loops) clearInterval(t);
    this.timers.clear();
    await this.queue;
  }

  get mode(): ReplicationMode {
    return this.core.mode;
  }

  /** Groups compaction retired from this replica (their documents are in the system of record only). */
  get retiredGroups(): ReadonlySet<string> {
    return this.state.store.retired;
  }

  get currentSettings(): ReplicationSettings {
    return this.settings;
  }

  private now(): number {
    return Math.floor(this.cluster.clock.now());
  }

  private members(): string[] {
    return [this.nodeId, ...this.cluster.peerIds()];
  }

  /** N, R and W are capped by the cluster's size, so a small cluster still accepts writes. */
  private configFor(settings: ReplicationSettings): Partial<ReplicationConfig> {
    const size = this.members().length;
    const n = Math.max(1, Math.min(settings.n, size));
    return { ...this.baseConfig, ...settings, n, r: Math.min(settings.r, n), w: Math.min(settings.w, n) };
  }

  private every(ms: number, work: () => Promise<void> | void): void {
    this.loops.push(setInterval(() => {
      Promise.resolve().then(work).catch((err: unknown) => this.log.warn({ err }, 'replication task failed'));
    }, ms));
  }

  // ---- driving the core -----------------------------------------------------------------------

  /**
   * Events are stepped in batches, one batch at a time: every event that arrives while a batch runs
   * joins the next one. A batch steps the core through its events, persists what they changed in
   * one statement (group commit), then sends, then sets timers and answers — the safe order of each
   * step, kept for the batch as a whole.
   */
  private enqueue(event: ReplicationEvent): Promise<void> {
    if (this.openBatch) {
      this.openBatch.events.push(event);
      return this.openBatch.done;
    }
    const batch: { events: ReplicationEvent[]; done: Promise<void> } = { events: [event], done: Promise.resolve() };
    batch.done = this.queue.then(() => {
      if (this.openBatch === batch) this.openBatch = null;
      return this.steps(batch.events);
    });
    this.openBatch = batch;
    this.queue = batch.done.catch((err: unknown) => this.log.error({ err }, 'replication step failed'));
    return batch.done;
  }

  /** Run `work` after everything enqueued so far, before anything enqueued later. */
  private exclusive(work: () => void): Promise<void> {
    this.openBatch = null;
    const run = this.queue.then(work);
    this.queue = run.catch((err: unknown) => this.log.error({ err }, 'replication step failed'));
    return run;
  }

  private async steps(events: readonly ReplicationEvent[]): Promise<void> {
    if (this.stopped) return;
    const changed = new Map<string, Entry>();
    let meta: Extract<ReplicationEffect, { type: 'persist' }>['meta'] | null = null;
    const retired: string[] = [];
    const send: Outgoing[] = [];
    const effects: ReplicationEffect[] = [];
    for (const event of events) {
      const result = this.core.step(this.state, event);
      this.state = result.state;
      send.push(...result.send);
      for (const effect of result.effects) {
        if (effect.type !== 'persist') {
          effects.push(effect);
          continue;
        }
        for (const e of effect.entries) changed.set(e.key, e);
        meta = effect.meta;
        retired.push(...(effect.retired ?? []));
      }
    }
    if (meta !== null) {
      // An entry changed earlier in the batch may be under a group retired later in it.
      const kept = retired.length ? [...changed.values()].filter((e) => !isRetired(this.state.store, e.key)) : [...changed.values()];
      await persistReplica(this.db, this.nodeId, kept, meta);
      if (retired.length) this.stats.compactedRows += await deleteRetired(this.db, this.nodeId, retired);
      if (changed.size) this.stats.lastAppliedAt = Date.now();
      // Re-checked after the await: a node stopped meanwhile sends nothing more.
      if (this.stopped) return;
    }
    for (const out of send) {
      if (out.msg.type === 'sync' || out.msg.type === 'syncReply') this.stats.lastSyncAt = Date.now();
      if (out.msg.type === 'sync') this.stats.syncRounds += 1;
    }
    this.sendAll(send);
    for (const effect of effects) {
      switch (effect.type) {
        case 'setTimer':
          this.timers.set(effect.name, effect.afterMs, () => {
            void this.enqueue({ type: 'timer', now: this.now(), name: effect.name, entropy: randomInt(0, 2 ** 32 - 1) });
          });
          break;
        case 'cancelTimer':
          this.timers.cancel(effect.name);
          break;
        case 'writeResult':
        case 'readResult':
          this.waiters.get(effect.requestId)?.resolve(effect);
          this.waiters.delete(effect.requestId);
          break;
        case 'persist':
          break;
      }
    }
  }

  /**
   * The messages of one step, one peer request per peer: under load a drain's writes (and the
   * acknowledgements coming back) to a replica share a request instead of taking one each, which
   * was most of a booking's CPU in a cluster. Order per peer is kept; a large message goes alone.
   */
  private sendAll(send: readonly Outgoing[]): void {
    const byPeer = new Map<string, ReplicationMessage[]>();
    for (const out of send) {
      const list = byPeer.get(out.to);
      if (list) list.push(out.msg);
      else byPeer.set(out.to, [out.msg]);
    }
    for (const [to, msgs] of byPeer) {
      let batch: ReplicationMessage[] = [];
      let batchBytes = 0;
      const flush = () => {
        if (batch.length === 1) this.sendRepl(to, batch[0]!);
        else if (batch.length > 1) {
          this.stats.messagesBatched += batch.length;
          this.cluster.request(to, 'repl.batch', { msgs: batch }, wire.okReply).catch(() => {});
        }
        batch = [];
        batchBytes = 0;
      };
      for (const msg of msgs) {
        const bytes = JSON.stringify(msg).length;
        if (batch.length && (batchBytes + bytes > REPL_PART_BYTES || batch.length >= wire.MAX_MESSAGES_PER_BATCH)) flush();
        batch.push(msg);
        batchBytes += bytes;
      }
      flush();
    }
  }

  /**
   * Send a protocol message; one too large for a peer message goes in parts (the receiver
   * reassembles it), so a far-behind replica still catches up in one exchange.
   */
  private sendRepl(to: string, msg: ReplicationMessage): void {
    const bytes = Buffer.from(JSON.stringify(msg));
    if (bytes.length <= REPL_PART_BYTES) {
      this.cluster.request(to, 'repl', msg, wire.okReply).catch(() => {});
      return;
    }
    const parts = splitMessage(bytes, randomUUID());
    if (parts.length > wire.MAX_PARTS_PER_MESSAGE) {
      this.log.warn(`replication: a ${msg.type} of ${bytes.length} bytes to ${to} is too large even in parts; left to later rounds`);
      return;
    }
    this.stats.messagesSplit += 1;
    for (const part of parts) this.cluster.request(to, 'repl.part', part, wire.okReply).catch(() => {});
  }

  /** A reassembled message: parsed with the same schema as a whole one. */
  private receiveWhole(from: string, bytes: Buffer): void {
    let parsed: ReturnType<typeof wire.replicationMessage.safeParse> | undefined;
    try {
      parsed = wire.replicationMessage.safeParse(JSON.parse(bytes.toString('utf8')));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) return void this.log.warn(`replication: a reassembled message from ${from} does not parse; dropped`);
    this.stats.messagesReassembled += 1;
    void this.enqueue({ type: 'message', now: this.now(), from, msg: parsed.data });
  }

  /** Tell the core who is alive; restart it when the membership itself changed. */
  private async followMembership(): Promise<void> {
    const members = this.members();
    if (members.join(',') !== this.membersKey) {
      this.membersKey = members.join(',');
      await this.restartCore(this.settings);
    }
    const alive = this.cluster.alivePeerIds().sort();
    const key = alive.join(',');
    if (key === this.aliveKey) return;
    this.aliveKey = key;
    await this.enqueue({ type: 'alive', now: this.now(), ids: alive });
  }

  /** Switch strategy (or members) at runtime: stop the core, hand its store to a new one. */
  private async restartCore(settings: ReplicationSettings): Promise<void> {
    await this.enqueue({ type: 'stop', now: this.now() });
    await this.exclusive(() => {
      this.timers.clear();
      const handover = handoverOf(this.state);
      this.core = createReplication(settings.mode, this.configFor(settings));
      this.state = this.core.init(this.nodeId, this.members(), handover);
    });
    this.aliveKey = '';
    await this.enqueue({ type: 'start', now: this.now() });
    const { leader, epoch } = this.cluster.leader;
    await this.enqueue({ type: 'leader', now: this.now(), leader, epoch });
  }

  private async applySettings(next: ReplicationSettings): Promise<void> {
    const changedMode = next.mode !== this.settings.mode;
    const changedConfig = JSON.stringify(next) !== JSON.stringify(this.settings);
    this.settings = next;
    if (changedMode) {
      this.log.info(`replication mode is now ${next.mode}`);
      await this.restartCore(next);
    } else if (changedConfig) {
      await this.enqueue({ type: 'configure', now: this.now(), config: this.configFor(next) });
    }
  }

  /** Change the cluster's settings: stored for everyone, then pushed to every live peer. */
  async changeSettings(patch: Partial<ReplicationSettings>): Promise<ReplicationSettings> {
    const next = { ...this.settings, ...patch };
    await saveSettings(this.db, next);
    await this.applySettings(next);
    await Promise.all(this.cluster.alivePeerIds().map((id) => this.cluster.request(id, 'repl.settings', next, wire.okReply).catch(() => undefined)));
    return next;
  }

  private request(event: Extract<ReplicationEvent, { type: 'write' | 'read' }>) {
    return new Promise<Extract<ReplicationEffect, { type: 'writeResult' | 'readResult' }>>((resolve) => {
      this.waiters.set(event.requestId, { resolve });
      void this.enqueue(event);
    });
  }

  async write(key: string, value: JsonValue, token: VectorClock = {}, rank = 0): Promise<{ entry: Entry; token: VectorClock; replicas: number }> {
    const result = await this.request({ type: 'write', now: this.now(), requestId: randomUUID(), key, value, token, rank });
    if (result.type !== 'writeResult' || !result.ok) {
      this.stats.writesFailed += 1;
      throw result.type === 'writeResult' ? new ReplicationUnavailable(result.error, result.entry) : new ReplicationUnavailable('unexpected answer');
    }
    this.stats.writesAcked += 1;
    return { entry: result.entry, token: result.token, replicas: result.replicas };
  }

  // ---- the outbox of committed facts ------------------------------------------------------------

  /**
   * Publish this node's committed facts (and orphans of crashed nodes) into the protocol; a row
   * leaves the outbox once its write is acknowledged. Drains run one after another, so a caller
   * whose transaction committed before calling is covered by the session token it gets back.
   */
  publish(): Promise<VectorClock> {
    // A drain that has not started yet will see the caller's committed rows: join it, so many
    // concurrent requests share one drain (one claim, one persist) instead of queueing one drain
    // each. The token covers everything this node has published, not only what this drain found:
    // the caller's row may have been taken by an earlier drain, finished by now.
    if (this.nextDrain) return this.nextDrain;
    const drain: Promise<VectorClock> = this.drains
      .then(() => {
        if (this.nextDrain === drain) this.nextDrain = null;
        return this.drainOutbox();
      })
      .then(() => this.sessionTokenOfPublished());
    this.nextDrain = drain;
    this.drains = drain.catch(() => {});
    return drain;
  }

  /**
   * Publish the claimable rows, batch by batch. Acknowledged rows are deleted in the background:
   * callers need only the token, and the next drain skips rows still being deleted.
   */
  private async drainOutbox(): Promise<void> {
    for (;;) {
      const rows = await claimOutbox(this.db, this.nodeId, ORPHAN_AFTER_MS, OUTBOX_BATCH, [...this.deleting]);
      if (!rows.length) return;
      const written = await Promise.all(rows.map(async (row) => {
        const rank = factRank(row.key, row.value);
        try {
          const result = await this.write(row.key, row.value, {}, rank);
          this.published(row.key, rank, result.entry);
          return row.id;
        } catch (err) {
          // Not acknowledged: the row stays in the outbox and the next drain publishes it again.
          // Sessions name the fact anyway — by the write's dot if this replica made it (it spreads by
          // hints and anti-entropy), else by a claim on its document — so a causal read waits for it
          // (or answers 503) instead of answering without it.
          const written = err instanceof ReplicationUnavailable ? err.written : null;
          if (written) this.published(row.key, rank, written);
          else if ((this.unnamedFacts.get(row.key) ?? -1) < rank) this.unnamedFacts.set(row.key, rank);
          return undefined;
        }
      }));
      const done = written.filter((id): id is number => id !== undefined);
      this.deleteInBackground(done);
      this.stats.outboxPublished += done.length;
      if (done.length < rows.length || rows.length < OUTBOX_BATCH) return;
    }
  }

  private deleteInBackground(ids: number[]): void {
    if (!ids.length) return;
    for (const id of ids) this.deleting.add(id);
    deleteOutbox(this.db, ids)
      .catch((err: unknown) => this.log.warn({ err }, 'outbox delete failed; the rows are published again'))
      .finally(() => { for (const id of ids) this.deleting.delete(id); });
  }

  private published(key: string, rank: number, entry: Entry): void {
    this.publishedToken = merge(this.publishedToken, dotClock(entry));
    if ((this.unnamedFacts.get(key) ?? Infinity) <= rank) this.unnamedFacts.delete(key);
  }

  /** The published dots, and claims on the newest facts not yet published (a bounded number). */
  private sessionTokenOfPublished(): VectorClock {
    for (const [key, rank] of this.unnamedFacts) {
      // Published since (adopted by another node): this replica has it; name it by its dot now.
      const held = this.state.store.entries.get(key);
      if (held && rankOf(held) >= rank) this.published(key, rank, held);
    }
    // Read only now: the loop above may have named facts by their dots.
    let token = this.publishedToken;
    for (const [key, rank] of [...this.unnamedFacts].slice(-MAX_CLAIMS_PER_TOKEN)) token = merge(token, factClaim(key, rank));
    return token;
  }

  // ---- reads at a consistency level -------------------------------------------------------------

  /** This replica's answer (what an eventual read, or a causal one it covers, returns). */
  private localRange(range: RangeQuery, token: VectorClock): RangeResult {
    const store = this.state.store;
    return { entries: select(store, range).filter((e) => !e.deleted), token: tokenAfterRead(store, token), servedBy: this.nodeId };
  }

  /**
   * A range read at a consistency level, through the replication core (core/replication): eventual
   * answers from this replica; causal from it once it has seen the session token (waiting up to
   * causalWaitMs, then asking the peers); strong is the protocol's — R replicas of every key's
   * preference list (multi-master), every replica (gossip), or the master after a majority
   * confirmed it still leads (master-slave) — and also covers the session token, or fails.
   * The two local cases answer here at once, as the core would, without waiting for a step.
   *
   * A strong read also takes the committed facts the protocol has not acknowledged yet: the API
   * answers 201 once PostgreSQL committed, and a write cut off from its quorum stays in the outbox
   * until it is acknowledged. The outbox is read before the quorum: a row gone by then was
   * acknowledged first, so the quorum holds it.
   */
  async readRange(range: RangeQuery, consistency: Consistency, token: VectorClock = {}): Promise<RangeResult> {
    if (consistency === 'eventual' || (consistency === 'causal' && coversToken(this.state.store, token))) return this.localRange(range, token);
    const committed = consistency === 'strong' ? await outboxUnder(this.db, range.prefixes, range.owner) : [];
    const result = await this.request({ type: 'read', now: this.now(), requestId: randomUUID(), range, consistency, token });
    if (result.type !== 'readResult' || !result.ok) throw new ReplicationUnavailable(result.type === 'readResult' ? result.error : 'unexpected answer');
    const facts = committed.map((f) => ({ ...f, rank: factRank(f.key, f.value) }));
    // The session has now seen them: its later causal reads wait for them too (monotonic reads).
    let seen = result.token;
    for (const f of facts.slice(-MAX_CLAIMS_PER_TOKEN)) seen = merge(seen, factClaim(f.key, f.rank));
    const entries = withCommitted(result.entries, facts).filter((e) => !e.deleted && !isRetired(this.state.store, e.key));
    return { entries, token: seen, servedBy: result.servedBy };
  }

  // ---- status for GET /api/replicas ---------------------------------------------------------------

  localStats() {
    const store = this.state.store;
    // From the store's counts (no walk over the replica: this answers every /api/replicas poll).
    const byKind: Record<string, number> = {};
    for (const [kind, n] of store.kinds) byKind[kind === '' ? 'other' : kind.slice(0, -1)] = n;
    return {
      nodeId: this.nodeId,
      mode: this.core.mode,
      entries: store.entries.size,
      byKind,
      // The full digest is 16 buckets; one short hash of it is enough to compare replicas by eye.
      digest: createHash('sha256').update(store.digest.join('')).digest('hex').slice(0, 16),
      versionVector: store.seen,
      // The hybrid clock: the largest timestamp this replica has applied.
      newestTs: store.clockTs,
      conflicts: store.conflicts,
      recentConflicts: store.recentConflicts,
      hints: this.state.hintCount,
      lastAppliedAt: this.stats.lastAppliedAt ? new Date(this.stats.lastAppliedAt).toISOString() : null,
      lastSyncAt: this.stats.lastSyncAt ? new Date(this.stats.lastSyncAt).toISOString() : null,
      syncRounds: this.stats.syncRounds,
      writesAcked: this.stats.writesAcked,
      writesFailed: this.stats.writesFailed,
      outboxPublished: this.stats.outboxPublished,
      messagesBatched: this.stats.messagesBatched,
      messagesSplit: this.stats.messagesSplit,
      messagesReassembled: this.stats.messagesReassembled,
      retiredGroups: store.retired.size,
      compactedRows: this.stats.compactedRows,
    };
  }

  /** Every live node's stats, with lag against the most advanced replica. */
  async clusterStats() {
    // Every peer not known dead: a busy node that is merely suspected still reports its replica.
    const peers = this.cluster.reachablePeerIds();
    const all = [this.localStats(), ...(await Promise.all(
      // Parsed on what the view computes with; the rest is shown as the peer reported it.
      peers.map((p) => this.cluster.request(p, 'repl.stats', {}, wire.statsReply).then((s) => s as ReturnType<ReplicationNode['localStats']>, () => undefined)),
    )).filter((s): s is ReturnType<ReplicationNode['localStats']> => s !== undefined)];
    const best: Record<string, number> = {};
    for (const s of all) for (const [origin, seq] of Object.entries(s.versionVector)) best[origin] = Math.max(best[origin] ?? 0, seq);
    const newest = Math.max(...all.map((s) => s.newestTs));
    const nodes = all.map((s) => {
      const lagEntries = Object.entries(best).reduce((sum, [origin, seq]) => sum + Math.max(0, seq - (s.versionVector[origin] ?? 0)), 0);
      return { ...s, lagEntries, lagMs: lagEntries ? Math.max(0, newest - s.newestTs) : 0 };
    });
    const config = this.core.config;
    return {
      mode: this.core.mode,
      n: config.n,
      r: config.r,
      w: config.w,
      synchronous: config.synchronous,
      fanout: config.fanout,
      gossipIntervalMs: config.gossipIntervalMs,
      converged: new Set(nodes.map((n) => n.digest)).size === 1,
      nodes,
      distribution: Object.fromEntries(nodes.map((n) => [n.nodeId, n.byKind])),
    };
  }
}
