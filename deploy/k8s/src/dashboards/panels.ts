/**
 * The few building blocks Castle's dashboards share, on the Grafana Foundation SDK: the
 * variables (`datasource`, `namespace`), a time-series panel with its queries, and the
 * selectors every query uses.
 */
import { LegendDisplayMode, LegendPlacement, VizLegendOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import { DashboardBuilder, DatasourceVariableBuilder, QueryVariableBuilder, VariableRefresh, VariableSort } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

/** The Prometheus data source every panel queries: the dashboard's `datasource` variable. */
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/** The matcher of the chosen namespace, `namespace="$namespace"`. */
export const NS = 'namespace="$namespace"';

/** Series of one tier's container in the chosen namespace. */
export function tier(container: 'www' | 'backend', ...more: string[]): string {
  return `{${[NS, `container="${container}"`, ...more].join(',')}}`;
}

/** Grafana's rate window: at least four scrape intervals, and wider when zoomed out. */
export const RATE = '$__rate_interval';

/** One query of a panel and how its series are named in the legend. */
export interface Query {
  readonly expr: string;
  readonly legend: string;
}

/** What a time-series panel shows. */
export interface PanelSpec {
  readonly title: string;
  readonly description: string;
  readonly unit: string;
  readonly queries: readonly Query[];
  readonly min?: number;
  readonly max?: number;
  /** Width in grid columns (24 across). @default 12 */
  readonly width?: number;
}

/** A time-series panel. */
export function panel(spec: PanelSpec): PanelBuilder {
  const p = new PanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .unit(spec.unit)
    .span(spec.width ?? 12)
    .height(8)
    .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom));
  if (spec.min !== undefined) p.min(spec.min);
  if (spec.max !== undefined) p.max(spec.max);
  for (const [i, q] of spec.queries.entries()) {
    p.withTarget(new DataqueryBuilder().datasource(DATASOURCE).expr(q.expr).legendFormat(q.legend).refId(String.fromCharCode(65 + i)).range());
  }
  return p;
}

/** A dashboard with Castle's variables, tags and time settings. */
export function castleDashboard(uid: string, title: string, description: string): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['castle'])
    .editable()
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('utc')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .withVariable(
      new QueryVariableBuilder('namespace')
        .label('Namespace')
        .datasource(DATASOURCE)
        .query({ query: 'label_values(castle_build_info, namespace)', refId: 'namespace' })
        .definition('label_values(castle_build_info, namespace)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc),
    );
}
