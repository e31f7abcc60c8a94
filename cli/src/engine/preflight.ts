import { UsageError } from '../errors.js';
import type { Kube } from '../kube/client.js';
import type { KubeObject } from '../kube/objects.js';
import type { Reporter } from '../output/reporter.js';

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
 * Make sure the namespace exists before locking and recording in it: apply the manifests'
 * Namespace, or require that it exists.
 */
export async function ensureNamespace(kube: Kube, namespace: string, objects: readonly KubeObject[], force: boolean): Promise<void> {
  const ns = objects.find((o) => o.kind === 'Namespace');
  if (ns) {
    await kube.apply(ns, { force });
    return;
  }
  if (!(await kube.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace }))) {
    throw new UsageError(`namespace ${namespace} does not exist`, 'create it, or include a Namespace object in the manifests');
  }
}
