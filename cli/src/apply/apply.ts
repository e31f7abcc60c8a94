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
  /** Awaited before each wave (the lock confirms it is still held); a throw stops the apply. */
  readonly beforeWave?: () => Promise<void>;
}

/** Kinds that run pods, or guard them: applied after everything they may refer to. */
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'PodDisruptionBudget']);
/** Kinds that scale a workload: applied last, since KEDA's admission webhook looks the workload up. */
const AUTOSCALER_KINDS = new Set(['HorizontalPodAutoscaler', 'ScaledObject']);

/**
 * The waves objects are applied in, each wave in parallel: namespaces, then what pods refer
 * to (service accounts, config, policies, services), then the workloads — so no pod starts
 * before its ConfigMap exists — then their autoscalers.
 */
export function applyWaves(objects: readonly KubeObject[]): KubeObject[][] {
  const rank = (o: KubeObject) => (o.kind === 'Namespace' ? 0 : WORKLOAD_KINDS.has(o.kind) ? 2 : AUTOSCALER_KINDS.has(o.kind) ? 3 : 1);
  return [0, 1, 2, 3].map((r) => objects.filter((o) => rank(o) === r)).filter((wave) => wave.length > 0);
}

/**
 * Server-side apply of every object, wave by wave ({@link applyWaves}). Stops after the wave
 * with an error (a conflict included) and throws the error of the first object, in order.
 */
export async function applyAll(kube: Kube, namespace: string, objects: readonly KubeObject[], options: ApplyAllOptions = {}): Promise<KubeObject[]> {
  const autoscaled = await autoscaledDeployments(kube, namespace, objects);
  const results = new Map<KubeObject, KubeObject>();
  for (const wave of applyWaves(objects)) {
    await options.beforeWave?.();
    const settled = await Promise.allSettled(wave.map((object) => kube.apply(withoutOwnedReplicas(object, autoscaled), options)));
    for (const [i, outcome] of settled.entries()) {
      const object = wave[i] as KubeObject;
      if (outcome.status === 'rejected') throw outcome.reason;
      options.onApplied?.(object, outcome.value);
      results.set(object, outcome.value);
    }
  }
  return objects.map((o) => results.get(o) as KubeObject);
}
