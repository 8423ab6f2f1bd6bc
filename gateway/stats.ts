/** A fixed-size ring of recent latencies, for p50/p99 without unbounded memory. */
export class LatencyWindow {
  private readonly samples: Float64Array;
  private count = 0;
  private next = 0;

  constructor(size = 2_048) {
    this.samples = new Float64Array(size);
  }

  record(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    this.count = Math.min(this.count + 1, this.samples.length);
  }

  /** The recorded latencies (at most the window's size), in no particular order. */
  values(): number[] {
    return Array.from(this.samples.subarray(0, this.count));
  }

  percentiles(): { p50: number | null; p99: number | null } {
    return percentilesOf(this.values());
  }
}

/** p50 and p99 of some latencies (ms, rounded to 0.01); null when there are none. */
export function percentilesOf(latenciesMs: number[]): { p50: number | null; p99: number | null } {
  if (!latenciesMs.length) return { p50: null, p99: null };
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 100) / 100;
  return { p50: at(0.5), p99: at(0.99) };
}
