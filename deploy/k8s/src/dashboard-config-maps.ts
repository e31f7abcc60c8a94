import { k8s } from 'cdk8s-plus-33';
import { Construct } from 'constructs';
import { checkDnsLabel } from './checks.js';
import { castleDashboards } from './dashboards/index.js';
import { throwIfProblems } from './errors.js';

/** Properties of {@link DashboardConfigMaps}. */
export interface DashboardConfigMapsProps {
  readonly namespace: string;
  /** Labels of the ConfigMaps besides the sidecar's. @default {} */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * The label Grafana's dashboard sidecar looks for (kube-prometheus-stack:
   * `sidecar.dashboards.label`, default `grafana_dashboard` with value `"1"`).
   * @default { grafana_dashboard: '1' }
   */
  readonly sidecarLabels?: Readonly<Record<string, string>>;
  /** Folder the sidecar files them in (its `folderAnnotation`, `grafana_folder`). @default 'Castle' */
  readonly folder?: string;
}

/** The name of a dashboard's ConfigMap. */
export function dashboardConfigMapName(uid: string): string {
  return `dashboard-${uid}`;
}

/**
 * Castle's Grafana dashboards as ConfigMaps, one each, for the Grafana sidecar to load. The
 * JSON is built here (Grafana Foundation SDK); Grafana itself is not part of Castle.
 */
export class DashboardConfigMaps extends Construct {
  constructor(scope: Construct, id: string, props: DashboardConfigMapsProps) {
    super(scope, id);
    const p = { labels: {}, sidecarLabels: { grafana_dashboard: '1' }, folder: 'Castle', ...props };
    throwIfProblems(checkDnsLabel('namespace', p.namespace));
    for (const d of castleDashboards()) {
      const uid = d.uid ?? '';
      new k8s.KubeConfigMap(this, uid, {
        metadata: {
          name: dashboardConfigMapName(uid),
          namespace: p.namespace,
          labels: { ...p.labels, ...p.sidecarLabels },
          annotations: { grafana_folder: p.folder },
        },
        data: { [`${uid}.json`]: `${JSON.stringify(d, null, 2)}\n` },
      });
    }
  }
}
