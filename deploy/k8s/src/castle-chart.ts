import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import type { Construct } from 'constructs';
import { TierAutoscaler, type AutoscalerKind, type ScalingBehaviour } from './autoscaler.js';
import type { TierAutoscaling } from './environments.js';
import { HttpTier, SERVICE_PORT, type ResourcesProps } from './http-tier.js';
import { sharedLabels, tierLabels } from './labels.js';
import { Monitoring } from './monitoring.js';
import { NetworkPolicies } from './network-policies.js';
import { Observability, type ObservabilitySettings } from './observability.js';

/** How one tier runs, as the chart takes it. */
export interface ChartTierProps {
  readonly image: string;
  readonly replicas?: number;
  readonly autoscaling?: TierAutoscaling;
  readonly resources: ResourcesProps;
  readonly config: Readonly<Record<string, string>>;
}

/** Properties of {@link CastleChart}: everything already resolved from an environment. */
export interface CastleChartProps {
  readonly namespace: string;
  /** Release version, the `app.kubernetes.io/version` label. */
  readonly version: string;
  /** Extra labels of the Namespace. @default {} */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** Annotations of www's LoadBalancer Service. @default {} */
  readonly loadBalancerAnnotations?: Readonly<Record<string, string>>;
  /** Labels of the namespace allowed to scrape the metrics ports. */
  readonly monitoringNamespaceSelector: Readonly<Record<string, string>>;
  /** The control plane's CIDR, also admitted to the metrics ports. @default none */
  readonly controlPlaneCidr?: string;
  /** Labels of the ServiceMonitors: what the cluster's Prometheus selects them by. */
  readonly serviceMonitorLabels: Readonly<Record<string, string>>;
  /** Extra annotations of both tiers' pod templates. @default {} */
  readonly podAnnotations?: Readonly<Record<string, string>>;
  /**
   * What scales the tiers that have `autoscaling`; with `none` they run their
   * `fallbackReplicas` (else `minReplicas`). @default 'keda'
   */
  readonly autoscaler?: AutoscalerKind;
  /** Prometheus that KEDA queries. @default 'http://prometheus.monitoring.svc:9090' */
  readonly prometheusUrl?: string;
  /** Overrides of the autoscalers' scaling behaviour. @default {} */
  readonly scalingBehaviour?: Partial<ScalingBehaviour>;
  readonly www: ChartTierProps;
  readonly backend: ChartTierProps;
  /** Castle's PrometheusRule and Grafana dashboards; none when unset. */
  readonly observability?: ObservabilitySettings;
}

/** The defaults of {@link CastleChartProps}. */
export const defaultProps: Required<Pick<CastleChartProps, 'namespaceLabels' | 'loadBalancerAnnotations' | 'podAnnotations' | 'autoscaler' | 'scalingBehaviour'>> = {
  namespaceLabels: {},
  loadBalancerAnnotations: {},
  podAnnotations: {},
  autoscaler: 'keda',
  scalingBehaviour: {},
};

/**
 * Pod Security Standards: the namespace enforces `restricted` (pinned to the cluster's
 * version, so a cluster upgrade cannot tighten it under a running release), and warns and
 * audits at the same level.
 */
const podSecurity = Object.fromEntries(
  ['enforce', 'warn', 'audit'].flatMap((mode) => [
    [`pod-security.kubernetes.io/${mode}`, 'restricted'],
    [`pod-security.kubernetes.io/${mode}-version`, 'v1.33'],
  ]),
);

/**
 * The whole of Castle in one namespace: the Namespace, both tiers (www public behind a
 * LoadBalancer Service, backend internal), the network policies between them and the
 * ServiceMonitors that have Prometheus scrape them.
 */
export class CastleChart extends Chart {
  constructor(scope: Construct, id: string, props: CastleChartProps) {
    super(scope, id, { disableResourceNameHashes: true });
    const p = { ...defaultProps, ...props };
    const labels = sharedLabels(p.version);
    new k8s.KubeNamespace(this, 'namespace', {
      metadata: { name: p.namespace, labels: { ...labels, ...p.namespaceLabels, ...podSecurity } },
    });
    const autoscaler = p.autoscaler;
    const tier = (name: 'www' | 'backend', t: ChartTierProps, extra: object) => {
      const scaled = t.autoscaling !== undefined && autoscaler !== 'none' ? t.autoscaling : undefined;
      const replicas = t.autoscaling ? (t.autoscaling.fallbackReplicas ?? t.autoscaling.minReplicas) : t.replicas;
      const made = new HttpTier(this, name, {
        name,
        namespace: p.namespace,
        version: p.version,
        envPrefix: name.toUpperCase(),
        image: t.image,
        ...(scaled ? { autoscaling: scaled } : { replicas }),
        resources: t.resources,
        podAnnotations: p.podAnnotations,
        ...extra,
      });
      if (scaled && autoscaler !== 'none') {
        new TierAutoscaler(this, `${name}-autoscaler`, {
          kind: autoscaler,
          name,
          namespace: p.namespace,
          labels: tierLabels(name, p.version),
          ...scaled,
          prometheusUrl: p.prometheusUrl,
          behaviour: p.scalingBehaviour,
        });
      }
      return made;
    };
    const backend = tier('backend', p.backend, { config: p.backend.config });
    const www = tier('www', p.www, {
      // The backend's Service, by its short name: the same in every namespace.
      config: { ...p.www.config, WWW_BACKEND_URL: `http://backend:${SERVICE_PORT}` },
      serviceType: 'LoadBalancer',
      serviceAnnotations: p.loadBalancerAnnotations,
    });
    new NetworkPolicies(this, 'network-policies', {
      namespace: p.namespace,
      labels,
      www,
      backend,
      monitoringNamespaceSelector: p.monitoringNamespaceSelector,
      ...(p.controlPlaneCidr ? { controlPlaneCidr: p.controlPlaneCidr } : {}),
    });
    new Monitoring(this, 'monitoring', {
      namespace: p.namespace,
      labels,
      selectorLabels: p.serviceMonitorLabels,
      tiers: [
        { name: 'www', selector: www.selector, metricsPort: www.metricsPort },
        { name: 'backend', selector: backend.selector, metricsPort: backend.metricsPort },
      ],
    });
    if (p.observability) {
      new Observability(this, 'observability', {
        ...p.observability,
        namespace: p.namespace,
        labels,
        ...(p.www.autoscaling ? { wwwMaxReplicas: p.www.autoscaling.maxReplicas } : {}),
        backendConfig: p.backend.config,
      });
    }
  }
}
