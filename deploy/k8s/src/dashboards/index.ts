/**
 * Castle's Grafana dashboards as code: {@link castleDashboards} builds their JSON,
 * {@link dashboardQueries} lists every panel's PromQL (to run against a real Prometheus),
 * {@link instantiateQuery} fills in the dashboard variables as Grafana would.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { autoscalingDashboard } from './autoscaling.js';
import { capacityDashboard } from './capacity.js';
import { redDashboard } from './red.js';
import { releasesDashboard } from './releases.js';

/** Every dashboard, built: RED per tier, capacity and shedding, autoscaling, releases. */
export function castleDashboards(): Dashboard[] {
  return [redDashboard(), capacityDashboard(), autoscalingDashboard(), releasesDashboard()].map((d) => d.build());
}

/** One query of one panel. */
export interface PanelQuery {
  readonly dashboard: string;
  readonly panel: string;
  readonly refId: string;
  readonly legend: string;
  /** PromQL with the dashboard's variables (`$namespace`, `$__rate_interval`). */
  readonly expr: string;
}

interface PanelJson {
  readonly type?: string;
  readonly title?: string;
  readonly panels?: readonly PanelJson[];
  readonly targets?: ReadonlyArray<{ expr?: string; refId?: string; legendFormat?: string }>;
}

/** Every panel's queries, in dashboard and panel order. */
export function dashboardQueries(dashboards: readonly Dashboard[] = castleDashboards()): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const d of dashboards) {
    const walk = (panels: readonly PanelJson[]) => {
      for (const p of panels) {
        walk(p.panels ?? []);
        for (const t of p.targets ?? []) {
          if (t.expr) out.push({ dashboard: d.title ?? '', panel: p.title ?? '', refId: t.refId ?? '', legend: t.legendFormat ?? '', expr: t.expr });
        }
      }
    };
    // Read as the JSON Grafana gets: the SDK types a target as an opaque Dataquery.
    walk(JSON.parse(JSON.stringify(d.panels ?? [])) as PanelJson[]);
  }
  return out;
}

/** The values Grafana gives the variables of a query. */
export interface QueryVariables {
  readonly namespace: string;
  /** What `$__rate_interval` becomes (Grafana: at least four scrape intervals). @default '1m' */
  readonly rateInterval?: string;
}

/** A dashboard query with its variables filled in, ready for Prometheus's API. */
export function instantiateQuery(expr: string, vars: QueryVariables): string {
  return expr.replaceAll('$__rate_interval', vars.rateInterval ?? '1m').replaceAll('$namespace', vars.namespace);
}
