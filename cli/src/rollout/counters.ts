/**
 * Reading the judged pods' request counters at the verdict window's start and end: from
 * Prometheus (scrape-aligned, see scrapes.ts) or through the API server's pod proxy.
 */
import { messageOf } from '../errors.js';
import type { Kube } from '../kube/client.js';
import { PrometheusError, type PrometheusTarget, type Series, describeTarget, prometheusQuery, prometheusRangeQuery } from '../traffic/prometheus.js';
import { scrapeAlignedSample, windowScrapes } from './scrapes.js';
import { sleep } from './sleep.js';
import { type Counts, type PodSample, type ReadFailure, parseRequestCounts } from './verdict.js';

/** A pod judged, and its group (its `pod-template-hash`). */
export interface JudgedPod {
  readonly pod: string;
  readonly hash: string;
}

/** The counters of the judged pods, read at the window's start (when opened) and end ({@link finish}). */
export interface Counters {
  readonly kind: 'prometheus' | 'pod-proxy';
  /** Where they come from, in words. */
  readonly describe: string;
  /** What to check when pods are left out. */
  readonly hint: string;
  /** Set when no window is worth waiting for: every pod is left out already, for this reason. */
  readonly unusable?: string;
  /** Every pod's counters at both ends of the window (or why not). */
  finish(signal?: AbortSignal): Promise<PodSample[]>;
}

/** How long to wait after the window's end for each pod's first scrape after it. */
export const SCRAPE_GRACE_MS = 60_000;

const regexEscape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Read every pod's metrics through the API server's pod proxy now, and again at the end. */
export async function podProxyCounters(kube: Kube, namespace: string, port: number | string, path: string, pods: readonly JudgedPod[]): Promise<Counters> {
  const read = (pod: string): Promise<Counts | ReadFailure> =>
    kube.proxyGet(`/api/v1/namespaces/${namespace}/pods/${pod}:${port}/proxy/${path.replace(/^\//, '')}`).then(
      ({ status, body }) => (status === 200 ? parseRequestCounts(body) : { failure: `HTTP ${status}` }),
      // No answer (a NetworkPolicy dropping the API server's connection): this pod is left out.
      (error: unknown) => ({ failure: messageOf(error) }),
    );
  const starts = await Promise.all(pods.map((p) => read(p.pod)));
  return {
    kind: 'pod-proxy',
    describe: `through the API server's pod proxy (port ${port}, ${path})`,
    hint: `is port ${port} path ${path} right? Is the API server admitted to it (NetworkPolicies)?`,
    finish: () => Promise.all(pods.map(async (p, i) => ({ ...p, start: starts[i] as Counts | ReadFailure, end: await read(p.pod) }))),
  };
}

/** Options of {@link prometheusCounters}. */
export interface PrometheusCountersOptions {
  readonly deployment: string;
  readonly windowSeconds: number;
  /** The new pods' hash: the others are the old pods, which must be scraped for Prometheus to be used. */
  readonly newHash: string;
  /** With a fallback, say why Prometheus is not used instead of using it. */
  readonly fallback: boolean;
  readonly scrapeGraceMs?: number;
  readonly pollMs?: number;
}

/**
 * Open the window on Prometheus' clock (its `time()`), and at the end read every pod's `up` and
 * `http_requests_total` since then, waiting up to {@link SCRAPE_GRACE_MS} for each pod's first
 * scrape after the end. With a fallback: `{ fallback: why }` when Prometheus cannot be asked, or
 * scrapes none of the old pods.
 */
export async function prometheusCounters(kube: Kube, namespace: string, target: PrometheusTarget, pods: readonly JudgedPod[], o: PrometheusCountersOptions): Promise<Counters | { readonly fallback: string }> {
  const vector = prometheusQuery(kube, target);
  const matrix = prometheusRangeQuery(kube, target);
  const scope = `namespace="${namespace}",pod=~"${pods.map((p) => regexEscape(p.pod)).join('|')}"`;
  const base = {
    kind: 'prometheus' as const,
    describe: `from Prometheus ${describeTarget(target)}, from each pod’s first scrape after the window opens to its first after it closes`,
    hint: `does Prometheus scrape them (the Deployment's ServiceMonitor), and is the window a few scrape intervals long?`,
  };
  const begun = Date.now();
  let start: number;
  try {
    start = (await vector('vector(time())'))[0]?.value ?? Number.NaN;
    if (!Number.isFinite(start)) throw new PrometheusError('answered vector(time()) without a time');
    if (o.fallback) {
      const scraped = new Set((await vector(`up{${scope}} == 1`)).map((s) => s.labels.pod));
      if (!pods.some((p) => p.hash !== o.newHash && scraped.has(p.pod))) {
        return { fallback: `Prometheus ${describeTarget(target)} does not scrape the old pods of Deployment/${o.deployment} (no up == 1 series)` };
      }
    }
  } catch (error) {
    if (!(error instanceof PrometheusError)) throw error;
    if (o.fallback) return { fallback: `Prometheus cannot be asked (${error.message})` };
    const failure = { failure: `Prometheus ${error.message}` };
    return { ...base, unusable: failure.failure, finish: () => Promise.resolve(pods.map((p) => ({ ...p, start: failure, end: failure }))) };
  }
  const window = { start, end: start + o.windowSeconds };
  return {
    ...base,
    async finish(signal) {
      const deadline = Date.now() + (o.scrapeGraceMs ?? SCRAPE_GRACE_MS);
      let last: { up: Series[]; requests: Series[] } | undefined;
      let lastError = 'no answer';
      for (;;) {
        // Back to before the window's start, with room for the two clocks and a late scrape.
        const range = `${Math.ceil((Date.now() - begun) / 1000) + 30}s`;
        try {
          const [up, requests] = await Promise.all([matrix(`up{${scope}}[${range}]`), matrix(`http_requests_total{${scope}}[${range}]`)]);
          last = { up, requests };
          const waiting = pods.some((p) => {
            const w = windowScrapes(p.pod, up, window);
            return w.first !== undefined && w.last === undefined;
          });
          if (!waiting) break;
        } catch (error) {
          if (!(error instanceof PrometheusError)) throw error;
          lastError = error.message;
        }
        if (Date.now() >= deadline || signal?.aborted) break;
        await sleep(o.pollMs ?? 1000, signal);
      }
      const seen = last;
      if (!seen) return pods.map((p) => ({ ...p, start: { total: 0, errors: 0 }, end: { failure: `Prometheus ${lastError}` } }));
      return pods.map((p) => scrapeAlignedSample(p, seen.up, seen.requests, window));
    },
  };
}
