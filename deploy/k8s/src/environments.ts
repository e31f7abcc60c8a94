/**
 * Castle's environments as typed configuration: the one place environment settings live.
 * They enter at the edge ({@link render}) and reach the constructs only as props.
 */
import { autoscalerKinds, DEFAULT_PROMETHEUS_URL, type AutoscalerKind } from './autoscaler.js';
import { capacityPlan } from './capacity.js';
import { checkCidr, checkDnsLabel, checkInteger, checkLabelValue, checkQuantity, show } from './checks.js';
import type { AutoscalingProps, ResourcesProps } from './http-tier.js';
import { validateSelectorLabels } from './monitoring.js';
import type { ObservabilitySettings } from './observability.js';

/** What an autoscaled tier aims at, beyond its bounds (see `TierAutoscaler`). */
export interface TierAutoscaling extends AutoscalingProps {
  /** Requests per second per replica the autoscaler aims at (KEDA); unset, KEDA scales on CPU alone. */
  readonly targetRpsPerReplica?: number;
  /** Shed requests per second per replica beyond which replicas are added (KEDA only). */
  readonly targetShedRpsPerReplica?: number;
  /** CPU utilisation aimed at, percent of the request (KEDA's `cpu` trigger; the plain HPA's metric, 70 if unset). */
  readonly targetCpuUtilisationPercent?: number;
  /** Replicas while the metrics cannot be read (KEDA), and the fixed count with autoscaler `none`. */
  readonly fallbackReplicas?: number;
}

/** How one tier runs in one environment. */
export interface TierEnvironment {
  /** Fixed replica count; leave unset when `autoscaling` is set. */
  readonly replicas?: number;
  /** Set when an autoscaler owns the replica count (the Deployment then omits it). */
  readonly autoscaling?: TierAutoscaling;
  readonly resources: ResourcesProps;
  /** The service's own environment variables (see apps/<tier>/src/config.ts). */
  readonly config: Readonly<Record<string, string>>;
}

/** How an environment's Prometheus Operator finds Castle's ServiceMonitors. */
export interface MonitoringEnvironment {
  /**
   * Labels of the ServiceMonitors: exactly what the Prometheus' `serviceMonitorSelector`
   * matches (kube-prometheus-stack selects `release: <its Helm release name>`). A missing
   * or wrong label is the usual reason scraping silently never starts.
   */
  readonly selectorLabels: Readonly<Record<string, string>>;
}

/** One environment. */
export interface Environment {
  /** Default namespace (a render may override it). */
  readonly namespace: string;
  /** AWS region of a regional variant, the `castle.dev/region` label of the Namespace. */
  readonly region?: string;
  /** `aws-nlb`: www's LoadBalancer Service is an internet-facing NLB of the AWS Load Balancer Controller. */
  readonly loadBalancer: 'cluster-default' | 'aws-nlb';
  /** Labels of the namespace allowed to scrape the metrics ports. */
  readonly monitoringNamespaceSelector: Readonly<Record<string, string>>;
  /**
   * Addresses the cluster's API server reaches pods from, admitted to the metrics ports beside
   * the monitoring namespace (rendered into `allow-metrics-scrape`). State it only where the
   * API server is outside the pod network and policies are enforced there (EKS: the VPC CIDR
   * of the control plane's ENIs admits more than the API server); then `castle deploy`'s
   * verdict reads the pods through the API server's pod proxy. Unset, it reads Prometheus.
   * @default none
   */
  readonly controlPlaneCidr?: string;
  /** How the environment's Prometheus (Operator) finds Castle's ServiceMonitors. */
  readonly monitoring: MonitoringEnvironment;
  /**
   * What scales the autoscaled tiers: a KEDA ScaledObject, a plain CPU HPA (clusters without
   * KEDA), or nothing (each autoscaled tier then runs its `fallbackReplicas`). @default 'keda'
   */
  readonly autoscaler?: AutoscalerKind;
  /** Prometheus that KEDA's triggers query. @default 'http://prometheus.monitoring.svc:9090' */
  readonly prometheusUrl?: string;
  readonly www: TierEnvironment;
  readonly backend: TierEnvironment;
  /** Castle's PrometheusRule and Grafana dashboards (the cluster must run the Prometheus Operator); none when unset. */
  readonly observability?: ObservabilitySettings;
}

/** The load Castle is sized for: the original project's 50 requests per second. */
export const BASELINE_RPS = 50;

/**
 * www's autoscaling from the capacity model ({@link capacityPlan}) for the baseline, with the
 * capacity and wait bound of the tier's own configuration (the service's defaults when unset):
 * 5 to 10 replicas aiming at 7 rps each with 10 rps per replica and a 1000 ms wait bound.
 */
export function wwwAutoscaling(config: Readonly<Record<string, string>>, baselineRps = BASELINE_RPS): TierAutoscaling {
  const plan = capacityPlan({
    baselineRps,
    capacityRps: Number(config.WWW_CAPACITY_RPS ?? 10),
    maxWaitMs: Number(config.WWW_MAX_WAIT_MS ?? 250),
  });
  return {
    minReplicas: plan.minReplicas,
    maxReplicas: plan.maxReplicas,
    targetRpsPerReplica: plan.targetRpsPerReplica,
    // Saturation: one shed request per second per replica adds replicas even when the request
    // rate looks fine (capacity lost to a slow backend: sheds for concurrency).
    targetShedRpsPerReplica: 1,
    fallbackReplicas: plan.steadyReplicas,
  };
}

/**
 * The backend's autoscaling: at least 2 (one may be lost to a rollout or a node), on CPU and
 * on request rate. It has no limiter; 100 rps per replica keeps it far below what one replica
 * serves, so CPU decides under real load.
 */
export const backendAutoscaling: TierAutoscaling = {
  minReplicas: 2,
  maxReplicas: 6,
  targetRpsPerReplica: 100,
  targetCpuUtilisationPercent: 70,
  fallbackReplicas: 3,
};

const monitoring = { 'castle.dev/monitoring': 'true' };
// The hermetic cluster's monitoring add-on (cluster/manifests/monitoring) selects this label.
const castleMonitoring: MonitoringEnvironment = { selectorLabels: { release: 'castle-monitoring' } };
// kube-prometheus-stack installed as Helm release `kube-prometheus-stack` (its chart's default
// selector is `release: <release name>`).
const kubePrometheusStack: MonitoringEnvironment = { selectorLabels: { release: 'kube-prometheus-stack' } };

const local: Environment = {
  namespace: 'castle',
  loadBalancer: 'cluster-default',
  monitoringNamespaceSelector: monitoring,
  monitoring: castleMonitoring,
  // Alerts and dashboards, labelled for the same Prometheus as the ServiceMonitors.
  observability: {},
  www: {
    // 8 × 10 rps serve a steady 50 rps at ~63% with room for a pod in rollout or churn; a
    // 1 s queue absorbs Poisson bursts (7 at 71% shed 4.4% with 250 ms, 0% with 1000).
    replicas: 8,
    resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    config: { WWW_LOG_LEVEL: 'info', WWW_MAX_WAIT_MS: '1000' },
  },
  backend: {
    // Three, so a pod deleted or killed leaves two serving, and a retry that opens a new
    // connection before the dead pod leaves the endpoints hits it one time in three, not two.
    replicas: 3,
    resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    // No injected failures (the default is 2%): a deploy's effect on errors must stand out.
    config: { BACKEND_LOG_LEVEL: 'info', BACKEND_ERROR_RATE: '0' },
  },
};

const staging: Environment = {
  ...local,
  loadBalancer: 'aws-nlb',
  monitoring: kubePrometheusStack,
  // Alerts and dashboards, labelled for the same Prometheus as the ServiceMonitors.
  observability: {},
  www: {
    replicas: 3,
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '256Mi' } },
    config: { WWW_LOG_LEVEL: 'info' },
  },
  backend: {
    replicas: 2,
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '256Mi' } },
    config: { BACKEND_LOG_LEVEL: 'info' },
  },
};

// A 1000 ms wait bound: with 30% headroom the capacity model (and the measured table) sheds
// nothing; the default 250 ms would shed about 5% at the same utilisation.
const productionWwwConfig = { WWW_LOG_LEVEL: 'info', WWW_MAX_WAIT_MS: '1000' };

const production: Environment = {
  ...staging,
  autoscaler: 'keda',
  www: {
    autoscaling: wwwAutoscaling(productionWwwConfig),
    resources: { requests: { cpu: '200m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
    config: productionWwwConfig,
  },
  backend: {
    autoscaling: backendAutoscaling,
    resources: { requests: { cpu: '200m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
    config: { BACKEND_LOG_LEVEL: 'info' },
  },
};

/** Where an environment's metrics can be read from outside its pods. */
export interface MetricsAccess {
  /** Its Prometheus (the one KEDA queries). */
  readonly prometheusUrl: string;
  /** Set when its network policies admit the control plane to the pods' metrics port. */
  readonly controlPlaneCidr?: string;
}

/** Every environment by name. */
export const environments = {
  local,
  staging,
  production,
  'production-us-east-1': { ...production, region: 'us-east-1' },
  'production-eu-west-1': { ...production, region: 'eu-west-1' },
} as const satisfies Record<string, Environment>;

/** The name of a known environment. */
export type EnvironmentName = keyof typeof environments;

/** The names of every environment, in the order above. */
export const environmentNames: readonly string[] = Object.keys(environments);

/** Whether `name` names a known environment. */
export function isEnvironmentName(name: string): name is EnvironmentName {
  return Object.hasOwn(environments, name);
}

/** Where the environment `name`'s metrics can be read from outside its pods; undefined for an unknown name. */
export function metricsAccess(name: string): MetricsAccess | undefined {
  if (!isEnvironmentName(name)) return undefined;
  const env: Environment = environments[name];
  return { prometheusUrl: env.prometheusUrl ?? DEFAULT_PROMETHEUS_URL, ...(env.controlPlaneCidr ? { controlPlaneCidr: env.controlPlaneCidr } : {}) };
}

function validateTier(where: string, tier: TierEnvironment): string[] {
  const problems: string[] = [];
  if (tier.autoscaling) {
    if (tier.replicas !== undefined) problems.push(`${where}.replicas: must be unset when autoscaling is set, got ${tier.replicas}`);
    problems.push(...checkInteger(`${where}.autoscaling.minReplicas`, tier.autoscaling.minReplicas, 1));
    problems.push(...checkInteger(`${where}.autoscaling.maxReplicas`, tier.autoscaling.maxReplicas, 1));
    if (tier.autoscaling.maxReplicas < tier.autoscaling.minReplicas) {
      problems.push(`${where}.autoscaling.maxReplicas: must be ≥ minReplicas (${tier.autoscaling.minReplicas}), got ${tier.autoscaling.maxReplicas}`);
    }
    const a = tier.autoscaling;
    if (a.targetRpsPerReplica !== undefined && !(Number.isFinite(a.targetRpsPerReplica) && a.targetRpsPerReplica > 0)) {
      problems.push(`${where}.autoscaling.targetRpsPerReplica: must be a number > 0, got ${show(a.targetRpsPerReplica)}`);
    }
  } else if (tier.replicas === undefined) {
    problems.push(`${where}.replicas: must be set when the tier is not autoscaled, got undefined`);
  } else {
    problems.push(...checkInteger(`${where}.replicas`, tier.replicas, 1));
  }
  for (const [kind, values] of Object.entries({ requests: tier.resources.requests, limits: tier.resources.limits })) {
    problems.push(...checkQuantity(`${where}.resources.${kind}.cpu`, values.cpu));
    problems.push(...checkQuantity(`${where}.resources.${kind}.memory`, values.memory));
  }
  for (const key of Object.keys(tier.config)) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(key)) problems.push(`${where}.config: keys must be environment variable names, got ${show(key)}`);
  }
  return problems;
}

/**
 * Every problem of one environment, each prefixed with its path
 * (`env.production.www.replicas: must be ≥ 1, got 0`).
 */
export function validateEnvironment(name: string, env: Environment): string[] {
  const where = `env.${name}`;
  return [
    ...checkDnsLabel(`${where}.namespace`, env.namespace),
    ...(env.region === undefined ? [] : checkLabelValue(`${where}.region`, env.region)),
    ...(['cluster-default', 'aws-nlb'].includes(env.loadBalancer) ? [] : [`${where}.loadBalancer: must be cluster-default or aws-nlb, got ${show(env.loadBalancer)}`]),
    ...(Object.keys(env.monitoringNamespaceSelector).length === 0
      ? [`${where}.monitoringNamespaceSelector: must name at least one label, got {}`]
      : Object.entries(env.monitoringNamespaceSelector).flatMap(([k, v]) => checkLabelValue(`${where}.monitoringNamespaceSelector.${k}`, v))),
    ...(env.controlPlaneCidr === undefined ? [] : checkCidr(`${where}.controlPlaneCidr`, env.controlPlaneCidr)),
    ...validateSelectorLabels(`${where}.monitoring.selectorLabels`, env.monitoring.selectorLabels),
    ...(env.autoscaler === undefined || autoscalerKinds.includes(env.autoscaler) ? [] : [`${where}.autoscaler: must be one of ${autoscalerKinds.join(', ')}, got ${show(env.autoscaler)}`]),
    ...validateTier(`${where}.www`, env.www),
    ...validateTier(`${where}.backend`, env.backend),
  ];
}
