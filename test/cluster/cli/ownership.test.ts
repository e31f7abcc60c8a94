import { AppsV1Api, type KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig } from '../../support/cluster.js';
import { at, buildCli, castle, manifests } from './support.js';

describe('field ownership on a real cluster', () => {
  let kc: KubeConfig;
  let namespace: string;

  beforeAll(async () => {
    buildCli();
    kc = loadKubeConfig();
    namespace = await createTestNamespace('castle-cli-own', kc);
  });

  afterAll(async () => {
    if (namespace) await deleteNamespace(namespace, { kc });
  });

  it('stops on a field-manager conflict naming the other manager and field, and takes the field with --force-conflicts', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    const file = manifests({ configMaps: ['settings'] });
    expect((await castle(['deploy', ...at(namespace), '--version', '1.0.0', '--manifests', file, '--no-smoke'])).code).toBe(0);
    await KubernetesObjectApi.makeApiClient(kc).patch(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace }, data: { name: 'theirs' } },
      undefined,
      undefined,
      'ops-team',
      true,
      PatchStrategy.ServerSideApply,
    );
    const run = await castle(['deploy', ...at(namespace), '--version', '1.0.1', '--manifests', file, '--no-smoke', '--no-rollback-on-failure']);
    expect(run.code, run.stderr).toBe(6);
    expect(run.stderr).toMatch(/ConfigMap\/settings: fields owned by another manager: \.data\.name \(ops-team\)/);
    expect(run.stderr).toMatch(/--force-conflicts/);

    // With rollback on, the rollback re-applies revision 1 and meets the same conflict: both errors, exit 7.
    const both = await castle(['deploy', ...at(namespace), '--version', '1.0.1', '--manifests', file, '--no-smoke', '--output', 'json']);
    expect(both.code, both.stderr).toBe(7);
    expect(both.stderr).toMatch(/deploy failed: ConfigMap\/settings: fields owned by another manager: .*; rollback failed too: ConfigMap\/settings: fields owned by another manager/);
    expect(JSON.parse(both.stdout)).toMatchObject({ ok: false, error: { code: 'CASTLE_ERR_ROLLBACK_FAILED', exitCode: 7 } });

    const forced = await castle(['deploy', ...at(namespace), '--version', '1.0.2', '--manifests', file, '--no-smoke', '--force-conflicts']);
    expect(forced.code, forced.stderr).toBe(0);
  });

  it('leaves replicas to the autoscaler: a deploy does not reset what the HPA chose', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    const hpa = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'backend' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'backend' }, minReplicas: 1, maxReplicas: 3, behavior: { scaleDown: { stabilizationWindowSeconds: 3600 } }, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }] },
    };
    const file = manifests({ configMaps: ['settings'], extra: [hpa] });
    // What an autoscaler does: set replicas through the scale subresource. Castle applied
    // replicas: 1 before, so sending it again would conflict (or, forced, undo the scaling).
    const apps = kc.makeApiClient(AppsV1Api);
    await apps.replaceNamespacedDeploymentScale({ name: 'backend', namespace, body: { metadata: { name: 'backend', namespace }, spec: { replicas: 2 } } });
    const run = await castle(['deploy', ...at(namespace), '--version', '1.1.0', '--manifests', file, '--no-smoke']);
    expect(run.code, run.stderr).toBe(0);
    expect((await apps.readNamespacedDeployment({ name: 'backend', namespace })).spec?.replicas).toBe(2);
    const again = await castle(['deploy', ...at(namespace), '--version', '1.1.1', '--manifests', file, '--no-smoke']);
    expect(again.code, again.stderr).toBe(0);
    expect((await apps.readNamespacedDeployment({ name: 'backend', namespace })).spec?.replicas).toBe(2);
  });

  it('refuses an empty manifest set', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/castle-empty-');
    writeFileSync(`${dir}/m.yaml`, '# nothing\n');
    const run = await castle(['deploy', ...at(namespace), '--version', '1.2.0', '--manifests', `${dir}/m.yaml`]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no objects to deploy/);
  });
});
