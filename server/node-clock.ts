import type { DistributedInfo } from '../lib/booking/reservations';

/**
 * This node's logical clocks. Every local event that changes state ticks them; the stamp is
 * stored with the booking (the spec's logical_clock / vector_clock / processed_by / timestamp).
 */
export class NodeClock {
  private lamport = 0;
  private readonly vector: Record<string, number>;

  constructor(private readonly nodeId: string) {
    this.vector = { [nodeId]: 0 };
  }

  tick(): DistributedInfo {
    this.lamport += 1;
    this.vector[this.nodeId] = (this.vector[this.nodeId] ?? 0) + 1;
    return this.snapshot();
  }

  snapshot(): DistributedInfo {
    return { processedBy: this.nodeId, logicalClock: this.lamport, vectorClock: { ...this.vector }, timestamp: new Date().toISOString() };
  }
}
