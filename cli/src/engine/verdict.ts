import { applyAll } from '../apply/apply.js';
import { CastleError, messageOf } from '../errors.js';
import type { KubeObject } from '../kube/objects.js';
import { LeaseLostError } from '../release/fence.js';
import type { ReleaseRecord } from '../release/record.js';
import type { VerdictOptions } from '../rollout/canary.js';
import { holdOf, pausedDeployment } from '../rollout/hold.js';
import { type Verdict, describeExcluded } from '../rollout/verdict.js';
import type { ReleaseContext } from './context.js';

/**
 * Take the verdict when the pod template changed, store it on the record, and fail the
 * revision on `fail` (or on `inconclusive` when the user chose so).
 * @returns a one-line summary for the step.
 */
export async function applyVerdict(
  record: ReleaseRecord,
  liveTemplate: unknown,
  applied: KubeObject | undefined,
  options: VerdictOptions,
  take: () => Promise<Verdict>,
): Promise<string> {
  if (JSON.stringify(liveTemplate) === JSON.stringify((applied?.spec as { template?: unknown } | undefined)?.template)) {
    return 'skipped: the pod template is unchanged';
  }
  const verdict = await take();
  record.verdict = { outcome: verdict.outcome, detail: verdict };
  const share = verdict.trafficShare === null ? 'n/a' : `${(verdict.trafficShare * 100).toFixed(0)}%`;
  const left = verdict.excluded.length > 0 ? `; left out: ${describeExcluded(verdict.excluded)}` : '';
  const summary = `${verdict.outcome}: ${verdict.reason}; new pods had ${share} of the traffic (${verdict.new.total} requests, ${verdict.new.errors} 5xx; old ${verdict.old.total}, ${verdict.old.errors})${left}`;
  if (verdict.outcome === 'fail' || (verdict.outcome === 'inconclusive' && options.onInconclusive === 'fail')) {
    throw new CastleError('CASTLE_ERR_VERDICT', `rollout verdict ${summary}`);
  }
  return summary;
}

/** Options of {@link settleHold}. */
export interface SettleOptions {
  /** The revision that failed. */
  readonly revision: number;
  /** The deploy lost its lock: it may not write. */
  readonly lost: boolean;
  readonly force: boolean;
}

/**
 * After a revision failed: when the judged Deployment still carries this revision's hold (it
 * was applied and not released), give it back its own spec from the manifests — strategy,
 * minReadySeconds and progressDeadlineSeconds — paused, so the controller does not finish
 * rolling out the failed version (a rollback that follows resumes it with the healthy
 * revision's spec). A deploy that lost its lock writes nothing: the hold stays, and it never
 * lapses. Never throws: the revision's own failure is what the deploy reports.
 * @returns a note for the revision's reason, when there was a hold.
 */
export async function settleHold(ctx: ReleaseContext, objects: readonly KubeObject[], options: VerdictOptions, o: SettleOptions): Promise<string | undefined> {
  const name = options.deployment;
  const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ctx.namespace, name };
  const left = (why: string): string => {
    ctx.reporter.warn(
      `Deployment/${name} stays held for revision ${o.revision}: ${why}. The hold does not lapse, so the rollout goes no further; castle status shows it, and the next castle deploy or castle rollback releases it`,
    );
    return `Deployment/${name} left held for its verdict`;
  };
  let live: KubeObject | undefined;
  try {
    live = await ctx.kube.get(ref);
  } catch (error) {
    return left(`it could not be read (${messageOf(error)})`);
  }
  const hold = holdOf(live);
  if (hold?.revision !== o.revision) return undefined;
  if (hold.state === 'paused') return `Deployment/${name} paused with its new pods beside the old ones`;
  if (o.lost) return left('this deploy lost its lock and writes nothing more');
  const own = objects.find((x) => x.kind === 'Deployment' && x.metadata.name === name);
  if (!own) return left('the manifests have no such Deployment');
  try {
    await applyAll(ctx.kube, ctx.namespace, [pausedDeployment(own, o.revision)], { force: o.force, beforeWave: () => ctx.lock?.confirm() ?? Promise.resolve() });
  } catch (error) {
    return left(error instanceof LeaseLostError ? 'this deploy lost its lock and writes nothing more' : `pausing it failed (${messageOf(error)})`);
  }
  const minReady = (own.spec as { minReadySeconds?: number } | undefined)?.minReadySeconds ?? 0;
  ctx.reporter.warn(
    `Deployment/${name} paused: minReadySeconds and strategy back to the manifests’ (${minReady} s), and revision ${o.revision} goes no further; castle rollback goes back, castle deploy goes on`,
  );
  return `Deployment/${name} paused with its new pods beside the old ones`;
}
