import { describe, expect, it } from 'vitest';
import { DashboardConfigMaps, dashboardConfigMapName } from '../../src/dashboard-config-maps.js';
import { castleDashboards, dashboardQueries, instantiateQuery } from '../../src/dashboards/index.js';
import { only, testChart } from '../support.js';

describe('Castle dashboards', () => {
  const dashboards = castleDashboards();

  it('are RED, capacity, autoscaling and releases, each with a unique uid', () => {
    expect(dashboards.map((d) => d.title)).toEqual(['Castle / RED', 'Castle / Capacity', 'Castle / Autoscaling', 'Castle / Releases']);
    expect(new Set(dashboards.map((d) => d.uid)).size).toBe(dashboards.length);
  });

  it.each(castleDashboards().map((d) => [d.title, d] as const))('%s has the datasource and namespace variables', (_, d) => {
    const vars = d.templating?.list ?? [];
    expect(vars.map((v) => [v.name, v.type])).toEqual([
      ['datasource', 'datasource'],
      ['namespace', 'query'],
    ]);
  });

  it('every panel that is not a row queries the datasource variable, has a description and a unit', () => {
    for (const d of dashboards) {
      for (const p of (d.panels ?? []) as Array<Record<string, unknown> & { type: string; targets?: unknown[] }>) {
        if (p.type === 'row') continue;
        expect(p.datasource, `${d.title} / ${String(p.title)}`).toEqual({ type: 'prometheus', uid: '${datasource}' });
        expect(String(p.description).length, `${d.title} / ${String(p.title)}`).toBeGreaterThan(20);
        expect((p.fieldConfig as { defaults: { unit?: string } }).defaults.unit).toBeTruthy();
        expect(p.targets?.length).toBeGreaterThan(0);
      }
    }
  });

  it('list every query, each scoped to the chosen namespace', () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThanOrEqual(25);
    for (const q of queries) expect(q.expr, `${q.dashboard} / ${q.panel}`).toContain('namespace="$namespace"');
    expect(queries.map((q) => `${q.dashboard} / ${q.panel}`)).toEqual(expect.arrayContaining(['Castle / Releases / Version per pod', 'Castle / Autoscaling / Request rate per replica against capacity']));
  });

  it('instantiate a query as Grafana would', () => {
    expect(instantiateQuery('rate(x{namespace="$namespace"}[$__rate_interval])', { namespace: 'castle', rateInterval: '30s' })).toBe('rate(x{namespace="castle"}[30s])');
  });
});

describe('DashboardConfigMaps', () => {
  it('ships each dashboard as a ConfigMap labelled for the Grafana sidecar', () => {
    const { chart, objects } = testChart();
    new DashboardConfigMaps(chart, 'dashboards', { namespace: 'castle', labels: { 'app.kubernetes.io/part-of': 'castle' } });
    const maps = objects().filter((o) => o.kind === 'ConfigMap');
    expect(maps).toHaveLength(4);
    const red = only<{ metadata: { labels: Record<string, string>; annotations: Record<string, string> }; data: Record<string, string> }>(objects(), 'ConfigMap', dashboardConfigMapName('castle-red'));
    expect(red.metadata.labels).toEqual({ 'app.kubernetes.io/part-of': 'castle', grafana_dashboard: '1' });
    expect(red.metadata.annotations).toEqual({ grafana_folder: 'Castle' });
    expect(JSON.parse(red.data['castle-red.json'] ?? '')).toMatchObject({ uid: 'castle-red', title: 'Castle / RED' });
  });

  it('refuses a namespace that is not a DNS label', () => {
    const { chart } = testChart();
    expect(() => new DashboardConfigMaps(chart, 'dashboards', { namespace: 'Not_OK' })).toThrow('namespace: must be a DNS label');
  });
});
