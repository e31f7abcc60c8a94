import { App } from 'cdk8s';
import { autoscalerKinds, type AutoscalerKind } from './autoscaler.js';
import { CastleChart, type ChartTierProps } from './castle-chart.js';
import { checkDnsLabel, checkInteger, show } from './checks.js';
import {
  backendAutoscaling,
  environmentNames,
  environments,
  isEnvironmentName,
  validateEnvironment,
  wwwAutoscaling,
  type TierAutoscaling,
  type TierEnvironment,
} from './environments.js';
import { throwIfProblems } from './errors.js';
import type { KubernetesObject } from './kubernetes-object.js';
import type { ObservabilitySettings } from './observability.js';

/** What to render. */
export interface RenderOptions {
  /** Environment name, one of {@link environmentNames}. */
  readonly env: string;
  /** Release version (semver), the image tag and the `app.kubernetes.io/version` label. */
  readonly version: string;
  /** Image registry, e.g. `registry.example.com/castle-images`; empty or unset for images loaded into the cluster. */
  readonly registry?: string;
  /** Namespace instead of the environment's. */
  readonly namespace?: string;
  /** Commit of the release, the `castle.dev/git-sha` annotation of the pods. */
  readonly gitSha?: string;
  /** Castle's PrometheusRule and dashboards instead of the environment's; `false` for none. */
  readonly observability?: ObservabilitySettings | false;
  /** Autoscaling other than the environment's (tests, clusters without KEDA). */
  readonly autoscaling?: AutoscalingOptions;
}

/** {@link RenderOptions.autoscaling}. */
export interface AutoscalingOptions {
  /**
   * Overrides the environment's autoscaler. `keda` or `hpa` on an environment with fixed
   * replicas autoscales its tiers as production does (www from the capacity model with the
   * environment's own WWW_CAPACITY_RPS and WWW_MAX_WAIT_MS); `none` fixes every tier.
   */
  readonly autoscaler?: AutoscalerKind;
  /** Prometheus that KEDA queries. @default the environment's, else 'http://prometheus.monitoring.svc:9090' */
  readonly prometheusUrl?: string;
  /** Seconds a scale-down waits for a stable recommendation. @default 180 */
  readonly scaleDownStabilizationSeconds?: number;
}

/** The pod template annotation naming the commit of the release. */
export const GIT_SHA_ANNOTATION = 'castle.dev/git-sha';

// semver.org's regular expression for a version (no leading "v").
const semver =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
// host[:port] with an optional path, as in `<registry>/castle/www`.
const registry = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

// The kinds in the order an apply must create them: the namespace, then what pods refer to,
// then the workloads.
// Autoscalers last: KEDA's admission webhook looks up the Deployment a ScaledObject scales.
const applyOrder = ['Namespace', 'ServiceAccount', 'ConfigMap', 'NetworkPolicy', 'Service', 'Deployment', 'PodDisruptionBudget', 'ServiceMonitor', 'PrometheusRule', 'ScaledObject', 'HorizontalPodAutoscaler'];

function validateOptions(o: RenderOptions): string[] {
  const problems: string[] = [];
  if (!isEnvironmentName(o.env)) problems.push(`env: must be one of ${environmentNames.join(', ')}, got ${show(o.env)}`);
  if (!semver.test(o.version)) problems.push(`version: must be a semantic version such as 1.2.3 (no leading v), got ${show(o.version)}`);
  // A version becomes a label value and an image tag: both stop at 63 / 128 characters and forbid '+'.
  else if (o.version.length > 63 || o.version.includes('+')) {
    problems.push(`version: must fit a label value (at most 63 characters, no build metadata '+'), got ${show(o.version)}`);
  }
  if (o.registry && !registry.test(o.registry)) {
    problems.push(`registry: must be a registry host with an optional port and path, without a scheme or a trailing '/', got ${show(o.registry)}`);
  }
  if (o.namespace !== undefined) problems.push(...checkDnsLabel('namespace', o.namespace));
  if (o.gitSha !== undefined && !/^[0-9a-f]{7,40}$/.test(o.gitSha)) {
    problems.push(`gitSha: must be 7 to 40 lower-case hexadecimal digits, got ${show(o.gitSha)}`);
  }
  const a = o.autoscaling;
  if (a?.autoscaler !== undefined && !autoscalerKinds.includes(a.autoscaler)) {
    problems.push(`autoscaling.autoscaler: must be one of ${autoscalerKinds.join(', ')}, got ${show(a.autoscaler)}`);
  }
  if (a?.prometheusUrl !== undefined && !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(a.prometheusUrl)) {
    problems.push(`autoscaling.prometheusUrl: must be an http:// or https:// URL, got ${show(a.prometheusUrl)}`);
  }
  if (a?.scaleDownStabilizationSeconds !== undefined) problems.push(...checkInteger('autoscaling.scaleDownStabilizationSeconds', a.scaleDownStabilizationSeconds, 0, 3600));
  return problems;
}

/**
 * Renders Castle for one environment. Pure: no I/O.
 * @returns the objects in apply order (Namespace first), as plain JSON objects
 * @throws ManifestError listing every problem of the options and of the environment
 */
export function render(options: RenderOptions): KubernetesObject[] {
  const problems = validateOptions(options);
  const env = isEnvironmentName(options.env) ? environments[options.env] : undefined;
  if (env) problems.push(...validateEnvironment(options.env, env));
  throwIfProblems(problems);
  if (!env) throw new Error('unreachable: an unknown environment is a problem above');

  const image = (tier: string) => `${options.registry ? `${options.registry}/` : ''}castle/${tier}:${options.version}`;
  const autoscaler = options.autoscaling?.autoscaler ?? env.autoscaler ?? 'keda';
  // An autoscaler asked for by the options scales tiers the environment keeps fixed as production does.
  const forced = (name: string, t: TierEnvironment): TierAutoscaling | undefined =>
    options.autoscaling?.autoscaler === undefined || autoscaler === 'none' || t.autoscaling ? t.autoscaling : name === 'www' ? wwwAutoscaling(t.config) : backendAutoscaling;
  const tier = (name: string, t: TierEnvironment): ChartTierProps => {
    const autoscaling = forced(name, t);
    return { image: image(name), ...(autoscaling ? { autoscaling } : { replicas: t.replicas }), resources: t.resources, config: t.config };
  };
  const stabilization = options.autoscaling?.scaleDownStabilizationSeconds;
  const settings = options.observability === false ? undefined : (options.observability ?? env.observability);
  // Rules are selected by the same Prometheus as the ServiceMonitors unless they say otherwise.
  const observability = settings && { ...settings, selectorLabels: settings.selectorLabels ?? env.monitoring.selectorLabels };
  const app = new App();
  const chart = new CastleChart(app, options.env, {
    namespace: options.namespace ?? env.namespace,
    version: options.version,
    namespaceLabels: env.region ? { 'castle.dev/region': env.region } : {},
    loadBalancerAnnotations: env.loadBalancer === 'aws-nlb' ? awsNlbAnnotations : {},
    monitoringNamespaceSelector: env.monitoringNamespaceSelector,
    ...(env.controlPlaneCidr ? { controlPlaneCidr: env.controlPlaneCidr } : {}),
    serviceMonitorLabels: env.monitoring.selectorLabels,
    podAnnotations: options.gitSha ? { [GIT_SHA_ANNOTATION]: options.gitSha } : {},
    autoscaler,
    prometheusUrl: options.autoscaling?.prometheusUrl ?? env.prometheusUrl,
    scalingBehaviour: stabilization === undefined ? {} : { scaleDownStabilizationSeconds: stabilization },
    www: tier('www', env.www),
    backend: tier('backend', env.backend),
    ...(observability ? { observability } : {}),
  });
  const objects = chart.toJson() as KubernetesObject[];
  const rank = (o: KubernetesObject) => applyOrder.indexOf(o.kind);
  return objects.map((o, i) => ({ o, i })).sort((a, b) => rank(a.o) - rank(b.o) || a.i - b.i).map(({ o }) => o);
}

/**
 * www's Service as an internet-facing Network Load Balancer of the AWS Load Balancer
 * Controller, sending traffic straight to pod IPs in every zone.
 */
export const awsNlbAnnotations: Readonly<Record<string, string>> = {
  'service.beta.kubernetes.io/aws-load-balancer-type': 'external',
  'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
  'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type': 'ip',
  'service.beta.kubernetes.io/aws-load-balancer-attributes': 'load_balancing.cross_zone.enabled=true',
};
