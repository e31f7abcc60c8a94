/**
 * The shapes of Prometheus rule files (what a PrometheusRule's `spec.groups` holds), and the
 * small PromQL helpers the rule modules share.
 */

/** A recording rule: `record` names the series `expr` computes. */
export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** Severity of an alert: `page` wakes someone, `ticket` waits for working hours. */
export type Severity = 'page' | 'ticket';

/** An alerting rule with the labels and annotations every Castle alert carries. */
export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Readonly<Record<string, string>> & { readonly severity: Severity };
  readonly annotations: {
    readonly summary: string;
    readonly description: string;
    readonly runbook_url: string;
  };
}

/** A rule group, evaluated in order. */
export interface RuleGroup {
  readonly name: string;
  readonly interval?: string;
  readonly rules: ReadonlyArray<RecordingRule | AlertingRule>;
}

/** Whether a rule is an alerting rule. */
export function isAlertingRule(rule: RecordingRule | AlertingRule): rule is AlertingRule {
  return 'alert' in rule;
}

/** A Prometheus duration as the rules use it: one number and one unit (`30s`, `5m`, `1h`, `3d`). */
export const DURATION = /^[1-9][0-9]*(ms|s|m|h|d|w|y)$/;

const unitSeconds: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };

/** Seconds of a {@link DURATION}. @throws Error when it is not one. */
export function durationSeconds(duration: string): number {
  const m = /^([1-9][0-9]*)(ms|s|m|h|d|w|y)$/.exec(duration);
  if (!m) throw new Error(`not a Prometheus duration: ${JSON.stringify(duration)}`);
  return Number(m[1]) * (unitSeconds[m[2] as string] as number);
}

/** The problem with a duration parameter, or nothing. */
export function checkDuration(where: string, value: string): string[] {
  return DURATION.test(value) ? [] : [`${where}: must be a Prometheus duration such as 30s, 5m or 1h, got ${JSON.stringify(value)}`];
}

/** A label matcher list `{a="x",b=~"y"}` from matchers written as `a="x"`. */
export function selector(...matchers: readonly string[]): string {
  return `{${matchers.join(',')}}`;
}

/**
 * A matcher for a histogram bucket's `le` label. Prometheus 3 writes an integer bound as
 * `1.0` where the exporter said `1` (and Prometheus 2 kept `1`), so integers match both.
 */
export function leMatcher(seconds: number): string {
  const plain = String(seconds);
  return Number.isInteger(seconds) ? `le=~"${plain}|${seconds.toFixed(1)}"` : `le="${plain}"`;
}

/** A number as PromQL reads it, without binary floating-point noise (`0.0144`, not `0.014400000000000001`). */
export function num(value: number): string {
  return String(Number(value.toPrecision(12)));
}

/** A share as a percentage for humans (`1.44%`). */
export function percent(ratio: number): string {
  return `${num(ratio * 100)}%`;
}
