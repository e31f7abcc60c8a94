import { ConflictError } from '../errors.js';
import { isNotFound } from '../kube/http.js';
import { FIELD_MANAGER, type Kube } from '../kube/client.js';
import { type KubeObject, type ObjectRef, describeRef, refKey, refOf } from '../kube/objects.js';
import { ownedBy } from '../release/inventory.js';

/**
 * The field manager that holds a Deployment's `spec.replicas` while it passes between castle
 * and an autoscaler (Kubernetes' "transferring ownership" of server-side apply).
 */
export const HANDOVER_MANAGER = 'castle-handover';

/** The HPA controller writes replicas through the scale subresource under this manager's name. */
const HPA_CONTROLLER_MANAGER = 'kube-controller-manager';

/** Kinds that scale a workload. */
export const AUTOSCALER_KINDS: ReadonlySet<string> = new Set(['HorizontalPodAutoscaler', 'ScaledObject']);

interface Autoscaler extends KubeObject {
  spec?: { scaleTargetRef?: { kind?: string; name?: string } };
}
interface Deployment extends KubeObject {
  spec?: { replicas?: number };
}
interface ManagedField {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsV1?: { 'f:spec'?: { 'f:replicas'?: unknown } };
}

/** A Deployment's replica count changing hands. */
export interface ReplicasMove {
  readonly name: string;
  readonly replicas: number;
}

/** Who holds each Deployment's `spec.replicas` across a deploy, and the writes that move it. */
export interface ReplicasPlan {
  /** Deployments an autoscaler scales after the deploy: castle leaves their `spec.replicas` out. */
  readonly autoscaled: ReadonlySet<string>;
  /**
   * Deployments whose live count castle owns and stops setting: before they are applied, the
   * live count is applied under {@link HANDOVER_MANAGER}, which keeps the field (it would fall
   * to 1) until the autoscaler's first write takes it.
   */
  readonly handOver: readonly ReplicasMove[];
  /**
   * Deployments castle sets the count of again while an autoscaler (or the hand-over manager)
   * holds it, or shares it and the count changes: taken back, forcing that one field, once
   * their old autoscaler is gone.
   */
  readonly takeBack: readonly ReplicasMove[];
  /**
   * The release's old autoscalers that the new revision does not render and whose Deployment
   * it does: deleted right before the autoscaler wave, so that another kind can take over (KEDA
   * refuses a ScaledObject for a Deployment another HPA scales) or castle can take the count back.
   */
  readonly retire: readonly ObjectRef[];
}

/** The plan of a deploy that moves nothing. */
export const NO_MOVES: ReplicasPlan = { autoscaled: new Set(), handOver: [], takeBack: [], retire: [] };

/** What may be retired: the release and its prune candidates (objects earlier revisions had and the new one does not). */
export interface Retiring {
  readonly release: string;
  readonly candidates: readonly ObjectRef[];
}

/** The Deployment an autoscaler scales: a ScaledObject's target kind defaults to Deployment. */
function targetOf(a: Autoscaler): string | undefined {
  const ref = a.spec?.scaleTargetRef;
  const kind = ref?.kind ?? (a.kind === 'ScaledObject' ? 'Deployment' : undefined);
  return kind === 'Deployment' ? ref?.name : undefined;
}

/** The ScaledObject that KEDA made this HPA for. */
function controllerScaledObject(a: KubeObject): { apiVersion?: string; name: string } | undefined {
  const owners = (a.metadata.ownerReferences as { apiVersion?: string; kind?: string; name?: string }[] | undefined) ?? [];
  const owner = owners.find((o) => o.kind === 'ScaledObject' && o.name);
  return owner && { apiVersion: owner.apiVersion, name: owner.name as string };
}

/** The managers of a live object's `spec.replicas`. */
export function replicasOwners(live: KubeObject | undefined): ManagedField[] {
  return ((live?.metadata.managedFields as ManagedField[] | undefined) ?? []).filter((f) => f.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined);
}

const castleOwns = (f: ManagedField): boolean => f.manager === FIELD_MANAGER && f.operation === 'Apply' && !f.subresource;

async function listOr<T>(kube: Kube, apiVersion: string, kind: string, namespace: string): Promise<T[]> {
  try {
    return await kube.list<T>(apiVersion, kind, namespace);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}

/**
 * Who will scale each Deployment of `objects` once they are applied, and what has to move.
 * Autoscaled: the targets of the autoscalers rendered, and of the live HPAs that stay — not
 * retired, not being deleted, and for the HPA KEDA made for a ScaledObject, that ScaledObject
 * staying too (a ScaledObject is seen through its HPA: no ScaledObject is listed). Then the live
 * counts castle hands over or takes back, and the old autoscalers to retire. Reads only.
 */
export async function planReplicas(kube: Kube, namespace: string, objects: readonly KubeObject[], retiring?: Retiring): Promise<ReplicasPlan> {
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  if (deployments.length === 0) return NO_MOVES;
  const names = new Set(deployments.map((d) => d.metadata.name));
  const retire: Autoscaler[] = [];
  for (const ref of (retiring?.candidates ?? []).filter((r) => AUTOSCALER_KINDS.has(r.kind))) {
    const old = await kube.get<Autoscaler>(ref);
    if (old && retiring && ownedBy(old, { namespace, release: retiring.release }) && names.has(targetOf(old) ?? '')) retire.push(old);
  }
  const retired = new Set(retire.map((a) => refKey(refOf(a))));
  const scaledObjectStays = async (owner: { apiVersion?: string; name: string }): Promise<boolean> => {
    const ref = { apiVersion: owner.apiVersion ?? 'keda.sh/v1alpha1', kind: 'ScaledObject', namespace, name: owner.name };
    if (retired.has(refKey(ref))) return false;
    const so = await kube.get(ref);
    return Boolean(so && !so.metadata.deletionTimestamp);
  };
  const scaling: Autoscaler[] = [];
  for (const h of await listOr<Autoscaler>(kube, 'autoscaling/v2', 'HorizontalPodAutoscaler', namespace)) {
    if (!names.has(targetOf(h) ?? '') || h.metadata.deletionTimestamp || retired.has(refKey(refOf(h)))) continue;
    const owner = controllerScaledObject(h);
    if (owner && !(await scaledObjectStays(owner))) continue;
    scaling.push(h);
  }
  const rendered = objects.filter((o) => AUTOSCALER_KINDS.has(o.kind)) as Autoscaler[];
  const autoscaled = new Set([...rendered, ...scaling].map(targetOf).filter((n): n is string => n !== undefined));
  const retiredTargets = new Set(retire.map(targetOf));

  const handOver: ReplicasMove[] = [];
  const takeBack: ReplicasMove[] = [];
  for (const d of deployments) {
    const current = await kube.get<Deployment>(refOf(d));
    const count = current?.spec?.replicas;
    if (!current || count === undefined) continue;
    const owners = replicasOwners(current);
    const wanted = (withoutOwnedReplicas(d, autoscaled) as Deployment).spec?.replicas;
    if (wanted === undefined) {
      if (owners.some(castleOwns)) handOver.push({ name: d.metadata.name, replicas: count });
    } else {
      // Held by the HPA controller or the hand-over manager — alone, or beside castle after a
      // take-back at the value they had set (an apply at the same value shares the field): a
      // new value would conflict with them.
      const others = owners.filter((f) => !castleOwns(f));
      const autoscalerHeld = others.length > 0 && (others.every((f) => f.manager === HANDOVER_MANAGER || f.manager === HPA_CONTROLLER_MANAGER) || retiredTargets.has(d.metadata.name));
      if (autoscalerHeld && (!owners.some(castleOwns) || wanted !== count)) takeBack.push({ name: d.metadata.name, replicas: wanted });
    }
  }
  return { autoscaled, handOver, takeBack, retire: retire.map(refOf) };
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

/** A Deployment's identity, with only `spec.replicas` (or nothing: letting go of every field). */
function replicasOnly(namespace: string, name: string, replicas?: number): KubeObject {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace }, ...(replicas === undefined ? {} : { spec: { replicas } }) };
}

/** What the hand-over steps report, one line each. */
export type HandOverProgress = (line: string) => void;

/**
 * Before the Deployments that stop carrying `spec.replicas` are applied: their live count,
 * applied under {@link HANDOVER_MANAGER} without forcing. A conflict means the autoscaler's
 * controller already holds the field, which is what the hand-over is for: left to it.
 */
export async function handOverReplicas(kube: Kube, namespace: string, moves: readonly ReplicasMove[], onProgress?: HandOverProgress): Promise<void> {
  for (const m of moves) {
    try {
      await kube.apply(replicasOnly(namespace, m.name, m.replicas), { fieldManager: HANDOVER_MANAGER });
      onProgress?.(`Deployment/${m.name}: replicas ${m.replicas} handed over (field manager ${HANDOVER_MANAGER}) until its autoscaler takes them`);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      onProgress?.(`Deployment/${m.name}: replicas already held by the autoscaler`);
    }
  }
}

/**
 * Delete the old autoscalers, then wait (up to `timeoutMs`) until they and the HPAs KEDA made
 * for them are gone, so that nothing writes the replicas meanwhile and KEDA's webhook admits a
 * new ScaledObject. A wait that runs out is reported and the deploy goes on.
 */
export async function retireAutoscalers(
  kube: Kube,
  namespace: string,
  retire: readonly ObjectRef[],
  { onProgress, timeoutMs = 60_000, pollMs = 500, signal }: { onProgress?: HandOverProgress; timeoutMs?: number; pollMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  if (retire.length === 0) return;
  for (const ref of retire) {
    const live = await kube.get(ref);
    if (live && (await kube.delete(ref, { uid: live.metadata.uid as string | undefined }))) {
      onProgress?.(`${describeRef(ref)} deleted: the new revision does not have it, and Deployment/${targetName(live)} changes hands now`);
    }
  }
  const scaledObjects = new Set(retire.filter((r) => r.kind === 'ScaledObject').map((r) => r.name));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left: string[] = [];
    for (const ref of retire) if (await kube.get(ref)) left.push(describeRef(ref));
    if (scaledObjects.size > 0) {
      for (const h of await listOr<KubeObject>(kube, 'autoscaling/v2', 'HorizontalPodAutoscaler', namespace)) {
        if (scaledObjects.has(controllerScaledObject(h)?.name ?? '')) left.push(describeRef(refOf(h)));
      }
    }
    if (left.length === 0) return;
    if (Date.now() > deadline || signal?.aborted) {
      onProgress?.(`still there after ${Math.round(timeoutMs / 1000)} s: ${left.join(', ')} (a ScaledObject waits for the KEDA operator to remove its finalizer); going on`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

function targetName(a: Autoscaler): string {
  return targetOf(a) ?? '?';
}

/**
 * Take the count back: `spec.replicas` at the new revision's value under
 * {@link HANDOVER_MANAGER}, forcing only that field from its holder (the HPA controller). The
 * caller then applies the Deployment as castle, which shares the field at the same value
 * without a conflict, and calls {@link releaseHandOver}.
 */
export async function takeBackReplicas(kube: Kube, namespace: string, moves: readonly ReplicasMove[], onProgress?: HandOverProgress): Promise<void> {
  for (const m of moves) {
    await kube.apply(replicasOnly(namespace, m.name, m.replicas), { fieldManager: HANDOVER_MANAGER, force: true });
    onProgress?.(`Deployment/${m.name}: replicas ${m.replicas} taken back from the autoscaler`);
  }
}

/** The hand-over manager lets go of every field of these Deployments: castle alone holds the count. */
export async function releaseHandOver(kube: Kube, namespace: string, moves: readonly ReplicasMove[]): Promise<void> {
  for (const m of moves) await kube.apply(replicasOnly(namespace, m.name), { fieldManager: HANDOVER_MANAGER });
}
