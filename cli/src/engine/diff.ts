import { prune } from '../apply/prune.js';
import { NO_MOVES, planReplicas, withoutOwnedReplicas } from '../apply/handover.js';
import { type KubeObject, describeRef, refOf } from '../kube/objects.js';
import { prepareManifests } from '../manifests.js';
import { pruneCandidates } from '../release/inventory.js';
import type { ReleaseContext } from './context.js';
import { checkReachable, refuseOthersObjects } from './preflight.js';

/** How one object would change. */
export interface ObjectDiff {
  readonly object: string;
  readonly action: 'create' | 'update' | 'prune';
  /** Changed field paths (update only). */
  readonly fields: readonly string[];
}

/** `castle diff`'s data. */
export interface DiffReport {
  readonly changes: readonly ObjectDiff[];
  readonly unchanged: number;
  /** Objects no longer rendered that a deploy would keep for now, and why (a pod or a ReplicaSet still reads them). */
  readonly kept: readonly { readonly object: string; readonly why: string }[];
  /** Non-GET requests sent that were not dry runs: always 0. */
  readonly writes: number;
}

const VOLATILE_METADATA = ['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp', 'selfLink'];

/** An object without what the server changes on every write. */
export function comparable(object: KubeObject): Record<string, unknown> {
  const copy = structuredClone(object) as Record<string, unknown> & { metadata: Record<string, unknown> };
  delete copy.status;
  for (const k of VOLATILE_METADATA) delete copy.metadata[k];
  const annotations = copy.metadata.annotations as Record<string, string> | undefined;
  if (annotations) {
    delete annotations['deployment.kubernetes.io/revision'];
    if (Object.keys(annotations).length === 0) delete copy.metadata.annotations;
  }
  return copy;
}

/** Paths where two JSON values differ (`spec.template.spec.containers[0].image`). */
export function changedPaths(a: unknown, b: unknown, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    return a.flatMap((x, i) => changedPaths(x, b[i], `${path}[${i}]`));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => changedPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return [path || '.'];
}

/**
 * What a deploy of `objects` would change: a server-side dry-run apply (dryRun=All) of every
 * object compared with the live one, plus what would be pruned and what would be kept for now
 * (still in use). A count castle would hand over to an autoscaler shows no change; one it would
 * take back shows as `spec.replicas`. Sends no write.
 * @throws OwnedElsewhereError like a deploy, when a cluster-scoped object belongs to another release.
 */
export async function diffRelease(ctx: ReleaseContext, raw: readonly KubeObject[], forceConflicts: boolean): Promise<DiffReport> {
  const { kube } = ctx;
  await checkReachable(kube, ctx.reporter);
  const objects = await prepareManifests(raw, ctx.release, ctx.namespace, (a, k) => kube.namespaced(a, k));
  await refuseOthersObjects(kube, ctx, objects);
  const nsExists = Boolean(await kube.get({ apiVersion: 'v1', kind: 'Namespace', name: ctx.namespace }));
  const records = nsExists ? await ctx.store.list() : [];
  const candidates = pruneCandidates(records, objects.map(refOf));
  const plan = nsExists ? await planReplicas(kube, ctx.namespace, objects, { release: ctx.release, candidates }) : NO_MOVES;
  const changes: ObjectDiff[] = [];
  let unchanged = 0;
  const step = ctx.reporter.step(`Comparing ${objects.length} objects (server-side dry run)`);
  for (const object of objects) {
    const live = nsExists || object.kind === 'Namespace' ? await kube.get(refOf(object)) : undefined;
    if (!live) {
      changes.push({ object: describeRef(refOf(object)), action: 'create', fields: [] });
      continue;
    }
    const name = object.metadata.name;
    const handedOver = object.kind === 'Deployment' && plan.handOver.some((m) => m.name === name);
    const takenBack = object.kind === 'Deployment' ? plan.takeBack.find((m) => m.name === name) : undefined;
    // Taken back, the count is forced apart from the rest: the rest is compared without it.
    const sent = takenBack ? withoutOwnedReplicas(object, new Set([name])) : withoutOwnedReplicas(object, plan.autoscaled);
    const planned = await kube.apply(sent, { dryRun: true, force: forceConflicts });
    const liveReplicas = (live.spec as { replicas?: number } | undefined)?.replicas;
    // Handed over, the count stays at its live value rather than falling to the default.
    if (handedOver || takenBack) planned.spec = { ...(planned.spec as object), replicas: liveReplicas };
    const fields = changedPaths(comparable(live), comparable(planned));
    if (takenBack && takenBack.replicas !== liveReplicas) fields.push('spec.replicas');
    if (fields.length === 0) unchanged += 1;
    else changes.push({ object: describeRef(refOf(object)), action: 'update', fields });
  }
  const kept: DiffReport['kept'][number][] = [];
  if (nsExists) {
    const replacing = new Set(objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name));
    const would = await prune(kube, ctx, candidates, { nextCount: objects.length, dryRun: true, replacing });
    for (const ref of would.deleted) changes.push({ object: describeRef(ref), action: 'prune', fields: [] });
    for (const r of would.retained) kept.push({ object: describeRef(r.ref), why: r.why });
  }
  step.ok(`${changes.length} changes${kept.length > 0 ? `, ${kept.length} kept` : ''}`);
  return { changes, unchanged, kept, writes: kube.http.writes };
}
