import { assert } from '../../core/assert';
import * as berkeley from '../../core/berkeley';
import type { ClockTraceRecord } from '../../core/clock-check';
import * as rules from '../../core/clock-rules';
import * as vc from '../../core/vector-clock';
import type { DistributedInfo } from '../../contract/shapes';

/** A peer message as the clock trace names it: `id` is `from/boot/seq`, unique across runs. */
export type MessageRef = { id: string; type: string };

export type ClockHooks = {
  /** Every new logical clock, synchronously, before it can leave the node. */
  persist?(clock: rules.LogicalClock): void;
  /** Every clock change and clocked message, in program order (CLOCK_TRACE_DIR). */
  record?(record: ClockTraceRecord): void;
};

export function messageId(from: string, boot: string, seq: number): string {
  return `${from}/${boot}/${seq}`;
}

/**
 * A node's clocks: Lamport and vector (logical), and the physical app clock, which is the
 * machine clock plus an injected skew (fault injection) plus the Berkeley correction, slewed so
 * it never runs backwards.
 */
export class ClusterClock {
  private logical: rules.LogicalClock = rules.LOGICAL_START;
  private hooks: ClockHooks = {};
  private offset = berkeley.initialOffset();
  skewMs: number;

  constructor(
    readonly nodeId: string,
    skewMs = 0,
    private readonly machineNow: () => number = Date.now,
  ) {
    this.skewMs = skewMs;
  }

  /** The skewed machine clock, before any Berkeley correction. */
  local(): number {
    return this.machineNow() + this.skewMs;
  }

  /** The app's clock: corrected, never decreasing. */
  now(): number {
    return berkeley.appClock(this.offset, this.local());
  }

  /** What this node reports to the Berkeley time daemon: where its clock is converging to. */
  syncNow(): number {
    return berkeley.syncClock(this.offset, this.local());
  }

  applyCorrection(deltaMs: number): void {
    this.offset = berkeley.applyCorrection(this.offset, deltaMs, this.local());
  }

  physical() {
    const local = this.local();
    return {
      machineMs: this.machineNow(),
      skewMs: this.skewMs,
      offsetMs: berkeley.offsetAt(this.offset, local),
      targetOffsetMs: this.offset.targetMs,
      appClockMs: this.now(),
      slewing: berkeley.offsetAt(this.offset, local) !== this.offset.targetMs,
    };
  }

  /** Where every change goes before it can leave the node (persist before sending), and the trace. */
  attach(hooks: ClockHooks): void {
    this.hooks = hooks;
  }

  /** Resume after a restart from what was persisted, so counters never repeat. */
  restore(persisted: rules.LogicalClock): void {
    this.set(rules.restore(this.logical, persisted));
    this.hooks.record?.({ node: this.nodeId, kind: 'restore', clock: this.logical });
  }

  /** A local event (a booking, a hold, a cancellation): tick both logical clocks. */
  tick(): void {
    this.set(rules.tick(this.logical, this.nodeId));
    this.hooks.record?.({ node: this.nodeId, kind: 'local', clock: this.logical });
  }

  /** The stamp of an outgoing message, after its type's send rule (core/clock-rules.ts). */
  stampSend(message: MessageRef & { to: string }): rules.LogicalClock {
    const rule = rules.clockRule(message.type);
    this.set(rules.send(this.logical, this.nodeId, rule));
    if (rules.isClocked(rule)) this.hooks.record?.({ node: this.nodeId, kind: 'send', ...message, event: rule.send === 'tick', clock: this.logical });
    return this.logical;
  }

  /** A message delivered (accepted by its handler's checks): its type's receive rule. */
  deliver(message: MessageRef & { from: string }, stamp: rules.LogicalClock): void {
    const rule = rules.clockRule(message.type);
    if (rule.receive === 'none') return;
    this.set(rules.receive(this.logical, this.nodeId, rule, stamp));
    const clean = { lamport: stamp.lamport, vector: stamp.vector };
    this.hooks.record?.({ node: this.nodeId, kind: 'receive', ...message, effect: rule.receive, stamp: clean, clock: this.logical });
  }

  private set(next: rules.LogicalClock): void {
    assert(next.lamport >= this.logical.lamport, 'a Lamport clock never goes back');
    const same = next.lamport === this.logical.lamport && vc.compare(next.vector, this.logical.vector) === 'equal';
    this.logical = next;
    if (!same) this.hooks.persist?.(next);
  }

  get lamport(): number {
    return this.logical.lamport;
  }

  get vector(): vc.VectorClock {
    return this.logical.vector;
  }

  /** Tick for a state-changing event and return the spec's distributed metadata. */
  stampEvent(): DistributedInfo {
    this.tick();
    return this.snapshot();
  }

  snapshot(): DistributedInfo {
    return {
      processedBy: this.nodeId,
      logicalClock: this.logical.lamport,
      vectorClock: { ...this.logical.vector },
      timestamp: new Date(this.now()).toISOString(),
    };
  }
}
