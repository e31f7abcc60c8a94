import { prune } from '../apply/prune.js';
import { autoscaledDeployments, withoutOwnedReplicas } from '../apply/apply.js';
import { type KubeObject, describeRef, refOf } from '../kube/objects.js';
import { prepareManifests } from '../manifests.js';
import { pruneCandidates } from '../release/inventory.js';
import type { ReleaseContext } from './context.js';
import { checkReachable } from './preflight.js';

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
 * object compared with the live one, plus what would be pruned. Sends no write.
 */
export async function diffRelease(ctx: ReleaseContext, raw: readonly KubeObject[], forceConflicts: boolean): Promise<DiffReport> {
  const { kube } = ctx;
  await checkReachable(kube, ctx.reporter);
  const objects = await prepareManifests(raw, ctx.release, ctx.namespace, (a, k) => kube.namespaced(a, k));
  const nsExists = Boolean(await kube.get({ apiVersion: 'v1', kind: 'Namespace', name: ctx.namespace }));
  const autoscaled = nsExists ? await autoscaledDeployments(kube, ctx.namespace, objects) : new Set<string>();
  const changes: ObjectDiff[] = [];
  let unchanged = 0;
  const step = ctx.reporter.step(`Comparing ${objects.length} objects (server-side dry run)`);
  for (const object of objects) {
    const live = nsExists || object.kind === 'Namespace' ? await kube.get(refOf(object)) : undefined;
    if (!live) {
      changes.push({ object: describeRef(refOf(object)), action: 'create', fields: [] });
      continue;
    }
    const planned = await kube.apply(withoutOwnedReplicas(object, autoscaled), { dryRun: true, force: forceConflicts });
    const fields = changedPaths(comparable(live), comparable(planned));
    if (fields.length === 0) unchanged += 1;
    else changes.push({ object: describeRef(refOf(object)), action: 'update', fields });
  }
  if (nsExists) {
    const records = await ctx.store.list();
    const would = await prune(kube, ctx.release, pruneCandidates(records, objects.map(refOf)), { nextCount: objects.length, dryRun: true });
    for (const ref of would.deleted) changes.push({ object: describeRef(ref), action: 'prune', fields: [] });
  }
  step.ok(`${changes.length} changes`);
  return { changes, unchanged, writes: kube.http.writes };
}
