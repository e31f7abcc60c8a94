/**
 * Castle's Kubernetes manifests: {@link render} one environment to plain objects, then
 * {@link toYaml} for kubectl, Argo CD or Flux. Pure: nothing here does I/O.
 */
export { render, type AutoscalingOptions, type RenderOptions } from './render.js';
export { capacityPlan, type CapacityInputs, type CapacityPlan } from './capacity.js';
export { autoscalerKinds, autoscalerQueries, type AutoscalerKind } from './autoscaler.js';
export { environmentNames, metricsAccess, type MetricsAccess } from './environments.js';
export { configMapName } from './tier-config.js';
export { toYaml } from './yaml.js';
export { ManifestError } from './errors.js';
export { renderDeployer, DEFAULT_SERVICE_ACCOUNT, type DeployerOptions, type DeployerServiceAccount } from './deployer.js';
export {
  deployerRules,
  castleKinds,
  discoveryPath,
  groupOf,
  CASTLE_RESOURCES,
  DEFAULT_PROMETHEUS_SERVICE,
  type CastleCommand,
  type DeployerKind,
  type DeployerRule,
  type DeployerRulesInput,
  type PrometheusService,
} from './deployer-rules.js';
export type { KubernetesObject, ObjectMeta } from './kubernetes-object.js';
export type { ObservabilitySettings } from './observability.js';
export { castleRuleGroups, CASTLE_ALERT_NAMES, type CastleRulesProps } from './alerting/castle-rules.js';
export type { BurnRatePolicy, BurnRateWindow } from './alerting/slo.js';
export { castleDashboards, dashboardQueries, instantiateQuery, type PanelQuery, type QueryVariables } from './dashboards/index.js';
