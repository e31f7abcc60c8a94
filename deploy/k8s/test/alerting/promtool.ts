/**
 * Runs promtool on rules rendered from TypeScript: `check rules` and `test rules` with test
 * files written from {@link PromtoolCase}s. promtool comes from `PROMTOOL`, the cluster's
 * monitoring add-on or `scripts/ensure-promtool.sh`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { isAlertingRule, type AlertingRule, type RuleGroup } from '../../src/alerting/prometheus-rules.js';

/** One input series in promtool's expanding notation (`0+60x90`). */
export interface Series {
  readonly series: string;
  readonly values: string;
}

/** One scenario: input series, and at chosen times the exact set of firing alerts. */
export interface PromtoolCase {
  readonly name: string;
  /** Spacing of the input samples. @default '1m' */
  readonly interval?: string;
  readonly series: readonly Series[];
  /** At each time, the alerts that fire (alert name → the label sets of its instances); every other alert must not fire. */
  readonly expect: ReadonlyArray<{ readonly at: string; readonly firing: Readonly<Record<string, ReadonlyArray<Record<string, string>>>> }>;
  /** PromQL (recorded series included) and the exact samples it must give at a time. */
  readonly queries?: ReadonlyArray<{ readonly at: string; readonly expr: string; readonly samples: ReadonlyArray<{ readonly labels: string; readonly value: number }> }>;
}

const cacheCandidates = [
  process.env.PROMTOOL,
  join(process.env.BIN_DIR ?? join(process.env.CASTLE_CACHE_DIR ?? '/var/cache/castle', 'k8s-v1.33.13/bin'), 'promtool'),
];

/** The promtool binary, if one is installed. */
export function findPromtool(): string | undefined {
  return cacheCandidates.find((c): c is string => !!c && existsSync(c));
}

/** The promtool binary. @throws Error naming the script that installs it. */
export function promtoolPath(): string {
  const found = findPromtool();
  if (!found) throw new Error('promtool not found: run "bash scripts/ensure-promtool.sh" (or set PROMTOOL to a promtool binary)');
  return found;
}

/** Runs promtool; returns its exit status and output together. */
export function promtool(args: readonly string[], cwd: string): { status: number; output: string } {
  const r = spawnSync(promtoolPath(), args, { cwd, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** Fills `{{ $labels.x }}` of an annotation from an alert's labels, as Prometheus does for these simple templates. */
function expand(template: string, labels: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{ \$labels\.([a-z_]+) \}\}/g, (_, name: string) => labels[name] ?? '');
}

/** A promtool unit-test file for the cases against `rulesFile`, checking every alert of `groups` at every time. */
export function promtoolTestFile(rulesFile: string, groups: readonly RuleGroup[], cases: readonly PromtoolCase[]): string {
  const alerts = new Map<string, AlertingRule>();
  for (const rule of groups.flatMap((g) => g.rules)) if (isAlertingRule(rule)) alerts.set(rule.alert, rule);
  const tests = cases.map((c) => {
    for (const e of c.expect) {
      for (const name of Object.keys(e.firing)) if (!alerts.has(name)) throw new Error(`case "${c.name}": no alert named ${name}`);
    }
    return {
      name: c.name,
      interval: c.interval ?? '1m',
      input_series: c.series,
      ...(c.queries ? { promql_expr_test: c.queries.map((q) => ({ expr: q.expr, eval_time: q.at, exp_samples: q.samples })) } : {}),
      alert_rule_test: c.expect.flatMap((e) =>
        [...alerts.values()].map((rule) => ({
          eval_time: e.at,
          alertname: rule.alert,
          exp_alerts: (e.firing[rule.alert] ?? []).map((labels) => {
            const all = { ...labels, ...rule.labels };
            return {
              exp_labels: all,
              exp_annotations: Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k, expand(v, all)])),
            };
          }),
        })),
      ),
    };
  });
  return stringify({ rule_files: [rulesFile], evaluation_interval: '1m', tests }, { lineWidth: 0 });
}

/** A fresh directory with `rules.yaml` (the groups) and `tests.yaml` (the cases). */
export function writePromtoolFiles(groups: readonly RuleGroup[], cases: readonly PromtoolCase[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'castle-rules-'));
  writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }, { lineWidth: 0 }));
  writeFileSync(join(dir, 'tests.yaml'), promtoolTestFile('rules.yaml', groups, cases));
  return dir;
}

/** promtool's version line, for messages. */
export function promtoolVersion(): string {
  return execFileSync(promtoolPath(), ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? '';
}
