import * as berkeley from '../../lib/algorithms/berkeley';
import * as lamport from '../../lib/algorithms/lamport-clock';
import * as vc from '../../lib/algorithms/vector-clock';
import type { DistributedInfo } from '../../lib/booking/reservations';

/**
 * A node's clocks: Lamport and vector (logical), and the physical app clock, which is the
 * machine clock plus an injected skew (fault injection) plus the Berkeley correction, slewed so
 * it never runs backwards.
 */
export class ClusterClock {
  private lamportTime = lamport.LAMPORT_START;
  private vectorClock: vc.VectorClock = vc.EMPTY_VECTOR_CLOCK;
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

  /** Resume after a restart from what was persisted, so counters never repeat. */
  restore(lamportTime: number, vector: vc.VectorClock): void {
    this.lamportTime = Math.max(this.lamportTime, lamportTime);
    this.vectorClock = vc.merge(this.vectorClock, vector);
  }

  /** A local event (a booking, a hold, a message sent): tick both logical clocks. */
  tick(): void {
    this.lamportTime = lamport.tick(this.lamportTime);
    this.vectorClock = vc.increment(this.vectorClock, this.nodeId);
  }

  /** A message event received: max + 1, and merge. */
  receive(remoteLamport: number, remoteVector: vc.VectorClock): void {
    this.lamportTime = lamport.receive(this.lamportTime, remoteLamport);
    this.vectorClock = vc.receive(this.vectorClock, remoteVector, this.nodeId);
  }

  /**
   * Learn a peer's clocks from a heartbeat without counting an event: heartbeats are not events
   * of interest (they would swamp the clocks), but spreading knowledge keeps clocks comparable.
   */
  observe(remoteLamport: number, remoteVector: vc.VectorClock): void {
    this.lamportTime = Math.max(this.lamportTime, remoteLamport);
    this.vectorClock = vc.merge(this.vectorClock, remoteVector);
  }

  get lamport(): number {
    return this.lamportTime;
  }

  get vector(): vc.VectorClock {
    return this.vectorClock;
  }

  /** Tick for a state-changing event and return the spec's distributed metadata. */
  stampEvent(): DistributedInfo {
    this.tick();
    return this.snapshot();
  }

  snapshot(): DistributedInfo {
    return {
      processedBy: this.nodeId,
      logicalClock: this.lamportTime,
      vectorClock: { ...this.vectorClock },
      timestamp: new Date(this.now()).toISOString(),
    };
  }
}
