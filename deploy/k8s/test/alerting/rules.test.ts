import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CastleAlerts, PROMETHEUS_RULE_NAME } from '../../src/alerts.js';
import { CASTLE_ALERT_NAMES, DEFAULT_RUNBOOK_BASE_URL, castleRuleGroups, type CastleRulesProps } from '../../src/alerting/castle-rules.js';
import { isAlertingRule, leMatcher, type AlertingRule, type RecordingRule } from '../../src/alerting/prometheus-rules.js';
import { errorRatioRecord, policyWindows, sreWorkbookPolicy } from '../../src/alerting/slo.js';
import type { KubernetesObject } from '../../src/index.js';
import { only, testChart } from '../support.js';

type PrometheusRuleObject = KubernetesObject & { metadata: { namespace: string; labels: Record<string, string> }; spec: { groups: Array<{ name: string }> } };

const rules = (props: CastleRulesProps) => castleRuleGroups(props).flatMap((g) => g.rules);
const alerts = (props: CastleRulesProps) => rules(props).filter(isAlertingRule);
const records = (props: CastleRulesProps) => rules(props).filter((r): r is RecordingRule => !isAlertingRule(r));
const byName = (props: CastleRulesProps, name: string) => alerts(props).find((a) => a.alert === name) as AlertingRule;
const runbooks = new URL('../../../../docs/runbooks/', import.meta.url);

describe('Castle rules', () => {
  const all = alerts({ namespace: 'castle', wwwMaxReplicas: 20 });

  it('make exactly the alerts listed, each once', () => {
    expect(all.map((a) => a.alert).sort()).toEqual([...CASTLE_ALERT_NAMES].sort());
  });

  it.each(CASTLE_ALERT_NAMES)('%s has a severity of page or ticket, a summary, a description and a runbook in docs/runbooks', (name) => {
    const a = all.find((x) => x.alert === name) as AlertingRule;
    expect(['page', 'ticket']).toContain(a.labels.severity);
    expect(a.annotations.summary.length).toBeGreaterThan(20);
    expect(a.annotations.description.length).toBeGreaterThan(40);
    expect(a.annotations.runbook_url).toBe(`${DEFAULT_RUNBOOK_BASE_URL}${name}.md`);
    const page = new URL(`${name}.md`, runbooks);
    expect(existsSync(page), `docs/runbooks/${name}.md exists`).toBe(true);
    const text = readFileSync(page, 'utf8');
    expect(text).toMatch(new RegExp(`^# ${name}\\n`));
    for (const section of ['## Impact', '## Diagnosis', '## Mitigation', '## Escalation']) expect(text).toContain(section);
    expect(text).toContain(`**Severity: ${a.labels.severity}.**`);
  });

  it('the runbook index lists every alert with its severity', () => {
    const index = readFileSync(new URL('README.md', runbooks), 'utf8');
    for (const a of all) expect(index).toContain(`| ${a.alert} | ${a.labels.severity} | [${a.alert}.md](${a.alert}.md) |`);
  });

  it('page on the fast burns only; everything else is a ticket', () => {
    expect(all.filter((a) => a.labels.severity === 'page').map((a) => a.alert).sort()).toEqual(['CastleWwwAvailabilityFastBurn', 'CastleWwwLatencyFastBurn']);
  });

  it("record each SLO's error ratio over every window of the SRE workbook's policy", () => {
    const windows = policyWindows(sreWorkbookPolicy);
    expect(windows.sort()).toEqual(['1d', '1h', '2h', '30m', '3d', '5m', '6h'].sort());
    for (const slo of ['www-availability', 'www-latency']) {
      const mine = records({ namespace: 'castle' }).filter((r) => r.labels?.slo === slo);
      expect(mine.map((r) => r.record).sort()).toEqual(windows.map(errorRatioRecord).sort());
      for (const r of mine) expect(r.expr).toContain('namespace="castle"');
    }
  });

  it('compare both windows of each pair with factor × budget (14.4 × 0.1% = 1.44%)', () => {
    const expr = byName({ namespace: 'castle' }, 'CastleWwwAvailabilityFastBurn').expr;
    expect(expr).toContain('castle:slo_errors:ratio_rate1h{slo="www-availability",namespace="castle"} > 0.0144');
    expect(expr).toContain('castle:slo_errors:ratio_rate5m{slo="www-availability",namespace="castle"} > 0.0144');
    expect(expr).toContain('castle:slo_errors:ratio_rate6h{slo="www-availability",namespace="castle"} > 0.006');
    const slow = byName({ namespace: 'castle', availabilityObjective: 0.99 }, 'CastleWwwAvailabilitySlowBurn').expr;
    expect(slow).toContain('castle:slo_errors:ratio_rate1d{slo="www-availability",namespace="castle"} > 0.03');
    expect(slow).toContain('castle:slo_errors:ratio_rate3d{slo="www-availability",namespace="castle"} > 0.01');
  });

  it('take shortened windows from a test configuration', () => {
    const short = { namespace: 't', burnRates: { page: [{ long: '2m', short: '30s', factor: 14.4 }], ticket: [{ long: '10m', short: '1m', factor: 3 }] } };
    expect(records(short).map((r) => r.record)).toEqual(expect.arrayContaining(['castle:slo_errors:ratio_rate2m', 'castle:slo_errors:ratio_rate30s']));
    expect(byName(short, 'CastleWwwAvailabilityFastBurn').expr).not.toContain('rate1h');
  });

  it('set the backend threshold from its injected baseline plus the tolerance', () => {
    expect(byName({ namespace: 'castle' }, 'CastleBackendErrorRatioHigh').expr).toMatch(/> 0\.04$/);
    expect(byName({ namespace: 'castle', backendErrorBaseline: 0, backendErrorTolerance: 0.01 }, 'CastleBackendErrorRatioHigh').expr).toMatch(/> 0\.01$/);
  });

  it('alert on the maximum replicas only when www is autoscaled', () => {
    expect(alerts({ namespace: 'castle' }).map((a) => a.alert)).not.toContain('CastleWwwAtMaximumReplicas');
    expect(byName({ namespace: 'castle', wwwMaxReplicas: 20 }, 'CastleWwwAtMaximumReplicas').expr).toMatch(/>= 20$/);
  });

  it('match both spellings of an integer histogram bound (Prometheus 2 "1", Prometheus 3 "1.0")', () => {
    expect(leMatcher(1)).toBe('le=~"1|1.0"');
    expect(leMatcher(0.5)).toBe('le="0.5"');
  });
});

describe('CastleAlerts', () => {
  it('renders one PrometheusRule in the namespace, labelled for the Prometheus rule selector', () => {
    const { chart, objects } = testChart();
    new CastleAlerts(chart, 'alerts', { namespace: 'castle' });
    const rule = only<PrometheusRuleObject>(objects(), 'PrometheusRule', PROMETHEUS_RULE_NAME);
    expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rule.metadata.namespace).toBe('castle');
    expect(rule.metadata.labels).toEqual({ release: 'castle-monitoring' });
    expect(rule.spec.groups.map((g) => g.name)).toEqual(['castle-slo-recording', 'castle-slo-alerts', 'castle-symptoms']);
  });

  it('takes other selector labels and labels of its own', () => {
    const { chart, objects } = testChart();
    new CastleAlerts(chart, 'alerts', { namespace: 'castle', selectorLabels: { release: 'kube-prometheus-stack' }, labels: { 'app.kubernetes.io/part-of': 'castle' } });
    expect(only<PrometheusRuleObject>(objects(), 'PrometheusRule').metadata.labels).toEqual({ release: 'kube-prometheus-stack', 'app.kubernetes.io/part-of': 'castle' });
  });

  it.each<[string, Partial<Parameters<typeof castleRuleGroups>[0]> & { selectorLabels?: Record<string, string> }, string]>([
    ['an objective of 1', { availabilityObjective: 1 }, 'availability.objective: must be between 0 and 1 (exclusive), got 1'],
    ['a latency objective of 0', { latencyObjective: 0 }, 'latency.objective: must be between 0 and 1 (exclusive), got 0'],
    ['a latency bound that is no bucket', { latencyThresholdSeconds: 0.3 }, 'latencyThresholdSeconds: must be a bucket of http_request_duration_seconds'],
    ['a window that is no duration', { burnRates: { page: [{ long: '1 hour', short: '5m', factor: 14.4 }], ticket: sreWorkbookPolicy.ticket } }, 'availability.burnRates.page[0].long: must be a Prometheus duration such as 30s, 5m or 1h, got "1 hour"'],
    ['no page windows', { burnRates: { page: [], ticket: sreWorkbookPolicy.ticket } }, 'availability.burnRates.page: must list at least one window pair, got none'],
    ['a factor of 0', { burnRates: { page: [{ long: '1h', short: '5m', factor: 0 }], ticket: sreWorkbookPolicy.ticket } }, 'availability.burnRates.page[0].factor: must be > 0, got 0'],
    ['a factor that could never fire', { availabilityObjective: 0.9, burnRates: { page: [{ long: '1h', short: '5m', factor: 14.4 }], ticket: sreWorkbookPolicy.ticket } }, 'availability.burnRates.page[0].factor: 14.4 × the budget (0.1) exceeds an error ratio of 1, so it could never fire'],
    ['a rate window that is no duration', { rateWindow: '5' }, 'rateWindow: must be a Prometheus duration'],
    ['a shed ratio above 1', { shedRatio: 5 }, 'shedRatio: must be between 0 and 1, got 5'],
    ['a negative baseline', { backendErrorBaseline: -0.1 }, 'backendErrorBaseline: must be between 0 and 1, got -0.1'],
    ['zero restarts', { crashLoopRestarts: 0 }, 'crashLoopRestarts: must be ≥ 1, got 0'],
    ['a maximum of 0 replicas', { wwwMaxReplicas: 0 }, 'wwwMaxReplicas: must be ≥ 1, got 0'],
    ['a runbook URL without a trailing slash', { runbookBaseUrl: 'https://example.com/runbooks' }, "runbookBaseUrl: must be an http(s) URL ending in '/', got \"https://example.com/runbooks\""],
    ['no selector labels', { selectorLabels: {} }, 'selectorLabels: must name at least one label, got {}'],
    ['a bad selector label value', { selectorLabels: { release: 'not valid!' } }, 'selectorLabels.release: must be a valid label value, got "not valid!"'],
  ])('refuses %s, naming the prop and the value', (_, bad, message) => {
    const { chart } = testChart();
    expect(() => new CastleAlerts(chart, 'alerts', { namespace: 'castle', ...bad })).toThrow(message);
  });
});
