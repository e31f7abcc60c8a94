import { Construct } from 'constructs';
import type { CastleRulesProps } from './alerting/castle-rules.js';
import { CastleAlerts } from './alerts.js';
import { DashboardConfigMaps } from './dashboard-config-maps.js';

/**
 * Alerts and dashboards of an environment whose cluster runs the Prometheus Operator (the
 * PrometheusRule CRD must exist) and, for the dashboards, Grafana's dashboard sidecar.
 */
export interface ObservabilitySettings {
  /**
   * The rules' parameters (SLO objectives, burn-rate windows, thresholds). The namespace,
   * www's maximum replicas and the backend's injected error rate come from the release.
   * @default the defaults of CastleRulesProps
   */
  readonly rules?: Omit<CastleRulesProps, 'namespace' | 'wwwMaxReplicas' | 'backendErrorBaseline'>;
  /** Labels the Prometheus selects PrometheusRules by. @default { release: 'castle-monitoring' } */
  readonly selectorLabels?: Readonly<Record<string, string>>;
  /** Ship the Grafana dashboards as ConfigMaps. @default true */
  readonly dashboards?: boolean;
}

/** Properties of {@link Observability}. */
export interface ObservabilityProps extends ObservabilitySettings {
  readonly namespace: string;
  /** Labels of the objects. */
  readonly labels: Readonly<Record<string, string>>;
  /** www's `maxReplicas` when an autoscaler scales it. */
  readonly wwwMaxReplicas?: number;
  /** The backend's environment (its `BACKEND_ERROR_RATE` is the injected baseline). */
  readonly backendConfig: Readonly<Record<string, string>>;
}

/** The backend's default share of injected failures (apps/backend/src/config.ts). */
export const BACKEND_DEFAULT_ERROR_RATE = 0.02;

/** Castle's PrometheusRule and its dashboards' ConfigMaps, from what the release deploys. */
export class Observability extends Construct {
  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const configured = props.backendConfig.BACKEND_ERROR_RATE;
    new CastleAlerts(this, 'alerts', {
      ...props.rules,
      namespace: props.namespace,
      labels: props.labels,
      ...(props.selectorLabels ? { selectorLabels: props.selectorLabels } : {}),
      ...(props.wwwMaxReplicas === undefined ? {} : { wwwMaxReplicas: props.wwwMaxReplicas }),
      backendErrorBaseline: configured === undefined ? BACKEND_DEFAULT_ERROR_RATE : Number(configured),
    });
    if (props.dashboards ?? true) new DashboardConfigMaps(this, 'dashboards', { namespace: props.namespace, labels: props.labels });
  }
}
