import { FastCounter, FastHistogram, Gauge, latencyBuckets, type Registry } from '@castle/runtime';
import type { CallOutcome, TryOutcome } from './backend-client.js';
import type { CapacityLimiter, ShedReason } from './limiter.js';

/** www's own metrics: capacity, shedding and the backend calls. */
export interface WwwMetrics {
  readonly shed: (reason: ShedReason) => void;
  readonly waited: (seconds: number) => void;
  readonly backendTry: (outcome: TryOutcome, seconds: number) => void;
  readonly backendCall: (outcome: CallOutcome) => void;
  readonly retry: () => void;
}

export function createWwwMetrics(
  registry: Registry,
  sources: { readonly limiter: CapacityLimiter; readonly capacityRps: number; readonly breakerState: () => number },
): WwwMetrics {
  const registers = [registry];
  new Gauge({
    name: 'www_capacity_requests_per_second',
    help: 'Configured capacity of this instance (WWW_CAPACITY_RPS); 0 means unlimited.',
    registers,
  }).set(sources.capacityRps);
  new Gauge({
    name: 'www_capacity_utilisation_ratio',
    help: 'Requests admitted over the last 10 s as a share of capacity.',
    registers,
    collect() {
      this.set(sources.limiter.utilisation());
    },
  });
  new Gauge({
    name: 'www_limiter_waiting_requests',
    help: 'Requests admitted and waiting for their turn (the bounded wait queue).',
    registers,
    collect() {
      this.set(sources.limiter.waiting);
    },
  });
  new Gauge({
    name: 'www_limiter_held_requests',
    help: 'Requests admitted and not yet finished, waiting or running.',
    registers,
    collect() {
      this.set(sources.limiter.held);
    },
  });
  new Gauge({
    name: 'www_limiter_timer_lateness_seconds',
    help: 'Worst lateness of the wait timers over the last 10-20 s: the margin the limiter keeps within the max wait.',
    registers,
    collect() {
      this.set(sources.limiter.lateness / 1000);
    },
  });
  new Gauge({
    name: 'www_backend_circuit_state',
    help: 'Circuit breaker in front of the backend: 0 closed, 1 half-open, 2 open.',
    registers,
    collect() {
      this.set(sources.breakerState());
    },
  });
  const wait = new FastHistogram(registry, {
    name: 'www_limiter_wait_seconds',
    help: 'Time admitted requests waited for capacity.',
    labelNames: [],
    buckets: latencyBuckets,
  }).series();
  const shed = new FastCounter(registry, {
    name: 'www_shed_total',
    help: 'Requests shed with 503, by reason (rate: over capacity; concurrency: too many held).',
    labelNames: ['reason'],
  });
  const tries = new FastHistogram(registry, {
    name: 'www_backend_try_duration_seconds',
    help: 'Duration of each try at the backend, by outcome.',
    labelNames: ['outcome'],
    buckets: latencyBuckets,
  });
  const calls = new FastCounter(registry, {
    name: 'www_backend_calls_total',
    help: 'Backend calls after retries, by final outcome.',
    labelNames: ['outcome'],
  });
  const retries = new FastCounter(registry, { name: 'www_backend_retries_total', help: 'Retries of failed backend tries.', labelNames: [] }).series();
  // Series are bound once per label value; the shed series exist from the start, so rate()
  // and alerts see zero rather than no data.
  const shedBy = { rate: shed.series('rate'), concurrency: shed.series('concurrency') };
  const triesBy = memo((outcome: string) => tries.series(outcome));
  const callsBy = memo((outcome: string) => calls.series(outcome));
  return {
    shed: (reason) => shedBy[reason].inc(),
    waited: (seconds) => wait.observe(seconds),
    backendTry: (outcome, seconds) => triesBy(outcome).observe(seconds),
    backendCall: (outcome) => callsBy(outcome).inc(),
    retry: () => retries.inc(),
  };
}

function memo<T>(make: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    let value = cache.get(key);
    if (value === undefined) {
      value = make(key);
      cache.set(key, value);
    }
    return value;
  };
}
