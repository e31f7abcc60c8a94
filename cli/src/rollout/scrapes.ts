/**
 * A pod's request counts over the verdict's window from what Prometheus scraped, aligned to its
 * scrapes. Prometheus holds a counter's value only as of each scrape (every few seconds), so the
 * window of each pod runs from its first successful scrape at or after the window's start to its
 * first at or after its end: both ends are real counter values, no extrapolation, and with a
 * steady scrape interval the span is the window's length give or take one interval. Pure.
 */
import type { Series } from '../traffic/prometheus.js';
import { type Counts, type PodSample, countsAs } from './verdict.js';

/** The window on Prometheus' clock, in seconds. */
export interface ScrapeWindow {
  readonly start: number;
  readonly end: number;
}

// Samples of one scrape share its timestamp (milliseconds in Prometheus, seconds with a fraction here).
const key = (t: number): number => Math.round(t * 1000);

/** One scrape target of a pod: its `up` series' labels and the times of its successful scrapes since `from`. */
interface Target {
  readonly job?: string;
  readonly instance?: string;
  readonly times: readonly number[];
}

/**
 * The pod's scrape target with the most successful scrapes (`up == 1`) since `from`: a pod
 * scraped by two jobs (a ServiceMonitor and a PodMonitor) is counted once.
 */
function targetOf(pod: string, up: readonly Series[], from: number): Target | undefined {
  const targets = up
    .filter((s) => s.labels.pod === pod)
    .map((s) => ({ job: s.labels.job, instance: s.labels.instance, times: s.samples.filter(([t, v]) => v === 1 && t >= from).map(([t]) => t) }))
    .filter((t) => t.times.length > 0);
  return targets.sort((a, b) => b.times.length - a.times.length)[0];
}

/** The scrapes of `pod` that bound its window: the first at or after the start, the first at or after the end. */
export function windowScrapes(pod: string, up: readonly Series[], w: ScrapeWindow): { first?: number; last?: number } {
  const times = targetOf(pod, up, w.start)?.times ?? [];
  return { first: times[0], last: times.find((t) => t >= w.end) };
}

/**
 * Counts of one series over the scrapes `times` (in order): its value at the first, and its
 * increase to the last. A scrape that succeeded without the series counts it 0 (a labelled
 * counter is created at its first increment: the first 5xx of a window are not lost); a value
 * lower than the one before is a restart, counted from 0 as Prometheus' `increase()` does.
 */
function seriesCounts(series: Series, times: readonly number[]): { start: number; increase: number } {
  const values = new Map(series.samples.map(([t, v]) => [key(t), v]));
  const at = (t: number): number => values.get(key(t)) ?? 0;
  let increase = 0;
  for (let i = 1; i < times.length; i++) {
    const before = at(times[i - 1] as number);
    const now = at(times[i] as number);
    increase += now >= before ? now - before : now;
  }
  return { start: times.length > 0 ? at(times[0] as number) : 0, increase };
}

/**
 * One pod's counters at its window's ends from the `up` and `http_requests_total` range vectors,
 * or why there are none: not scraped since the window opened, not after it closed, or only once
 * in it (a window shorter than the scrape interval).
 */
export function scrapeAlignedSample(pod: { readonly pod: string; readonly hash: string }, up: readonly Series[], requests: readonly Series[], w: ScrapeWindow): PodSample {
  const target = targetOf(pod.pod, up, w.start);
  const base = { pod: pod.pod, hash: pod.hash };
  if (!target) return { ...base, start: { failure: 'not scraped by Prometheus since the window opened' }, end: { failure: 'not scraped' } };
  const lastIndex = target.times.findIndex((t) => t >= w.end);
  const start: Counts = { total: 0, errors: 0 };
  if (lastIndex < 0) return { ...base, start, end: { failure: 'not scraped by Prometheus after the window closed' } };
  if (lastIndex === 0) return { ...base, start, end: { failure: 'scraped by Prometheus only once in the window: make --verdict-window a few scrape intervals long' } };
  const times = target.times.slice(0, lastIndex + 1);
  let total = 0;
  let errors = 0;
  let totalIncrease = 0;
  let errorIncrease = 0;
  for (const s of requests) {
    if (s.labels.pod !== pod.pod || s.labels.job !== target.job || s.labels.instance !== target.instance) continue;
    const kind = countsAs(s.labels.route, s.labels.status_code);
    if (kind === 'skip') continue;
    const c = seriesCounts(s, times);
    total += c.start;
    totalIncrease += c.increase;
    if (kind === 'error') {
      errors += c.start;
      errorIncrease += c.increase;
    }
  }
  return { ...base, start: { total, errors }, end: { total: total + totalIncrease, errors: errors + errorIncrease } };
}
