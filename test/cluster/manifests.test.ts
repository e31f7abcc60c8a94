import { readFileSync } from 'node:fs';
import { ApiException, KubernetesObjectApi, PatchStrategy, type KubeConfig } from '@kubernetes/client-node';
import { environmentNames, render, type KubernetesObject } from '@castle/k8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, deleteNamespace, loadKubeConfig } from '../support/cluster.js';
import { asModel } from '../support/rendered-deploy.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** What the API server said, without the client's wrapping. */
function reason(error: unknown): string {
  if (error instanceof ApiException) {
    const body: unknown = error.body;
    try {
      const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: string };
      return `${error.code} ${status.message ?? String(body)}`;
    } catch {
      return `${error.code} ${String(body)}`;
    }
  }
  return error instanceof Error ? error.message : String(error);
}

const name = (o: KubernetesObject) => `${o.kind}/${o.metadata.name}`;

describe('the rendered manifests on a real API server', () => {
  let kc: KubeConfig;
  let client: KubernetesObjectApi;
  let namespace: string;

  beforeAll(async () => {
    kc = loadKubeConfig();
    client = KubernetesObjectApi.makeApiClient(kc);
    namespace = await createTestNamespace('castle-manifests', kc);
  });

  afterAll(async () => {
    if (namespace) await deleteNamespace(namespace, { kc });
  });

  it.each(environmentNames)('accepts every object of %s in a server-side dry run (apply, field manager castle)', async (env) => {
    const objects = render({ env, version, registry: 'registry.example.com/castle-images', namespace, gitSha: '0a1b2c3' });
    const failures: string[] = [];
    const accepted: string[] = [];
    for (const object of objects) {
      try {
        const result = await client.patch(asModel(object), undefined, 'All', 'castle', true, PatchStrategy.ServerSideApply);
        expect(result.metadata?.name).toBe(object.metadata.name);
        accepted.push(name(object));
      } catch (error) {
        failures.push(`${env}: ${name(object)} rejected: ${reason(error)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(accepted).toHaveLength(objects.length);
  });

  it.each(environmentNames)("admits %s's pods under the namespace's restricted Pod Security level", async (env) => {
    const objects = render({ env, version, namespace });
    // Really label the test namespace as the rendered Namespace says, and create what the pods
    // refer to (admission rejects a pod whose ServiceAccount does not exist), then dry-run
    // one pod per Deployment: Pod Security enforcement judges pods, not Deployments.
    for (const object of objects.filter((o) => ['Namespace', 'ServiceAccount', 'ConfigMap'].includes(o.kind))) {
      await client.patch(asModel(object), undefined, undefined, 'castle-test', true, PatchStrategy.ServerSideApply);
    }
    const failures: string[] = [];
    const deployments = objects.filter((o) => o.kind === 'Deployment') as Array<KubernetesObject & { spec: { template: { metadata: object; spec: object } } }>;
    for (const deployment of deployments) {
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { ...deployment.spec.template.metadata, name: `${deployment.metadata.name}-dry-run`, namespace },
        spec: deployment.spec.template.spec,
      };
      try {
        await client.create(pod, undefined, 'All', 'castle');
      } catch (error) {
        failures.push(`${env}: a pod of ${name(deployment)} rejected: ${reason(error)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['backend', 'www']);
  });
});
