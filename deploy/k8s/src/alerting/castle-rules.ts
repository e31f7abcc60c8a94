/**
 * Castle's Prometheus rules: the SLOs of `GET /` at www (availability and latency) with
 * burn-rate alerts, and the symptom alerts (shedding, backend errors, crash loops, the
 * autoscaler at its maximum, a stuck rollout). Pure: the groups as plain objects.
 *
 * Series are selected by `namespace` and `container` (the tier's container name), labels
 * the Prometheus Operator sets on every target of a ServiceMonitor or PodMonitor.
 */
import { checkInteger, checkLabelValue } from '../checks.js';
import { checkDuration, leMatcher, num, percent, selector, type AlertingRule, type RuleGroup } from './prometheus-rules.js';
import { sloAlerts, sloRecordingRules, sreWorkbookPolicy, validateSlo, type BurnRatePolicy, type Slo } from './slo.js';

/** The parameters of Castle's rules; every field but `namespace` has a default. */
export interface CastleRulesProps {
  /** The namespace Castle runs in: every rule looks at its series only. */
  readonly namespace: string;
  /** Availability SLO of `GET /` at www: the share answered without a 5xx. @default 0.999 */
  readonly availabilityObjective?: number;
  /** Latency SLO of `GET /` at www: the share answered within {@link latencyThresholdSeconds}. @default 0.99 */
  readonly latencyObjective?: number;
  /** The latency bound of the latency SLO; one of the services' histogram buckets. @default 1 */
  readonly latencyThresholdSeconds?: number;
  /** Burn-rate windows and factors. @default {@link sreWorkbookPolicy} */
  readonly burnRates?: BurnRatePolicy;
  /** Window of the symptom alerts' rates. @default '5m' */
  readonly rateWindow?: string;
  /** Shed share of www's `GET /` above which {@link CastleRulesProps.namespace} sheds too much. @default 0.05 */
  readonly shedRatio?: number;
  /** The backend's injected error share (its `BACKEND_ERROR_RATE`). @default 0.02 */
  readonly backendErrorBaseline?: number;
  /** How far above the baseline the backend's 5xx share may go before it alerts. @default 0.02 */
  readonly backendErrorTolerance?: number;
  /** Process restarts of one container within {@link crashLoopWindow} that count as a crash loop. @default 2 */
  readonly crashLoopRestarts?: number;
  /** @default '15m' */
  readonly crashLoopWindow?: string;
  /** www's configured maximum replicas when it is autoscaled; no at-maximum alert when unset. */
  readonly wwwMaxReplicas?: number;
  /** How long www may run at its maximum before it alerts. @default '30m' */
  readonly atMaximumFor?: string;
  /** How long two versions of a tier may run side by side before a rollout counts as stuck. @default '15m' */
  readonly rolloutStuckFor?: string;
  /** How long a symptom must last before it alerts (shedding, backend errors). @default '10m' */
  readonly symptomFor?: string;
  /** Where the runbooks are: `<base><AlertName>.md`. @default {@link DEFAULT_RUNBOOK_BASE_URL} */
  readonly runbookBaseUrl?: string;
}

/**
 * Where `docs/runbooks/` is published: a placeholder repository; an environment sets
 * `runbookBaseUrl` to its own repository's (or wiki's) address.
 */
export const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/example/castle/blob/main/docs/runbooks/';

/** {@link CastleRulesProps} with every default filled in. */
export type ResolvedRulesProps = CastleRulesProps & Required<Omit<CastleRulesProps, 'namespace' | 'wwwMaxReplicas'>>;

/** The defaults of {@link CastleRulesProps}. */
export const defaultRulesProps: Required<Omit<CastleRulesProps, 'namespace' | 'wwwMaxReplicas'>> = {
  availabilityObjective: 0.999,
  latencyObjective: 0.99,
  latencyThresholdSeconds: 1,
  burnRates: sreWorkbookPolicy,
  rateWindow: '5m',
  shedRatio: 0.05,
  backendErrorBaseline: 0.02,
  backendErrorTolerance: 0.02,
  crashLoopRestarts: 2,
  crashLoopWindow: '15m',
  atMaximumFor: '30m',
  rolloutStuckFor: '15m',
  symptomFor: '10m',
  runbookBaseUrl: DEFAULT_RUNBOOK_BASE_URL,
};

/** The buckets of the services' latency histogram (packages/runtime `latencyBuckets`). */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Every problem of the props, each naming the prop and the value. */
export function validateRulesProps(p: ResolvedRulesProps): string[] {
  const problems: string[] = [...checkLabelValue('namespace', p.namespace)];
  problems.push(...validateSlo('availability', p.availabilityObjective, p.burnRates));
  problems.push(...validateSlo('latency', p.latencyObjective, p.burnRates).filter((x) => !x.includes('.burnRates.')));
  if (!LATENCY_BUCKETS.includes(p.latencyThresholdSeconds)) {
    problems.push(`latencyThresholdSeconds: must be a bucket of http_request_duration_seconds (${LATENCY_BUCKETS.join(', ')}), got ${p.latencyThresholdSeconds}`);
  }
  for (const key of ['rateWindow', 'crashLoopWindow', 'atMaximumFor', 'rolloutStuckFor', 'symptomFor'] as const) problems.push(...checkDuration(key, p[key]));
  for (const key of ['shedRatio', 'backendErrorBaseline', 'backendErrorTolerance'] as const) {
    if (!(p[key] >= 0 && p[key] <= 1)) problems.push(`${key}: must be between 0 and 1, got ${p[key]}`);
  }
  problems.push(...checkInteger('crashLoopRestarts', p.crashLoopRestarts, 1));
  if (p.wwwMaxReplicas !== undefined) problems.push(...checkInteger('wwwMaxReplicas', p.wwwMaxReplicas, 1));
  if (!/^https?:\/\/\S+\/$/.test(p.runbookBaseUrl)) problems.push(`runbookBaseUrl: must be an http(s) URL ending in '/', got ${JSON.stringify(p.runbookBaseUrl)}`);
  return problems;
}

/** Castle's rule groups: SLO recording rules, SLO alerts, symptom alerts. Assumes valid props. */
export function castleRuleGroups(props: CastleRulesProps): RuleGroup[] {
  const p: ResolvedRulesProps = { ...defaultRulesProps, ...props };
  const ns = `namespace="${p.namespace}"`;
  const www = selector(ns, 'container="www"', 'route="/"', 'method="GET"');
  const wwwErrors = selector(ns, 'container="www"', 'route="/"', 'method="GET"', 'status_code=~"5.."');
  const backend = selector(ns, 'container="backend"', 'route="/"', 'method="GET"');
  const backendErrors = selector(ns, 'container="backend"', 'route="/"', 'method="GET"', 'status_code=~"5.."');
  const sum = (expr: string) => `sum by (namespace) (${expr})`;
  const runbook = (alert: string) => `${p.runbookBaseUrl}${alert}.md`;

  const availability: Slo = {
    name: 'www-availability',
    objective: p.availabilityObjective,
    alertPrefix: 'CastleWwwAvailability',
    promise: 'GET / at www answers without a 5xx',
    labels: { tier: 'www' },
    matchers: [ns],
    // `or … * 0`: a namespace that has served no 5xx yet has no such series, and records 0, not nothing.
    errorRatio: (w) =>
      `(\n  ${sum(`rate(http_requests_total${wwwErrors}[${w}])`)}\nor\n  ${sum(`rate(http_requests_total${www}[${w}])`)} * 0\n)\n/\n${sum(`rate(http_requests_total${www}[${w}])`)}`,
  };
  const fast = selector(ns, 'container="www"', 'route="/"', 'method="GET"', leMatcher(p.latencyThresholdSeconds));
  const latency: Slo = {
    name: 'www-latency',
    objective: p.latencyObjective,
    alertPrefix: 'CastleWwwLatency',
    promise: `GET / at www answers within ${num(p.latencyThresholdSeconds)} s`,
    labels: { tier: 'www' },
    matchers: [ns],
    errorRatio: (w) => `1 - (\n${sum(`rate(http_request_duration_seconds_bucket${fast}[${w}])`)}\n/\n${sum(`rate(http_request_duration_seconds_count${www}[${w}])`)}\n)`,
  };

  const w = p.rateWindow;
  const symptoms: AlertingRule[] = [
    {
      alert: 'CastleWwwShedding',
      expr: `${sum(`rate(www_shed_total${selector(ns, 'container="www"')}[${w}])`)}\n/\n${sum(`rate(http_requests_total${www}[${w}])`)}\n> ${num(p.shedRatio)}`,
      for: p.symptomFor,
      labels: { severity: 'ticket', tier: 'www' },
      annotations: {
        summary: 'www sheds requests (503 WWW_ERR_OVERLOADED) in {{ $labels.namespace }}',
        description:
          `More than ${percent(p.shedRatio)} of GET / at www were shed over ${w} for ${p.symptomFor}: ` +
          'demand exceeds the capacity of the running replicas (WWW_CAPACITY_RPS each).',
        runbook_url: runbook('CastleWwwShedding'),
      },
    },
    {
      alert: 'CastleBackendErrorRatioHigh',
      expr: `${sum(`rate(http_requests_total${backendErrors}[${w}])`)}\n/\n${sum(`rate(http_requests_total${backend}[${w}])`)}\n> ${num(p.backendErrorBaseline + p.backendErrorTolerance)}`,
      for: p.symptomFor,
      labels: { severity: 'ticket', tier: 'backend' },
      annotations: {
        summary: 'backend fails more requests than it is configured to inject in {{ $labels.namespace }}',
        description:
          `The backend's 5xx share of GET / over ${w} has stayed above ${percent(p.backendErrorBaseline + p.backendErrorTolerance)} for ${p.symptomFor}: ` +
          `its injected baseline (BACKEND_ERROR_RATE ${num(p.backendErrorBaseline)}) plus a tolerance of ${num(p.backendErrorTolerance)}.`,
        runbook_url: runbook('CastleBackendErrorRatioHigh'),
      },
    },
    {
      alert: 'CastlePodCrashLooping',
      expr: `changes(process_start_time_seconds${selector(ns, 'container=~"www|backend"')}[${p.crashLoopWindow}]) >= ${p.crashLoopRestarts}`,
      labels: { severity: 'ticket' },
      annotations: {
        summary: 'Pod {{ $labels.pod }} ({{ $labels.container }}) keeps restarting in {{ $labels.namespace }}',
        description: `The {{ $labels.container }} process of pod {{ $labels.pod }} started ${p.crashLoopRestarts} or more times within ${p.crashLoopWindow}.`,
        runbook_url: runbook('CastlePodCrashLooping'),
      },
    },
    {
      alert: 'CastleRolloutStuck',
      expr: `count by (namespace, container) (\n  count by (namespace, container, version, git_sha) (castle_build_info${selector(ns, 'container=~"www|backend"')})\n) > 1`,
      for: p.rolloutStuckFor,
      labels: { severity: 'ticket' },
      annotations: {
        summary: 'The rollout of {{ $labels.container }} is not finishing in {{ $labels.namespace }}',
        description: `Pods of {{ $labels.container }} have run two or more versions side by side for ${p.rolloutStuckFor}: a rollout started and has neither finished nor been rolled back.`,
        runbook_url: runbook('CastleRolloutStuck'),
      },
    },
  ];
  if (p.wwwMaxReplicas !== undefined) {
    symptoms.push({
      alert: 'CastleWwwAtMaximumReplicas',
      expr: `count by (namespace) (up${selector(ns, 'container="www"')} == 1) >= ${p.wwwMaxReplicas}`,
      for: p.atMaximumFor,
      labels: { severity: 'ticket', tier: 'www' },
      annotations: {
        summary: 'www has run at its maximum of ' + String(p.wwwMaxReplicas) + ' replicas for ' + p.atMaximumFor + ' in {{ $labels.namespace }}',
        description:
          `${p.wwwMaxReplicas} or more www replicas (the autoscaler's maximum) have answered scrapes for ${p.atMaximumFor}: ` +
          'the autoscaler cannot add capacity, so further demand is shed.',
        runbook_url: runbook('CastleWwwAtMaximumReplicas'),
      },
    });
  }

  return [
    { name: 'castle-slo-recording', rules: [...sloRecordingRules(availability, p.burnRates), ...sloRecordingRules(latency, p.burnRates)] },
    { name: 'castle-slo-alerts', rules: [...sloAlerts(availability, p.burnRates, runbook), ...sloAlerts(latency, p.burnRates, runbook)] },
    { name: 'castle-symptoms', rules: symptoms },
  ];
}

/** The names of every alert {@link castleRuleGroups} can make (the at-maximum alert only with `wwwMaxReplicas`). */
export const CASTLE_ALERT_NAMES = [
  'CastleWwwAvailabilityFastBurn',
  'CastleWwwAvailabilitySlowBurn',
  'CastleWwwLatencyFastBurn',
  'CastleWwwLatencySlowBurn',
  'CastleWwwShedding',
  'CastleBackendErrorRatioHigh',
  'CastlePodCrashLooping',
  'CastleRolloutStuck',
  'CastleWwwAtMaximumReplicas',
] as const;
