import { CastleError, messageOf } from '../errors.js';
import type { Kube } from '../kube/client.js';
import { type ObjectRef, describeRef } from '../kube/objects.js';
import { ownedBy } from '../release/inventory.js';

/** What pruning did or would do with each candidate. */
export interface PruneResult {
  readonly deleted: ObjectRef[];
  /** Candidates left alone: already gone, or no longer carrying Castle's label for this release. */
  readonly skipped: { ref: ObjectRef; why: string }[];
}

/**
 * Delete the candidates that still carry Castle's ownership label for `release`.
 * @param dryRun only report what would be deleted.
 * @throws CastleError when the new set is empty (that would delete the whole release).
 */
export async function prune(
  kube: Kube,
  release: string,
  candidates: readonly ObjectRef[],
  { nextCount, dryRun = false }: { nextCount: number; dryRun?: boolean },
): Promise<PruneResult> {
  if (nextCount === 0 && candidates.length > 0) {
    throw new CastleError('CASTLE_ERR_EMPTY_PRUNE', 'refusing to prune: the new manifests are empty, which would delete the whole release', undefined, 'use "castle destroy" to remove a release');
  }
  const result: PruneResult = { deleted: [], skipped: [] };
  for (const ref of candidates) {
    const live = await kube.get(ref);
    if (!live) {
      result.skipped.push({ ref, why: 'already gone' });
      continue;
    }
    if (!ownedBy(live, release)) {
      result.skipped.push({ ref, why: `not labelled as owned by castle release ${release}` });
      continue;
    }
    if (!dryRun) {
      try {
        await kube.delete(ref, { uid: (live.metadata as { uid?: string }).uid });
      } catch (error) {
        throw new CastleError('CASTLE_ERR_PRUNE', `pruning ${describeRef(ref)} failed: ${messageOf(error)}`);
      }
    }
    result.deleted.push(ref);
  }
  return result;
}
