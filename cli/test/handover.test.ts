import { afterEach, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../../test/support/fault-proxy.js';
import { planReplicas } from '../src/apply/handover.js';
import { deployRelease } from '../src/engine/deploy.js';
import { diffRelease } from '../src/engine/diff.js';
import { rollbackRelease } from '../src/engine/rollback.js';
import { Kube } from '../src/kube/client.js';
import type { KubeObject } from '../src/kube/objects.js';
import { fakeApi, kubeConfigFor } from './fake-api.js';
import { NS, RELEASE, backend, fakeCluster, hpa, indexOf, request, scaledObject, www } from './fake-cluster.js';
import { replicasManagers } from './fake-kube.js';

const managersOf = (o: KubeObject | undefined) => replicasManagers(o).map((f) => `${f.manager}/${f.operation}${f.subresource ? `/${f.subresource}` : ''}`);

describe('becoming autoscaled: castle hands spec.replicas over instead of dropping it', () => {
  it('applies the live count under the castle-handover field manager before the revision that omits it, so the Deployment never falls to 1', async () => {
    const c = fakeCluster({ autoscalerWants: { www: 9 } });
    await deployRelease(c.ctx(), request('1.0.0', [www({ replicas: 8 })]));
    expect(managersOf(c.fake.peek('Deployment', 'www', NS))).toEqual(['castle/Apply']);
    const from = c.fake.writes.length;
    const seenFrom = c.seen.length;

    await deployRelease(c.ctx(), request('1.1.0', [www(), scaledObject()]));

    const writes = c.fake.writes.slice(from).filter((w) => w.actor === 'me');
    const handOver = indexOf(writes, { verb: 'apply', what: 'Deployment/www', manager: 'castle-handover' });
    const dropped = indexOf(writes, { verb: 'apply', what: 'Deployment/www', manager: undefined });
    expect(handOver).toBeGreaterThanOrEqual(0);
    expect(handOver).toBeLessThan(dropped);
    expect(writes[handOver]).not.toHaveProperty('forced');
    // Right after the hand-over write the field has two managers at the live count; after
    // castle's apply the hand-over manager alone holds it, at 8, until the HPA takes it (9).
    const after = c.seen.slice(seenFrom);
    const atHandOver = after.find((o) => o.write.manager === 'castle-handover');
    expect(atHandOver?.replicas.www).toBe(8);
    const untilHpa = after.slice(0, after.findIndex((o) => o.write.what === 'ScaledObject/www'));
    expect(untilHpa.map((o) => o.replicas.www)).toEqual(untilHpa.map(() => 8));
    expect(after.map((o) => o.replicas.www).filter((n) => n !== undefined && n < 8)).toEqual([]);
    expect(c.fake.peek<{ spec: { replicas: number } }>('Deployment', 'www', NS)?.spec.replicas).toBe(9);
    expect(managersOf(c.fake.peek('Deployment', 'www', NS))).toEqual(['kube-controller-manager/Update/scale']);
  });

  it('leaves the field alone when the autoscaler already owns it: no hand-over write on a redeploy', async () => {
    const c = fakeCluster({ autoscalerWants: { www: 5 } });
    await deployRelease(c.ctx(), request('1.0.0', [www(), scaledObject()]));
    const from = c.fake.writes.length;
    await deployRelease(c.ctx(), request('1.0.1', [www({ image: 'www:2' }), scaledObject()]));
    expect(c.fake.writes.slice(from).filter((w) => w.manager === 'castle-handover')).toEqual([]);
    expect(c.fake.peek<{ spec: { replicas: number } }>('Deployment', 'www', NS)?.spec.replicas).toBe(5);
  });
});

describe('becoming fixed again: castle takes spec.replicas back', () => {
  async function autoscaledAt6(): Promise<ReturnType<typeof fakeCluster>> {
    const c = fakeCluster({ autoscalerWants: { www: 6 } });
    await deployRelease(c.ctx(), request('1.0.0', [www({ replicas: 8 })]));
    await deployRelease(c.ctx(), request('1.1.0', [www(), scaledObject()]));
    expect(managersOf(c.fake.peek('Deployment', 'www', NS))).toEqual(['kube-controller-manager/Update/scale']);
    return c;
  }

  it('deletes the old autoscaler, forces only spec.replicas from the HPA controller, applies the Deployment unforced and lets go of the hand-over manager', async () => {
    const c = await autoscaledAt6();
    const from = c.fake.writes.length;

    const result = await deployRelease(c.ctx(), request('1.2.0', [www({ replicas: 8 })]));

    expect(result.status).toBe('succeeded');
    const writes = c.fake.writes.slice(from).filter((w) => w.actor === 'me' && w.what !== 'Lease/castle-release-web' && !w.what.startsWith('Secret/'));
    expect(writes).toEqual([
      { actor: 'me', verb: 'delete', what: 'ScaledObject/www' },
      { actor: 'me', verb: 'apply', what: 'Deployment/www', manager: 'castle-handover', forced: true },
      { actor: 'me', verb: 'apply', what: 'Deployment/www' },
      { actor: 'me', verb: 'apply', what: 'Deployment/www', manager: 'castle-handover' },
    ]);
    expect(c.fake.peek<{ spec: { replicas: number } }>('Deployment', 'www', NS)?.spec.replicas).toBe(8);
    expect(managersOf(c.fake.peek('Deployment', 'www', NS))).toEqual(['castle/Apply']);
    expect(c.fake.all('HorizontalPodAutoscaler', NS)).toEqual([]);
    expect(c.fake.all('ScaledObject', NS)).toEqual([]);
    expect(result.pruned).toEqual([]);
  });

  it('on a rollback from the autoscaled revision to the fixed one, restores the fixed count', async () => {
    const c = await autoscaledAt6();
    const result = await rollbackRelease(c.ctx(), { forceConflicts: false, deadlineMs: 2000, historyMax: 10, leaseSeconds: 30 });
    expect(result).toMatchObject({ to: 1, revision: 3 });
    expect(c.fake.peek<{ spec: { replicas: number } }>('Deployment', 'www', NS)?.spec.replicas).toBe(8);
    expect(managersOf(c.fake.peek('Deployment', 'www', NS))).toEqual(['castle/Apply']);
    expect(c.fake.all('ScaledObject', NS)).toEqual([]);
    expect(c.fake.all('HorizontalPodAutoscaler', NS)).toEqual([]);
  });

  it('taken back at the count the HPA had chosen, the field is shared with the HPA controller; a later new count is taken back again instead of conflicting', async () => {
    const c = fakeCluster({ autoscalerWants: { www: 8 } });
    await deployRelease(c.ctx(), request('1.0.0', [www(), scaledObject()]));
    await deployRelease(c.ctx(), request('1.1.0', [www({ replicas: 8 })]));
    // In the API server's order: Apply entries before Update ones.
    expect(managersOf(c.fake.peek('Deployment', 'www', NS))).toEqual(['castle/Apply', 'kube-controller-manager/Update/scale']);

    const result = await deployRelease(c.ctx(), request('1.2.0', [www({ replicas: 10 })]));

    expect(result.status).toBe('succeeded');
    expect(c.fake.peek<{ spec: { replicas: number } }>('Deployment', 'www', NS)?.spec.replicas).toBe(10);
    expect(managersOf(c.fake.peek('Deployment', 'www', NS))).toEqual(['castle/Apply']);
  });

  it('still stops on the conflict when the field was taken by someone who is not an autoscaler', async () => {
    const c = fakeCluster();
    await deployRelease(c.ctx(), request('1.0.0', [www({ replicas: 8 })]));
    c.fake.scale('www', NS, 3, 'kubectl');
    const error = await deployRelease(c.ctx(), request('1.0.1', [www({ replicas: 4 })], { rollbackOnFailure: false })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CASTLE_ERR_CONFLICT', message: expect.stringMatching(/\.spec\.replicas \(kubectl\)/) });
    expect(c.fake.writes.filter((w) => w.manager === 'castle-handover')).toEqual([]);
  });
});

describe('switching autoscaler kinds', () => {
  it('hpa → keda: deletes the old HPA right before the autoscaler wave, after the workloads and the hand-over, so KEDA’s webhook admits the ScaledObject and the count holds', async () => {
    const c = fakeCluster({ autoscalerWants: { www: 4 } });
    // backend is fixed and becomes autoscaled in the same deploy: its hand-over comes first.
    await deployRelease(c.ctx(), request('1.0.0', [backend({ replicas: 3 }), www(), hpa()]));
    expect(c.fake.peek<{ spec: { replicas: number } }>('Deployment', 'www', NS)?.spec.replicas).toBe(4);
    const from = c.fake.writes.length;
    const seenFrom = c.seen.length;

    const result = await deployRelease(c.ctx(), request('1.1.0', [backend(), www(), scaledObject(), scaledObject('backend')]));

    expect(result.status).toBe('succeeded');
    const writes = c.fake.writes.slice(from).filter((w) => w.actor === 'me');
    const at = (match: Parameters<typeof indexOf>[1]): number => indexOf(writes, match);
    expect(at({ what: 'Deployment/backend', manager: 'castle-handover' })).toBeLessThan(at({ verb: 'apply', what: 'Deployment/backend', manager: undefined }));
    expect(at({ verb: 'apply', what: 'Deployment/www' })).toBeLessThan(at({ verb: 'delete', what: 'HorizontalPodAutoscaler/www' }));
    expect(at({ what: 'Deployment/backend', manager: 'castle-handover' })).toBeLessThan(at({ verb: 'delete', what: 'HorizontalPodAutoscaler/www' }));
    expect(at({ verb: 'delete', what: 'HorizontalPodAutoscaler/www' })).toBeLessThan(at({ verb: 'apply', what: 'ScaledObject/www' }));
    expect(c.fake.attempts.filter((w) => w.what === 'ScaledObject/www' && w.actor === 'me')).toHaveLength(1);
    expect(c.fake.peek('HorizontalPodAutoscaler', 'www', NS)).toBeUndefined();
    expect(c.fake.peek('HorizontalPodAutoscaler', 'keda-hpa-www', NS)).toBeDefined();
    expect(c.seen.slice(seenFrom).map((o) => o.replicas.www).filter((n) => n !== 4)).toEqual([]);
    expect(c.seen.slice(seenFrom).map((o) => o.replicas.backend).filter((n) => n !== 3)).toEqual([]);
  });

  it('keda → hpa → keda: each switch succeeds, one autoscaler at a time, the count held', async () => {
    const c = fakeCluster({ autoscalerWants: { www: 4 } });
    await deployRelease(c.ctx(), request('1.0.0', [www(), scaledObject()]));
    const seenFrom = c.seen.length;
    await deployRelease(c.ctx(), request('1.1.0', [www(), hpa()]));
    expect(c.fake.all('ScaledObject', NS)).toEqual([]);
    expect(c.fake.all('HorizontalPodAutoscaler', NS).map((h) => h.metadata.name)).toEqual(['www']);
    await deployRelease(c.ctx(), request('1.2.0', [www(), scaledObject()]));
    expect(c.fake.all('HorizontalPodAutoscaler', NS).map((h) => h.metadata.name)).toEqual(['keda-hpa-www']);
    expect(c.seen.slice(seenFrom).map((o) => o.replicas.www).filter((n) => n !== 4)).toEqual([]);
  });

  it('a failed switch is undone by the rollback: the old autoscaler is back', async () => {
    const c = fakeCluster({ autoscalerWants: { www: 4 } });
    await deployRelease(c.ctx(), request('1.0.0', [www(), hpa()]));
    const error = await deployRelease(c.ctx(), request('1.1.0', [www({ image: 'bad' }), scaledObject()])).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CASTLE_ERR_ROLLOUT_TIMEOUT', rollback: { revision: 3, to: 1 } });
    expect(c.fake.all('ScaledObject', NS)).toEqual([]);
    expect(c.fake.all('HorizontalPodAutoscaler', NS).map((h) => h.metadata.name)).toEqual(['www']);
    expect(c.fake.peek<{ spec: { replicas: number } }>('Deployment', 'www', NS)?.spec.replicas).toBe(4);
  });
});

describe('diff and the hand-over', () => {
  it('does not show spec.replicas dropping for a Deployment about to be handed over, and writes nothing', async () => {
    const c = fakeCluster();
    await deployRelease(c.ctx(), request('1.0.0', [www({ replicas: 8 })]));
    const sent = c.fake.attempts.length;
    const report = await diffRelease(c.ctx(), [www(), scaledObject()], false);
    expect(report.changes.filter((x) => x.object === 'Deployment/www')).toEqual([]);
    expect(report.changes).toContainEqual({ object: 'ScaledObject/www', action: 'create', fields: [] });
    expect(c.fake.attempts.slice(sent)).toEqual([]);
  });

  it('shows spec.replicas changing for a Deployment castle takes back', async () => {
    const c = fakeCluster({ autoscalerWants: { www: 6 } });
    await deployRelease(c.ctx(), request('1.0.0', [www(), scaledObject()]));
    const report = await diffRelease(c.ctx(), [www({ replicas: 8 })], false);
    expect(report.changes).toContainEqual({ object: 'Deployment/www', action: 'update', fields: ['spec.replicas'] });
    expect(report.changes).toContainEqual({ object: 'ScaledObject/www', action: 'prune', fields: [] });
  });
});

/**
 * backend as a Kubernetes 1.33 API server returned it once the HPA controller had set its count
 * through the scale subresource (its managedFields copied, castle's template fields cut short):
 * castle's apply entry no longer has `f:replicas`, the HPA controller's scale update has it and
 * no `time`, and the status update has `f:status.f:replicas`, which is not the spec's count.
 */
const liveBackendScaledByHpa = (replicas: number): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'backend',
    namespace: NS,
    labels: { 'app.kubernetes.io/managed-by': 'castle', 'castle.dev/release': RELEASE },
    managedFields: [
      {
        apiVersion: 'apps/v1',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app.kubernetes.io/managed-by': {}, 'f:castle.dev/release': {} } },
          'f:spec': { 'f:selector': {}, 'f:template': { 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:containers': { 'k:{"name":"backend"}': { '.': {}, 'f:image': {}, 'f:name': {} } } } } },
        },
        manager: 'castle',
        operation: 'Apply',
        time: '2026-12-08T04:10:59Z',
      },
      { apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } }, manager: 'kube-controller-manager', operation: 'Update', subresource: 'scale' },
      {
        apiVersion: 'apps/v1',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:annotations': { '.': {}, 'f:deployment.kubernetes.io/revision': {} } },
          'f:status': { 'f:availableReplicas': {}, 'f:observedGeneration': {}, 'f:readyReplicas': {}, 'f:replicas': {}, 'f:updatedReplicas': {} },
        },
        manager: 'kube-controller-manager',
        operation: 'Update',
        subresource: 'status',
        time: '2026-12-08T04:12:04Z',
      },
    ],
  },
  spec: { replicas, selector: { matchLabels: { app: 'backend' } }, template: { metadata: { labels: { app: 'backend' } }, spec: { containers: [{ name: 'backend', image: 'backend:1' }] } } },
});

describe('planning the hand-over from a real API server’s answers (the client over HTTP)', () => {
  let proxy: FaultProxy | undefined;
  afterEach(() => proxy?.close());

  /** The real client against an API that answers lists as Kubernetes does: no apiVersion or kind on the items. */
  async function liveHpaOfBackend(): Promise<Kube> {
    const api = fakeApi();
    api.put(`/apis/apps/v1/namespaces/${NS}/deployments/backend`, liveBackendScaledByHpa(3));
    const live = hpa('backend');
    api.put(`/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers/backend`, { ...live, metadata: { ...live.metadata, namespace: NS, labels: { 'app.kubernetes.io/managed-by': 'castle', 'castle.dev/release': RELEASE } } });
    proxy = await startFaultProxy(api.handler);
    return new Kube(kubeConfigFor(proxy.url));
  }
  const hpaRef = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', namespace: NS, name: 'backend' };

  it.each([
    {
      change: 'a redeploy that keeps the HPA leaves the count to the HPA controller: nothing moves',
      objects: [backend(), hpa('backend')],
      candidates: [],
      plan: { autoscaled: new Set(['backend']), handOver: [], takeBack: [], retire: [] },
    },
    {
      change: 'a deploy that fixes the count again retires the live HPA and takes the count back from the HPA controller',
      objects: [backend({ replicas: 4 })],
      candidates: [hpaRef],
      plan: { autoscaled: new Set(), handOver: [], takeBack: [{ name: 'backend', replicas: 4 }], retire: [hpaRef] },
    },
  ])('$change', async ({ objects, candidates, plan }) => {
    const kube = await liveHpaOfBackend();
    const objectsInNs = objects.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: NS } }));
    await expect(planReplicas(kube, NS, objectsInNs, { release: RELEASE, candidates })).resolves.toEqual(plan);
  });

  it('gives each listed object the apiVersion and kind that the API server leaves out of a list’s items', async () => {
    const kube = await liveHpaOfBackend();
    const [item] = await kube.list('autoscaling/v2', 'HorizontalPodAutoscaler', NS);
    expect(item).toMatchObject({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'backend' } });
  });
});
