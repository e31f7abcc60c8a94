/**
 * Service level objectives and their multiwindow, multi-burn-rate alerts, as the Google SRE
 * workbook ("Alerting on SLOs") sets them out: an alert fires when the error budget burns
 * at a given multiple of the sustainable rate over a long window *and* a short one (the
 * short window makes it resolve soon after the burn stops).
 *
 * One recording rule per SLO and window gives the error ratio
 * (`castle:slo_errors:ratio_rate<window>{slo="…"}`); the alerts compare those.
 */
import { checkDuration, num, percent, type AlertingRule, type RecordingRule, type Severity } from './prometheus-rules.js';

/** One long/short window pair and the burn rate both must exceed. */
export interface BurnRateWindow {
  /** The long window, e.g. `1h`. */
  readonly long: string;
  /** The short window, e.g. `5m` (a twelfth of the long one in the workbook). */
  readonly short: string;
  /** The burn rate: how many times faster than sustainable the budget is spent. */
  readonly factor: number;
}

/** Which window pairs page and which open a ticket. */
export interface BurnRatePolicy {
  readonly page: readonly BurnRateWindow[];
  readonly ticket: readonly BurnRateWindow[];
}

/**
 * The workbook's policy for a 30-day budget: page when 2% of it goes in an hour (14.4× over
 * 1h and 5m) or 5% in six hours (6× over 6h and 30m); ticket when 10% goes in a day (3× over
 * 1d and 2h) or at the sustainable rate for three days (1× over 3d and 6h).
 */
export const sreWorkbookPolicy: BurnRatePolicy = {
  page: [
    { long: '1h', short: '5m', factor: 14.4 },
    { long: '6h', short: '30m', factor: 6 },
  ],
  ticket: [
    { long: '1d', short: '2h', factor: 3 },
    { long: '3d', short: '6h', factor: 1 },
  ],
};

/** One SLO: which requests are good, and what share must be. */
export interface Slo {
  /** The `slo` label of its series and alerts, e.g. `www-availability`. */
  readonly name: string;
  /** The share of good events promised, e.g. `0.999`. */
  readonly objective: number;
  /** PromQL of the bad-event ratio over `window` (per namespace), e.g. 5xx over all. */
  readonly errorRatio: (window: string) => string;
  /** Alert name prefix, e.g. `CastleWwwAvailability` (gets `FastBurn` / `SlowBurn`). */
  readonly alertPrefix: string;
  /** What the SLO promises, for humans: `GET / at www answers without a 5xx`. */
  readonly promise: string;
  /** Extra labels of its alerts (e.g. `tier`). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Extra matchers of the recorded ratios the alerts read, e.g. `namespace="castle"` (another release records its own). */
  readonly matchers?: readonly string[];
}

/** The recorded error ratio of an SLO over one window. */
export function errorRatioRecord(window: string): string {
  return `castle:slo_errors:ratio_rate${window}`;
}

/** Every problem of a policy and an objective. */
export function validateSlo(where: string, objective: number, policy: BurnRatePolicy): string[] {
  const problems: string[] = [];
  if (!(objective > 0 && objective < 1)) problems.push(`${where}.objective: must be between 0 and 1 (exclusive), got ${objective}`);
  for (const severity of ['page', 'ticket'] as const) {
    if (policy[severity].length === 0) problems.push(`${where}.burnRates.${severity}: must list at least one window pair, got none`);
    for (const [i, w] of policy[severity].entries()) {
      const at = `${where}.burnRates.${severity}[${i}]`;
      problems.push(...checkDuration(`${at}.long`, w.long), ...checkDuration(`${at}.short`, w.short));
      if (!(w.factor > 0)) problems.push(`${at}.factor: must be > 0, got ${w.factor}`);
      if (objective > 0 && objective < 1 && w.factor * (1 - objective) > 1) {
        problems.push(`${at}.factor: ${w.factor} × the budget (${num(1 - objective)}) exceeds an error ratio of 1, so it could never fire`);
      }
    }
  }
  return problems;
}

/** The windows a policy needs recorded, shortest first. */
export function policyWindows(policy: BurnRatePolicy): string[] {
  const all = [...policy.page, ...policy.ticket].flatMap((w) => [w.long, w.short]);
  return [...new Set(all)];
}

/** The recording rules of one SLO: its error ratio over every window of the policy. */
export function sloRecordingRules(slo: Slo, policy: BurnRatePolicy): RecordingRule[] {
  return policyWindows(policy).map((window) => ({
    record: errorRatioRecord(window),
    expr: slo.errorRatio(window),
    labels: { slo: slo.name },
  }));
}

/** The two alerts of one SLO: `…FastBurn` pages, `…SlowBurn` opens a ticket. */
export function sloAlerts(slo: Slo, policy: BurnRatePolicy, runbookUrl: (alert: string) => string): AlertingRule[] {
  const budget = 1 - slo.objective;
  const alert = (suffix: string, severity: Severity, windows: readonly BurnRateWindow[]): AlertingRule => {
    const name = `${slo.alertPrefix}${suffix}`;
    const ratio = (window: string) => `${errorRatioRecord(window)}{${[`slo="${slo.name}"`, ...(slo.matchers ?? [])].join(',')}}`;
    const expr = windows
      .map((w) => {
        const threshold = num(w.factor * budget);
        return `(\n  ${ratio(w.long)} > ${threshold}\nand\n  ${ratio(w.short)} > ${threshold}\n)`;
      })
      .join('\nor\n');
    const described = windows.map((w) => `${num(w.factor)}× over ${w.long} and ${w.short} (error ratio above ${percent(w.factor * budget)})`).join(', or ');
    return {
      alert: name,
      expr,
      labels: { severity, slo: slo.name, ...slo.labels },
      annotations: {
        summary: `The error budget of SLO ${slo.name} (${percent(slo.objective)}) is burning ${severity === 'page' ? 'fast' : 'steadily'} in {{ $labels.namespace }}`,
        description:
          `The SLO "${slo.name}" (${slo.promise}, ${percent(slo.objective)} of requests) is spending its error budget ` +
          `at ${described}. ` +
          (severity === 'page'
            ? 'At this rate a 30-day budget is gone within days: act now.'
            : 'At this rate the budget runs out before the period ends: plan a fix.'),
        runbook_url: runbookUrl(name),
      },
    };
  };
  return [alert('FastBurn', 'page', policy.page), alert('SlowBurn', 'ticket', policy.ticket)];
}
