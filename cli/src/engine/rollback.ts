import { CastleError, UsageError } from '../errors.js';
import { LeaseLostError } from '../release/fence.js';
import { currentRevision } from '../release/inventory.js';
import { HEALTHY_STATUSES, type ReleaseRecord } from '../release/record.js';
import { type ReleaseContext, checkInterrupted } from './context.js';
import { withLock } from './lock.js';
import { checkReachable } from './preflight.js';
import { type RevisionOptions, RevisionFailedError, runRevision } from './revision.js';

/** Which revision a rollback goes to, and which it passed over. */
export interface RollbackPlan {
  readonly current?: ReleaseRecord;
  readonly target: ReleaseRecord;
  /** Newer revisions skipped because they never became healthy. */
  readonly skipped: readonly { revision: number; status: string; reason?: string }[];
}

/**
 * Choose the rollback target: `to` when given (it must have been healthy), else the newest
 * healthy revision other than the current one, passing over failed and pending ones.
 * @throws UsageError when there is none.
 */
export function planRollback(records: readonly ReleaseRecord[], to?: number): RollbackPlan {
  const sorted = [...records].sort((a, b) => b.revision - a.revision);
  const healthy = (r: ReleaseRecord): boolean => HEALTHY_STATUSES.includes(r.status);
  // When the newest revision is healthy it is what runs; when it failed, the cluster runs
  // something broken and the newest healthy revision is the way back.
  const latest = sorted[0];
  const current = latest?.status === 'succeeded' ? latest : undefined;
  let target: ReleaseRecord | undefined;
  if (to !== undefined) {
    target = sorted.find((r) => r.revision === to);
    if (!target) throw new UsageError(`revision ${to} is not in the history (have: ${sorted.map((r) => r.revision).join(', ') || 'none'})`, 'see "castle history"');
    if (!healthy(target)) {
      throw new UsageError(`revision ${to} is ${target.status}: only a revision that was once healthy can be rolled back to`, 'see "castle history"');
    }
  } else {
    target = sorted.find((r) => healthy(r) && (!current || (r.revision < current.revision && r.manifestDigest !== current.manifestDigest)));
    if (!target) throw new UsageError('there is no earlier healthy revision to roll back to', 'see "castle history"');
  }
  const chosen = target;
  const skipped = sorted
    .filter((r) => r.revision > chosen.revision && r !== current)
    .map((r) => ({ revision: r.revision, status: r.status, reason: healthy(r) ? 'same manifests as the current revision' : r.reason }));
  return { current: current ?? currentRevision(sorted), target: chosen, skipped };
}

/** What a rollback did. */
export interface RollbackResult {
  readonly release: string;
  readonly namespace: string;
  readonly revision: number;
  readonly to: number;
  readonly version: string;
  readonly skipped: RollbackPlan['skipped'];
  readonly pruned: readonly string[];
  /** Objects no longer rendered but kept, still in use. */
  readonly retained: readonly string[];
}

/** Re-apply a healthy revision's manifests as a new revision and delete what later revisions added. */
export async function rollbackRelease(
  ctx: ReleaseContext,
  options: Omit<RevisionOptions, 'objects' | 'version' | 'gitSha' | 'rollbackOf'> & { readonly to?: number; readonly leaseSeconds: number },
): Promise<RollbackResult> {
  await checkReachable(ctx.kube, ctx.reporter);
  return withLock(ctx, options.leaseSeconds, async (locked) => {
    const records = await locked.store.list();
    if (records.length === 0) throw new UsageError(`release ${ctx.release} has no history in namespace ${ctx.namespace}`);
    const plan = planRollback(records, options.to);
    for (const s of plan.skipped) ctx.reporter.info(`skipping revision ${s.revision} (${s.status}${s.reason ? `: ${s.reason}` : ''})`);
    try {
      const outcome = await runRevision(locked, { ...options, objects: plan.target.manifests, version: plan.target.version, gitSha: plan.target.gitSha, rollbackOf: plan.target.revision });
      if (plan.current && plan.current.revision !== plan.target.revision) {
        const replaced = (await locked.store.list()).find((r) => r.revision === plan.current?.revision);
        if (replaced && replaced.status === 'superseded') {
          replaced.status = 'rolled-back';
          replaced.reason = `rolled back to revision ${plan.target.revision} by revision ${outcome.record.revision}`;
          await locked.store.update(replaced);
        }
      }
      return {
        release: ctx.release,
        namespace: ctx.namespace,
        revision: outcome.record.revision,
        to: plan.target.revision,
        version: plan.target.version,
        skipped: plan.skipped,
        pruned: outcome.pruned.map((r) => `${r.kind}/${r.name}`),
        retained: outcome.retained.map((r) => `${r.kind}/${r.name}`),
      };
    } catch (error) {
      checkInterrupted(locked);
      if (error instanceof RevisionFailedError && !(error.cause instanceof LeaseLostError)) {
        throw new CastleError('CASTLE_ERR_ROLLBACK', `rollback to revision ${plan.target.revision} failed: ${error.message}`);
      }
      throw error;
    }
  });
}
