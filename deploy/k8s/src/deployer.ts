import { App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import { Construct } from 'constructs';
import { checkDnsLabel, checkInteger, show } from './checks.js';
import { castleKinds, DEFAULT_PROMETHEUS_SERVICE, deployerRules, type DeployerKind, type DeployerRule, type PrometheusService } from './deployer-rules.js';
import { ManifestError, throwIfProblems } from './errors.js';
import type { KubernetesObject } from './kubernetes-object.js';
import { PART_OF } from './labels.js';
import { render, type AutoscalingOptions } from './render.js';

/** The identity castle deploys as. */
export interface DeployerServiceAccount {
  /** Its namespace: not the release's, which `castle destroy` deletes. */
  readonly namespace: string;
  readonly name: string;
}

/** Properties of {@link Deployer}. */
export interface DeployerProps {
  /** The release's namespace. */
  readonly namespace: string;
  /** The kinds the release applies. */
  readonly kinds: readonly DeployerKind[];
  /** @default DEFAULT_SERVICE_ACCOUNT */
  readonly serviceAccount?: DeployerServiceAccount;
  /** The Prometheus `castle status` asks. @default DEFAULT_PROMETHEUS_SERVICE */
  readonly prometheus?: PrometheusService;
}

/** `castle-deployer` in namespace `castle-deployer`. */
export const DEFAULT_SERVICE_ACCOUNT: DeployerServiceAccount = { namespace: 'castle-deployer', name: 'castle-deployer' };

/** The defaults of {@link DeployerProps}. */
export const defaultProps: Required<Pick<DeployerProps, 'serviceAccount' | 'prometheus'>> = {
  serviceAccount: DEFAULT_SERVICE_ACCOUNT,
  prometheus: DEFAULT_PROMETHEUS_SERVICE,
};

/** The name of the Role in the release's namespace. */
export const DEPLOYER_ROLE = 'castle-deployer';

const labels = { 'app.kubernetes.io/part-of': PART_OF, 'app.kubernetes.io/component': 'deployer' };

const policyRule = (r: DeployerRule): k8s.PolicyRule => ({
  ...(r.apiGroups ? { apiGroups: [...r.apiGroups] } : {}),
  ...(r.resources ? { resources: [...r.resources] } : {}),
  ...(r.resourceNames ? { resourceNames: [...r.resourceNames] } : {}),
  ...(r.nonResourceURLs ? { nonResourceUrLs: [...r.nonResourceURLs] } : {}),
  verbs: [...r.verbs],
});

/**
 * The least-privilege identity of the `castle` CLI, installed once by a cluster admin — never
 * applied by a deploy, since a deploy needs it already: a ServiceAccount (outside the release's
 * namespace, which destroy deletes), the release's Namespace (bare: the Role lives there, and
 * castle applies its labels), a Role and RoleBinding there, a Role and RoleBinding in
 * Prometheus' namespace, and a ClusterRole and ClusterRoleBinding for what is cluster-scoped
 * ({@link deployerRules}).
 */
export class Deployer extends Construct {
  /** Every rule granted, with why. */
  readonly rules: readonly DeployerRule[];

  constructor(scope: Construct, id: string, props: DeployerProps) {
    super(scope, id);
    const p = { ...defaultProps, ...props };
    throwIfProblems(validate(p));
    this.rules = deployerRules({ namespace: p.namespace, kinds: p.kinds, prometheus: p.prometheus });
    const subjects = [{ kind: 'ServiceAccount', name: p.serviceAccount.name, namespace: p.serviceAccount.namespace }];
    const bound = `castle-deployer:${p.namespace}`;

    new k8s.KubeNamespace(this, 'home', { metadata: { name: p.serviceAccount.namespace, labels } });
    new k8s.KubeNamespace(this, 'release-namespace', { metadata: { name: p.namespace, labels } });
    new k8s.KubeServiceAccount(this, 'service-account', { metadata: { name: p.serviceAccount.name, namespace: p.serviceAccount.namespace, labels } });

    new k8s.KubeClusterRole(this, 'cluster-role', { metadata: { name: bound, labels }, rules: this.rules.filter((r) => r.namespace === undefined).map(policyRule) });
    new k8s.KubeClusterRoleBinding(this, 'cluster-role-binding', {
      metadata: { name: bound, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: bound },
      subjects,
    });
    const namespaces = [...new Set(this.rules.flatMap((r) => (r.namespace === undefined ? [] : [r.namespace])))];
    for (const ns of namespaces) {
      const name = ns === p.namespace ? DEPLOYER_ROLE : bound;
      new k8s.KubeRole(this, `role-${ns}`, { metadata: { name, namespace: ns, labels }, rules: this.rules.filter((r) => r.namespace === ns).map(policyRule) });
      new k8s.KubeRoleBinding(this, `role-binding-${ns}`, {
        metadata: { name, namespace: ns, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects,
      });
    }
  }
}

function validate(p: typeof defaultProps & DeployerProps): string[] {
  return [
    ...checkDnsLabel('namespace', p.namespace),
    ...checkDnsLabel('serviceAccount.namespace', p.serviceAccount.namespace),
    ...checkDnsLabel('serviceAccount.name', p.serviceAccount.name),
    ...(p.serviceAccount.namespace === p.namespace
      ? [`serviceAccount.namespace: must not be the release's namespace ${show(p.namespace)} (castle destroy deletes it, and the token with it), got ${show(p.serviceAccount.namespace)}`]
      : []),
    ...checkDnsLabel('prometheus.namespace', p.prometheus.namespace),
    ...checkDnsLabel('prometheus.service', p.prometheus.service),
    ...checkInteger('prometheus.port', p.prometheus.port, 1, 65535),
  ];
}

/** What {@link renderDeployer} renders. */
export interface DeployerOptions {
  /** The environment whose kinds the deployer applies. */
  readonly env: string;
  /** The release's namespace instead of the environment's. */
  readonly namespace?: string;
  /** As {@link render}'s: an autoscaler other than the environment's changes the kinds. */
  readonly autoscaling?: AutoscalingOptions;
  readonly serviceAccount?: DeployerServiceAccount;
  readonly prometheus?: PrometheusService;
}

/**
 * The deployer of one environment's release (see {@link Deployer}), as plain objects in install
 * order. Pure: no I/O.
 * @throws ManifestError naming every problem of the options
 */
export function renderDeployer(options: DeployerOptions): KubernetesObject[] {
  const problems: string[] = [];
  let manifests: KubernetesObject[] = [];
  try {
    // The kinds do not depend on the version.
    manifests = render({ env: options.env, version: '0.0.0', ...(options.namespace ? { namespace: options.namespace } : {}), ...(options.autoscaling ? { autoscaling: options.autoscaling } : {}) });
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    problems.push(...error.problems);
  }
  const namespace = manifests.find((o) => o.kind === 'Namespace')?.metadata.name ?? options.namespace ?? 'castle';
  const chart = new Chart(new App(), 'deployer', { disableResourceNameHashes: true });
  try {
    new Deployer(chart, 'deployer', {
      namespace,
      kinds: castleKinds(manifests),
      ...(options.serviceAccount ? { serviceAccount: options.serviceAccount } : {}),
      ...(options.prometheus ? { prometheus: options.prometheus } : {}),
    });
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    problems.push(...error.problems);
  }
  throwIfProblems(problems);
  return chart.toJson() as KubernetesObject[];
}
