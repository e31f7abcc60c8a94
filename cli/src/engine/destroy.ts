import { messageOf } from '../errors.js';
import { type ObjectRef, describeRef } from '../kube/objects.js';
import { everyObject, ownedBy, whyNotOwned } from '../release/inventory.js';
import { LeaseLostError } from '../release/fence.js';
import { DEFAULT_LEASE_SECONDS } from '../release/lock.js';
import type { ReleaseContext } from './context.js';
import { withLock } from './lock.js';
import { checkReachable } from './preflight.js';

/** `castle destroy`'s data. */
export interface DestroyReport {
  readonly deleted: readonly string[];
  readonly skipped: readonly string[];
  readonly records: number;
  readonly failures: readonly string[];
}

/** What {@link destroyRelease} is given. */
export interface DestroyRequest {
  /** Destroy even while a deploy holds the lock: take the lock from it. */
  readonly ignoreLock?: boolean;
}

/**
 * Delete every object any revision of the release listed (only those still the release's: its
 * labels, and the owner annotation naming this namespace and release — a cluster-scoped object
 * without it is kept, and said so), then the records, then the release's Namespace, holding
 * the release's lock like a deploy: refused while another holds it, unless `ignoreLock` takes it from that holder (which
 * stops at its next renewal). Idempotent and best-effort: keeps going after a failure and
 * reports every failure at the end; a lost lock stops it.
 * @throws LockedError naming the holder when another live holder has the lock (unless `ignoreLock`).
 */
export async function destroyRelease(ctx: ReleaseContext, request: DestroyRequest = {}): Promise<DestroyReport> {
  await checkReachable(ctx.kube, ctx.reporter);
  const nsExists = Boolean(await ctx.kube.get({ apiVersion: 'v1', kind: 'Namespace', name: ctx.namespace }));
  if (!nsExists) return { deleted: [], skipped: [], records: 0, failures: [] };
  return withLock(ctx, DEFAULT_LEASE_SECONDS, (locked) => destroyLocked(locked), { force: request.ignoreLock });
}

async function destroyLocked(ctx: ReleaseContext): Promise<DestroyReport> {
  const { kube, reporter } = ctx;
  const records = await ctx.store.list();
  const deleted: string[] = [];
  const skipped: string[] = [];
  const failures: string[] = [];
  // Best-effort, except that a lost lock stops everything: the release is another's now.
  const failed = (what: string, error: unknown): void => {
    if (error instanceof LeaseLostError) throw error;
    failures.push(`${what}: ${messageOf(error)}`);
  };
  const step = reporter.step(`Deleting the objects of release ${ctx.release}`);
  const objects = everyObject(records);
  const namespaces = objects.filter((r) => r.kind === 'Namespace');
  for (const ref of objects.filter((r) => r.kind !== 'Namespace')) {
    try {
      const live = await kube.get(ref);
      if (!live) continue;
      const notOurs = whyNotOwned(live, ctx);
      if (notOurs) {
        skipped.push(describeRef(ref));
        step.reason(`kept ${describeRef(ref)}: ${notOurs}`);
        continue;
      }
      if (await kube.delete(ref)) deleted.push(describeRef(ref));
    } catch (error) {
      failed(describeRef(ref), error);
    }
  }
  step.ok(`${deleted.length} deleted`);
  const recordStep = reporter.step('Deleting release records');
  for (const r of records) {
    try {
      await ctx.store.remove(r.revision);
    } catch (error) {
      failed(`revision ${r.revision}`, error);
    }
  }
  recordStep.ok(`${records.length} records`);
  // The namespace goes last: deleting it takes everything left in it, the lock's Lease too
  // (until then the lock keeps deploys out, and a terminating namespace takes no new objects).
  // The lock is abandoned, not released: the Role that lets the deployer renew or delete the
  // Lease lives in that namespace and goes with it. Its deletion is awaited, so that once
  // destroy returns nothing is left and a new deploy can create it.
  for (const ref of namespaces) {
    try {
      const live = await kube.get(ref);
      if (live && ownedBy(live, ctx) && (await kube.delete(ref))) {
        if (ref.name === ctx.namespace) ctx.lock?.abandon();
        deleted.push(describeRef(ref));
        const gone = reporter.step(`Waiting for ${describeRef(ref)} to be deleted`);
        if (await waitUntilGone(kube, ref, NAMESPACE_DELETE_TIMEOUT_MS)) gone.ok();
        else {
          gone.fail(`still terminating after ${NAMESPACE_DELETE_TIMEOUT_MS / 1000} s`);
          failures.push(`${describeRef(ref)}: still terminating after ${NAMESPACE_DELETE_TIMEOUT_MS / 1000} s (kubectl get namespace ${ref.name} -o yaml shows what holds it)`);
        }
      } else if (live) skipped.push(describeRef(ref));
    } catch (error) {
      failed(describeRef(ref), error);
    }
  }
  return { deleted, skipped, records: records.length, failures };
}

/** How long destroy waits for a deleted namespace to finish terminating. */
const NAMESPACE_DELETE_TIMEOUT_MS = 120_000;

async function waitUntilGone(kube: ReleaseContext['kube'], ref: ObjectRef, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await kube.get(ref))) return true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return false;
}
