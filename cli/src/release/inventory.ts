import type { KubeObject, ObjectRef } from '../kube/objects.js';
import { refKey } from '../kube/objects.js';
import { HEALTHY_STATUSES, type ReleaseRecord } from './record.js';

/** Castle's ownership labels, set on every object it applies. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** The release an object belongs to. */
export const RELEASE_LABEL = 'castle.dev/release';

/** Whether a live object carries Castle's ownership labels for `release`. */
export function ownedBy(object: KubeObject | undefined, release: string): boolean {
  const labels = object?.metadata.labels ?? {};
  return labels[MANAGED_BY_LABEL] === 'castle' && labels[RELEASE_LABEL] === release;
}

/**
 * The revision that is live: the newest succeeded one, else the newest that was ever
 * healthy. Undefined before the first successful deploy.
 */
export function currentRevision(records: readonly ReleaseRecord[]): ReleaseRecord | undefined {
  const sorted = [...records].sort((a, b) => b.revision - a.revision);
  return sorted.find((r) => r.status === 'succeeded') ?? sorted.find((r) => HEALTHY_STATUSES.includes(r.status));
}

/** The objects a record answers for: its inventory, then what its prune retained. */
function objectsOf(r: ReleaseRecord): ObjectRef[] {
  return [...r.inventory, ...(r.retained ?? []).map((x) => x.ref)];
}

/**
 * Candidates for pruning when `next` is what is about to be applied: every object of the
 * current revision and of every later revision (failed, interrupted, pending — whatever they
 * created may still exist), and every object those revisions retained (kept while in use), that
 * `next` does not contain. Namespaces are never pruned: deleting one deletes the release's
 * records with it. The caller still checks each candidate's live ownership labels before deleting.
 */
export function pruneCandidates(records: readonly ReleaseRecord[], next: readonly ObjectRef[], excludeRevision?: number): ObjectRef[] {
  const current = currentRevision(records);
  const from = current?.revision ?? 0;
  const keep = new Set(next.map(refKey));
  const out = new Map<string, ObjectRef>();
  for (const r of records) {
    if (r.revision < from || r.revision === excludeRevision) continue;
    for (const ref of objectsOf(r)) {
      if (ref.kind === 'Namespace' || keep.has(refKey(ref))) continue;
      out.set(refKey(ref), ref);
    }
  }
  return [...out.values()];
}

/** Every object any revision ever listed or retained (destroy), Namespaces last. */
export function everyObject(records: readonly ReleaseRecord[]): ObjectRef[] {
  const out = new Map<string, ObjectRef>();
  for (const r of records) for (const ref of objectsOf(r)) out.set(refKey(ref), ref);
  return [...out.values()].sort((a, b) => Number(a.kind === 'Namespace') - Number(b.kind === 'Namespace'));
}
