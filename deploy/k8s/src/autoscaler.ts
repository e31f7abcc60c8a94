import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import { Construct } from 'constructs';
import { checkDnsLabel, checkInteger, show } from './checks.js';
import { throwIfProblems } from './errors.js';

/** Which object scales an autoscaled tier: a KEDA ScaledObject, a plain HPA on CPU, or none (fixed replicas). */
export type AutoscalerKind = 'keda' | 'hpa' | 'none';

/** Every {@link AutoscalerKind}. */
export const autoscalerKinds: readonly AutoscalerKind[] = ['keda', 'hpa', 'none'];

/** Prometheus of the hermetic cluster's monitoring add-on. */
export const DEFAULT_PROMETHEUS_URL = 'http://prometheus.monitoring.svc:9090';

/** How fast replicas are added and removed (the HPA's `behavior`). */
export interface ScalingBehaviour {
  /** Pods that may be added per period. @default 4 */
  readonly scaleUpPods: number;
  /** Percent of the current replicas that may be added per period (the larger of the two applies). @default 100 */
  readonly scaleUpPercent: number;
  /** @default 15 */
  readonly scaleUpPeriodSeconds: number;
  /** A scale-down acts on the highest recommendation of this window. @default 180 */
  readonly scaleDownStabilizationSeconds: number;
  /** Pods that may be removed per period. @default 2 */
  readonly scaleDownPods: number;
  /** @default 30 */
  readonly scaleDownPeriodSeconds: number;
}

/** The defaults of {@link ScalingBehaviour}: up at once, down slowly after three stable minutes. */
export const defaultBehaviour: ScalingBehaviour = {
  scaleUpPods: 4,
  scaleUpPercent: 100,
  scaleUpPeriodSeconds: 15,
  scaleDownStabilizationSeconds: 180,
  scaleDownPods: 2,
  scaleDownPeriodSeconds: 30,
};

/** Properties of {@link TierAutoscaler}. */
export interface TierAutoscalerProps {
  /** `keda` renders a ScaledObject, `hpa` an autoscaling/v2 HorizontalPodAutoscaler on CPU. */
  readonly kind: 'keda' | 'hpa';
  /** The tier: name of its Deployment and of its container. */
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /**
   * KEDA: requests per second per replica aimed at (answered requests to `/`, sheds included:
   * the offered load). @default none (then a `cpu` trigger at 70% stands in)
   */
  readonly targetRpsPerReplica?: number;
  /** KEDA: requests shed per second per replica beyond which replicas are added (saturation). @default none */
  readonly targetShedRpsPerReplica?: number;
  /** CPU utilisation (percent of the request) aimed at: KEDA's `cpu` trigger, and the HPA's only metric. @default 70 for `hpa`, none for `keda` */
  readonly targetCpuUtilisationPercent?: number;
  /** KEDA: replicas to run while Prometheus cannot be read. @default none (KEDA keeps the current count) */
  readonly fallbackReplicas?: number;
  /** @default {@link DEFAULT_PROMETHEUS_URL} */
  readonly prometheusUrl?: string;
  /** Window of the `rate()` in the queries: six scrapes at 5 s, steady enough that a scale-down window's highest recommendation is not noise. @default '30s' */
  readonly rateWindow?: string;
  /** @default {@link defaultBehaviour} */
  readonly behaviour?: Partial<ScalingBehaviour>;
}

/** The queries of a tier's triggers, for tests and dashboards. */
export function autoscalerQueries(namespace: string, container: string, rateWindow = '30s'): { requests: string; shed: string } {
  const pods = `namespace="${namespace}",container="${container}"`;
  // `or … * 0`: 0 while the tier's metrics are scraped but idle; empty (an error KEDA answers
  // with the fallback) when Prometheus has no target of the tier at all.
  const zeroIfScraped = `or (sum(up{${pods}}) * 0)`;
  return {
    requests: `sum(rate(http_requests_total{${pods},route="/"}[${rateWindow}])) ${zeroIfScraped}`,
    shed: `sum(rate(www_shed_total{${pods}}[${rateWindow}])) ${zeroIfScraped}`,
  };
}

const positive = (where: string, value: number | undefined) =>
  value === undefined || (Number.isFinite(value) && value > 0) ? [] : [`${where}: must be a number > 0, got ${show(value)}`];

function validate(p: TierAutoscalerProps, behaviour: ScalingBehaviour): string[] {
  const problems = [
    ...checkDnsLabel('name', p.name),
    ...checkInteger('minReplicas', p.minReplicas, 1),
    ...checkInteger('maxReplicas', p.maxReplicas, 1),
    ...positive('targetRpsPerReplica', p.targetRpsPerReplica),
    ...positive('targetShedRpsPerReplica', p.targetShedRpsPerReplica),
    ...(p.targetCpuUtilisationPercent === undefined ? [] : checkInteger('targetCpuUtilisationPercent', p.targetCpuUtilisationPercent, 1, 1000)),
    ...(p.fallbackReplicas === undefined ? [] : checkInteger('fallbackReplicas', p.fallbackReplicas, p.minReplicas, p.maxReplicas)),
    ...(p.fallbackReplicas !== undefined && p.kind === 'keda' && p.targetRpsPerReplica === undefined && p.targetShedRpsPerReplica === undefined
      ? ['fallbackReplicas: needs a Prometheus trigger (targetRpsPerReplica or targetShedRpsPerReplica); KEDA has no fallback for CPU alone']
      : []),
    ...Object.entries(behaviour).flatMap(([k, v]) => checkInteger(`behaviour.${k}`, v as number, k === 'scaleDownStabilizationSeconds' ? 0 : 1, 3600)),
  ];
  if (p.maxReplicas < p.minReplicas) problems.push(`maxReplicas: must be ≥ minReplicas (${p.minReplicas}), got ${p.maxReplicas}`);
  if (p.prometheusUrl !== undefined && !/^https?:\/\/[^\s/]+(:[0-9]+)?(\/\S*)?$/.test(p.prometheusUrl)) {
    problems.push(`prometheusUrl: must be an http:// or https:// URL, got ${show(p.prometheusUrl)}`);
  }
  if (p.rateWindow !== undefined && !/^[1-9][0-9]*[smh]$/.test(p.rateWindow)) problems.push(`rateWindow: must be a Prometheus duration such as 15s, got ${show(p.rateWindow)}`);
  return problems;
}

/**
 * The autoscaler of one tier's Deployment. With KEDA: a ScaledObject with a Prometheus trigger
 * on the request rate per replica against the capacity model's target, optionally one on the
 * shed rate (saturation) and one on CPU, and the HPA `behavior` that adds pods at once and
 * removes them slowly after a stable window. With `hpa`: a plain CPU HorizontalPodAutoscaler
 * with the same bounds and behaviour, for clusters without KEDA.
 */
export class TierAutoscaler extends Construct {
  constructor(scope: Construct, id: string, props: TierAutoscalerProps) {
    super(scope, id);
    const behaviour = { ...defaultBehaviour, ...props.behaviour };
    throwIfProblems(validate(props, behaviour));
    const metadata = { name: props.name, namespace: props.namespace, labels: { ...props.labels } };
    const hpaBehaviour = {
      scaleUp: {
        stabilizationWindowSeconds: 0,
        selectPolicy: 'Max',
        policies: [
          { type: 'Pods', value: behaviour.scaleUpPods, periodSeconds: behaviour.scaleUpPeriodSeconds },
          { type: 'Percent', value: behaviour.scaleUpPercent, periodSeconds: behaviour.scaleUpPeriodSeconds },
        ],
      },
      scaleDown: {
        stabilizationWindowSeconds: behaviour.scaleDownStabilizationSeconds,
        selectPolicy: 'Max',
        policies: [{ type: 'Pods', value: behaviour.scaleDownPods, periodSeconds: behaviour.scaleDownPeriodSeconds }],
      },
    };
    const target = { apiVersion: 'apps/v1', kind: 'Deployment', name: props.name };

    if (props.kind === 'hpa') {
      new k8s.KubeHorizontalPodAutoscalerV2(this, 'hpa', {
        metadata,
        spec: {
          scaleTargetRef: target,
          minReplicas: props.minReplicas,
          maxReplicas: props.maxReplicas,
          metrics: [
            {
              type: 'Resource',
              resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: props.targetCpuUtilisationPercent ?? 70 } },
            },
          ],
          behavior: hpaBehaviour,
        },
      });
      return;
    }

    const queries = autoscalerQueries(props.namespace, props.name, props.rateWindow);
    const prometheus = (name: string, query: string, threshold: number) => ({
      type: 'prometheus',
      name,
      metricType: 'AverageValue',
      metadata: {
        serverAddress: props.prometheusUrl ?? DEFAULT_PROMETHEUS_URL,
        query,
        threshold: String(threshold),
        // An empty answer is an error (then the fallback), never a quiet 0 that scales down.
        ignoreNullValues: 'false',
      },
    });
    const triggers: object[] = [];
    if (props.targetRpsPerReplica !== undefined) triggers.push(prometheus('requests-per-replica', queries.requests, props.targetRpsPerReplica));
    if (props.targetShedRpsPerReplica !== undefined) triggers.push(prometheus('shed-per-replica', queries.shed, props.targetShedRpsPerReplica));
    const cpu = props.targetCpuUtilisationPercent ?? (triggers.length === 0 ? 70 : undefined);
    if (cpu !== undefined) triggers.push({ type: 'cpu', name: 'cpu', metricType: 'Utilization', metadata: { value: String(cpu) } });
    new ApiObject(this, 'scaled-object', {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata,
      spec: {
        scaleTargetRef: target,
        minReplicaCount: props.minReplicas,
        maxReplicaCount: props.maxReplicas,
        // No pollingInterval: with a minimum above 0 the HPA controller asks KEDA's metrics
        // API on its own sync period (15 s); KEDA's polling only refreshes status.
        ...(props.fallbackReplicas === undefined ? {} : { fallback: { failureThreshold: 3, replicas: props.fallbackReplicas } }),
        advanced: { horizontalPodAutoscalerConfig: { behavior: hpaBehaviour } },
        triggers,
      },
    });
  }
}
