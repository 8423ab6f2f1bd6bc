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
 * A metric read at each scrape: a gauge, or a counter the process already keeps (a monotonic count
 * in its stats), shown as it is: reset, then set to the count (a prom-client counter has no set).
 */
export type MetricKind = 'counter' | 'gauge';

export function readMetric<L extends string>(
  kind: MetricKind,
  registry: Registry,
  spec: Spec<L>,
): void {
  const options = {
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames ?? [],
    registers: [registry],
  };
  if (kind === 'counter') {
    new Counter<L>({
      ...options,
      async collect() {
        apply(this, await spec.read(), (labels, value) => this.inc(labels, Math.max(0, value)));
      },
    });
  } else {
    new Gauge<L>({
      ...options,
      async collect() {
        apply(this, await spec.read(), (labels, value) => this.set(labels, value));
      },
    });
  }
}

export const mirroredCounter = <L extends string>(registry: Registry, spec: Spec<L>) =>
  readMetric('counter', registry, spec);
export const readGauge = <L extends string>(registry: Registry, spec: Spec<L>) =>
  readMetric('gauge', registry, spec);
