/**
 * The cluster's real Prometheus (and Alertmanager) from a test: where it is, instant
 * queries, its alerts, and {@link checkDashboardQueries}, which runs every panel query of
 * Castle's dashboards for a namespace and reports the panels without data.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import { dashboardQueries, instantiateQuery, type PanelQuery } from '@castle/k8s';
import { loadKubeConfig, serviceUrl } from './cluster.js';

/** Where the monitoring add-on runs Prometheus: Service `prometheus`, port 9090, namespace `monitoring`. */
export const PROMETHEUS_SERVICE = { namespace: 'monitoring', name: 'prometheus', port: 9090 } as const;

/**
 * A base URL of the cluster's Prometheus reachable from this machine, once it answers
 * `/-/ready`.
 * @throws naming the add-on to install when it is not there.
 */
export async function prometheusUrl(kc: KubeConfig = loadKubeConfig()): Promise<string> {
  let url: string;
  try {
    url = await serviceUrl(PROMETHEUS_SERVICE.namespace, PROMETHEUS_SERVICE.name, PROMETHEUS_SERVICE.port, kc);
  } catch (error) {
    throw new Error(
      `no Prometheus at service ${PROMETHEUS_SERVICE.namespace}/${PROMETHEUS_SERVICE.name}:${PROMETHEUS_SERVICE.port} (${(error as Error).message}): ` +
        'install the monitoring add-on with "npm run cluster:addons -- monitoring"',
    );
  }
  const ready = await request(`${url}/-/ready`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  await ready.body.dump();
  if (ready.statusCode !== 200) throw new Error(`Prometheus at ${url} is not ready (/-/ready answered ${ready.statusCode})`);
  return url;
}

/** One series of an instant vector. */
export interface Sample {
  readonly metric: Readonly<Record<string, string>>;
  /** The value as Prometheus writes it (`"0.5"`, `"NaN"`). */
  readonly value: string;
}

/**
 * An instant query.
 * @throws Error with Prometheus's own message when the query fails (bad PromQL included).
 */
export async function query(prometheus: string, expr: string): Promise<Sample[]> {
  const res = await request(`${prometheus}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: expr }).toString(),
    headersTimeout: 15_000,
    bodyTimeout: 15_000,
  });
  const body = (await res.body.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> | [number, string] };
  };
  if (body.status !== 'success' || !body.data) throw new Error(`query failed (${res.statusCode}): ${body.error ?? 'no data'}\n  ${expr}`);
  if (body.data.resultType === 'scalar') return [{ metric: {}, value: (body.data.result as [number, string])[1] }];
  return (body.data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((r) => ({ metric: r.metric, value: r.value[1] }));
}

/** An alert as Prometheus's `/api/v1/alerts` lists it. */
export interface PrometheusAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly state: 'pending' | 'firing' | 'inactive';
  readonly value: string;
}

/** The alerts Prometheus holds now (pending and firing). */
export async function alerts(prometheus: string): Promise<PrometheusAlert[]> {
  const res = await request(`${prometheus}/api/v1/alerts`, { headersTimeout: 15_000, bodyTimeout: 15_000 });
  const body = (await res.body.json()) as { data: { alerts: PrometheusAlert[] } };
  return body.data.alerts;
}

/** The names of the rule groups Prometheus has loaded, with the file (the PrometheusRule) they came from. */
export async function ruleGroups(prometheus: string): Promise<Array<{ name: string; file: string }>> {
  const res = await request(`${prometheus}/api/v1/rules`, { headersTimeout: 15_000, bodyTimeout: 15_000 });
  const body = (await res.body.json()) as { data: { groups: Array<{ name: string; file: string }> } };
  return body.data.groups.map((g) => ({ name: g.name, file: g.file }));
}

/** A dashboard query and what Prometheus answered. */
export interface PanelResult extends PanelQuery {
  /** The query as sent, variables filled in. */
  readonly sent: string;
  readonly samples: readonly Sample[];
  /** Set when Prometheus refused the query. */
  readonly error?: string;
}

/**
 * Runs every panel query of Castle's dashboards for `namespace` (as Grafana would, with
 * `$__rate_interval` = `rateInterval`) and returns each with its result; the panels without
 * data are those with no samples or an error. Call it while traffic flows.
 */
export async function checkDashboardQueries(prometheus: string, namespace: string, { rateInterval = '1m' }: { rateInterval?: string } = {}): Promise<PanelResult[]> {
  const out: PanelResult[] = [];
  for (const q of dashboardQueries()) {
    const sent = instantiateQuery(q.expr, { namespace, rateInterval });
    try {
      out.push({ ...q, sent, samples: await query(prometheus, sent) });
    } catch (error) {
      out.push({ ...q, sent, samples: [], error: (error as Error).message });
    }
  }
  return out;
}

/** The panels of {@link checkDashboardQueries}'s results without data, one line each, for a message. */
export function panelsWithoutData(results: readonly PanelResult[]): string[] {
  return results.filter((r) => r.samples.length === 0).map((r) => `${r.dashboard} / ${r.panel} [${r.refId}]: ${r.error ?? 'no data'}\n    ${r.sent}`);
}
