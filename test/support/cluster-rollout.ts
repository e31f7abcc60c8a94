import { AppsV1Api, type KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Waits until the Deployment has rolled out what was applied: the controller has seen the
 * latest generation and every desired replica is updated and available.
 * @throws Error naming the deployment and its last status when the deadline passes.
 */
export async function waitForRollout(kc: KubeConfig, namespace: string, name: string, timeoutMs = 180_000): Promise<V1Deployment> {
  const apps = kc.makeApiClient(AppsV1Api);
  const deadline = Date.now() + timeoutMs;
  let last: V1Deployment | undefined;
  while (Date.now() < deadline) {
    last = await apps.readNamespacedDeployment({ name, namespace });
    const desired = last.spec?.replicas ?? 1;
    const s = last.status;
    if (
      s &&
      (s.observedGeneration ?? 0) >= (last.metadata?.generation ?? 1) &&
      s.updatedReplicas === desired &&
      s.availableReplicas === desired &&
      (s.replicas ?? 0) === desired
    ) {
      return last;
    }
    await delay(500);
  }
  throw new Error(`deployment ${namespace}/${name} not rolled out within ${timeoutMs} ms: ${JSON.stringify(last?.status)}`);
}
