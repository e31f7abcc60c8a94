import type { KubeObject, ObjectRef } from '../kube/objects.js';
import { refKey } from '../kube/objects.js';
import { HEALTHY_STATUSES, type ReleaseRecord } from './record.js';

/** Castle's ownership labels, set on every object it applies. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** The release an object belongs to. */
export const RELEASE_LABEL = 'castle.dev/release';
/**
 * The release an object belongs to with its namespace, `<namespace>/<release>`: a release's
 * name alone is unique only within its namespace, and a cluster-scoped object has none.
 */
export const OWNER_ANNOTATION = 'castle.dev/owner';

/** A release's identity: its name is unique only within its namespace. */
export interface ReleaseId {
  readonly namespace: string;
  readonly release: string;
}

/** A live object's owner as Castle marked it; `namespace` is unknown for a cluster-scoped object marked before the annotation. */
export interface Owner {
  readonly namespace?: string;
  readonly release: string;
}

/** `<namespace>/<release>`, the {@link OWNER_ANNOTATION}'s value. */
export const ownerValue = (id: ReleaseId): string => `${id.namespace}/${id.release}`;

/** `release web in namespace shop`, for messages. */
export function describeOwner(owner: Owner): string {
  return `release ${owner.release} ${owner.namespace === undefined ? '(its namespace not recorded)' : `in namespace ${owner.namespace}`}`;
}

/** A copy of `object` with Castle's ownership labels and owner annotation for release `id`. */
export function withOwnership(object: KubeObject, id: ReleaseId): KubeObject {
  const { metadata } = object;
  return {
    ...object,
    metadata: {
      ...metadata,
      labels: { ...metadata.labels, [MANAGED_BY_LABEL]: 'castle', [RELEASE_LABEL]: id.release },
      annotations: { ...metadata.annotations, [OWNER_ANNOTATION]: ownerValue(id) },
    },
  };
}

/**
 * The release a live object belongs to by Castle's marks: the owner annotation, else (an object
 * applied before it, or an annotation that is not `<namespace>/<release>`) the release label, with the namespace for a namespaced object or the
 * release's own Namespace, unknown for any other cluster-scoped one. Undefined when Castle did
 * not mark it (made by hand or by another tool).
 */
export function ownerOf(object: KubeObject): Owner | undefined {
  const annotation = object.metadata.annotations?.[OWNER_ANNOTATION];
  const slash = annotation?.indexOf('/') ?? -1;
  if (annotation && slash > 0) return { namespace: annotation.slice(0, slash), release: annotation.slice(slash + 1) };
  const labels = object.metadata.labels ?? {};
  const release = labels[RELEASE_LABEL];
  if (labels[MANAGED_BY_LABEL] !== 'castle' || !release) return undefined;
  const namespace = object.metadata.namespace ?? (object.kind === 'Namespace' ? object.metadata.name : undefined);
  return namespace === undefined ? { release } : { namespace, release };
}

/**
 * Why release `id` may not delete a live object (prune, destroy, retiring an autoscaler), or
 * undefined when it may: it must carry Castle's labels for `id.release` and be `id`'s by
 * {@link ownerOf} — its namespace included, so a cluster-scoped object marked before the owner
 * annotation existed is never deleted (another namespace's release of the same name may own it).
 */
export function whyNotOwned(object: KubeObject, id: ReleaseId): string | undefined {
  const labels = object.metadata.labels ?? {};
  if (labels[MANAGED_BY_LABEL] !== 'castle' || labels[RELEASE_LABEL] !== id.release) return `not labelled as owned by castle release ${id.release}`;
  const owner = ownerOf(object);
  if (owner?.namespace === undefined) {
    return `cluster-scoped and its owner's namespace is not recorded (no ${OWNER_ANNOTATION} annotation: applied by an older castle), so it may be release ${id.release}'s of another namespace: delete it by hand if it is this one's`;
  }
  if (owner.namespace !== id.namespace || owner.release !== id.release) return `owned by castle ${describeOwner(owner)} (${OWNER_ANNOTATION}: ${owner.namespace}/${owner.release})`;
  return undefined;
}

/** Whether release `id` may delete a live object ({@link whyNotOwned}). */
export function ownedBy(object: KubeObject | undefined, id: ReleaseId): boolean {
  return object !== undefined && whyNotOwned(object, id) === undefined;
}

/**
 * The other release a live object belongs to, which release `id` may not take by applying it;
 * undefined when it is `id`'s or nobody's (Castle's marks absent).
 */
export function otherOwner(object: KubeObject, id: ReleaseId): Owner | undefined {
  const owner = ownerOf(object);
  if (!owner || (owner.release === id.release && (owner.namespace === undefined || owner.namespace === id.namespace))) return undefined;
  return owner;
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
 * records with it. The caller still checks each candidate's live ownership ({@link whyNotOwned})
 * before deleting.
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
