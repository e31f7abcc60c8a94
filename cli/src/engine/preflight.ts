import { OwnedElsewhereError, type TakenObject, UsageError } from '../errors.js';
import type { Kube } from '../kube/client.js';
import { KubeApiError } from '../kube/http.js';
import { type KubeObject, describeRef, refOf } from '../kube/objects.js';
import type { Reporter } from '../output/reporter.js';
import { MANAGED_BY_LABEL, OWNER_ANNOTATION, RELEASE_LABEL, type ReleaseId, describeOwner, otherOwner } from '../release/inventory.js';

/** Check the API server answers: a clear UnreachableError otherwise. */
export async function checkReachable(kube: Kube, reporter: Reporter): Promise<void> {
  const step = reporter.step(`Connecting to context ${kube.context}`);
  try {
    step.ok(`Kubernetes ${await kube.ping()}`);
  } catch (error) {
    step.fail(error instanceof Error ? error.message : String(error));
    throw error;
  }
}

/**
 * Refuse to apply a cluster-scoped object that exists and belongs to another release (another
 * namespace's, or another name's): it has one owner, and that release's prune and destroy
 * would delete it from under this one. Objects without Castle's marks (made by hand or by
 * another tool) are applied as ever. Reads only; namespaced objects are the release's
 * namespace's alone and are not read.
 * @throws OwnedElsewhereError (exit 6) naming each such object and its owner.
 */
export async function refuseOthersObjects(kube: Kube, id: ReleaseId, objects: readonly KubeObject[]): Promise<void> {
  const taken: TakenObject[] = [];
  for (const object of objects.filter((o) => o.metadata.namespace === undefined)) {
    const live = await kube.get(refOf(object));
    const owner = live && otherOwner(live, id);
    if (owner) taken.push({ object: describeRef(refOf(object)), owner: describeOwner(owner) });
  }
  if (taken.length > 0) throw new OwnedElsewhereError(id.release, id.namespace, taken);
}

/**
 * Make sure the namespace exists before locking and recording in it (the lock's Lease lives
 * there). When it is absent and the manifests have its Namespace, create it with only Castle's
 * ownership labels and owner annotation; its own labels are applied with the other objects,
 * under the lock, so a deploy refused by the lock has changed nothing. An existing namespace is not written to.
 * @returns whether it was created.
 * @throws UsageError when it is absent and the manifests do not have it.
 */
export async function ensureNamespace(kube: Kube, namespace: string, objects: readonly KubeObject[]): Promise<boolean> {
  const ns = objects.find((o) => o.kind === 'Namespace');
  if (await kube.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace })) return false;
  if (!ns) throw new UsageError(`namespace ${namespace} does not exist`, 'create it, or include a Namespace object in the manifests');
  const labels = Object.fromEntries(Object.entries(ns.metadata.labels ?? {}).filter(([k]) => k === MANAGED_BY_LABEL || k === RELEASE_LABEL));
  const annotations = Object.fromEntries(Object.entries(ns.metadata.annotations ?? {}).filter(([k]) => k === OWNER_ANNOTATION));
  try {
    await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels, annotations } });
    return true;
  } catch (error) {
    // Another deploy created it meanwhile: the lock decides which of the two goes on.
    if (error instanceof KubeApiError && error.status === 409) return false;
    throw error;
  }
}
