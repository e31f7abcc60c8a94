import type { Metric, Registry } from 'prom-client';

type MetricType = 'counter' | 'histogram';

interface Sample {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
}

/** One label combination of a {@link FastHistogram}: plain numbers, bumped without hashing. */
export interface HistogramSeries {
  observe(value: number): void;
}

/** One label combination of a {@link FastCounter}. */
export interface CounterSeries {
  inc(by?: number): void;
}

/**
 * Registers an object with prom-client's registry that it renders like its own metrics:
 * the registry only needs a name and a `get()` returning samples.
 */
function register(registry: Registry, name: string, help: string, type: MetricType, samples: () => Sample[]): void {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: () => Promise.resolve({ name, help, type, aggregator: 'sum', values: samples() }),
    reset: () => undefined,
  };
  // prom-client renders any object of this shape; its types only name its own classes.
  registry.registerMetric(metric as unknown as Metric);
}

function keyOf(values: readonly string[]): string {
  return values.join('\u0000');
}

function labelsOf(names: readonly string[], values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  names.forEach((n, i) => (labels[n] = values[i] ?? ''));
  return labels;
}

/**
 * A histogram for hot paths. prom-client hashes the label object on every observation,
 * which costs more than a whole request of the backend's own work; here a caller binds a
 * label combination once (`series`) and each observation is a loop over the bounds.
 * Scrapes render exactly what prom-client's Histogram renders.
 */
export class FastHistogram {
  readonly #bounds: readonly number[];
  readonly #labelNames: readonly string[];
  readonly #series = new Map<string, { labels: Record<string, string>; counts: number[]; sum: number; count: number }>();

  constructor(
    registry: Registry,
    options: { readonly name: string; readonly help: string; readonly labelNames: readonly string[]; readonly buckets: readonly number[] },
  ) {
    this.#bounds = [...options.buckets].sort((a, b) => a - b);
    this.#labelNames = options.labelNames;
    const { name } = options;
    register(registry, name, options.help, 'histogram', () => {
      const out: Sample[] = [];
      for (const s of this.#series.values()) {
        let cumulative = 0;
        this.#bounds.forEach((le, i) => {
          cumulative += s.counts[i] ?? 0;
          out.push({ metricName: `${name}_bucket`, labels: { le, ...s.labels }, value: cumulative });
        });
        out.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', ...s.labels }, value: s.count });
        out.push({ metricName: `${name}_sum`, labels: s.labels, value: s.sum });
        out.push({ metricName: `${name}_count`, labels: s.labels, value: s.count });
      }
      return out;
    });
  }

  /** The series of one label combination (values in `labelNames` order); created at zero. */
  series(...values: string[]): HistogramSeries {
    const key = keyOf(values);
    let s = this.#series.get(key);
    if (!s) {
      s = { labels: labelsOf(this.#labelNames, values), counts: new Array<number>(this.#bounds.length).fill(0), sum: 0, count: 0 };
      this.#series.set(key, s);
    }
    const series = s;
    const bounds = this.#bounds;
    return {
      observe(value: number): void {
        series.count += 1;
        series.sum += value;
        for (let i = 0; i < bounds.length; i++) {
          if (value <= (bounds[i] as number)) {
            series.counts[i] = (series.counts[i] ?? 0) + 1;
            return;
          }
        }
      },
    };
  }
}

/** A counter for hot paths, on the same terms as {@link FastHistogram}. */
export class FastCounter {
  readonly #labelNames: readonly string[];
  readonly #series = new Map<string, { labels: Record<string, string>; value: number }>();

  constructor(registry: Registry, options: { readonly name: string; readonly help: string; readonly labelNames: readonly string[] }) {
    this.#labelNames = options.labelNames;
    register(registry, options.name, options.help, 'counter', () =>
      [...this.#series.values()].map((s) => ({ labels: s.labels, value: s.value })),
    );
  }

  /** The series of one label combination; created at zero, so it is exposed before its first increment. */
  series(...values: string[]): CounterSeries {
    const key = keyOf(values);
    let s = this.#series.get(key);
    if (!s) {
      s = { labels: labelsOf(this.#labelNames, values), value: 0 };
      this.#series.set(key, s);
    }
    const series = s;
    return {
      inc(by = 1): void {
        series.value += by;
      },
    };
  }
}
