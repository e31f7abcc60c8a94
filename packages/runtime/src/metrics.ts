import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { FastCounter, FastHistogram } from './fast-metrics.js';
import type { BuildInfo } from './version.js';

/** Latency buckets in seconds, fine at the low end where these services live. */
export const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The HTTP server metrics every service exposes. */
export interface HttpMetrics {
  readonly registry: Registry;
  /** By method, route template and status code, in that order. */
  readonly requests: FastCounter;
  /** By method, route template and status code, in that order. */
  readonly duration: FastHistogram;
  /** Requests received and not yet answered; read by the gauge at scrape time. */
  readonly inFlight: { count: number };
}

/**
 * A registry of its own per app (so tests can build many), with Node's runtime metrics,
 * a `castle_build_info` gauge and the HTTP server metrics.
 */
export function createHttpMetrics(info: BuildInfo, options: { readonly runtimeMetrics?: boolean } = {}): HttpMetrics {
  const registry = new Registry();
  if (options.runtimeMetrics !== false) collectDefaultMetrics({ register: registry });
  const build = new Gauge({
    name: 'castle_build_info',
    help: 'Build metadata of this process; always 1.',
    labelNames: ['service', 'version', 'git_sha'],
    registers: [registry],
  });
  build.set({ service: info.service, version: info.version, git_sha: info.gitSha }, 1);
  // A plain counter on the hot path; prom-client reads it only when scraped.
  const inFlight = { count: 0 };
  new Gauge({
    name: 'http_requests_in_flight',
    help: 'HTTP requests received and not yet answered.',
    registers: [registry],
    collect() {
      this.set(inFlight.count);
    },
  });
  return {
    registry,
    requests: new FastCounter(registry, {
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route template and status code.',
      labelNames: ['method', 'route', 'status_code'],
    }),
    duration: new FastHistogram(registry, {
      name: 'http_request_duration_seconds',
      help: 'Time from request received to response sent, by method, route template and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: latencyBuckets,
    }),
    inFlight,
  };
}

// Services define gauges read at scrape time with the same prom-client the registry comes
// from; counters and histograms they bump per request are FastCounter and FastHistogram.
export { Gauge, type Registry } from 'prom-client';
