import type { Kube } from '../kube/client.js';
import type { KubeObject, ObjectRef } from '../kube/objects.js';

/** Kinds a pod reads when it starts, and that it fails to start without. */
export const POD_CONFIG_KINDS: ReadonlySet<string> = new Set(['ConfigMap', 'Secret']);

interface Container {
  envFrom?: { configMapRef?: { name?: string }; secretRef?: { name?: string } }[];
  env?: { valueFrom?: { configMapKeyRef?: { name?: string }; secretKeyRef?: { name?: string } } }[];
}
interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  volumes?: {
    configMap?: { name?: string };
    secret?: { secretName?: string };
    projected?: { sources?: { configMap?: { name?: string }; secret?: { name?: string } }[] };
  }[];
  imagePullSecrets?: { name?: string }[];
}
interface Pod extends KubeObject {
  spec?: PodSpec;
  status?: { phase?: string };
}
interface ReplicaSet extends KubeObject {
  spec?: { replicas?: number; template?: { spec?: PodSpec } };
  status?: { replicas?: number };
}

/**
 * The ConfigMaps and Secrets a pod spec refers to, as `Kind/name`: from its containers' (init
 * and ephemeral ones too) `envFrom` and `env[].valueFrom`, its volumes (projected sources
 * included) and its image pull secrets.
 */
export function podSpecReferences(spec: PodSpec | undefined): string[] {
  const out = new Set<string>();
  const add = (kind: 'ConfigMap' | 'Secret', name: string | undefined): void => void (name && out.add(`${kind}/${name}`));
  for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? []), ...(spec?.ephemeralContainers ?? [])]) {
    for (const from of c.envFrom ?? []) {
      add('ConfigMap', from.configMapRef?.name);
      add('Secret', from.secretRef?.name);
    }
    for (const e of c.env ?? []) {
      add('ConfigMap', e.valueFrom?.configMapKeyRef?.name);
      add('Secret', e.valueFrom?.secretKeyRef?.name);
    }
  }
  for (const v of spec?.volumes ?? []) {
    add('ConfigMap', v.configMap?.name);
    add('Secret', v.secret?.secretName);
    for (const s of v.projected?.sources ?? []) {
      add('ConfigMap', s.configMap?.name);
      add('Secret', s.secret?.name);
    }
  }
  for (const s of spec?.imagePullSecrets ?? []) add('Secret', s.name);
  return [...out];
}

const ownerOf = (o: KubeObject, kind: string): string | undefined =>
  ((o.metadata.ownerReferences as { kind?: string; name?: string }[] | undefined) ?? []).find((r) => r.kind === kind)?.name;

/**
 * Why each ConfigMap or Secret of the namespace is still in use, by `Kind/name`: read by a pod
 * that has not finished (a terminating one included: it may still be draining) or by the pod
 * template of a ReplicaSet that has, or is to have, pods. An old pod that restarts, or an old
 * ReplicaSet that a rollout scales back up, needs its configuration where it was.
 * @param replacing Deployments whose ReplicaSets and pods are left out: a diff's prediction
 *   for the Deployments a deploy is about to roll (their pods are the ones it replaces).
 */
export async function configInUse(kube: Kube, namespace: string, replacing: ReadonlySet<string> = new Set()): Promise<Map<string, string>> {
  const users = new Map<string, string[]>();
  const use = (refs: readonly string[], by: string): void => {
    for (const r of refs) users.set(r, [...(users.get(r) ?? []), by]);
  };
  const replaced = new Set<string>();
  for (const rs of await kube.list<ReplicaSet>('apps/v1', 'ReplicaSet', namespace)) {
    if (replacing.has(ownerOf(rs, 'Deployment') ?? '')) {
      replaced.add(rs.metadata.name);
      continue;
    }
    const replicas = Math.max(rs.spec?.replicas ?? 0, rs.status?.replicas ?? 0);
    if (replicas > 0) use(podSpecReferences(rs.spec?.template?.spec), `ReplicaSet/${rs.metadata.name} (${replicas} replicas)`);
  }
  for (const pod of await kube.list<Pod>('v1', 'Pod', namespace)) {
    const phase = pod.status?.phase ?? 'Pending';
    if (phase === 'Succeeded' || phase === 'Failed' || replaced.has(ownerOf(pod, 'ReplicaSet') ?? '')) continue;
    use(podSpecReferences(pod.spec), `Pod/${pod.metadata.name} (${pod.metadata.deletionTimestamp ? 'terminating' : phase})`);
  }
  const why = new Map<string, string>();
  for (const [ref, by] of users) {
    const pods = by.filter((b) => b.startsWith('Pod/'));
    const first = pods[0] ?? by[0] ?? '';
    why.set(ref, `in use: read by ${first}${by.length > 1 ? ` and ${by.length - 1} more` : ''}`);
  }
  return why;
}

/** The `Kind/name` key of {@link configInUse} for a reference. */
export const useKey = (ref: ObjectRef): string => `${ref.kind}/${ref.name}`;
