/**
 * What the cluster tests of the replicas hand-over, the autoscaler switch and the prune timing
 * share: manifests written to a file for `castle deploy --manifests` (both tiers, www fixed or
 * autoscaled, an HPA or a KEDA ScaledObject; or Castle's `local` environment rendered with a
 * chosen autoscaler), a sampler of a Deployment's replicas while a deploy runs, and who owns
 * `spec.replicas`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ApiException, AppsV1Api, AutoscalingV2Api, type KubeConfig } from '@kubernetes/client-node';
import { render } from '@castle/k8s';
import { stringify } from 'yaml';
import { PROMETHEUS_URL } from '../../support/load-step.js';
import { imageFor, tierManifests } from '../../support/tier-manifests.js';

const { version: packageVersion } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Objects as a multi-document YAML file; returns its path. */
export function manifestFile(objects: readonly object[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'castle-replicas-')), 'manifests.yaml');
  writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
  return file;
}

/** How www is rendered by {@link tiers}. */
export interface WwwOptions {
  /** A fixed count; undefined when an autoscaler owns it (the Deployment then has no `spec.replicas`). */
  readonly replicas?: number;
  readonly image?: string;
  readonly env?: Record<string, string>;
  /** A ConfigMap whose entries become www's environment (`envFrom`). */
  readonly envFrom?: string;
}

/** backend (one replica) and www, with their Services. */
export function tiers(www: WwwOptions = {}): object[] {
  const backend = tierManifests({ name: 'backend', replicas: 1, env: { BACKEND_ERROR_RATE: '0' } });
  const front = tierManifests({ name: 'www', replicas: www.replicas ?? 1, env: { WWW_BACKEND_URL: 'http://backend', WWW_CAPACITY_RPS: '0', ...www.env } });
  const spec = front.deployment.spec;
  if (spec && www.replicas === undefined) delete spec.replicas;
  const container = spec?.template.spec?.containers[0];
  if (container && www.image) container.image = www.image;
  if (container && www.envFrom) container.envFrom = [{ configMapRef: { name: www.envFrom } }];
  return [backend.service, backend.deployment, front.service, front.deployment];
}

/** A plain HPA of www on CPU. Below its minimum the HPA controller scales up without any metric. */
export function wwwHpa(minReplicas: number, maxReplicas: number): object {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'www' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'www' },
      minReplicas,
      maxReplicas,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    },
  };
}

/** A KEDA ScaledObject of www with one CPU trigger (no Prometheus needed); KEDA makes the HPA `keda-hpa-www`. */
export function wwwScaledObject(minReplicaCount: number, maxReplicaCount: number): object {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: 'www' },
    spec: {
      scaleTargetRef: { name: 'www' },
      minReplicaCount,
      maxReplicaCount,
      triggers: [{ type: 'cpu', metricType: 'Utilization', metadata: { value: '70' } }],
    },
  };
}

/** A ConfigMap. */
export const configMap = (name: string, data: Record<string, string> = { name }): object => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });

/**
 * Castle's `local` environment rendered into `namespace` with `autoscaler` (`none`: www 8 and
 * backend 3 fixed; `keda`: both scaled by KEDA on Prometheus, as production), the images as
 * loaded for tests.
 */
export function renderedLocal(namespace: string, autoscaler: 'none' | 'keda' | 'hpa'): object[] {
  const objects = render({ env: 'local', version: packageVersion, namespace, autoscaling: { autoscaler, prometheusUrl: PROMETHEUS_URL } });
  return objects.map((object) => {
    if (object.kind !== 'Deployment') return object;
    const copy = structuredClone(object) as unknown as { spec: { template: { spec: { containers: { name: string; image: string }[] } } } };
    for (const c of copy.spec.template.spec.containers) c.image = imageFor(c.name);
    return copy;
  });
}

/** One look at a Deployment and the HPA that scales it. */
export interface ReplicasSample {
  /** Milliseconds since sampling started. */
  readonly at: number;
  readonly desired: number;
  readonly ready: number;
  /** What the HPA asked for last (`status.desiredReplicas`); undefined without an HPA or before its first reading. */
  readonly hpaDesired?: number;
}

/** Sampling of a Deployment's replicas; {@link stop} returns every sample. */
export interface ReplicasSampler {
  stop(): Promise<ReplicasSample[]>;
  /** The samples so far. */
  readonly samples: readonly ReplicasSample[];
}

/** Samples `deployment`'s desired and ready replicas (and `hpa`'s wish) every `everyMs`, until stopped. */
export function sampleReplicas(kc: KubeConfig, namespace: string, deployment: string, { hpa, everyMs = 250 }: { hpa?: string; everyMs?: number } = {}): ReplicasSampler {
  const apps = kc.makeApiClient(AppsV1Api);
  const autoscaling = kc.makeApiClient(AutoscalingV2Api);
  const samples: ReplicasSample[] = [];
  const started = performance.now();
  let running = true;
  const loop = (async () => {
    while (running) {
      const d = await apps.readNamespacedDeployment({ name: deployment, namespace });
      let hpaDesired: number | undefined;
      if (hpa) {
        hpaDesired = await autoscaling
          .readNamespacedHorizontalPodAutoscaler({ name: hpa, namespace })
          .then((h) => h.status?.desiredReplicas || undefined)
          .catch((error: unknown) => {
            if (error instanceof ApiException && error.code === 404) return undefined;
            throw error;
          });
      }
      samples.push({ at: Math.round(performance.now() - started), desired: d.spec?.replicas ?? 1, ready: d.status?.readyReplicas ?? 0, hpaDesired });
      await delay(everyMs);
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

/** `manager` or `manager/subresource` of every field manager that owns the Deployment's `spec.replicas`. */
export async function replicasManagers(kc: KubeConfig, namespace: string, name: string): Promise<string[]> {
  const d = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name, namespace });
  return (d.metadata?.managedFields ?? [])
    .filter((f) => ((f.fieldsV1 as Record<string, Record<string, unknown> | undefined> | undefined)?.['f:spec'] ?? {})['f:replicas'] !== undefined)
    .map((f) => `${f.manager ?? '?'}${f.subresource ? `/${f.subresource}` : ''}`)
    .sort();
}

/** Poll `check` every second until it holds, or fail naming `what`. */
export async function eventually(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(1000);
  }
}

/** The lowest ready count of the samples. */
export const lowestReady = (samples: readonly ReplicasSample[]): number => Math.min(...samples.map((s) => s.ready));

/** The lowest count the HPA asked for over the samples, if it asked at all. */
export function lowestHpaWish(samples: readonly ReplicasSample[]): number | undefined {
  const wishes = samples.map((s) => s.hpaDesired).filter((n): n is number => n !== undefined);
  return wishes.length > 0 ? Math.min(...wishes) : undefined;
}
