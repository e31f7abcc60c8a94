/**
 * The rules as Prometheus reads them, checked and unit-tested by the real promtool
 * (`bash scripts/ensure-promtool.sh` installs it). Missing promtool fails under CI and
 * skips elsewhere, so `npm test` still needs only Node.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CASTLE_ALERT_NAMES, castleRuleGroups } from '../../src/alerting/castle-rules.js';
import { dashboardQueries, instantiateQuery } from '../../src/dashboards/index.js';
import { cases, rulesUnderTest } from './cases.js';
import { findPromtool, promtool, writePromtoolFiles } from './promtool.js';

const skip = !findPromtool() && !process.env.CI;

describe.skipIf(skip)('Castle rules under promtool', () => {
  it('has promtool to run', () => {
    expect(findPromtool(), `no promtool: run "bash scripts/ensure-promtool.sh" or set PROMTOOL; CI=${process.env.CI}`).toBeTruthy();
  });

  const groups = castleRuleGroups(rulesUnderTest);
  const dir = writePromtoolFiles(groups, cases);

  it('pass promtool check rules (syntax, PromQL, durations, no duplicates)', () => {
    const r = promtool(['check', 'rules', 'rules.yaml'], dir);
    expect(r.output, r.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status, r.output).toBe(0);
  });

  it('with short windows (a test configuration) also pass promtool check rules', () => {
    const short = castleRuleGroups({
      ...rulesUnderTest,
      burnRates: { page: [{ long: '2m', short: '30s', factor: 14.4 }], ticket: [{ long: '10m', short: '1m', factor: 3 }] },
      rateWindow: '30s',
    });
    const shortDir = writePromtoolFiles(short, []);
    const r = promtool(['check', 'rules', 'rules.yaml'], shortDir);
    expect(r.status, r.output).toBe(0);
  });

  it('fire and stay quiet as every scenario expects (promtool test rules)', () => {
    const r = promtool(['test', 'rules', 'tests.yaml'], dir);
    expect(r.output, r.output).toContain('SUCCESS');
    expect(r.status, r.output).toBe(0);
  }, 120_000);

  it('every alert fires in some scenario and is quiet in another', () => {
    const tests = (parse(readFileSync(join(dir, 'tests.yaml'), 'utf8')) as { tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }> }).tests;
    const checks = tests.flatMap((t) => t.alert_rule_test);
    for (const name of CASTLE_ALERT_NAMES) {
      const mine = checks.filter((c) => c.alertname === name);
      expect(mine.some((c) => c.exp_alerts.length > 0), `${name} fires somewhere`).toBe(true);
      expect(mine.some((c) => c.exp_alerts.length === 0), `${name} is quiet somewhere`).toBe(true);
    }
  });

  it('every dashboard query is valid PromQL (checked by promtool as recording rules)', () => {
    const queries = dashboardQueries();
    const asRules = [{ name: 'dashboard-queries', rules: queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: instantiateQuery(q.expr, { namespace: 'castle' }) })) }];
    const r = promtool(['check', 'rules', 'rules.yaml'], writePromtoolFiles(asRules, []));
    expect(r.output, r.output).toContain(`SUCCESS: ${queries.length} rules found`);
    expect(r.status, r.output).toBe(0);
  });

  it('a broken expectation makes promtool fail (the runner can fail)', () => {
    const broken = cases.slice(0, 1).map((c) => ({ ...c, expect: c.expect.map((e) => ({ ...e, firing: {} })) }));
    const brokenDir = writePromtoolFiles(groups, broken);
    const r = promtool(['test', 'rules', 'tests.yaml'], brokenDir);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('FAILED');
  }, 120_000);
});
