import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { podSpecReferences } from '../src/apply/in-use.js';
import { deployRelease } from '../src/engine/deploy.js';
import { destroyRelease } from '../src/engine/destroy.js';
import { diffRelease } from '../src/engine/diff.js';
import type { KubeObject } from '../src/kube/objects.js';
import { MANAGED_BY_LABEL, RELEASE_LABEL, everyObject, pruneCandidates } from '../src/release/inventory.js';
import { decodeRecord } from '../src/release/record.js';
import { NS, RELEASE, configMap, fakeCluster, request, www } from './fake-cluster.js';
import { cm, record } from './fixtures.js';

/** A pod of an earlier revision that is still running (terminating, draining) and reads `config`. */
const oldPod = (config: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'www-old-0', namespace: NS, labels: { app: 'www' }, deletionTimestamp: '2026-03-01T12:00:00Z' },
  spec: { containers: [{ name: 'www', image: 'www:1', envFrom: [{ configMapRef: { name: config } }] }] },
  status: { phase: 'Running' },
});

const secretRef = (name: string) => ({ apiVersion: 'v1', kind: 'Secret', namespace: 'ns', name });

describe('what a pod spec refers to', () => {
  it.each<[string, object, string[]]>([
    ['envFrom configMapRef and secretRef', { containers: [{ envFrom: [{ configMapRef: { name: 'a' } }, { secretRef: { name: 's' } }] }] }, ['ConfigMap/a', 'Secret/s']],
    ['env valueFrom configMapKeyRef and secretKeyRef', { containers: [{ env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'a', key: 'k' } } }, { name: 'Y', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }, { name: 'Z', value: 'plain' }] }] }, ['ConfigMap/a', 'Secret/s']],
    ['init and ephemeral containers', { initContainers: [{ envFrom: [{ configMapRef: { name: 'init' } }] }], ephemeralContainers: [{ envFrom: [{ secretRef: { name: 'debug' } }] }], containers: [] }, ['ConfigMap/init', 'Secret/debug']],
    ['configMap and secret volumes', { containers: [], volumes: [{ name: 'v', configMap: { name: 'a' } }, { name: 'w', secret: { secretName: 's' } }, { name: 'e', emptyDir: {} }] }, ['ConfigMap/a', 'Secret/s']],
    ['projected sources', { containers: [], volumes: [{ name: 'p', projected: { sources: [{ configMap: { name: 'a' } }, { secret: { name: 's' } }, { serviceAccountToken: { path: 't' } }] } }] }, ['ConfigMap/a', 'Secret/s']],
    ['image pull secrets', { containers: [], imagePullSecrets: [{ name: 'registry' }] }, ['Secret/registry']],
  ])('%s', (_, spec, refs) => {
    expect(podSpecReferences(spec).sort()).toEqual(refs);
  });
});

describe('ConfigMaps and Secrets still in use are retained, not pruned', () => {
  async function withOldPod(): Promise<ReturnType<typeof fakeCluster>> {
    const c = fakeCluster();
    await deployRelease(c.ctx(), request('1.0.0', [configMap('www-config-a'), www({ replicas: 2, config: 'www-config-a' })]));
    c.fake.seed(oldPod('www-config-a'));
    return c;
  }

  it('keeps a ConfigMap a running pod still reads after a successful deploy, records it on the revision, and prunes it on the next deploy once unused', async () => {
    const c = await withOldPod();

    const second = await deployRelease(c.ctx(), request('1.1.0', [configMap('www-config-b'), www({ replicas: 2, config: 'www-config-b' })]));

    expect(second).toMatchObject({ status: 'succeeded', pruned: [], retained: ['ConfigMap/www-config-a'] });
    expect(c.fake.peek('ConfigMap', 'www-config-a', NS)).toBeDefined();
    const [rev2] = await c.ctx().store.list();
    expect(rev2?.retained).toEqual([{ ref: { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'www-config-a' }, why: expect.stringMatching(/Pod\/www-old-0/) }]);

    c.fake.remove('Pod', 'www-old-0', NS);
    const third = await deployRelease(c.ctx(), request('1.1.1', [configMap('www-config-b'), www({ replicas: 2, config: 'www-config-b', image: 'www:2' })]));

    expect(third).toMatchObject({ status: 'succeeded', pruned: ['ConfigMap/www-config-a'], retained: [] });
    expect(c.fake.peek('ConfigMap', 'www-config-a', NS)).toBeUndefined();
    expect((await c.ctx().store.list())[0]?.retained).toBeUndefined();
  });

  it('keeps a Secret that a ReplicaSet with replicas still mounts', async () => {
    const c = fakeCluster();
    const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tls-old' }, data: {} };
    await deployRelease(c.ctx(), request('1.0.0', [secret, configMap('a'), www({ replicas: 1 })]));
    c.fake.seed({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'worker-1', namespace: NS },
      spec: { replicas: 1, template: { spec: { containers: [], volumes: [{ name: 'tls', secret: { secretName: 'tls-old' } }] } } },
      status: { replicas: 0 },
    });
    const result = await deployRelease(c.ctx(), request('1.1.0', [configMap('a'), www({ replicas: 1 })]));
    expect(result).toMatchObject({ pruned: [], retained: ['Secret/tls-old'] });
    expect((await c.ctx().store.list())[0]?.retained?.[0]?.why).toMatch(/ReplicaSet\/worker-1/);
  });

  it('does not keep what only pods that finished or ReplicaSets scaled to 0 refer to', async () => {
    const c = await withOldPod();
    c.fake.seed({ ...oldPod('www-config-a'), status: { phase: 'Succeeded' } });
    c.fake.seed({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'www-old', namespace: NS }, spec: { replicas: 0, template: { spec: { containers: [{ envFrom: [{ configMapRef: { name: 'www-config-a' } }] }] } } }, status: { replicas: 0 } });
    const result = await deployRelease(c.ctx(), request('1.1.0', [configMap('www-config-b'), www({ replicas: 2, config: 'www-config-b' })]));
    expect(result).toMatchObject({ pruned: ['ConfigMap/www-config-a'], retained: [] });
  });

  it('destroy deletes retained objects too, also once the revision that rendered them is out of the history', async () => {
    const c = await withOldPod();
    await deployRelease(c.ctx(), request('1.1.0', [configMap('www-config-b'), www({ replicas: 2, config: 'www-config-b' })], { historyMax: 1 }));
    expect((await c.ctx().store.list()).map((r) => r.revision)).toEqual([2]);
    const report = await destroyRelease(c.ctx());
    expect(report.deleted).toEqual(expect.arrayContaining(['ConfigMap/www-config-a', 'ConfigMap/www-config-b', 'Deployment/www']));
    expect(c.fake.peek('ConfigMap', 'www-config-a', NS)).toBeUndefined();
  });

  it('diff shows an in-use ConfigMap as kept, and why, not as a change; what only the pods the deploy replaces read shows as pruned', async () => {
    const c = await withOldPod();
    await deployRelease(c.ctx(), request('1.0.1', [configMap('www-config-a'), configMap('spare'), www({ replicas: 2, config: 'www-config-a' })]));
    const report = await diffRelease(c.ctx(), [configMap('www-config-b'), www({ replicas: 2, config: 'www-config-b' })], false);
    expect(report.kept).toEqual([{ object: 'ConfigMap/www-config-a', why: expect.stringMatching(/in use: read by Pod\/www-old-0/) }]);
    expect(report.changes.map((x) => x.object)).not.toContain('ConfigMap/www-config-a');
    c.fake.remove('Pod', 'www-old-0', NS);
    const later = await diffRelease(c.ctx(), [configMap('www-config-b'), www({ replicas: 2, config: 'www-config-b' })], false);
    expect(later.kept).toEqual([]);
    expect(later.changes).toEqual(expect.arrayContaining([{ object: 'ConfigMap/www-config-a', action: 'prune', fields: [] }, { object: 'ConfigMap/spare', action: 'prune', fields: [] }]));
  });

  it('never retains what is not the release’s own', async () => {
    const c = await withOldPod();
    const live = c.fake.peek('ConfigMap', 'www-config-a', NS) as KubeObject;
    c.fake.seed({ ...live, metadata: { ...live.metadata, labels: { [MANAGED_BY_LABEL]: 'someone-else', [RELEASE_LABEL]: RELEASE } } });
    const result = await deployRelease(c.ctx(), request('1.1.0', [configMap('www-config-b'), www({ replicas: 2, config: 'www-config-b' })]));
    expect(result).toMatchObject({ pruned: [], retained: [] });
  });
});

describe('retained objects in the records', () => {
  it('are prune candidates of the next deploy unless it renders them again', () => {
    const current = { ...record(2, 'succeeded', [cm('b')]), retained: [{ ref: cm('a'), why: 'in use' }, { ref: secretRef('s'), why: 'in use' }] };
    expect(pruneCandidates([current, record(1, 'superseded', [cm('a')])], [cm('b'), secretRef('s')])).toEqual([cm('a')]);
  });

  it('are carried by a later failed revision’s candidates too', () => {
    const current = { ...record(2, 'succeeded', [cm('b')]), retained: [{ ref: cm('a'), why: 'in use' }] };
    expect(pruneCandidates([record(3, 'failed', [cm('b'), cm('c')]), current], [cm('b')])).toEqual([cm('c'), cm('a')]);
  });

  it('are in destroy’s list of objects', () => {
    expect(everyObject([{ ...record(2, 'succeeded', [cm('b')]), retained: [{ ref: cm('a'), why: 'in use' }] }])).toEqual([cm('b'), cm('a')]);
  });

  it('a record stored before retained existed still decodes and counts', () => {
    const old = record(4, 'succeeded', [cm('a'), cm('b')]);
    const decoded = decodeRecord(gzipSync(JSON.stringify(old)));
    expect(decoded.retained).toBeUndefined();
    expect(pruneCandidates([decoded], [cm('a')])).toEqual([cm('b')]);
    expect(everyObject([decoded])).toEqual([cm('a'), cm('b')]);
  });
});
