import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { closeServiceUrls, createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig, serviceUrl } from '../support/cluster.js';
import { waitForRollout } from '../support/cluster-rollout.js';
import { tierManifests } from '../support/tier-manifests.js';

const rfc850 = /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/;

describe('both tiers on a real cluster', () => {
  let kc: KubeConfig;
  let namespace: string;
  let www: string;

  beforeAll(async () => {
    kc = loadKubeConfig();
    namespace = await createTestNamespace('castle-smoke', kc);
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const tiers = [
      tierManifests({ name: 'backend', replicas: 1, env: { BACKEND_ERROR_RATE: '0' } }),
      tierManifests({ name: 'www', replicas: 2, env: { WWW_BACKEND_URL: 'http://backend', WWW_CAPACITY_RPS: '0' } }),
    ];
    try {
      for (const { deployment, service } of tiers) {
        await core.createNamespacedService({ namespace, body: service });
        await apps.createNamespacedDeployment({ namespace, body: deployment });
      }
      for (const { deployment } of tiers) await waitForRollout(kc, namespace, deployment.metadata?.name ?? '');
      www = await serviceUrl(namespace, 'www', 80, kc);
    } catch (err) {
      await dumpDiagnostics(namespace, kc);
      throw err;
    }
  });

  afterAll(async () => {
    await closeServiceUrls();
    if (namespace) await deleteNamespace(namespace, { kc });
  });

  it("answers through www's Service with the backend's time, resolving the backend by its DNS name", async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    const res = await request(`${www}/`);
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toMatch(rfc850);
  });

  it('spreads requests over both www replicas and names the backend pod that answered', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace });
    const names = (tier: string) =>
      pods.items.filter((p) => p.metadata?.labels?.['app.kubernetes.io/name'] === tier).map((p) => p.metadata?.name ?? '');
    const seen = new Set<string>();
    // kube-proxy programs a new endpoint shortly after the pod turns Ready: keep asking, for
    // a bounded time, until every www pod has answered.
    const deadline = Date.now() + 20_000;
    while (seen.size < names('www').length && Date.now() < deadline) {
      // A new connection each time, so kube-proxy picks an endpoint per request.
      const res = await request(`${www}/`, { headers: { accept: 'text/html', connection: 'close' } });
      const page = await res.body.text();
      expect(res.statusCode).toBe(200);
      seen.add(String(res.headers['x-castle-instance']));
      expect(page).toMatch(new RegExp(`<dd>(${names('backend').join('|')})</dd>`));
    }
    expect([...seen].sort()).toEqual(names('www').sort());
  });

  it('reports ready and serves build metadata from the image', async () => {
    const ready = await request(`${www}/readyz`);
    expect(ready.statusCode).toBe(200);
    await ready.body.dump();
    const version = (await (await request(`${www}/version`)).body.json()) as { service: string; gitSha: string };
    expect(version.service).toBe('www');
    expect(version.gitSha).toMatch(/^[0-9a-f]{7,40}$/);
  });
});
