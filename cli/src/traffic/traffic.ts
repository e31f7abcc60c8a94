import type { ReleaseStatusReport } from '../engine/inspect.js';
import { PrometheusError, type QueryFn, type Sample } from './prometheus.js';

/** One tier's live figures, as Prometheus has them over the window. */
export interface TierTraffic {
  readonly tier: string;
  /** Targets of the tier that Prometheus scrapes successfully (`up == 1`). */
  readonly replicas: number;
  /** Requests answered per second, the kubelet's probes (`/healthz`, `/readyz`) left out; null without data. */
  readonly requestsPerSecond: number | null;
  /** Share of those answered 5xx (sheds included), 0–1; null when there were none. */
  readonly errorRatio: number | null;
  /** Requests shed per second (503 over capacity); null for a tier that does not shed. */
  readonly shedPerSecond: number | null;
}

/** `castle status`'s traffic section: the figures, or why there are none. */
export type TrafficReport =
  | { readonly source: string; readonly window: string; readonly tiers: readonly TierTraffic[] }
  | { readonly source: string; readonly unavailable: string };

/** `castle status`'s data: the release, its Deployments and, when there are some, their traffic. */
export interface StatusReport extends ReleaseStatusReport {
  /** Absent when the release has no Deployment to ask about. */
  readonly traffic?: TrafficReport;
}

/** Window of the rates: twelve scrapes at the monitoring add-on's 5 s, four at the usual 15 s. */
export const TRAFFIC_WINDOW = '1m';

// The kubelet's probes hit every pod every few seconds; they are not traffic.
const PROBES = '/healthz|/readyz';

const regexEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The PromQL behind the figures. Series are selected by the labels the ServiceMonitors give
 * them (deploy/k8s/src/monitoring.ts): `job` is the tier, `namespace` the release's.
 */
export function trafficQueries(namespace: string, tiers: readonly string[], window = TRAFFIC_WINDOW): Record<'requests' | 'errors' | 'replicas' | 'shed', string> {
  const scope = `namespace="${namespace}",job=~"${tiers.map(regexEscape).join('|')}"`;
  const served = `${scope},route!~"${PROBES}"`;
  return {
    requests: `sum by (job) (rate(http_requests_total{${served}}[${window}]))`,
    errors: `sum by (job) (rate(http_requests_total{${served},status_code=~"5.."}[${window}]))`,
    replicas: `count by (job) (up{${scope}} == 1)`,
    shed: `sum by (job) (rate(www_shed_total{${scope}}[${window}]))`,
  };
}

const byJob = (samples: readonly Sample[]): Map<string, number> => new Map(samples.map((s) => [s.labels.job ?? '', s.value]));

/** Put the four answers together, one row per tier, in the order given. */
export function assembleTraffic(tiers: readonly string[], answers: Record<'requests' | 'errors' | 'replicas' | 'shed', readonly Sample[]>): TierTraffic[] {
  const requests = byJob(answers.requests);
  const errors = byJob(answers.errors);
  const replicas = byJob(answers.replicas);
  const shed = byJob(answers.shed);
  return tiers.map((tier) => {
    const rps = requests.get(tier);
    return {
      tier,
      replicas: replicas.get(tier) ?? 0,
      requestsPerSecond: rps ?? null,
      // no errors series at all means no 5xx was ever counted: a ratio of 0
      errorRatio: rps === undefined || rps === 0 ? null : (errors.get(tier) ?? 0) / rps,
      shedPerSecond: shed.get(tier) ?? null,
    };
  });
}

/**
 * The live traffic of a release's tiers. Never throws for Prometheus' sake: when it cannot
 * be asked, the report says why, and status shows the rest.
 */
export async function liveTraffic(query: QueryFn, source: string, namespace: string, tiers: readonly string[]): Promise<TrafficReport> {
  const q = trafficQueries(namespace, tiers);
  try {
    // One after another: the first failure (nothing listening) answers for all four.
    const requests = await query(q.requests);
    const [errors, replicas, shed] = await Promise.all([query(q.errors), query(q.replicas), query(q.shed)]);
    return { source, window: TRAFFIC_WINDOW, tiers: assembleTraffic(tiers, { requests, errors, replicas, shed }) };
  } catch (error) {
    if (error instanceof PrometheusError) return { source, unavailable: error.message };
    throw error;
  }
}
