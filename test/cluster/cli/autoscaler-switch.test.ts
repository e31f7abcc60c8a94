/**
 * `castle deploy` moving www's replica count between a fixed number and an autoscaler, and
 * between autoscaler kinds, on a real cluster, without load (the 50 requests/s version is
 * autoscaler-handover.test.ts):
 *
 * - fixed 3 → HPA (minimum 4) → fixed 3: the count is handed over (never below 3, never 1),
 *   then taken back from the HPA controller (3 again, castle the only manager of
 *   `spec.replicas`, the HPA deleted);
 * - HPA → KEDA → HPA: KEDA's admission webhook refuses a ScaledObject for a Deployment another
 *   HPA scales, so castle deletes the old HPA right before applying the ScaledObject (and the
 *   ScaledObject, with the HPA KEDA made for it, before applying the HPA again); never below 4.
 *
 * The autoscalers scale on CPU, but the test needs no metrics: below its minimum an HPA scales
 * up without reading any. Needs the KEDA add-on (`npm run cluster:addons -- keda`): without it
 * the test fails when `CI` is set and is skipped otherwise.
 */
import { AutoscalingV2Api, type KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig } from '../../support/cluster.js';
import { at, buildCli, castle, exists } from './support.js';
import { eventually, lowestReady, manifestFile, replicasManagers, sampleReplicas, tiers, wwwHpa, wwwScaledObject } from './replicas-support.js';

const kc: KubeConfig = loadKubeConfig();
const kedaServed = await KubernetesObjectApi.makeApiClient(kc)
  .list('keda.sh/v1alpha1', 'ScaledObject', 'default')
  .then(() => true)
  .catch(() => false);
if (!kedaServed && process.env.CI) throw new Error('the autoscaler switch test needs KEDA: npm run cluster:addons -- keda');

describe.skipIf(!kedaServed)('castle deploy switching www between fixed replicas and autoscalers', () => {
  const namespaces: string[] = [];

  beforeAll(() => buildCli());
  afterAll(async () => {
    for (const ns of namespaces) await deleteNamespace(ns, { kc });
  });

  const fresh = async (prefix: string): Promise<string> => {
    const ns = await createTestNamespace(prefix, kc);
    namespaces.push(ns);
    onTestFailed(() => dumpDiagnostics(ns, kc).then(() => undefined));
    return ns;
  };
  const deploy = (namespace: string, version: string, objects: readonly object[]) =>
    castle(['deploy', ...at(namespace), '--version', version, '--manifests', manifestFile(objects), '--no-smoke']);
  const www = async (namespace: string) => (await KubernetesObjectApi.makeApiClient(kc).read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'www', namespace } })) as { spec?: { replicas?: number }; status?: { readyReplicas?: number } };
  const hpaNames = async (namespace: string) => (await kc.makeApiClient(AutoscalingV2Api).listNamespacedHorizontalPodAutoscaler({ namespace })).items.map((h) => h.metadata?.name).sort();

  it('fixed 3 → HPA with a minimum of 4 → fixed 3: handed over without a drop, then taken back from the HPA controller', async () => {
    const namespace = await fresh('castle-switch-fixed');
    const first = await deploy(namespace, '1.0.0', tiers({ replicas: 3 }));
    expect(first.code, first.stderr).toBe(0);
    expect(await replicasManagers(kc, namespace, 'www')).toEqual(['castle']);

    const toHpa = sampleReplicas(kc, namespace, 'www', { hpa: 'www' });
    const autoscaled = await deploy(namespace, '1.1.0', [...tiers(), wwwHpa(4, 6)]);
    expect(autoscaled.code, autoscaled.stderr).toBe(0);
    expect(autoscaled.stderr).toMatch(/Deployment\/www: replicas 3 handed over \(field manager castle-handover\)/);
    // The HPA controller syncs every 15 s: it raises the count to its minimum.
    await eventually('the HPA to scale www to 4', 90_000, async () => (await www(namespace)).spec?.replicas === 4);
    const handedOver = await toHpa.stop();
    expect(Math.min(...handedOver.map((s) => s.desired))).toBeGreaterThanOrEqual(3);
    expect(lowestReady(handedOver)).toBeGreaterThanOrEqual(3);
    expect(await replicasManagers(kc, namespace, 'www')).not.toContain('castle');

    const toFixed = sampleReplicas(kc, namespace, 'www');
    const fixed = await deploy(namespace, '1.2.0', tiers({ replicas: 3 }));
    const back = await toFixed.stop();
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stderr).toMatch(/HorizontalPodAutoscaler\/www deleted/);
    expect(fixed.stderr).toMatch(/Deployment\/www: replicas 3 taken back from the autoscaler/);
    expect((await www(namespace)).spec?.replicas).toBe(3);
    expect(await replicasManagers(kc, namespace, 'www')).toEqual(['castle']);
    expect(await hpaNames(namespace)).toEqual([]);
    expect(lowestReady(back)).toBeGreaterThanOrEqual(3);
  });

  it('HPA → KEDA → HPA: each switch succeeds, the old autoscaler deleted right before the new one is applied, never below 4', async () => {
    const namespace = await fresh('castle-switch-kinds');
    const first = await deploy(namespace, '1.0.0', [...tiers(), wwwHpa(4, 6)]);
    expect(first.code, first.stderr).toBe(0);
    await eventually('the HPA to scale www to 4 and the pods to be ready', 120_000, async () => {
      const d = await www(namespace);
      return d.spec?.replicas === 4 && d.status?.readyReplicas === 4;
    });

    const toKeda = sampleReplicas(kc, namespace, 'www');
    const keda = await deploy(namespace, '1.1.0', [...tiers(), wwwScaledObject(4, 6)]);
    expect(keda.code, keda.stderr).toBe(0);
    expect(keda.stderr).toMatch(/HorizontalPodAutoscaler\/www deleted/);
    expect(await exists(kc, 'keda.sh/v1alpha1', 'ScaledObject', namespace, 'www')).toBe(true);
    await eventually('KEDA to make its HPA keda-hpa-www', 60_000, async () => (await hpaNames(namespace)).includes('keda-hpa-www'));
    expect(await hpaNames(namespace)).toEqual(['keda-hpa-www']);
    expect(lowestReady(await toKeda.stop())).toBeGreaterThanOrEqual(4);

    const toHpa = sampleReplicas(kc, namespace, 'www');
    const hpa = await deploy(namespace, '1.2.0', [...tiers(), wwwHpa(4, 6)]);
    expect(hpa.code, hpa.stderr).toBe(0);
    expect(hpa.stderr).toMatch(/ScaledObject\/www deleted/);
    expect(await exists(kc, 'keda.sh/v1alpha1', 'ScaledObject', namespace, 'www')).toBe(false);
    // castle waits for the HPA KEDA made to be collected before applying the new one.
    expect(await hpaNames(namespace)).toEqual(['www']);
    expect(lowestReady(await toHpa.stop())).toBeGreaterThanOrEqual(4);
    expect((await www(namespace)).spec?.replicas).toBe(4);
  });
});
