import type { Kube } from '../kube/client.js';
import type { KubeObject } from '../kube/objects.js';
import {
  AUTOSCALER_KINDS,
  type HandOverProgress,
  type Retiring,
  handOverReplicas,
  planReplicas,
  releaseHandOver,
  retireAutoscalers,
  takeBackReplicas,
  withoutOwnedReplicas,
} from './handover.js';

export { withoutOwnedReplicas } from './handover.js';

/** Options of {@link applyAll}. */
export interface ApplyAllOptions {
  readonly force?: boolean;
  readonly dryRun?: boolean;
  readonly onApplied?: (object: KubeObject, result: KubeObject) => void;
  /** Awaited before each wave (the lock confirms it is still held); a throw stops the apply. */
  readonly beforeWave?: () => Promise<void>;
  /** The release and its prune candidates: old autoscalers among them are retired (see `ReplicasPlan.retire`). */
  readonly retiring?: Retiring;
  /** One line per hand-over write or retired autoscaler. */
  readonly onHandOver?: HandOverProgress;
  /** Stops waiting for a retired autoscaler to be gone. */
  readonly signal?: AbortSignal;
  /** How long to wait for retired autoscalers to be gone. @default 60 s */
  readonly retireTimeoutMs?: number;
}

/** Kinds that run pods, or guard them: applied after everything they may refer to. */
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'PodDisruptionBudget']);

const rankOf = (o: KubeObject): number => (o.kind === 'Namespace' ? 0 : WORKLOAD_KINDS.has(o.kind) ? 2 : AUTOSCALER_KINDS.has(o.kind) ? 3 : 1);

/**
 * The waves objects are applied in, each wave in parallel: namespaces, then what pods refer
 * to (service accounts, config, policies, services), then the workloads — so no pod starts
 * before its ConfigMap exists — then their autoscalers (KEDA's admission webhook looks the
 * workload up).
 */
export function applyWaves(objects: readonly KubeObject[]): KubeObject[][] {
  return [0, 1, 2, 3].map((r) => objects.filter((o) => rankOf(o) === r)).filter((wave) => wave.length > 0);
}

/**
 * Server-side apply of every object, wave by wave ({@link applyWaves}), moving each
 * Deployment's replica count between castle and its autoscalers on the way
 * ({@link planReplicas}):
 *
 * 1. namespaces; 2. what pods refer to;
 * 3. the hand-over: the live count of each Deployment castle stops setting, under the
 *    `castle-handover` field manager, so it survives castle dropping the field;
 * 4. the workloads (but the Deployments castle takes back);
 * 5. the old autoscalers of those Deployments that the new revision does not render, deleted
 *    (and waited for);
 * 6. the take-back: the fixed count forced under `castle-handover` (that one field only), the
 *    Deployment applied as castle, then `castle-handover` lets go;
 * 7. the autoscalers.
 *
 * Stops after the wave with an error (a conflict included) and throws the error of the first
 * object, in order.
 */
export async function applyAll(kube: Kube, namespace: string, objects: readonly KubeObject[], options: ApplyAllOptions = {}): Promise<KubeObject[]> {
  const plan = await planReplicas(kube, namespace, objects, options.dryRun ? undefined : options.retiring);
  const results = new Map<KubeObject, KubeObject>();
  const wave = async (batch: readonly KubeObject[]): Promise<void> => {
    if (batch.length === 0) return;
    await options.beforeWave?.();
    const settled = await Promise.allSettled(batch.map((object) => kube.apply(withoutOwnedReplicas(object, plan.autoscaled), { force: options.force, dryRun: options.dryRun })));
    for (const [i, outcome] of settled.entries()) {
      const object = batch[i] as KubeObject;
      if (outcome.status === 'rejected') throw outcome.reason;
      options.onApplied?.(object, outcome.value);
      results.set(object, outcome.value);
    }
  };
  const step = async (work: () => Promise<void>): Promise<void> => {
    if (options.dryRun) return;
    await options.beforeWave?.();
    await work();
  };
  const takenBack = new Set(plan.takeBack.map((m) => m.name));
  const isTakenBack = (o: KubeObject): boolean => o.kind === 'Deployment' && takenBack.has(o.metadata.name);
  const ranked = (r: number): KubeObject[] => objects.filter((o) => rankOf(o) === r);

  await wave(ranked(0));
  await wave(ranked(1));
  if (plan.handOver.length > 0) await step(() => handOverReplicas(kube, namespace, plan.handOver, options.onHandOver));
  await wave(ranked(2).filter((o) => !isTakenBack(o)));
  if (plan.retire.length > 0) {
    await step(() => retireAutoscalers(kube, namespace, plan.retire, { onProgress: options.onHandOver, signal: options.signal, timeoutMs: options.retireTimeoutMs }));
  }
  if (plan.takeBack.length > 0) {
    await step(() => takeBackReplicas(kube, namespace, plan.takeBack, options.onHandOver));
    await wave(ranked(2).filter(isTakenBack));
    await step(() => releaseHandOver(kube, namespace, plan.takeBack));
  }
  await wave(ranked(3));
  return objects.map((o) => results.get(o) as KubeObject);
}
