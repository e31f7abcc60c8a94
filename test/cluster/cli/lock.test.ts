import { CoordinationV1Api, CoreV1Api, type KubeConfig, V1MicroTime } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig } from '../../support/cluster.js';
import { at, buildCli, castle, manifests, startCastle, waitForStderr } from './support.js';

describe('the release lock on a real cluster', () => {
  let kc: KubeConfig;
  let namespace: string;
  const good = manifests({ configMaps: ['settings'] });

  beforeAll(async () => {
    buildCli();
    kc = loadKubeConfig();
    namespace = await createTestNamespace('castle-cli-lock', kc);
  });

  afterAll(async () => {
    if (namespace) await deleteNamespace(namespace, { kc });
  });

  it('refuses a concurrent deploy naming the holder; Ctrl-C marks the revision failed, frees the lock, and the next deploy just works', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    // backend never turns ready (its readiness path answers 404) but nothing is fatal: the deploy waits.
    const slow = startCastle(['deploy', ...at(namespace), '--version', '1.0.0', '--manifests', manifests({ backendReadyPath: '/nope' }), '--no-smoke']);
    await waitForStderr(slow, /Waiting for 2 Deployments/);

    const second = await castle(['deploy', ...at(namespace), '--version', '1.0.1', '--manifests', good, '--no-smoke']);
    expect(second.code, second.stderr).toBe(4);
    expect(second.stderr).toMatch(new RegExp(`release web is locked by \\S+@\\S+ pid ${slow.child.pid} until \\d{4}-\\d\\d-\\d\\dT`));

    slow.child.kill('SIGINT');
    const interrupted = await slow.done;
    expect(interrupted.code, interrupted.stderr).toBe(130);
    const leases = await kc.makeApiClient(CoordinationV1Api).listNamespacedLease({ namespace });
    expect(leases.items).toEqual([]);
    const secrets = await kc.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace, labelSelector: 'owner=castle,name=web,revision=1' });
    expect(secrets.items.map((s) => s.metadata?.labels?.status)).toEqual(['failed']);

    const next = await castle(['deploy', ...at(namespace), '--version', '1.0.2', '--manifests', good, '--no-smoke']);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).not.toMatch(/locked|taking over/);
  });

  it('takes over an expired lock with a warning naming its holder', async () => {
    const now = new Date();
    const past = new V1MicroTime(now.getTime() - 120_000);
    await kc.makeApiClient(CoordinationV1Api).createNamespacedLease({
      namespace,
      body: { metadata: { name: 'castle-release-web' }, spec: { holderIdentity: 'alice@laptop pid 1', leaseDurationSeconds: 30, renewTime: past, acquireTime: past } },
    });
    const run = await castle(['deploy', ...at(namespace), '--version', '1.0.3', '--manifests', good, '--no-smoke']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/taking over the lock of alice@laptop pid 1: it expired at/);
  });

  it('refuses while another holder’s lock is live', async () => {
    const now = new V1MicroTime();
    await kc.makeApiClient(CoordinationV1Api).createNamespacedLease({
      namespace,
      body: { metadata: { name: 'castle-release-web' }, spec: { holderIdentity: 'bob@ci pid 7', leaseDurationSeconds: 300, renewTime: now, acquireTime: now } },
    });
    try {
      const run = await castle(['deploy', ...at(namespace), '--version', '1.0.4', '--manifests', good, '--no-smoke', '--output', 'json']);
      expect(run.code).toBe(4);
      expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, error: { code: 'CASTLE_ERR_LOCKED', message: expect.stringMatching(/locked by bob@ci pid 7 until/) } });
    } finally {
      await kc.makeApiClient(CoordinationV1Api).deleteNamespacedLease({ namespace, name: 'castle-release-web' });
    }
  });
});
