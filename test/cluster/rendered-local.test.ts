import type { KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { closeServiceUrls, createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig, serviceUrl } from '../support/cluster.js';
import { deployRenderedLocal, RFC850 } from '../support/rendered-deploy.js';

describe('the local environment as rendered, applied to a real cluster', () => {
  let kc: KubeConfig;
  let namespace: string;

  beforeAll(async () => {
    kc = loadKubeConfig();
    namespace = await createTestNamespace('castle-rendered', kc);
    await deployRenderedLocal(kc, namespace);
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
    expect(await res.body.text()).toMatch(RFC850);
    const ready = await request(`${www}/readyz`);
    expect(ready.statusCode).toBe(200);
    await ready.body.dump();
  });
});
