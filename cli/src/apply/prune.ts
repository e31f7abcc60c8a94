import { CastleError, messageOf } from '../errors.js';
import type { Kube } from '../kube/client.js';
import { type ObjectRef, describeRef } from '../kube/objects.js';
import { LeaseLostError } from '../release/fence.js';
import { type ReleaseId, whyNotOwned } from '../release/inventory.js';
import type { RetainedObject } from '../release/record.js';
import { POD_CONFIG_KINDS, configInUse, useKey } from './in-use.js';

/** What pruning did or would do with each candidate. */
export interface PruneResult {
  readonly deleted: ObjectRef[];
  /** Candidates left alone for good: already gone, or not this release's (its labels, its owner annotation). */
  readonly skipped: { ref: ObjectRef; why: string }[];
  /** The release's objects kept for now, because a pod or a ReplicaSet still reads them: recorded, pruned once unused. */
  readonly retained: RetainedObject[];
  /** The release's objects whose deletion failed: recorded like retained ones, tried again by the next deploy. */
  readonly failed: RetainedObject[];
}

/**
 * Delete the candidates that are still release `id`'s ({@link whyNotOwned}: its labels and, for a
 * cluster-scoped object, its owner annotation naming `id`'s namespace and name), except
 * ConfigMaps and Secrets still in use ({@link configInUse}), which are retained. Best-effort:
 * a deletion that fails is reported in `failed` and the others go on; a lost lock stops it.
 * @param dryRun only report what would be deleted; `replacing` names the Deployments the
 *   deploy would roll, whose current pods then do not count as using anything.
 * @throws CastleError when the new set is empty (that would delete the whole release).
 */
export async function prune(
  kube: Kube,
  id: ReleaseId,
  candidates: readonly ObjectRef[],
  { nextCount, dryRun = false, replacing }: { nextCount: number; dryRun?: boolean; replacing?: ReadonlySet<string> },
): Promise<PruneResult> {
  if (nextCount === 0 && candidates.length > 0) {
    throw new CastleError('CASTLE_ERR_EMPTY_PRUNE', 'refusing to prune: the new manifests are empty, which would delete the whole release', undefined, 'use "castle destroy" to remove a release');
  }
  const result: PruneResult = { deleted: [], skipped: [], retained: [], failed: [] };
  let inUse: Map<string, string> | undefined;
  for (const ref of candidates) {
    const live = await kube.get(ref);
    if (!live) {
      result.skipped.push({ ref, why: 'already gone' });
      continue;
    }
    const notOurs = whyNotOwned(live, id);
    if (notOurs) {
      result.skipped.push({ ref, why: notOurs });
      continue;
    }
    if (POD_CONFIG_KINDS.has(ref.kind) && ref.apiVersion === 'v1' && ref.namespace) {
      inUse ??= await configInUse(kube, ref.namespace, replacing);
      const why = inUse.get(useKey(ref));
      if (why) {
        result.retained.push({ ref, why });
        continue;
      }
    }
    if (!dryRun) {
      try {
        await kube.delete(ref, { uid: (live.metadata as { uid?: string }).uid });
      } catch (error) {
        if (error instanceof LeaseLostError) throw error;
        result.failed.push({ ref, why: `deleting ${describeRef(ref)} failed: ${messageOf(error)}` });
        continue;
      }
    }
    result.deleted.push(ref);
  }
  return result;
}
