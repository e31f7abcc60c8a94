/**
 * The rollout verdict: compare the error ratio of the new pods with the old pods' over the
 * same window, from their own `http_requests_total` counters. Pure functions; reading the
 * counters (through the API server's pod proxy) is the caller's job.
 */

/** Requests and 5xx answers of one pod or one group. */
export interface Counts {
  readonly total: number;
  readonly errors: number;
}

/** Routes that are not user traffic: probes and scrapes would dilute the error ratio. */
const NON_TRAFFIC = /^\/(healthz|readyz|metrics)/;

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
    const route = labels.get('route');
    if (route && NON_TRAFFIC.test(route)) continue;
    const value = Number(m[2]);
    if (!Number.isFinite(value)) continue;
    total += value;
    if (/^5\d\d$/.test(labels.get('status_code') ?? '')) errors += value;
  }
  return { total, errors };
}

/**
 * The increase of a counter pair over a window. A counter lower at the end than at the start
 * was reset (the process restarted): its end value is the increase since the reset, as
 * Prometheus' `increase()` treats it. A pod without a start sample started inside the window.
 */
export function increase(start: Counts | undefined, end: Counts): Counts {
  if (!start) return end;
  const one = (a: number, b: number): number => (b < a ? b : b - a);
  return { total: one(start.total, end.total), errors: one(start.errors, end.errors) };
}

/** One pod's samples at the start and end of the window. */
export interface PodSample {
  readonly pod: string;
  /** Its `pod-template-hash` label: which ReplicaSet it belongs to. */
  readonly hash: string;
  readonly start?: Counts;
  readonly end: Counts;
}

/** Request counts per group over the window. */
export interface Groups {
  readonly old: Counts & { readonly pods: number };
  readonly new: Counts & { readonly pods: number };
}

/** Group pod increases by `pod-template-hash`: `newHash` against every other hash. */
export function groupIncreases(samples: readonly PodSample[], newHash: string): Groups {
  const add = (acc: { total: number; errors: number; pods: number }, c: Counts) => ({ total: acc.total + c.total, errors: acc.errors + c.errors, pods: acc.pods + 1 });
  let old = { total: 0, errors: 0, pods: 0 };
  let next = { total: 0, errors: 0, pods: 0 };
  for (const s of samples) {
    const inc = increase(s.start, s.end);
    if (s.hash === newHash) next = add(next, inc);
    else old = add(old, inc);
  }
  return { old, new: next };
}

/** What the verdict tolerates. */
export interface VerdictPolicy {
  /** Fewer requests than this in either group: inconclusive. */
  readonly minRequests: number;
  /** How much higher (absolute) the new error ratio may be than the old one. */
  readonly tolerance: number;
}

/** Default policy: at least 50 requests per group; at most 1 point more errors. */
export const DEFAULT_VERDICT_POLICY: VerdictPolicy = { minRequests: 50, tolerance: 0.01 };

/** The outcome with the numbers behind it (stored with the revision). */
export interface Verdict {
  readonly outcome: 'pass' | 'fail' | 'inconclusive';
  readonly reason: string;
  readonly old: Counts & { readonly ratio: number | null; readonly pods: number };
  readonly new: Counts & { readonly ratio: number | null; readonly pods: number };
  /** The new group's share of requests: without a mesh, traffic follows the replica ratio. */
  readonly trafficShare: number | null;
}

const ratio = (c: Counts): number | null => (c.total > 0 ? c.errors / c.total : null);
const pct = (r: number | null): string => (r === null ? 'n/a' : `${(r * 100).toFixed(2)}%`);

/**
 * Compare the groups: inconclusive when either saw fewer than `minRequests`; fail when the
 * new error ratio exceeds the old one by more than `tolerance` (old pods with no errors at
 * all are a baseline of 0, never a reason to pass); else pass.
 */
export function judge(groups: Groups, policy: VerdictPolicy = DEFAULT_VERDICT_POLICY): Verdict {
  const old = { ...groups.old, ratio: ratio(groups.old) };
  const next = { ...groups.new, ratio: ratio(groups.new) };
  const all = old.total + next.total;
  const base = { old, new: next, trafficShare: all > 0 ? next.total / all : null };
  const small = [old.total < policy.minRequests ? `old pods saw ${old.total}` : '', next.total < policy.minRequests ? `new pods saw ${next.total}` : ''].filter(Boolean);
  if (small.length > 0) {
    return { ...base, outcome: 'inconclusive', reason: `${small.join(' and ')} requests, fewer than the minimum of ${policy.minRequests}` };
  }
  const diff = (next.ratio ?? 0) - (old.ratio ?? 0);
  if (diff > policy.tolerance) {
    return { ...base, outcome: 'fail', reason: `new pods answered ${pct(next.ratio)} with 5xx against ${pct(old.ratio)} for old pods (tolerance ${pct(policy.tolerance)})` };
  }
  return { ...base, outcome: 'pass', reason: `new pods ${pct(next.ratio)} 5xx, old pods ${pct(old.ratio)}` };
}
