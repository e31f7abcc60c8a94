import { readFileSync } from 'node:fs';
import { KubernetesObjectApi, PatchStrategy, type KubeConfig } from '@kubernetes/client-node';
import { render, type KubernetesObject } from '@castle/k8s';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { closeServiceUrls, createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig, serviceUrl } from '../support/cluster.js';
import { waitForRollout } from '../support/cluster-rollout.js';
import { imageFor } from '../support/tier-manifests.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const rfc850 = /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/;

type Workload = KubernetesObject & { spec: { template: { spec: { containers: Array<{ name: string; image: string }> } } } };

/** The rendered object, with the image the cluster has loaded for its tier (support/tier.ts). */
function withLoadedImage(object: KubernetesObject): KubernetesObject {
  if (object.kind !== 'Deployment') return object;
  const copy = structuredClone(object) as Workload;
  for (const c of copy.spec.template.spec.containers) c.image = imageFor(c.name);
  return copy;
}

describe('the local environment as rendered, applied to a real cluster', () => {
  let kc: KubeConfig;
  let namespace: string;
  let objects: KubernetesObject[];

  beforeAll(async () => {
    kc = loadKubeConfig();
    namespace = await createTestNamespace('castle-rendered', kc);
    objects = render({ env: 'local', version, namespace });
    const client = KubernetesObjectApi.makeApiClient(kc);
    try {
      for (const object of objects) {
        await client.patch(withLoadedImage(object), undefined, undefined, 'castle', true, PatchStrategy.ServerSideApply);
      }
      for (const d of objects.filter((o) => o.kind === 'Deployment')) await waitForRollout(kc, namespace, d.metadata.name);
    } catch (err) {
      await dumpDiagnostics(namespace, kc);
      throw err;
    }
  });

  afterAll(async () => {
    await closeServiceUrls();
    if (namespace) await deleteNamespace(namespace, { kc });
  });

  it('rolls out both tiers under the restricted Pod Security level and answers through www with the backend time', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    const www = await serviceUrl(namespace, 'www', 80, kc);
    const res = await request(`${www}/`);
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toMatch(rfc850);
    const ready = await request(`${www}/readyz`);
    expect(ready.statusCode).toBe(200);
    await ready.body.dump();
  });
});
