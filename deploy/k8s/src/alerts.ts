import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { castleRuleGroups, defaultRulesProps, validateRulesProps, type CastleRulesProps } from './alerting/castle-rules.js';
import { checkLabelValue } from './checks.js';
import { throwIfProblems } from './errors.js';

/** Properties of {@link CastleAlerts}: the rules' parameters plus the object's labels. */
export interface CastleAlertsProps extends CastleRulesProps {
  /** Labels of the PrometheusRule besides {@link selectorLabels}. @default {} */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Labels the Prometheus's `ruleSelector` picks the PrometheusRule by (kube-prometheus-stack
   * selects `release: <its release name>`).
   * @default { release: 'castle-monitoring' }
   */
  readonly selectorLabels?: Readonly<Record<string, string>>;
}

/** The name of the PrometheusRule. */
export const PROMETHEUS_RULE_NAME = 'castle-rules';

/**
 * Castle's alerting and recording rules as one PrometheusRule (Prometheus Operator): the
 * SLOs of `GET /` at www with multiwindow burn-rate alerts, and the symptom alerts. Every
 * alert has `severity` (`page` or `ticket`), `summary`, `description` and a `runbook_url`.
 */
export class CastleAlerts extends Construct {
  constructor(scope: Construct, id: string, props: CastleAlertsProps) {
    super(scope, id);
    const p = { ...defaultRulesProps, selectorLabels: { release: 'castle-monitoring' }, labels: {}, ...props };
    const problems = validateRulesProps(p);
    if (Object.keys(p.selectorLabels).length === 0) problems.push('selectorLabels: must name at least one label, got {}');
    for (const [k, v] of Object.entries(p.selectorLabels)) problems.push(...checkLabelValue(`selectorLabels.${k}`, v));
    throwIfProblems(problems);
    new ApiObject(this, 'rule', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: PROMETHEUS_RULE_NAME, namespace: p.namespace, labels: { ...p.labels, ...p.selectorLabels } },
      spec: { groups: castleRuleGroups(p) },
    });
  }
}
