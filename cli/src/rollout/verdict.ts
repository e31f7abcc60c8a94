/**
 * The rollout verdict: compare the error ratio of the new pods with the old pods' over the
 * same window, from their own `http_requests_total` counters. Pure functions; reading the
 * counters (from Prometheus, or through the API server's pod proxy) is the caller's job.
 */

/** Requests and 5xx answers of one pod or one group. */
export interface Counts {
  readonly total: number;
  readonly errors: number;
}

/** Routes that are not user traffic: probes and scrapes would dilute the error ratio. */
const NON_TRAFFIC = /^\/(healthz|readyz|metrics)/;

/** How a request counter with these labels counts: not at all (probes, scrapes), as a request, or as a 5xx. */
export function countsAs(route: string | undefined, statusCode: string | undefined): 'skip' | 'ok' | 'error' {
  if (route && NON_TRAFFIC.test(route)) return 'skip';
  return /^5\d\d$/.test(statusCode ?? '') ? 'error' : 'ok';
}

/**
 * Sum `http_requests_total` of a Prometheus text exposition: all requests, and those answered
 * 5xx, leaving out probe and metrics routes.
 */
export function parseRequestCounts(text: string): Counts {
  let total = 0;
  let errors = 0;
  for (const line of text.split('\n')) {
    const m = /^http_requests_total(?:\{([^}]*)\})?\s+([0-9.eE+-]+|NaN|\+Inf)/.exec(line);
    if (!m) continue;
    const labels = new Map([...(m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x): [string, string] => [x[1] ?? '', x[2] ?? '']));
    const kind = countsAs(labels.get('route'), labels.get('status_code'));
    if (kind === 'skip') continue;
    const value = Number(m[2]);
    if (!Number.isFinite(value)) continue;
    total += value;
    if (kind === 'error') errors += value;
  }
  return { total, errors };
}

/** A read of a pod's counters that failed, and why (an HTTP status). */
export interface ReadFailure {
  readonly failure: string;
}

/**
 * The increase of a pod's counters over a window. Either counter lower at the end than at the
 * start means the process restarted: its end values are the increase since the restart, as
 * Prometheus' `increase()` treats a reset (the requests before the restart are lost).
 */
export function increase(start: Counts, end: Counts): Counts {
  return end.total < start.total || end.errors < start.errors ? end : { total: end.total - start.total, errors: end.errors - start.errors };
}

/** One pod's counters at the start and end of the window. */
export interface PodSample {
  readonly pod: string;
  /** Its `pod-template-hash` label: which ReplicaSet it belongs to. */
  readonly hash: string;
  readonly start: Counts | ReadFailure;
  readonly end: Counts | ReadFailure;
}

/** A pod left out of the verdict, and why. */
export interface ExcludedPod {
  readonly pod: string;
  readonly group: 'old' | 'new';
  readonly reason: string;
}

/** The pods left out, for a line of text: `old pod www-1, counters unreadable at … (HTTP 503); …`. */
export const describeExcluded = (excluded: readonly ExcludedPod[]): string => excluded.map((x) => `${x.group} pod ${x.pod}, ${x.reason}`).join('; ');

/** Request counts per group over the window, and the pods left out. */
export interface Groups {
  readonly old: Counts & { readonly pods: number };
  readonly new: Counts & { readonly pods: number };
  readonly excluded: readonly ExcludedPod[];
}

/**
 * Group pod increases by `pod-template-hash`: `newHash` against every other hash. A pod whose
 * counters could not be read at the start or the end of the window is left out: without both
 * reads its counts are not the window's (its lifetime totals would pass for them).
 */
export function groupIncreases(samples: readonly PodSample[], newHash: string): Groups {
  const add = (acc: { total: number; errors: number; pods: number }, c: Counts) => ({ total: acc.total + c.total, errors: acc.errors + c.errors, pods: acc.pods + 1 });
  let old = { total: 0, errors: 0, pods: 0 };
  let next = { total: 0, errors: 0, pods: 0 };
  const excluded: ExcludedPod[] = [];
  for (const s of samples) {
    const group = s.hash === newHash ? 'new' : 'old';
    const unreadable = (when: string, f: ReadFailure) => excluded.push({ pod: s.pod, group, reason: `counters unreadable at the ${when} of the window (${f.failure})` });
    if ('failure' in s.start) unreadable('start', s.start);
    else if ('failure' in s.end) unreadable('end', s.end);
    else if (group === 'new') next = add(next, increase(s.start, s.end));
    else old = add(old, increase(s.start, s.end));
  }
  return { old, new: next, excluded };
}

/**
 * The one-sided Fisher exact test of "the new pods err more often than the old": given all
 * the window's errors, the chance that at least as many of them would land on the new pods
 * if every request erred alike (the upper tail of the hypergeometric distribution).
 * @returns the p-value, in [0, 1].
 */
export function oneSidedFisher(next: Counts, old: Counts): number {
  const n = next.total;
  const m = old.total;
  const k = next.errors + old.errors;
  const lo = Math.max(0, k - m);
  const hi = Math.min(k, n);
  // log P(x errors on the new side), up to a constant, from P(x + 1) / P(x) = (n - x)(k - x) / ((x + 1)(m - k + x + 1)).
  const logP = [0];
  for (let x = lo; x < hi; x++) logP.push((logP.at(-1) ?? 0) + Math.log((n - x) * (k - x)) - Math.log((x + 1) * (m - k + x + 1)));
  const top = logP.reduce((a, b) => Math.max(a, b), -Infinity);
  const weights = logP.map((l) => Math.exp(l - top));
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  return Math.min(1, sum(weights.slice(Math.max(0, next.errors - lo))) / sum(weights));
}

/** What the verdict tolerates. */
export interface VerdictPolicy {
  /** Fewer requests than this (and at least 1) in either group: inconclusive. */
  readonly minRequests: number;
  /** How much higher (absolute) the new error ratio may be than the old one and still pass, significant or not. */
  readonly tolerance: number;
}

/** Default policy: at least 50 requests per group; at most 1 point more errors. */
export const DEFAULT_VERDICT_POLICY: VerdictPolicy = { minRequests: 50, tolerance: 0.01 };

/** The verdict fails only on a p-value below this: 99% confidence that the new pods err more often. */
export const VERDICT_SIGNIFICANCE = 0.01;

/** The outcome with the numbers behind it (stored with the revision). */
export interface Verdict {
  readonly outcome: 'pass' | 'fail' | 'inconclusive';
  readonly reason: string;
  readonly old: Counts & { readonly ratio: number | null; readonly pods: number };
  readonly new: Counts & { readonly ratio: number | null; readonly pods: number };
  /** The new group's share of requests: without a mesh, traffic follows the replica ratio. */
  readonly trafficShare: number | null;
  /** The one-sided Fisher exact test's p-value; null when inconclusive. */
  readonly pValue: number | null;
  /** The confidence a fail needs (1 - the significance level). */
  readonly confidence: number;
  /** Pods whose counts were not taken, and why. */
  readonly excluded: readonly ExcludedPod[];
  /** Where the counters were read; absent in verdicts stored before Prometheus was a source (the pod proxy). */
  readonly source?: 'prometheus' | 'pod-proxy';
}

const ratio = (c: Counts): number | null => (c.total > 0 ? c.errors / c.total : null);
const pct = (r: number | null): string => (r === null ? 'n/a' : `${(r * 100).toFixed(2)}%`);

/**
 * Compare the groups: inconclusive when either saw fewer than `minRequests` requests (or
 * none); fail when the new pods' 5xx ratio is higher than the old pods' at 99% confidence
 * (one-sided Fisher exact test, p < 0.01) and by more than `tolerance`; else pass.
 */
export function judge(groups: Groups, policy: VerdictPolicy = DEFAULT_VERDICT_POLICY): Verdict {
  const old = { ...groups.old, ratio: ratio(groups.old) };
  const next = { ...groups.new, ratio: ratio(groups.new) };
  const all = old.total + next.total;
  const confidence = 1 - VERDICT_SIGNIFICANCE;
  const base = { old, new: next, trafficShare: all > 0 ? next.total / all : null, confidence, excluded: groups.excluded };
  // No data never passes, whatever the minimum.
  const least = Math.max(1, policy.minRequests);
  const small = [old.total < least ? `old pods saw ${old.total}` : '', next.total < least ? `new pods saw ${next.total}` : ''].filter(Boolean);
  if (small.length > 0) {
    return { ...base, pValue: null, outcome: 'inconclusive', reason: `${small.join(' and ')} requests, fewer than the minimum of ${least}` };
  }
  const pValue = oneSidedFisher(groups.new, groups.old);
  const higher = pValue < VERDICT_SIGNIFICANCE;
  const test = `at ${confidence * 100}% confidence (one-sided Fisher exact test, ${pValue < 1e-4 ? 'p < 0.0001' : `p = ${pValue.toPrecision(2)}`})`;
  if (higher && (next.ratio ?? 0) - (old.ratio ?? 0) > policy.tolerance) {
    return { ...base, pValue, outcome: 'fail', reason: `new pods answered ${pct(next.ratio)} with 5xx against ${pct(old.ratio)} for old pods: significantly higher ${test} and by more than the tolerance of ${pct(policy.tolerance)}` };
  }
  const why = higher ? `significantly higher ${test} but within the tolerance of ${pct(policy.tolerance)}` : `not significantly higher ${test}`;
  return { ...base, pValue, outcome: 'pass', reason: `new pods ${pct(next.ratio)} 5xx, old pods ${pct(old.ratio)}: ${why}` };
}
