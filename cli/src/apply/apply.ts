import type { Kube } from '../kube/client.js';
import type { KubeObject } from '../kube/objects.js';

interface Hpa {
  spec?: { scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string } };
}

/**
 * Names of the Deployments an autoscaler owns the replicas of: HPAs live in the namespace
 * or about to be applied.
 */
export async function autoscaledDeployments(kube: Kube, namespace: string, objects: readonly KubeObject[]): Promise<Set<string>> {
  const hpas: Hpa[] = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler') as Hpa[];
  try {
    hpas.push(...(await kube.list<Hpa>('autoscaling/v2', 'HorizontalPodAutoscaler', namespace)));
  } catch {
    // A namespace that does not exist yet has no autoscalers.
  }
  return new Set(hpas.filter((h) => h.spec?.scaleTargetRef?.kind === 'Deployment').map((h) => h.spec?.scaleTargetRef?.name ?? ''));
}

/**
 * The object as it will be applied: `spec.replicas` dropped from a Deployment an autoscaler
 * scales, so that a deploy never resets what the autoscaler chose.
 */
export function withoutOwnedReplicas(object: KubeObject, autoscaled: ReadonlySet<string>): KubeObject {
  if (object.kind !== 'Deployment' || !autoscaled.has(object.metadata.name)) return object;
  const spec = { ...(object.spec as Record<string, unknown>) };
  delete spec.replicas;
  return { ...object, spec };
}

/** Options of {@link applyAll}. */
export interface ApplyAllOptions {
  readonly force?: boolean;
  readonly dryRun?: boolean;
  readonly onApplied?: (object: KubeObject, result: KubeObject) => void;
}

/** Server-side apply of every object in order. Stops at the first error (a conflict included). */
export async function applyAll(kube: Kube, namespace: string, objects: readonly KubeObject[], options: ApplyAllOptions = {}): Promise<KubeObject[]> {
  const autoscaled = await autoscaledDeployments(kube, namespace, objects);
  const results: KubeObject[] = [];
  for (const object of objects) {
    const result = await kube.apply(withoutOwnedReplicas(object, autoscaled), options);
    options.onApplied?.(object, result);
    results.push(result);
  }
  return results;
}
