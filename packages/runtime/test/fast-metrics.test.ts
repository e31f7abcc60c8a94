import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastCounter, FastHistogram } from '../src/fast-metrics.js';
import { latencyBuckets } from '../src/metrics.js';

const observations: [string, string, number][] = [
  ['GET', '200', 0.0004],
  ['GET', '200', 0.003],
  ['GET', '503', 0.25],
  ['GET', '200', 12],
  ['HEAD', '200', 0.001],
  ['GET', '200', 0.001],
];

describe('FastHistogram and FastCounter', () => {
  it('render exactly what prom-client renders for the same observations', async () => {
    const reference = new Registry();
    const fast = new Registry();
    const options = { name: 'demo_seconds', help: 'Demo latency.', labelNames: ['method', 'status_code'] };
    const refHistogram = new Histogram({ ...options, buckets: latencyBuckets, registers: [reference] });
    const refCounter = new Counter({ name: 'demo_total', help: 'Demo count.', labelNames: options.labelNames, registers: [reference] });
    const histogram = new FastHistogram(fast, { ...options, buckets: latencyBuckets });
    const counter = new FastCounter(fast, { name: 'demo_total', help: 'Demo count.', labelNames: options.labelNames });
    for (const [method, status, seconds] of observations) {
      refHistogram.observe({ method, status_code: status }, seconds);
      refCounter.inc({ method, status_code: status });
      histogram.series(method, status).observe(seconds);
      counter.series(method, status).inc();
    }
    expect(await fast.metrics()).toBe(await reference.metrics());
  });

  it('exposes a bound series at zero before anything is observed', async () => {
    const registry = new Registry();
    new FastCounter(registry, { name: 'shed_total', help: 'Shed.', labelNames: ['reason'] }).series('rate');
    expect(await registry.metrics()).toContain('shed_total{reason="rate"} 0');
  });
});
