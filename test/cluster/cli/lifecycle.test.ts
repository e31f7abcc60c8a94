import { CoreV1Api, type KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig } from '../../support/cluster.js';
import { ANSI, at, buildCli, castle, exists, manifests, oneJson, snapshot } from './support.js';

interface RecordSummary {
  revision: number;
  status: string;
  reason?: string;
  rollbackOf?: number;
}

describe('castle deploy, diff, rollback, history and destroy on a real cluster', () => {
  let kc: KubeConfig;
  let namespace: string;
  const v1 = manifests({ configMaps: ['settings', 'keep-me', 'drop-me'] });

  beforeAll(async () => {
    buildCli();
    kc = loadKubeConfig();
    namespace = await createTestNamespace('castle-cli', kc);
  });

  afterAll(async () => {
    if (namespace) await deleteNamespace(namespace, { kc });
  });

  const history = async (): Promise<RecordSummary[]> => {
    const run = await castle(['history', ...at(namespace), '--output', 'json', '--quiet']);
    expect(run.code).toBe(0);
    return (oneJson(run.stdout).result as { revisions: RecordSummary[] }).revisions;
  };

  it('deploys a release, records a succeeded revision, and prints one JSON document and no ANSI codes', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    const run = await castle(['deploy', ...at(namespace), '--version', '1.0.0', '--manifests', v1, '--output', 'json', '--no-smoke']);
    expect(run.stderr).not.toMatch(ANSI);
    expect(run.code, run.stderr).toBe(0);
    const doc = oneJson(run.stdout);
    expect(doc).toMatchObject({ schemaVersion: 1, ok: true, result: { revision: 1, version: '1.0.0', status: 'succeeded' } });
    expect(run.stderr).toMatch(/✓ Applying 7 objects/);

    const secrets = await kc.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace, labelSelector: 'owner=castle,name=web' });
    expect(secrets.items.map((s) => [s.type, s.metadata?.labels?.revision, s.metadata?.labels?.status])).toEqual([['castle.dev/release.v1', '1', 'succeeded']]);
    const cm = await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace, name: 'settings' });
    expect(cm.metadata?.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'castle', 'castle.dev/release': 'web' });
    expect(cm.metadata?.managedFields?.map((f) => f.manager)).toContain('castle');
  });

  it('passes the smoke check through the API server’s service proxy', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    const run = await castle(['deploy', ...at(namespace), '--version', '1.0.0', '--manifests', v1]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/✓ Smoke check \(GET service www:80\/ → 200\)/);
  });

  it('diff exits 0 without changes and writes nothing', async () => {
    const before = await snapshot(kc, namespace);
    const run = await castle(['diff', ...at(namespace), '--version', '1.0.0', '--manifests', v1, '--output', 'json']);
    expect(run.code, run.stderr).toBe(0);
    expect(oneJson(run.stdout).result).toMatchObject({ changes: [], writes: 0 });
    expect(await snapshot(kc, namespace)).toEqual(before);
  });

  it('diff exits 3 with changes, lists what would be created, updated and pruned, and writes nothing', async () => {
    const before = await snapshot(kc, namespace);
    const next = manifests({ configMaps: ['settings', 'keep-me', 'new-one'], wwwImage: 'castle/www:other' });
    const run = await castle(['diff', ...at(namespace), '--version', '1.1.0', '--manifests', next, '--output', 'json']);
    expect(run.code, run.stderr).toBe(3);
    const changes = (oneJson(run.stdout).result as { changes: { object: string; action: string; fields: string[] }[] }).changes;
    expect(changes).toEqual(
      expect.arrayContaining([
        { object: 'ConfigMap/new-one', action: 'create', fields: [] },
        { object: 'ConfigMap/drop-me', action: 'prune', fields: [] },
        { object: 'Deployment/www', action: 'update', fields: ['spec.template.spec.containers[0].image'] },
      ]),
    );
    expect(changes).toHaveLength(3);
    expect(await snapshot(kc, namespace)).toEqual(before);
  });

  it('prunes objects no longer rendered, but only those still carrying Castle’s label', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    // Someone takes keep-me over: it loses Castle's release label and must survive the prune.
    await KubernetesObjectApi.makeApiClient(kc).patch(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'keep-me', namespace, labels: { 'castle.dev/release': null } } } as never,
      undefined,
      undefined,
      'someone',
      undefined,
      PatchStrategy.StrategicMergePatch,
    );
    const run = await castle(['deploy', ...at(namespace), '--version', '1.1.0', '--manifests', manifests({ configMaps: ['settings'] }), '--no-smoke']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/kept ConfigMap\/keep-me: not labelled as owned by castle release web/);
    expect(await exists(kc, 'v1', 'ConfigMap', namespace, 'drop-me')).toBe(false);
    expect(await exists(kc, 'v1', 'ConfigMap', namespace, 'keep-me')).toBe(true);
    expect((await history()).map((r) => [r.revision, r.status])).toEqual([[3, 'succeeded'], [2, 'superseded'], [1, 'superseded']]);
  });

  it('fails fast on a missing image naming Deployment, pod, reason and event, and rolls back, deleting what only the failed revision created', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    const bad = manifests({ configMaps: ['settings', 'only-in-failed'], wwwImage: 'castle/www:does-not-exist' });
    const run = await castle(['deploy', ...at(namespace), '--version', '1.2.0', '--manifests', bad, '--progress-deadline', '170', '--no-smoke', '--output', 'json']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/Deployment\/www pod www-[a-z0-9]+-[a-z0-9]+: (ErrImagePull|ImagePullBackOff)/);
    expect(run.stderr).toMatch(/event: (Failed|BackOff): /);
    expect(run.stderr).toMatch(/rolling back to revision 3 \(1\.1\.0\)/);
    // Well before the 170 s deadline: the pull failure is recognised, not waited out.
    expect(run.ms).toBeLessThan(90_000);
    const doc = oneJson(run.stdout);
    expect(doc).toMatchObject({ ok: false, error: { code: 'CASTLE_ERR_ROLLOUT_FAILED' }, result: { revision: 4, rollback: { revision: 5, to: 3 } } });
    expect(await exists(kc, 'v1', 'ConfigMap', namespace, 'only-in-failed')).toBe(false);
    const revisions = await history();
    expect(revisions.slice(0, 2).map((r) => [r.revision, r.status, r.rollbackOf])).toEqual([[5, 'succeeded', 3], [4, 'failed', undefined]]);
    expect(revisions[1]?.reason).toMatch(/rolled back to revision 3 by revision 5/);
  });

  it('rollback without arguments skips failed revisions and says so', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    const bad = manifests({ configMaps: ['settings'], wwwImage: 'castle/www:does-not-exist' });
    const failed = await castle(['deploy', ...at(namespace), '--version', '1.3.0', '--manifests', bad, '--no-rollback-on-failure', '--no-smoke']);
    expect(failed.code, failed.stderr).toBe(1);
    const run = await castle(['rollback', ...at(namespace), '--no-smoke', '--output', 'json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/skipping revision 6 \(failed/);
    expect(oneJson(run.stdout).result).toMatchObject({ to: 5, revision: 7, skipped: [{ revision: 6, status: 'failed' }] });
  });

  it('status shows each Deployment’s images and replicas and the current revision', async () => {
    const run = await castle(['status', ...at(namespace), '--output', 'json', '--quiet']);
    expect(run.code, run.stderr).toBe(0);
    expect(oneJson(run.stdout).result).toMatchObject({
      current: { revision: 7, status: 'succeeded' },
      deployments: expect.arrayContaining([{ name: 'www', exists: true, images: ['castle/www:dev'], desired: 1, updated: 1, ready: 1, available: 1 }]),
    });
  });

  it('destroy refuses without --yes outside a terminal, then deletes everything of the release, and again is a no-op', async () => {
    const refused = await castle(['destroy', ...at(namespace)]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/pass --yes/);

    const run = await castle(['destroy', ...at(namespace), '--yes']);
    expect(run.code, run.stderr).toBe(0);
    const left = await snapshot(kc, namespace);
    expect(Object.keys(left).filter((k) => !k.startsWith('ConfigMap/kube-root-ca') && k !== 'ConfigMap/keep-me')).toEqual([]);
    const again = await castle(['destroy', ...at(namespace), '--yes', '--output', 'json']);
    expect(again.code, again.stderr).toBe(0);
    expect(oneJson(again.stdout).result).toMatchObject({ deleted: [], records: 0 });
  });
});
