/**
 * Controllers for the in-memory API ({@link FakeKube}), enough for a whole deploy to run
 * against it: the Deployment controller (a ReplicaSet per pod template, its pods, the status a
 * rollout watch reads), KEDA (an HPA for each ScaledObject, its admission webhook, the garbage
 * collection of that HPA) and the HPA controller (it sets the replicas it wants through the
 * scale subresource). They run after every write, as the real ones would react to it.
 */
import { createHash } from 'node:crypto';
import type { ReleaseContext } from '../src/engine/context.js';
import type { DeployRequest } from '../src/engine/deploy.js';
import { KubeApiError } from '../src/kube/http.js';
import type { KubeObject } from '../src/kube/objects.js';
import { quietReporter } from '../src/output/reporter.js';
import { ReleaseStore } from '../src/release/store.js';
import { fakeClock } from './clock.js';
import { FakeKube, type Write, managedFieldsWith } from './fake-kube.js';

/** The namespace and release every fake-cluster test uses. */
export const NS = 'shop';
export const RELEASE = 'web';

interface Deployment extends KubeObject {
  spec: { replicas?: number; selector?: { matchLabels?: Record<string, string> }; template: { metadata?: { labels?: Record<string, string> }; spec: { containers: { image?: string }[] } } };
}
interface Autoscaler extends KubeObject {
  spec: { scaleTargetRef: { kind?: string; name: string } };
}

/** What the world looked like right after one write. */
export interface Observation {
  readonly write: Write;
  /** `spec.replicas` of every Deployment. */
  readonly replicas: Record<string, number | undefined>;
}

/** Options of {@link fakeCluster}. */
export interface FakeClusterOptions {
  /** Replicas the HPA controller picks for a Deployment while an HPA (KEDA's included) scales it. */
  readonly autoscalerWants?: Record<string, number>;
}

/** A fake API with the namespace and the controllers installed. */
export interface FakeCluster {
  readonly fake: FakeKube;
  /** After every write by anyone: what it was and the Deployments' replicas. */
  readonly seen: Observation[];
  /** The HPA controller's wishes, changeable between deploys. */
  readonly wants: Record<string, number>;
  /** A locked-out-of-nothing context of one CLI run. */
  ctx(who?: string): ReleaseContext;
  /** The writes castle's run made (not the controllers'). */
  mine(): Write[];
}

/** The fields of a Deployment's status update, as the real controller's managedFields entry has them. */
const STATUS_FIELDS = {
  'f:metadata': { 'f:annotations': { '.': {}, 'f:deployment.kubernetes.io/revision': {} } },
  'f:status': { 'f:availableReplicas': {}, 'f:conditions': {}, 'f:observedGeneration': {}, 'f:readyReplicas': {}, 'f:replicas': {}, 'f:updatedReplicas': {} },
};

const hashOf = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 8);
const ready = { conditions: [{ type: 'Ready', status: 'True' }], phase: 'Running' };

/** A fake cluster: the namespace exists and the controllers react to every write. */
export function fakeCluster(options: FakeClusterOptions = {}): FakeCluster {
  const fake = new FakeKube();
  fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  const seen: Observation[] = [];
  const wants = { ...options.autoscalerWants };
  const clock = fakeClock();

  // KEDA's admission webhook: a ScaledObject may not scale a workload another HPA scales.
  fake.refuse = (w) => {
    if (w.verb !== 'apply' || !w.what.startsWith('ScaledObject/')) return;
    const name = w.what.slice('ScaledObject/'.length);
    const target = name; // the tests' ScaledObjects are named after their Deployment
    const other = (fake.all('HorizontalPodAutoscaler', NS) as Autoscaler[]).find((h) => h.spec.scaleTargetRef.name === target && !controlledBy(h, name));
    if (other) {
      throw new KubeApiError(403, 'Forbidden', `admission webhook "vscaledobject.kb.io" denied the request: the workload '${target}' of type 'apps/v1.Deployment' is already managed by the hpa '${other.metadata.name}'`);
    }
  };

  fake.afterWrite = async (write) => {
    if (write.actor === 'me') await reconcile(fake, wants);
    seen.push({ write, replicas: Object.fromEntries((fake.all('Deployment', NS) as Deployment[]).map((d) => [d.metadata.name, d.spec.replicas])) });
  };

  return {
    fake,
    seen,
    wants,
    ctx: (who = 'alice@laptop') => ({ kube: fake.kube, release: RELEASE, namespace: NS, store: new ReleaseStore(fake.kube, NS, RELEASE), reporter: quietReporter, who, clock }),
    mine: () => fake.writes.filter((w) => w.actor === 'me'),
  };
}

function controlledBy(o: KubeObject, scaledObject: string): boolean {
  const owners = (o.metadata.ownerReferences as { kind: string; name: string }[] | undefined) ?? [];
  return owners.some((r) => r.kind === 'ScaledObject' && r.name === scaledObject);
}

/** One pass of every controller. */
async function reconcile(fake: FakeKube, wants: Record<string, number>): Promise<void> {
  await fake.as('keda', async () => {
    const scaledObjects = fake.all('ScaledObject', NS) as Autoscaler[];
    for (const so of scaledObjects) {
      const name = `keda-hpa-${so.metadata.name}`;
      if (fake.peek('HorizontalPodAutoscaler', name, NS)) continue;
      await fake.create({
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        // KEDA copies the ScaledObject's labels, castle's ownership labels included.
        metadata: { name, namespace: NS, labels: { ...so.metadata.labels }, ownerReferences: [{ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', name: so.metadata.name, controller: true }] },
        spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: so.spec.scaleTargetRef.name } },
      });
    }
    // Garbage collection of the HPAs whose ScaledObject is gone.
    for (const hpa of fake.all('HorizontalPodAutoscaler', NS)) {
      const owner = ((hpa.metadata.ownerReferences as { kind: string; name: string }[] | undefined) ?? []).find((r) => r.kind === 'ScaledObject');
      if (owner && !scaledObjects.some((so) => so.metadata.name === owner.name)) await fake.delete({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', namespace: NS, name: hpa.metadata.name });
    }
  });
  // The HPA controller.
  for (const hpa of fake.all('HorizontalPodAutoscaler', NS) as Autoscaler[]) {
    const target = hpa.spec.scaleTargetRef.name;
    const want = wants[target];
    const d = fake.peek<Deployment>('Deployment', target, NS);
    if (d && want !== undefined && d.spec.replicas !== want) fake.scale(target, NS, want);
  }
  deploymentController(fake);
}

/** ReplicaSets, pods and status for every Deployment: done at once, unless its image is `bad`. */
function deploymentController(fake: FakeKube): void {
  for (const d of fake.all('Deployment', NS) as Deployment[]) {
    const hash = hashOf(d.spec.template);
    const labels = { ...d.spec.template.metadata?.labels, 'pod-template-hash': hash };
    const sets = fake.all('ReplicaSet', NS).filter((rs) => (rs.metadata.ownerReferences as { uid: string }[] | undefined)?.[0]?.uid === d.metadata.uid);
    const revisionOf = (rs: KubeObject): number => Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
    const existing = sets.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
    const revision = existing ? revisionOf(existing) : Math.max(0, ...sets.map(revisionOf)) + 1;
    const broken = d.spec.template.spec.containers.some((c) => c.image === 'bad');
    const replicas = d.spec.replicas ?? 1;
    const readyCount = broken ? 0 : replicas;
    for (const rs of sets) {
      if (rs === existing) continue;
      const old = rs as KubeObject & { spec: { replicas: number }; status: { replicas: number } };
      // A broken rollout leaves the old pods serving.
      const keep = broken ? old.spec.replicas : 0;
      if (old.spec.replicas !== keep || old.status.replicas !== keep) fake.seed({ ...old, spec: { ...old.spec, replicas: keep }, status: { replicas: keep } });
    }
    const rs = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: `${d.metadata.name}-${hash}`, namespace: NS, labels, annotations: { 'deployment.kubernetes.io/revision': String(revision) }, ownerReferences: [{ kind: 'Deployment', name: d.metadata.name, uid: d.metadata.uid }] },
      spec: { replicas, template: d.spec.template },
      status: { replicas },
    };
    if (JSON.stringify(stripVolatile(existing)) !== JSON.stringify(stripVolatile(rs))) fake.seed(rs);
    // Pods: those of the current ReplicaSet, the old ones gone (unless the rollout is broken).
    for (const p of fake.all('Pod', NS).filter((p) => p.metadata.labels?.['castle.test/deployment'] === d.metadata.name)) {
      const current = p.metadata.labels?.['pod-template-hash'] === hash;
      const index = Number(p.metadata.name.split('-').at(-1));
      if ((current && index >= replicas) || (!current && !broken)) fake.remove('Pod', p.metadata.name, NS);
    }
    for (let i = 0; i < replicas; i += 1) {
      const name = `${d.metadata.name}-${hash}-${i}`;
      if (fake.peek('Pod', name, NS)) continue;
      fake.seed({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: NS, labels: { ...labels, 'castle.test/deployment': d.metadata.name }, ownerReferences: [{ kind: 'ReplicaSet', name: rs.metadata.name }] },
        spec: d.spec.template.spec,
        status: broken ? { phase: 'Pending', containerStatuses: [{ name: 'c', restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] } : ready,
      });
    }
    const status = {
      observedGeneration: 0,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: readyCount,
      availableReplicas: readyCount,
      ...(broken ? { conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rs.metadata.name}" has timed out progressing.` }] } : {}),
    };
    const annotations = { ...d.metadata.annotations, 'deployment.kubernetes.io/revision': String(revision) };
    if (JSON.stringify(d.status) !== JSON.stringify(status) || JSON.stringify(d.metadata.annotations) !== JSON.stringify(annotations)) {
      // The controller's status update: its entry has `f:status.f:replicas`, not the spec's count.
      const managedFields = managedFieldsWith(d, { manager: 'kube-controller-manager', operation: 'Update', subresource: 'status' }, STATUS_FIELDS);
      fake.seed({ ...d, metadata: { ...d.metadata, annotations, managedFields }, status });
    }
  }
}

function stripVolatile(o: KubeObject | undefined): unknown {
  if (!o) return undefined;
  const { resourceVersion: _rv, uid: _uid, ...metadata } = o.metadata;
  return { ...o, metadata };
}

/** A deploy request with short deadlines and no smoke check. */
export function request(version: string, objects: KubeObject[], more: Partial<DeployRequest> = {}): DeployRequest {
  return { objects, version, forceConflicts: false, deadlineMs: 2000, historyMax: 10, rollbackOnFailure: true, leaseSeconds: 30, ...more };
}

/** www's Deployment: `replicas` undefined when an autoscaler owns the count; the ConfigMap its pods read. */
export function www({ replicas, image = 'www:1', config }: { replicas?: number; image?: string; config?: string } = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'www' },
    spec: {
      ...(replicas === undefined ? {} : { replicas }),
      selector: { matchLabels: { app: 'www' } },
      template: {
        metadata: { labels: { app: 'www' } },
        spec: { containers: [{ name: 'www', image, ...(config ? { envFrom: [{ configMapRef: { name: config } }] } : {}) }] },
      },
    },
  };
}

/** backend's Deployment, like {@link www}. */
export function backend({ replicas }: { replicas?: number } = {}): KubeObject {
  const d = www({ replicas });
  return { ...d, metadata: { name: 'backend' }, spec: { ...(d.spec as object), selector: { matchLabels: { app: 'backend' } }, template: { metadata: { labels: { app: 'backend' } }, spec: { containers: [{ name: 'backend', image: 'backend:1' }] } } } };
}

/** A plain CPU HPA of a Deployment. */
export const hpa = (target = 'www', name = target): KubeObject => ({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name },
  spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target }, minReplicas: 2, maxReplicas: 10 },
});

/** A KEDA ScaledObject of a Deployment (KEDA's default target kind). */
export const scaledObject = (target = 'www'): KubeObject => ({
  apiVersion: 'keda.sh/v1alpha1',
  kind: 'ScaledObject',
  metadata: { name: target },
  spec: { scaleTargetRef: { name: target }, minReplicaCount: 2, maxReplicaCount: 10 },
});

/** A Service, by default of type ClusterIP. */
export const service = (name = 'www', type = 'ClusterIP'): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { type, selector: { app: 'www' }, ports: [{ port: 80 }] } });

/** A ConfigMap. */
export const configMap = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { name } });

/** Index of the first write of `mine` matching, or -1. */
export function indexOf(writes: readonly Write[], match: Partial<Write>): number {
  return writes.findIndex((w) => Object.entries(match).every(([k, v]) => (w as unknown as Record<string, unknown>)[k] === v));
}
