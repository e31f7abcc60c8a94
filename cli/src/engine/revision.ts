import { applyAll } from '../apply/apply.js';
import { prune } from '../apply/prune.js';
import { CastleError, EXIT_CODES, messageOf } from '../errors.js';
import { type KubeObject, type ObjectRef, describeRef, refOf } from '../kube/objects.js';
import { imagesOf, manifestDigest } from '../manifests.js';
import { pruneCandidates, withOwnership } from '../release/inventory.js';
import { type ReleaseRecord, encodeRecord } from '../release/record.js';
import type { SmokeCheck } from '../rollout/smoke.js';
import { RolloutError, watchRollout } from '../rollout/watch.js';
import { type VerdictOptions, takeVerdict } from '../rollout/canary.js';
import { heldDeployment } from '../rollout/hold.js';
import { applyVerdict, settleHold } from './verdict.js';
import { type ReleaseContext, checkInterrupted, lostLock } from './context.js';
import { refuseOthersObjects } from './preflight.js';

/** How a revision is rolled out. */
export interface RevisionOptions {
  readonly objects: readonly KubeObject[];
  readonly version: string;
  readonly gitSha?: string;
  readonly rollbackOf?: number;
  readonly forceConflicts: boolean;
  readonly deadlineMs: number;
  readonly crashRestarts?: number;
  readonly smoke?: { readonly check: SmokeCheck; readonly service: string };
  readonly historyMax: number;
  /** Judge the new pods against the old ones before finishing the rollout. */
  readonly verdict?: VerdictOptions;
}

/** What a finished revision did. */
export interface RevisionOutcome {
  readonly record: ReleaseRecord;
  readonly pruned: ObjectRef[];
  /** Objects no longer rendered that prune kept (in use, or their deletion failed), recorded on the revision. */
  readonly retained: ObjectRef[];
  readonly smoke?: string;
}

/** A revision failed; its record is already marked failed. */
export class RevisionFailedError extends CastleError {
  override readonly name: string = 'RevisionFailedError';
  constructor(
    readonly record: ReleaseRecord,
    override readonly cause: unknown,
  ) {
    // The cause decides the code and exit code: a conflict stays a conflict.
    super(
      cause instanceof CastleError ? cause.code : 'CASTLE_ERR_DEPLOY_FAILED',
      messageOf(cause),
      cause instanceof CastleError ? cause.exitCode : EXIT_CODES.failed,
      cause instanceof CastleError ? cause.hint : undefined,
    );
  }
}

/** A new revision's record, checked for size before anything is written. */
export function newRecord(ctx: ReleaseContext, revision: number, o: Pick<RevisionOptions, 'objects' | 'version' | 'gitSha' | 'rollbackOf'>): ReleaseRecord {
  const record: ReleaseRecord = {
    release: ctx.release,
    namespace: ctx.namespace,
    revision,
    version: o.version,
    gitSha: o.gitSha,
    manifestDigest: manifestDigest(o.objects),
    images: imagesOf(o.objects),
    inventory: o.objects.map(refOf),
    manifests: o.objects,
    status: 'pending',
    who: ctx.who,
    startedAt: new Date().toISOString(),
    rollbackOf: o.rollbackOf,
  };
  encodeRecord(record);
  return record;
}

/**
 * Roll out one revision under the release's lock: refuse a cluster-scoped object another
 * release owns, write its record (pending, with the inventory) before applying, apply every
 * object (handing each Deployment's replica count between castle and its autoscalers, and retiring old autoscalers right before the new ones),
 * take the verdict, follow the rollout, run the smoke check, and only then — the new revision
 * healthy — prune what the release no longer renders (keeping what is still in use), mark it
 * succeeded (and the previous one superseded) and trim the history. A revision that fails
 * deleted nothing it dropped: a rollback finds every object in place. Every object carries the
 * release's ownership marks, also those of a record written before the owner annotation.
 * @throws RevisionFailedError with the record marked failed; OwnedElsewhereError before recording anything.
 */
export async function runRevision(ctx: ReleaseContext, options: RevisionOptions): Promise<RevisionOutcome> {
  const { kube, store, reporter, namespace } = ctx;
  const o: RevisionOptions = { ...options, objects: options.objects.map((x) => withOwnership(x, ctx)) };
  // Before each wave of writes: the lease is still this deploy's (a takeover is found here).
  const confirm = (): Promise<void> => ctx.lock?.confirm() ?? Promise.resolve();
  await confirm();
  // Again under the lock (a deploy checked before taking it): a rollback's old manifests too.
  await refuseOthersObjects(kube, ctx, o.objects);
  const records = await store.list();
  // Under the lock, a pending revision belongs to a deploy that died without finishing.
  for (const r of records.filter((x) => x.status === 'pending')) {
    r.status = 'failed';
    r.reason = 'abandoned: the deploy that started it stopped without finishing';
    r.finishedAt = new Date().toISOString();
    await store.update(r);
    reporter.warn(`revision ${r.revision} was left pending by ${r.who}; marked failed`);
  }
  const revision = (records[0]?.revision ?? 0) + 1;
  const record = newRecord(ctx, revision, o);
  const stepRecord = reporter.step(`Recording revision ${revision} (${o.version}${o.rollbackOf ? `, rollback to revision ${o.rollbackOf}` : ''})`);
  await store.create(record);
  stepRecord.ok(`${record.inventory.length} objects`);
  let step = stepRecord;
  try {
    checkInterrupted(ctx);
    const held = o.verdict ? await holdFor(ctx, o.objects, o.verdict, revision) : undefined;
    // What the release had and this revision does not: pruned once it is healthy; its old
    // autoscalers of Deployments this revision still has are retired during the apply.
    const candidates = pruneCandidates(records, record.inventory);
    step = reporter.step(`Applying ${o.objects.length} objects`);
    const applyStep = step;
    const applied = await applyAll(kube, namespace, held?.objects ?? o.objects, {
      force: o.forceConflicts,
      beforeWave: confirm,
      retiring: { release: ctx.release, candidates },
      signal: ctx.signal,
      onHandOver: (line) => applyStep.reason(line),
      onApplied: (obj) => applyStep.reason(`${describeRef(refOf(obj))} applied`),
    });
    step.ok();
    checkInterrupted(ctx);
    if (held && o.verdict) {
      const result = applied.find((x) => x.kind === 'Deployment' && x.metadata.name === o.verdict?.deployment);
      step = reporter.step(`Verdict on Deployment/${o.verdict.deployment}: new pods against old`);
      const verdictStep = step;
      const outcome = await applyVerdict(record, held.template, result, o.verdict, () =>
        takeVerdict(kube, namespace, o.verdict as VerdictOptions, { deadlineMs: o.deadlineMs, signal: ctx.signal, onProgress: (line) => verdictStep.reason(line) }),
      );
      await confirm();
      await store.update(record);
      step.ok(outcome);
      // Release the hold: the same pod template, the manifests' own strategy.
      await applyAll(kube, namespace, o.objects.filter((x) => x.kind === 'Deployment' && x.metadata.name === o.verdict?.deployment), { force: o.forceConflicts, beforeWave: confirm });
      checkInterrupted(ctx);
    }

    const deployments = o.objects.filter((x) => x.kind === 'Deployment').map((x) => x.metadata.name);
    step = reporter.step(`Waiting for ${deployments.length} Deployments (deadline ${Math.round(o.deadlineMs / 1000)} s)`);
    const rolloutStep = step;
    await watchRollout(kube, namespace, deployments, {
      deadlineMs: o.deadlineMs,
      crashRestarts: o.crashRestarts,
      signal: ctx.signal,
      onProgress: (name, line, waitingFor) => rolloutStep.reason(`Deployment/${name}: ${line}${waitingFor ? ` — waiting for ${waitingFor}` : ''}`),
      onReady: (name) => rolloutStep.reason(`Deployment/${name}: ready`),
    });
    checkInterrupted(ctx);
    step.ok();

    let smoke: string | undefined;
    if (o.smoke && o.objects.some((x) => x.kind === 'Service' && x.metadata.name === o.smoke?.service)) {
      step = reporter.step('Smoke check');
      smoke = await o.smoke.check(kube, namespace);
      step.ok(smoke);
    }
    checkInterrupted(ctx);

    // Healthy: only now is anything the release no longer renders deleted.
    step = reporter.step('Pruning objects no longer rendered');
    await confirm();
    const pruned = await prune(kube, ctx, candidates, { nextCount: o.objects.length });
    for (const s of pruned.skipped) step.reason(`kept ${describeRef(s.ref)}: ${s.why}`);
    for (const s of pruned.retained) step.reason(`kept ${describeRef(s.ref)} for now: ${s.why}`);
    for (const s of pruned.failed) reporter.warn(`${s.why}; kept on record, the next deploy tries again`);
    const retained = [...pruned.retained, ...pruned.failed];
    if (retained.length > 0) record.retained = retained;
    step.ok(pruneSummary(pruned.deleted, retained.map((r) => r.ref)));

    await confirm();
    record.status = 'succeeded';
    record.finishedAt = new Date().toISOString();
    await store.update(record);
    for (const r of records.filter((x) => x.status === 'succeeded')) {
      r.status = 'superseded';
      r.reason = `superseded by revision ${revision}`;
      await store.update(r);
    }
    const trimmed = await store.trim(o.historyMax);
    if (trimmed.length > 0) reporter.info(`history: removed revisions ${trimmed.join(', ')} (keeping ${o.historyMax})`);
    return { record, pruned: pruned.deleted, retained: retained.map((r) => r.ref), smoke };
  } catch (error) {
    step.fail(describeFailure(error));
    const lost = await lostLock(ctx, error);
    const cause = lost ?? error;
    // A hold this revision's verdict left on its Deployment: paused, or (lock lost) left and said.
    const hold = o.verdict ? await settleHold(ctx, o.objects, o.verdict, { revision, lost: Boolean(lost), force: o.forceConflicts }) : undefined;
    record.status = 'failed';
    record.reason = hold ? `${messageOf(cause)}; ${hold}` : messageOf(cause);
    record.finishedAt = new Date().toISOString();
    try {
      if (!lost) await store.update(record);
      else {
        // Without the lock, only this revision's own record, and only while it is pending.
        const outcome = await store.failIfPending(record);
        if (outcome !== 'marked') reporter.warn(`revision ${revision} left as recorded: ${outcome === 'gone' ? 'its record is gone' : 'another deploy changed its record since'}`);
      }
    } catch (updateError) {
      reporter.warn(`could not mark revision ${revision} failed: ${messageOf(updateError)}`);
    }
    throw new RevisionFailedError(record, cause);
  }
}

function pruneSummary(deleted: readonly ObjectRef[], kept: readonly ObjectRef[]): string {
  const parts = [...(deleted.length > 0 ? [`deleted ${deleted.map(describeRef).join(', ')}`] : []), ...(kept.length > 0 ? [`kept ${kept.map(describeRef).join(', ')}`] : [])];
  return parts.length === 0 ? 'nothing to prune' : parts.join('; ');
}

/** The objects with the judged Deployment held, when it has old pods to compare with. */
async function holdFor(ctx: ReleaseContext, objects: readonly KubeObject[], v: VerdictOptions, revision: number): Promise<{ objects: KubeObject[]; template: unknown } | undefined> {
  const live = await ctx.kube.get<KubeObject & { spec?: { template?: unknown }; status?: { availableReplicas?: number } }>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ctx.namespace, name: v.deployment });
  if (!live || !live.status?.availableReplicas || !objects.some((x) => x.kind === 'Deployment' && x.metadata.name === v.deployment)) {
    ctx.reporter.info(`verdict skipped: Deployment/${v.deployment} has no old pods to compare with`);
    return undefined;
  }
  return {
    objects: objects.map((x) => (x.kind === 'Deployment' && x.metadata.name === v.deployment ? heldDeployment(x, revision) : x)),
    template: live.spec?.template,
  };
}

/** A failure as `^` lines: each blocker with its event and log lines. */
export function describeFailure(error: unknown): string {
  if (!(error instanceof RolloutError)) return messageOf(error);
  const lines: string[] = [];
  for (const b of error.blockers) {
    lines.push(`Deployment/${b.deployment}${b.pod ? ` pod ${b.pod}` : ''}: ${b.reason}${b.message ? ` — ${b.message}` : ''}`);
    if (b.event) lines.push(`  event: ${b.event}`);
    if (b.logs) lines.push('  last log lines:', ...b.logs.split('\n').map((l) => `    ${l}`));
  }
  return lines.join('\n');
}
