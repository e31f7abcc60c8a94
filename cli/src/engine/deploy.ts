import { RollbackFailedError, messageOf } from '../errors.js';
import type { KubeObject } from '../kube/objects.js';
import { prepareManifests } from '../manifests.js';
import { LeaseLostError } from '../release/fence.js';
import { currentRevision } from '../release/inventory.js';
import type { ReleaseRecord } from '../release/record.js';
import { type ReleaseContext, checkInterrupted } from './context.js';
import { withLock } from './lock.js';
import { checkReachable, ensureNamespace, refuseOthersObjects } from './preflight.js';
import { type RevisionOptions, RevisionFailedError, newRecord, runRevision } from './revision.js';

/** What a deploy is given (the objects come from a ManifestSource). */
export interface DeployRequest extends Omit<RevisionOptions, 'objects' | 'rollbackOf'> {
  readonly objects: readonly KubeObject[];
  readonly rollbackOnFailure: boolean;
  readonly leaseSeconds: number;
}

/** What a deploy did. */
export interface DeployResult {
  readonly release: string;
  readonly namespace: string;
  readonly revision: number;
  readonly version: string;
  readonly status: ReleaseRecord['status'];
  readonly images: readonly string[];
  readonly pruned: readonly string[];
  /** Objects no longer rendered but kept, still in use (pruned by a later deploy once unused). */
  readonly retained: readonly string[];
  readonly smoke?: string;
}

/** A deploy failed and was rolled back; the release runs the rollback revision. */
export class DeployFailedError extends RevisionFailedError {
  constructor(
    record: ReleaseRecord,
    cause: unknown,
    /** The revision created by the automatic rollback, if one ran. */
    readonly rollback?: { readonly revision: number; readonly to: number },
  ) {
    super(record, cause);
  }
}

/**
 * Deploy `objects` as a new revision of the release: preflight, lock, record, apply (with the
 * replicas hand-over), verdict, rollout, smoke, prune, succeeded. Nothing is written before the
 * lock is held, except the namespace when it does not exist yet (bare: its labels are applied
 * under the lock); nothing at all when a cluster-scoped object belongs to another release. On
 * failure (not on interruption, nor when the lock was lost) roll back to the newest healthy
 * revision when `rollbackOnFailure`.
 * @throws DeployFailedError, RollbackFailedError, InterruptedError, LockedError, LeaseLostError, UsageError, ConflictError, OwnedElsewhereError…
 */
export async function deployRelease(ctx: ReleaseContext, request: DeployRequest): Promise<DeployResult> {
  await checkReachable(ctx.kube, ctx.reporter);
  const objects = await prepareManifests(request.objects, ctx.release, ctx.namespace, (a, k) => ctx.kube.namespaced(a, k));
  // Refuse an oversized record before anything is written.
  newRecord(ctx, 0, { objects, version: request.version, gitSha: request.gitSha });
  await refuseOthersObjects(ctx.kube, ctx, objects);
  await ensureNamespace(ctx.kube, ctx.namespace, objects);
  checkInterrupted(ctx);
  return withLock(ctx, request.leaseSeconds, async (locked) => {
    const before = await locked.store.list();
    try {
      const outcome = await runRevision(locked, { ...request, objects });
      return {
        release: ctx.release,
        namespace: ctx.namespace,
        revision: outcome.record.revision,
        version: outcome.record.version,
        status: outcome.record.status,
        images: outcome.record.images,
        pruned: outcome.pruned.map((r) => `${r.kind}/${r.name}`),
        retained: outcome.retained.map((r) => `${r.kind}/${r.name}`),
        smoke: outcome.smoke,
      };
    } catch (error) {
      if (!(error instanceof RevisionFailedError)) throw error;
      const cause = error.cause;
      // Whoever holds the lock now owns the release: no rollback over it.
      if (cause instanceof LeaseLostError) throw new DeployFailedError(error.record, cause);
      const target = currentRevision(before);
      if (locked.signal?.aborted || !request.rollbackOnFailure || !target) {
        if (locked.signal?.aborted) checkInterrupted(locked);
        if (request.rollbackOnFailure && !target) ctx.reporter.warn('no earlier healthy revision to roll back to');
        throw new DeployFailedError(error.record, cause);
      }
      ctx.reporter.warn(`rolling back to revision ${target.revision} (${target.version})`);
      try {
        // A rollback goes back to what was healthy: no verdict on the way back.
        const rb = await runRevision(locked, { ...request, verdict: undefined, objects: target.manifests, version: target.version, gitSha: target.gitSha, rollbackOf: target.revision });
        error.record.reason = `${messageOf(cause)}; rolled back to revision ${target.revision} by revision ${rb.record.revision}`;
        await locked.store.update(error.record).catch(() => undefined);
        throw new DeployFailedError(error.record, cause, { revision: rb.record.revision, to: target.revision });
      } catch (rollbackError) {
        if (rollbackError instanceof DeployFailedError) throw rollbackError;
        const rbCause = rollbackError instanceof RevisionFailedError ? rollbackError.cause : rollbackError;
        throw new RollbackFailedError(cause instanceof Error ? cause : new Error(messageOf(cause)), rbCause instanceof Error ? rbCause : new Error(messageOf(rbCause)));
      }
    }
  });
}
