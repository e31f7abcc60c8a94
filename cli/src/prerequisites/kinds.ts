import { type DeployerKind, groupOf } from '@castle/k8s';
import type { Kube } from '../kube/client.js';
import { isNotFound } from '../kube/http.js';
import type { KubeObject } from '../kube/objects.js';
import { type Prerequisite, unknownBecause } from './types.js';

/** Who provides the kinds of an API group that is not built in, and how to install it. */
const PROVIDERS: Readonly<Record<string, { readonly name: string; readonly fix: string }>> = {
  'keda.sh': {
    name: "KEDA's CRDs",
    fix: 'on the hermetic cluster: npm run cluster:addons -- keda; elsewhere the KEDA Helm chart: helm install keda kedacore/keda --namespace keda --create-namespace',
  },
  'monitoring.coreos.com': {
    name: "the Prometheus Operator's CRDs",
    fix: 'on the hermetic cluster: npm run cluster:addons -- monitoring; elsewhere the kube-prometheus-stack Helm chart: helm install kube-prometheus-stack prometheus-community/kube-prometheus-stack --namespace monitoring --create-namespace (or only its CRDs: prometheus-community/prometheus-operator-crds)',
  },
};

/** Groups of Kubernetes itself: no dot (apps, policy, autoscaling), or under k8s.io. */
const builtIn = (group: string): boolean => !group.includes('.') || group.endsWith('.k8s.io');

/**
 * Whether the cluster serves every kind of the objects (discovery), one prerequisite per API
 * group: the CRDs of KEDA and of the Prometheus Operator among them.
 * @returns the prerequisites, and the kinds served with their resources (for the permissions)
 */
export async function checkKinds(kube: Kube, objects: readonly KubeObject[]): Promise<{ prerequisites: Prerequisite[]; served: DeployerKind[] }> {
  const byGroup = new Map<string, { apiVersion: string; kind: string }[]>();
  for (const { apiVersion, kind } of objects) {
    const group = builtIn(groupOf(apiVersion)) ? '' : groupOf(apiVersion);
    const kinds = byGroup.get(group) ?? [];
    if (!kinds.some((k) => k.apiVersion === apiVersion && k.kind === kind)) kinds.push({ apiVersion, kind });
    byGroup.set(group, kinds);
  }
  const served: DeployerKind[] = [];
  const prerequisites: Prerequisite[] = [];
  for (const [group, kinds] of byGroup) {
    const missing: string[] = [];
    let unknown: string | undefined;
    for (const k of kinds) {
      try {
        const r = await kube.resourceOf(k.apiVersion, k.kind);
        served.push({ ...k, resource: r.name, namespaced: r.namespaced });
      } catch (error) {
        if (isNotFound(error)) missing.push(`${k.kind} (${k.apiVersion})`);
        else unknown = unknownBecause(error);
      }
    }
    const provider = PROVIDERS[group];
    const listed = kinds.map((k) => `${k.kind} (${k.apiVersion})`).join(', ');
    const what = group === '' ? `Kubernetes kinds: ${listed}` : `${provider?.name ?? `the CRDs of ${group}`}: ${listed}`;
    const fix = group === '' ? 'a Kubernetes version that serves these API versions (castle is built against 1.33)' : (provider?.fix ?? `install the CRDs (and the controller) that serve ${group}`);
    if (missing.length > 0) prerequisites.push({ check: 'kinds', what, status: 'missing', detail: `the cluster does not serve ${missing.join(', ')}`, fix });
    else if (unknown) prerequisites.push({ check: 'kinds', what, status: 'unknown', detail: `discovery failed: ${unknown}` });
    else prerequisites.push({ check: 'kinds', what, status: 'ok', detail: 'served (discovery)' });
  }
  return { prerequisites, served };
}
