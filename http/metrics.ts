/**
 * Prometheus metrics shared by the node and the gateway (prom-client): a registry with the default
 * process metrics, and metrics read at scrape time from counters the process already keeps.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

/** The text format's content type (Prometheus 0.0.4). */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function metricsRegistry(labels: Record<string, string>): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * A value read once per scrape and shared by every metric that shows part of it (one stats answer,
 * many gauges): `next()` at the start of a scrape forgets the last one.
 */
export class PerScrape<T> {
  private value: Promise<T> | undefined;
  constructor(private readonly read: () => Promise<T>) {}
  get(): Promise<T> {
    return (this.value ??= this.read());
  }
  next(): void {
    this.value = undefined;
  }
}

type Labels<L extends string> = Partial<Record<L, string>>;
/** What a scrape reads: a value, or one value per label set. */
type Reading<L extends string> = number | [Labels<L>, number][];

type Spec<L extends string> = {
  name: string;
  help: string;
  labelNames?: readonly L[];
  read: () => Reading<L> | Promise<Reading<L>>;
};

function apply<L extends string>(
  metric: { reset(): void },
  reading: Reading<L>,
  put: (labels: Labels<L>, value: number) => void,
): void {
  metric.reset();
  if (typeof reading === 'number') put({}, reading);
  else for (const [labels, value] of reading) put(labels, value);
}

/**
 * A counter the process already keeps (a monotonic count in its stats), exposed as it is at each
 * scrape: reset, then set to the count (prom-client counters have no `set`).
 */
export function mirroredCounter<L extends string>(registry: Registry, spec: Spec<L>): void {
  new Counter<L>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames ?? [],
    registers: [registry],
    async collect() {
      const reading = await spec.read();
      apply(this, reading, (labels, value) => this.inc(labels, Math.max(0, value)));
    },
  });
}

/** A gauge read at each scrape. */
export function readGauge<L extends string>(registry: Registry, spec: Spec<L>): void {
  new Gauge<L>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames ?? [],
    registers: [registry],
    async collect() {
      const reading = await spec.read();
      apply(this, reading, (labels, value) => this.set(labels, value));
    },
  });
}
