import { ApiException, CoreV1Api, type KubeConfig, type V1Pod, type V1PodSpec } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, deleteNamespace, loadKubeConfig } from '../support/cluster.js';
import { tierManifests } from '../support/tier-manifests.js';

/** What the API server answered to a dry-run create of `spec`: 201, or the refusal's status and message. */
async function admission(core: CoreV1Api, namespace: string, name: string, spec: V1PodSpec): Promise<{ code: number; message: string }> {
  const body: V1Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec };
  try {
    await core.createNamespacedPod({ namespace, body, dryRun: 'All' });
    return { code: 201, message: '' };
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const status = (typeof error.body === 'string' ? JSON.parse(error.body) : error.body) as { message?: string };
    return { code: error.code, message: status.message ?? String(error.body) };
  }
}

describe('a Castle test namespace', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let namespace: string;
  const tierPod = (): V1PodSpec => {
    const spec = tierManifests({ name: 'backend', replicas: 1, env: {} }).deployment.spec?.template.spec;
    if (!spec) throw new Error('tierManifests made a Deployment without a pod template');
    return spec;
  };

  beforeAll(async () => {
    kc = loadKubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    namespace = await createTestNamespace('castle-pod-security', kc);
  });

  afterAll(async () => {
    if (namespace) await deleteNamespace(namespace, { kc });
  });

  it('enforces, warns and audits the restricted Pod Security Standard', async () => {
    const labels = (await core.readNamespace({ name: namespace })).metadata?.labels ?? {};
    expect(labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
  });

  it("admits the tiers' pods, which meet the restricted standard", async () => {
    expect(await admission(core, namespace, 'tier', tierPod())).toEqual({ code: 201, message: '' });
  });

  it('refuses a privileged pod', async () => {
    const spec = tierPod();
    const privileged = {
      ...spec,
      containers: spec.containers.map((c) => ({ ...c, securityContext: { ...c.securityContext, privileged: true } })),
    };
    const answer = await admission(core, namespace, 'privileged', privileged);
    // The hermetic cluster refuses privileged containers everywhere (422, before admission);
    // a cluster that allows them (kind, EKS) refuses it here by Pod Security (403).
    expect([403, 422]).toContain(answer.code);
    expect(answer.message).toMatch(/privileged/);
  });

  it('refuses a pod that runs as root with the default capabilities, naming every rule it breaks', async () => {
    const { containers } = tierPod();
    const plain: V1PodSpec = { containers: containers.map(({ name, image }) => ({ name, image, imagePullPolicy: 'IfNotPresent' })) };
    const answer = await admission(core, namespace, 'plain', plain);
    expect(answer.code).toBe(403);
    expect(answer.message).toMatch(/violates PodSecurity "restricted:/);
    for (const rule of ['allowPrivilegeEscalation != false', 'unrestricted capabilities', 'runAsNonRoot != true', 'seccompProfile']) {
      expect(answer.message).toContain(rule);
    }
  });
});
