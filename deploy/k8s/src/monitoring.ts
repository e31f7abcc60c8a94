import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import { Construct } from 'constructs';
import { checkDnsLabel, checkInteger, checkLabelKey, checkLabelValue, show } from './checks.js';
import { throwIfProblems } from './errors.js';

/** One tier as Prometheus scrapes it. */
export interface MonitoredTier {
  /** The tier's name: the `job` label of its series and the prefix of its metrics Service. */
  readonly name: string;
  /** Labels that select the tier's pods. */
  readonly selector: Readonly<Record<string, string>>;
  /** Container port of its metrics listener (named `metrics`). */
  readonly metricsPort: number;
}

/** Properties of {@link Monitoring}. */
export interface MonitoringProps {
  /** Namespace of the tiers. */
  readonly namespace: string;
  /** Labels of every object made here (the ServiceMonitors also get `selectorLabels`). */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * Labels the Prometheus Operator's `serviceMonitorSelector` asks for. A ServiceMonitor
   * without them is valid and silently never scraped, so they are required and checked.
   */
  readonly selectorLabels: Readonly<Record<string, string>>;
  readonly tiers: readonly MonitoredTier[];
  /**
   * Scrape interval of the ServiceMonitors, e.g. `15s`; unset takes the Prometheus' own.
   * @default undefined
   */
  readonly interval?: string;
}

/** `apiVersion` of the Prometheus Operator's kinds. */
export const MONITORING_API_VERSION = 'monitoring.coreos.com/v1';

/** Label of a tier's metrics Service, which its ServiceMonitor selects (the public Service lacks it). */
export const METRICS_COMPONENT = { 'app.kubernetes.io/component': 'metrics' } as const;

/**
 * Prometheus Operator scraping for every tier: a headless Service `<tier>-metrics` exposing
 * only the `metrics` port (the public Service never exposes it) and a ServiceMonitor
 * `<tier>` selecting it. Series carry `job=<tier>`, `namespace`, `pod`, `service` and the
 * pod's `app.kubernetes.io/version` as `app_kubernetes_io_version`.
 */
export class Monitoring extends Construct {
  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    throwIfProblems(validateMonitoringProps(props));
    for (const tier of props.tiers) {
      const serviceLabels = { ...props.labels, ...tier.selector, ...METRICS_COMPONENT };
      new k8s.KubeService(this, `${tier.name}-metrics`, {
        metadata: { name: `${tier.name}-metrics`, namespace: props.namespace, labels: serviceLabels },
        spec: {
          // Headless: Prometheus reaches every pod by its address; nothing load-balances here.
          clusterIp: 'None',
          selector: { ...tier.selector },
          ports: [{ name: 'metrics', port: tier.metricsPort, targetPort: k8s.IntOrString.fromString('metrics'), protocol: 'TCP' }],
        },
      });
      new ApiObject(this, `${tier.name}-service-monitor`, {
        apiVersion: MONITORING_API_VERSION,
        kind: 'ServiceMonitor',
        metadata: { name: tier.name, namespace: props.namespace, labels: { ...props.labels, ...tier.selector, ...props.selectorLabels } },
        spec: {
          selector: { matchLabels: { ...tier.selector, ...METRICS_COMPONENT } },
          // job=<tier> (the Service's app.kubernetes.io/name), not the Service's name
          jobLabel: 'app.kubernetes.io/name',
          podTargetLabels: ['app.kubernetes.io/version'],
          endpoints: [{ port: 'metrics', path: '/metrics', scheme: 'http', ...(props.interval ? { interval: props.interval } : {}) }],
        },
      });
    }
  }
}

const duration = /^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/;

/**
 * Every problem of {@link MonitoringProps}, each naming the prop and the value. Exported so
 * an environment's `monitoring` settings are checked the same way before rendering.
 */
export function validateMonitoringProps(p: Pick<MonitoringProps, 'selectorLabels'> & Partial<MonitoringProps>, where = ''): string[] {
  const problems: string[] = [];
  if (p.namespace !== undefined) problems.push(...checkDnsLabel(`${where}namespace`, p.namespace));
  problems.push(...validateSelectorLabels(`${where}selectorLabels`, p.selectorLabels));
  if (p.interval !== undefined && (p.interval === '' || !duration.test(p.interval))) {
    problems.push(`${where}interval: must be a Prometheus duration such as 15s or 1m, got ${show(p.interval)}`);
  }
  for (const tier of p.tiers ?? []) {
    problems.push(...checkDnsLabel(`${where}tiers.name`, tier.name));
    problems.push(...checkInteger(`${where}tiers.${tier.name}.metricsPort`, tier.metricsPort, 1, 65535));
  }
  return problems;
}

/** The labels a Prometheus selects ServiceMonitors by: at least one, each a valid key and value. */
export function validateSelectorLabels(where: string, labels: Readonly<Record<string, string>>): string[] {
  const entries = Object.entries(labels);
  if (entries.length === 0) {
    return [`${where}: must name at least one label (the Prometheus' serviceMonitorSelector, e.g. release: kube-prometheus-stack), got {}`];
  }
  return entries.flatMap(([key, value]) => [
    ...checkLabelKey(where, key),
    // An empty value is a valid label, but as a selector it is almost always a mistake.
    ...(value === '' ? [`${where}.${key}: must not be empty, got ""`] : checkLabelValue(`${where}.${key}`, value)),
  ]);
}
