/**
 * Prune waits for a healthy revision, on a real cluster: a revision that drops a LoadBalancer
 * Service and a ConfigMap and then fails leaves both exactly as they were (same UID, same
 * load balancer address), so the rollback finds them in place; a revision that succeeds deletes
 * them only after its smoke check; and a ConfigMap that old pods still read while they drain is
 * kept, recorded on the revision, and deleted by the next deploy once nothing reads it.
 *
 * Needs a load balancer implementation for the LoadBalancer Service (the hermetic cluster's
 * MetalLB, part of `npm run cluster:up`); no add-on.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createTestNamespace, deleteNamespace, dumpDiagnostics, loadBalancerUrl, loadKubeConfig } from '../../support/cluster.js';
import { at, buildCli, castle, exists, oneJson } from './support.js';
import { configMap, eventually, manifestFile, tiers } from './replicas-support.js';

/** A second, LoadBalancer Service in front of www. */
const lbService = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'www-lb' }, spec: { type: 'LoadBalancer', selector: { 'app.kubernetes.io/name': 'www' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } };

describe('castle prunes only once the new revision is healthy', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  const namespaces: string[] = [];

  beforeAll(() => {
    buildCli();
    kc = loadKubeConfig();
    core = kc.makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    for (const ns of namespaces) await deleteNamespace(ns, { kc });
  });

  const fresh = async (prefix: string): Promise<string> => {
    const ns = await createTestNamespace(prefix, kc);
    namespaces.push(ns);
    onTestFailed(() => dumpDiagnostics(ns, kc).then(() => undefined));
    return ns;
  };
  const deploy = (namespace: string, version: string, objects: readonly object[], ...flags: string[]) =>
    castle(['deploy', ...at(namespace), '--version', version, '--manifests', manifestFile(objects), '--output', 'json', ...flags]);

  it('a revision that drops a LoadBalancer Service and a ConfigMap and then fails keeps both: same UID, same address; a healthy one deletes them after its smoke check', async () => {
    const namespace = await fresh('castle-prune-late');
    const v1 = [configMap('settings'), configMap('drop-me'), lbService, ...tiers()];
    const first = await deploy(namespace, '1.0.0', v1);
    expect(first.code, first.stderr).toBe(0);
    const address = await loadBalancerUrl(namespace, 'www-lb', 80, { kc });
    const uidOf = async (kind: 'Service' | 'ConfigMap', name: string): Promise<string | undefined> =>
      (kind === 'Service' ? await core.readNamespacedService({ name, namespace }) : await core.readNamespacedConfigMap({ name, namespace })).metadata?.uid;
    const before = { lb: await uidOf('Service', 'www-lb'), cm: await uidOf('ConfigMap', 'drop-me') };

    // Drops both and never becomes ready: fails, and the rollback re-applies revision 1.
    const failed = await deploy(namespace, '1.1.0', [configMap('settings'), ...tiers({ image: 'castle/www:does-not-exist' })], '--progress-deadline', '120');
    expect(failed.code, failed.stderr).toBe(1);
    expect(oneJson(failed.stdout)).toMatchObject({ ok: false, result: { revision: 2, rollback: { revision: 3, to: 1 } } });
    expect(failed.stderr).not.toMatch(/deleted [^\n]*(Service\/www-lb|ConfigMap\/drop-me)/);
    expect({ lb: await uidOf('Service', 'www-lb'), cm: await uidOf('ConfigMap', 'drop-me') }).toEqual(before);
    expect(await loadBalancerUrl(namespace, 'www-lb', 80, { kc })).toBe(address);

    const healthy = await deploy(namespace, '1.2.0', [configMap('settings'), ...tiers()]);
    expect(healthy.code, healthy.stderr).toBe(0);
    expect(oneJson(healthy.stdout).result).toMatchObject({ pruned: expect.arrayContaining(['Service/www-lb', 'ConfigMap/drop-me']) });
    const smokeAt = healthy.stderr.indexOf('✓ Smoke check');
    const pruneAt = healthy.stderr.indexOf('Pruning objects no longer rendered');
    expect(smokeAt).toBeGreaterThan(-1);
    expect(pruneAt).toBeGreaterThan(smokeAt);
    expect(await exists(kc, 'v1', 'Service', namespace, 'www-lb')).toBe(false);
    expect(await exists(kc, 'v1', 'ConfigMap', namespace, 'drop-me')).toBe(false);
  });

  it('keeps a ConfigMap that draining old pods still read, records it as retained, and deletes it on the next deploy once unused', async () => {
    const namespace = await fresh('castle-retain');
    // Old pods keep running (draining) for 20 s after the new ones are ready.
    const www = (config: string) => tiers({ envFrom: config, env: { WWW_DRAIN_DELAY_MS: '20000' } });
    const first = await deploy(namespace, '1.0.0', [configMap('www-env-a', { WWW_LOG_LEVEL: 'info' }), ...www('www-env-a')]);
    expect(first.code, first.stderr).toBe(0);

    const second = await deploy(namespace, '1.1.0', [configMap('www-env-b', { WWW_LOG_LEVEL: 'warn' }), ...www('www-env-b')]);
    expect(second.code, second.stderr).toBe(0);
    expect(oneJson(second.stdout).result).toMatchObject({ status: 'succeeded', pruned: [], retained: ['ConfigMap/www-env-a'] });
    expect(second.stderr).toMatch(/kept ConfigMap\/www-env-a for now: in use: read by Pod\/www-[a-z0-9]+-[a-z0-9]+ \(terminating\)/);
    expect(await exists(kc, 'v1', 'ConfigMap', namespace, 'www-env-a')).toBe(true);

    await eventually('the old www pod to finish draining', 90_000, async () => {
      const pods = (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/name=www' })).items;
      return !pods.some((p) => p.spec?.containers.some((c) => c.envFrom?.some((e) => e.configMapRef?.name === 'www-env-a')));
    });
    const third = await deploy(namespace, '1.1.1', [configMap('www-env-b', { WWW_LOG_LEVEL: 'warn' }), ...www('www-env-b')]);
    expect(third.code, third.stderr).toBe(0);
    expect(oneJson(third.stdout).result).toMatchObject({ pruned: ['ConfigMap/www-env-a'], retained: [] });
    expect(await exists(kc, 'v1', 'ConfigMap', namespace, 'www-env-a')).toBe(false);
  });
});
